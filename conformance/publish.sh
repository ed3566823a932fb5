#!/usr/bin/env bash
# Publishing a centre's own catalogues into a running node, as a new user following the
# README and docs/publishing.md would (issue 14, acceptance):
#   1. data files generated into a temporary folder: a 1,000,000-row PyBDSF source list
#      (FITS binary table), a SoFiA-2 catalogue (VOTable), a 10,000,000-row CSV, a Parquet
#      file, and rows for tables of Rubin's DP0.2 Felis schema (test/fixtures/felis);
#   2. `vonode describe` drafts each description, a scripted edit fills in what a person
#      would (conformance/publish/edit.ts);
#   3. one node on its embedded PostgreSQL (loopback, its own port and data folder), and
#      `vonode publish` of each while it runs: never restarted;
#   4. real clients: pyvo (cone, upload crossmatch, SCS, TAP_SCHEMA, /tables, MOC, OAI-PMH,
#      the Felis schema, the rights of a table with an owner group and no release date:
#      conformance/publish/check.py) and STILTS taplint (0 errors).
# Prints the time of every step; exits non-zero on any failure, each named on a FAIL line.
# Sizes can be lowered for a quick try: PUBLISH_FITS_ROWS, PUBLISH_CSV_ROWS, ...
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. conformance/lib/node.sh
TSX="$ROOT/node_modules/.bin/tsx"
PORT=${CONFORMANCE_PUBLISH_PORT:-18784}
FITS_ROWS=${PUBLISH_FITS_ROWS:-1000000}
SOFIA_ROWS=${PUBLISH_SOFIA_ROWS:-20000}
CSV_ROWS=${PUBLISH_CSV_ROWS:-10000000}
PARQUET_ROWS=${PUBLISH_PARQUET_ROWS:-300000}
EMBARGOED_ROWS=${PUBLISH_EMBARGOED_ROWS:-2000}
FELIS="$ROOT/test/fixtures/felis/dp02_dm.yaml"
# rows per DP0.2 table (the others get 300)
FELIS_ROWS=(Object=2000 Source=5000 ForcedSource=2000 DiaObject=500 DiaSource=1000)

WORK=$(mktemp -d /tmp/vonode-publish-XXXXXX)
chmod 755 "$WORK"
DATA="$WORK/var"   # the node's data folder (embedded PostgreSQL)
GEN="$WORK/data"   # the data files, as a centre would have them
DESC="$WORK/desc"  # drafts and edited descriptions
OUT="$WORK/out"
mkdir -p "$DATA" "$GEN/dp02" "$DESC" "$OUT"
chmod 755 "$DATA"
LOG="$WORK/node.log"

# Info: the check that one node process served every publish counts its "ready in" line.
export VONODE_LOG_LEVEL=${VONODE_LOG_LEVEL:-info}
node_env "$DATA" "$PORT"
# A cone or a crossmatch of a few hundred positions that needs minutes is a failure here: a bound
# shorter than the default 300 s keeps a slow plan from eating the run's time.
export VONODE_TAP_SYNC_TIMEOUT=${VONODE_TAP_SYNC_TIMEOUT:-120}

T_START=$(date +%s.%N)
TIMINGS="$OUT/timings.txt"
: >"$TIMINGS"
exec 3>&1 # the terminal, for progress lines of steps whose output goes to a file (timed)

cleanup() {
  stop_node
  [ -n "${KEEP_PUBLISH_WORK:-}" ] && { echo "kept $WORK"; return; }
  rm -rf "$WORK"
}
trap cleanup EXIT

report() {
  echo "== timings"
  cat "$TIMINGS"
  echo "total: $(since "$T_START") s"
  echo "publish: $failures failure(s)"
}

