#!/usr/bin/env bash
# Real clients against a live vonode (CI runs this after the unit and integration tests):
# a first start with the default demo data (timed), STILTS taplint, pyvo as a user would,
# STILTS tapquery sync and with an upload, the time to the first byte of a large result,
# and a restart (timed). Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=/usr/bin/python3
PORT=${CONFORMANCE_PORT:-18780}
DATA=$(mktemp -d /tmp/vonode-conformance-XXXXXX)
chmod 755 "$DATA"
LOG="$DATA/node.log"
OUT="$DATA/out"
mkdir -p "$OUT"
failures=0
fail() { echo "CONFORMANCE FAIL: $*"; failures=$((failures + 1)); }

start_node() {
  VONODE_DATA_DIR="$DATA" PORT="$PORT" VONODE_BASE_URL="http://127.0.0.1:$PORT" VONODE_LOG_LEVEL=info \
    node "$ROOT/bin/vonode.js" serve >>"$LOG" 2>&1 &
  NODE_PID=$!
  local t0 t1
  t0=$(date +%s.%N)
  for _ in $(seq 1 600); do
    if curl -sf "http://127.0.0.1:$PORT/tap/availability" >/dev/null 2>&1; then
      t1=$(date +%s.%N)
      STARTUP=$($PY -c "print(round($t1 - $t0, 1))")
      return 0
    fi
    if ! kill -0 "$NODE_PID" 2>/dev/null; then
      echo "the node exited"; return 1
    fi
    sleep 0.5
  done
  return 1
}

NODE_PID=''
stop_node() {
  [ -n "$NODE_PID" ] || return 0
  kill -TERM "$NODE_PID" 2>/dev/null
  wait "$NODE_PID" 2>/dev/null
  NODE_PID=''
}
trap 'stop_node; rm -rf "$DATA"' EXIT

echo "== first start (default demo data: 1,000,000 catalogue rows and 10 FITS products)"
start_node || { cat "$LOG"; fail "the node did not start"; exit 1; }
echo "first start: ${STARTUP} s"
grep -v '"msg":"request"' "$LOG" | head -20
TAP="http://127.0.0.1:$PORT/tap"

echo "== stilts taplint"
stilts taplint tapurl="$TAP" report=EW maxrepeat=5 >"$OUT/taplint.txt" 2>&1
cat "$OUT/taplint.txt" | grep -E '^(E|W)-|^Totals' | head -80
errors=$(grep -c '^E-' "$OUT/taplint.txt")
[ "$errors" -eq 0 ] || fail "taplint reported $errors errors"
grep -q '^Totals' "$OUT/taplint.txt" || fail "taplint did not finish"

echo "== pyvo"
$PY conformance/pyvo_tap.py "$TAP" || fail "pyvo checks failed"

echo "== stilts tapquery, sync and with an upload"
stilts tapquery tapurl="$TAP" sync=true adql="SELECT TOP 25 source_id, ra, dec FROM demo.sources ORDER BY source_id" \
  ofmt=csv out="$OUT/sync.csv" || fail "stilts tapquery sync failed"
[ "$(wc -l <"$OUT/sync.csv")" -eq 26 ] || fail "stilts tapquery sync returned $(wc -l <"$OUT/sync.csv") lines"
stilts tapquery tapurl="$TAP" sync=true nupload=1 upload1="$OUT/sync.csv" ufmt1=csv ucmd1="head 10" upname1=mine \
  adql="SELECT m.source_id AS mine, s.flux_int FROM TAP_UPLOAD.mine AS m JOIN demo.sources AS s ON s.source_id = m.source_id" \
  ofmt=csv out="$OUT/upload.csv" || fail "stilts tapquery with an upload failed"
[ "$(wc -l <"$OUT/upload.csv")" -eq 11 ] || fail "stilts tapquery upload returned $(wc -l <"$OUT/upload.csv") lines"
stilts tapquery tapurl="$TAP" sync=false adql="SELECT TOP 7 source_id FROM demo.sources" ofmt=csv out="$OUT/async.csv" \
  || fail "stilts tapquery async failed"

echo "== time to the first byte of a sync result: 10,000 rows against 1,000,000"
ttfb() {
  curl -s -o /dev/null -w '%{time_starttransfer} %{time_total} %{size_download}' \
    --data-urlencode "LANG=ADQL" --data-urlencode "MAXREC=$1" --data-urlencode "QUERY=SELECT source_id, ra, dec, flux_int FROM demo.sources" \
    "$TAP/sync"
}
ttfb 10000 >/dev/null
read -r small_first small_total small_bytes <<<"$(ttfb 10000)"
read -r big_first big_total big_bytes <<<"$(ttfb 1000000)"
echo "10,000 rows: first byte ${small_first} s, all ${small_total} s, ${small_bytes} bytes"
echo "1,000,000 rows: first byte ${big_first} s, all ${big_total} s, ${big_bytes} bytes"

echo "== restart (reuses the demo data)"
stop_node
start_node || fail "the node did not restart"
echo "restart: ${STARTUP} s"
grep -c 'generating the demo source catalogue' "$LOG" | grep -qx 1 || fail "the restart regenerated the demo data"

if [ -n "${VONODE_CONFORMANCE_EXTRA:-}" ]; then
  for script in $VONODE_CONFORMANCE_EXTRA; do
    echo "== $script"
    bash "$script" || fail "$script failed"
  done
fi

echo "conformance: $failures failed"
exit $((failures > 0))
