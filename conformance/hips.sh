#!/usr/bin/env bash
# HiPS for Aladin (issue 19, item 6, acceptance): one node on its embedded PostgreSQL with
# the demo data, then
#   1. Aladin Desktop (Debian's aladin, under Xvfb, scripted on stdin: load, goto, zoom,
#      save) loads the catalogue HiPS of demo.sources, the image HiPS at order 3 (a 60°
#      view) and at its deepest order, and the cube HiPS; each screenshot is checked for
#      drawn pixels (grey for images and cubes, the red markers for the catalogue);
#   2. Aladin Lite (node_modules/aladin-lite, served by the node) in Debian's Chromium does the
#      same (conformance/hips/lite.ts).
# The screenshots stay in $HIPS_SHOTS (default: a temporary folder, printed). About two
# minutes on an idle 2-core machine. Exits non-zero on any FAIL.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. conformance/lib/node.sh
TSX="$ROOT/node_modules/.bin/tsx"
PORT=${CONFORMANCE_HIPS_PORT:-18786}
WORK=$(mktemp -d /tmp/vonode-hips-XXXXXX)
chmod 755 "$WORK"
SHOTS=${HIPS_SHOTS:-$WORK/shots}
mkdir -p "$SHOTS" "$WORK/var"
chmod 755 "$WORK/var"
export VONODE_DEMO_ROWS=${VONODE_DEMO_ROWS:-5000}
node_env "$WORK/var" "$PORT"
cleanup() {
  stop_node
  [ -n "${HIPS_SHOTS:-}" ] || echo "screenshots in $SHOTS (removed with $WORK unless HIPS_SHOTS is set)"
  rm -rf "$WORK/var"
}
trap cleanup EXIT

start_node "$WORK/node.log" || { fail "node did not start (log: $WORK/node.log)"; exit 1; }
pass "node ready at $BASE"

# prop HIPS KEY: one key of a HiPS's properties.
prop() { curl -sf "$BASE/hips/$1/properties" | sed -n "s/^$2 *= *//p" | head -1; }
LIST=$(curl -sf "$BASE/hips/hipslist")
CUBE=$(printf '%s\n' "$LIST" | sed -n 's#^hips_service_url *= *.*/hips/\(cube-[^ ]*\)$#\1#p' | head -1)
for h in images "$CUBE" demo.sources; do
  if [ -n "$h" ] && printf '%s\n' "$LIST" | grep -q "/hips/$h\$"; then pass "hipslist names $h"; else fail "hipslist names $h"; fi
done
view() { # NAME FOV: "ra dec fov" of a HiPS's initial view, FOV overriding its field
  echo "$(prop "$1" hips_initial_ra) $(prop "$1" hips_initial_dec) ${2:-$(prop "$1" hips_initial_fov)}"
}
read -r IRA IDEC IFOV <<<"$(view images)"
# The deepest order's pixels are ~0.1 of the view at a field of 50 tile pixels; order 3 at 60°.
DEEP_FOV=$($PY -c "print(58.63 / 2 ** ($(prop images hips_order) + 9) * 400)")
read -r CRA CDEC CFOV <<<"$(view "$CUBE")"
read -r SRA SDEC SFOV <<<"$(view demo.sources)"


# Aladin Desktop: one session per HiPS; it draws tiles as they come, so each view is saved
# eight times, two seconds apart, and the one with the most drawn pixels is kept.
desktop() { # LABEL KIND HIPS RA DEC FOV
  local label=$1 kind=$2 hips=$3 ra=$4 dec=$5 fov=$6 script="$WORK/$1.ajs" i
  {
    echo "load $BASE/hips/$hips"
    echo "sync"
    echo "$ra $dec"
    echo "zoom ${fov}deg"
    echo "sync"
    for i in $(seq 10 17); do echo "save $WORK/$label-$i.png"; echo "pause 2"; done
    echo "quit"
  } >"$script"
  timeout 300 xvfb-run -a -s "-screen 0 1280x1024x24" java -Xmx512m -jar /usr/share/java/aladin.jar \
    -local -nohub -nosamp -noplugin -nolog -noreleasetest <"$script" >"$WORK/$label.log" 2>&1 || true
  # The screenshot with the most drawn pixels (grey image pixels, or red catalogue markers).
  local best
  best=$("$TSX" conformance/hips/pixels.ts "$kind" "$SHOTS/desktop-$label.png" "$WORK/$label"-*.png || echo 0)
  rm -f "$WORK/$label"-*.png
  if [ "$best" -gt 200 ]; then pass "Aladin Desktop draws $label: $best pixels"; else fail "Aladin Desktop draws $label: $best pixels (log: $WORK/$label.log)"; fi
}
"$TSX" conformance/hips/warm.ts "$BASE" images "$IRA" "$IDEC" 3 "$(prop images hips_order)"
desktop catalogue catalog demo.sources "$SRA" "$SDEC" "$SFOV"
desktop image-order3 image images "$IRA" "$IDEC" 60
desktop image-deepest image images "$IRA" "$IDEC" "$DEEP_FOV"
desktop cube cube "$CUBE" "$CRA" "$CDEC" "$CFOV"

if "$TSX" conformance/hips/lite.ts "$BASE" "$SHOTS" \
  "demo.sources:catalog:$SRA:$SDEC:$SFOV" "images:image:$IRA:$IDEC:60" "images:image:$IRA:$IDEC:$DEEP_FOV" \
  "$CUBE:cube:$CRA:$CDEC:$CFOV" | tee "$WORK/lite.log"; then
  pass "Aladin Lite draws every HiPS"
else
  fail "Aladin Lite draws every HiPS (log above)"
fi
echo "hips: $failures failure(s)"
[ "$failures" -eq 0 ]