echo "== 1. the node and the data files (generated while the node starts)"
gen() { "$TSX" "$ROOT/conformance/publish/generate.ts" "$@"; }
gen_others() {
  gen fits "$GEN/pybdsf.srl.fits" "$FITS_ROWS" &&
    gen votable "$GEN/sofia_cat.xml" "$SOFIA_ROWS" &&
    gen votable "$GEN/sofia_team_a_cat.xml" "$EMBARGOED_ROWS" &&
    gen parquet "$GEN/spectral_index.parquet" "$PARQUET_ROWS" &&
    { [ ! -r "$FELIS" ] || gen felis "$FELIS" "$GEN/dp02" "${FELIS_ROWS[@]}"; }
}
timed "generate $CSV_ROWS-row CSV" gen csv "$GEN/components.csv" "$CSV_ROWS" >"$OUT/gen-csv.log" 2>&1 &
GEN_CSV=$!
timed "generate FITS, VOTables, Parquet, DP0.2 rows" gen_others >"$OUT/gen.log" 2>&1 &
GEN_OTHERS=$!
if ! timed "first start of the node (demo rows $VONODE_DEMO_ROWS)" start_node "$LOG"; then
  tail -30 "$LOG"
  fail "the node did not start"
  report
  exit 1
fi
FIRST_PID=$NODE_PID
wait "$GEN_CSV" || fail "generating the CSV: $(tail -3 "$OUT/gen-csv.log")"
wait "$GEN_OTHERS" || fail "generating the data files: $(tail -3 "$OUT/gen.log")"
ls -l "$GEN" | tail -n +2
[ -r "$FELIS" ] || fail "no Felis schema at $FELIS (test/fixtures/felis/dp02_dm.yaml, from the describe work)"

echo "== 2. vonode describe, then the edit a person makes"
# describe_edit KEY DATAFILE SCHEMA TABLE: draft to $DESC/KEY.draft.yaml, edited to $DESC/KEY.yaml
describe_edit() {
  local key=$1 file=$2 schema=$3 table=$4
  if ! timed "describe $(basename "$file")" "${VONODE[@]}" describe "$file" --schema "$schema" --name "$table" \
    >"$DESC/$key.draft.yaml" 2>"$OUT/describe-$key.err"; then
    fail "vonode describe $(basename "$file"): $(head -3 "$OUT/describe-$key.err")"
    return 1
  fi
  if ! "$TSX" "$ROOT/conformance/publish/edit.ts" "$key" "$DESC/$key.draft.yaml" "$DESC/$key.yaml" 2>"$OUT/edit-$key.err"; then
    fail "the draft of $(basename "$file") cannot be edited as a user would: $(cat "$OUT/edit-$key.err")"
    echo "draft:"
    head -40 "$DESC/$key.draft.yaml"
    return 1
  fi
  pass "described $(basename "$file") as $schema.$table"
}
describe_edit pybdsf "$GEN/pybdsf.srl.fits" radio pybdsf_srl
describe_edit sofia "$GEN/sofia_cat.xml" radio sofia_hi
describe_edit sofia-embargoed "$GEN/sofia_team_a_cat.xml" radio sofia_embargoed
describe_edit csv "$GEN/components.csv" allsky components
describe_edit parquet "$GEN/spectral_index.parquet" radio spectral_index

echo "== 3. vonode publish into the running node"
# publish_one LABEL ROWS DESCRIPTION DATA...
publish_one() {
  local label=$1 rows=$2 t0 s
  shift 2
  t0=$(now)
  if "${VONODE[@]}" publish "$@" >"$OUT/publish-$label.log" 2>&1; then
    s=$(since "$t0")
    printf '%-58s %7s s  %s rows/s\n' "publish $label ($rows rows)" "$s" "$($PY -c "print(f'{$rows / max($s, 0.001):,.0f}')")" >>"$TIMINGS"
    pass "published $label ($rows rows) in $s s"
    grep -v '^\s*$' "$OUT/publish-$label.log" | tr '\r' '\n' | grep -v '^\s*$' | tail -4 | sed 's/^/    /'
  else
    s=$(since "$t0")
    printf '%-58s %7s s  (failed)\n' "publish $label ($rows rows)" "$s" >>"$TIMINGS"
    fail "vonode publish $label: $(tr '\r' '\n' <"$OUT/publish-$label.log" | grep -v '^\s*$' | tail -5)"
  fi
}
# strict validation refuses the unedited draft (no descriptions, SoFiA's Jy*Hz), publishing nothing
if [ -r "$DESC/sofia.draft.yaml" ]; then
  if "${VONODE[@]}" publish "$DESC/sofia.draft.yaml" "$GEN/sofia_cat.xml" --strict >"$OUT/publish-strict.log" 2>&1; then
    fail "the unedited SoFiA draft was published in strict mode"
  elif grep -q 'Jy\*Hz' "$OUT/publish-strict.log"; then
    pass "strict mode refuses the unedited draft, naming the unit Jy*Hz ($(grep -c . "$OUT/publish-strict.log") lines)"
  else
    fail "strict mode refused the unedited draft without naming Jy*Hz: $(head -5 "$OUT/publish-strict.log")"
  fi
fi
publish_one pybdsf-fits "$FITS_ROWS" "$DESC/pybdsf.yaml" "$GEN/pybdsf.srl.fits"
publish_one sofia-votable "$SOFIA_ROWS" "$DESC/sofia.yaml" "$GEN/sofia_cat.xml"
publish_one sofia-embargoed "$EMBARGOED_ROWS" "$DESC/sofia-embargoed.yaml" "$GEN/sofia_team_a_cat.xml"
publish_one components-csv "$CSV_ROWS" "$DESC/csv.yaml" "$GEN/components.csv"
publish_one spectral-index-parquet "$PARQUET_ROWS" "$DESC/parquet.yaml" "$GEN/spectral_index.parquet"
felis_rows=$($PY -c "import json,sys; print(sum(json.load(open(sys.argv[1])).values()))" "$GEN/dp02/rows.json" 2>/dev/null || echo 0)
# Rubin's schema has no UCD on many columns: strict refuses it, so it goes in lax (the
# problems are printed); one data file per table, in the schema's table order.
if [ -r "$GEN/dp02/files.txt" ]; then
  mapfile -t felis_files <"$GEN/dp02/files.txt"
  publish_one dp02-felis "$felis_rows" "$FELIS" "${felis_files[@]}" --lax
fi

echo "== vonode tables"
"${VONODE[@]}" tables >"$OUT/tables.txt" 2>&1 || fail "vonode tables: $(tail -3 "$OUT/tables.txt")"
cat "$OUT/tables.txt"

echo "== 4. real clients"
TOKEN_A=$(mint_token alice team-a) || fail "no team-a token"
TOKEN_B=$(mint_token bob team-b) || fail "no team-b token"
cat >"$OUT/manifest.json" <<EOF
{
  "catalogues": [
    {"description": "$DESC/pybdsf.yaml", "rows": $FITS_ROWS},
    {"description": "$DESC/sofia.yaml", "rows": $SOFIA_ROWS},
    {"description": "$DESC/csv.yaml", "rows": $CSV_ROWS},
    {"description": "$DESC/parquet.yaml", "rows": $PARQUET_ROWS}
  ],
  "embargoed": {"description": "$DESC/sofia-embargoed.yaml", "rows": $EMBARGOED_ROWS, "group": "team-a",
                "token": "$TOKEN_A", "other_token": "$TOKEN_B"},
  "felis": {"schema": "$FELIS", "rows": $(cat "$GEN/dp02/rows.json" 2>/dev/null || echo '{}')}
}
EOF
timed "pyvo checks (conformance/publish/check.py)" timeout 900 $PY "$ROOT/conformance/publish/check.py" "$BASE" "$OUT/manifest.json" \
  || fail "pyvo checks: see the FAIL lines above"

timed "stilts taplint" timeout 900 stilts taplint tapurl="$BASE/tap" report=EW maxrepeat=5 >"$OUT/taplint.txt" 2>&1
grep -E '^(E|W)-|^Totals' "$OUT/taplint.txt" | head -60
errors=$(grep -c '^E-' "$OUT/taplint.txt")
grep -q '^Totals' "$OUT/taplint.txt" || fail "taplint did not finish: $(tail -3 "$OUT/taplint.txt")"
[ "$errors" -eq 0 ] && pass "taplint: 0 errors with the catalogues published" || fail "taplint reported $errors errors"

echo "== nothing restarted"
if [ "$NODE_PID" = "$FIRST_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
  ready=$(grep -c '"msg":"ready in' "$LOG")
  [ "$ready" -eq 1 ] && pass "one node process (pid $NODE_PID), started once, served every publish" \
    || fail "the node log says 'ready' $ready times"
else
  fail "the node process $FIRST_PID is gone"
fi
grep -iE '"level":(50|60)|error' "$LOG" | head -5

report
exit $((failures > 0))
