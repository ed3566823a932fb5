#!/usr/bin/env bash
# User tables over CADC's youcat protocol (issue 16, acceptance), against a live node with
# real tokens of the development issuer:
#   alice (team-a) creates a table with the requests pyvo 1.9's TAPService.create_table,
#   load_table, create_index and remove_table send (conformance/user-tables/check.py writes
#   them with requests, method by method), loads USER_TABLES_ROWS rows (default 1,000,000:
#   TSV streamed in chunks, then CSV, then a FITS binary table), indexes them through the
#   table-update UWS job, and shares the table with the youcat permissions calls;
#   bob (team-b) sees nothing of it until alice grants team-b read, then queries it and runs an
#   upload crossmatch against it with Debian's pyvo 1.2; carol (team-c) loads rows once
#   team-c may write; anonymous never sees it; after remove_table it is gone from TAP_SCHEMA and
#   from the database (psql through the node's connection file).
#   Malformed definitions and loads each get a clear error, with nothing half-loaded.
#   Then the node is restarted with a small row quota (USER_TABLES_QUOTA_ROWS), and a load
#   crossing it is refused with nothing loaded.
# Prints PASS/FAIL lines and the time of every step; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. conformance/lib/node.sh

PORT=${CONFORMANCE_USER_TABLES_PORT:-18786}
ROWS=${USER_TABLES_ROWS:-1000000}
QUOTA_ROWS=${USER_TABLES_QUOTA_ROWS:-43210}
WORK=$(mktemp -d /tmp/vonode-user-tables-XXXXXX)
chmod 755 "$WORK"
DATA="$WORK/var"
OUT="$WORK/out"
LOG="$WORK/node.log"
mkdir -p "$DATA" "$OUT"
chmod 755 "$DATA"
TIMINGS="$OUT/timings.txt"
: >"$TIMINGS"
exec 3>&1
T_START=$(now)

node_env "$DATA" "$PORT"
# The crossmatch and counts over a million rows are seconds; minutes would be a failure.
export VONODE_TAP_SYNC_TIMEOUT=${VONODE_TAP_SYNC_TIMEOUT:-120}

cleanup() {
  stop_node
  [ -n "${KEEP_USER_TABLES_WORK:-}" ] && { echo "kept $WORK"; return; }
  rm -rf "$WORK"
}
trap cleanup EXIT

report() {
  echo "== timings"
  cat "$TIMINGS"
  echo "total: $(since "$T_START") s"
  echo "user-tables: $failures failure(s)"
}

echo "== the node (demo rows $VONODE_DEMO_ROWS)"
if ! timed "start of the node" start_node "$LOG"; then
  tail -30 "$LOG"
  fail "the node did not start"
  report
  exit 1
fi
TOKEN_A=$(mint_token alice team-a) || fail "no token for alice"
TOKEN_B=$(mint_token bob team-b) || fail "no token for bob"
TOKEN_C=$(mint_token carol team-c) || fail "no token for carol"

# check.py STEP: the tokens go through the environment, not the command line.
check() {
  USER_TABLES_TOKEN_ALICE=$TOKEN_A USER_TABLES_TOKEN_BOB=$TOKEN_B USER_TABLES_TOKEN_CAROL=$TOKEN_C \
    timeout 1800 "$PY" "$ROOT/conformance/user-tables/check.py" "$1" "$BASE" "$DATA" "$ROWS" "$QUOTA_ROWS"
}

echo "== youcat protocol, permissions, pyvo 1.2 queries ($ROWS rows)"
timed "check.py main ($ROWS rows)" check main || fail "check.py main: see the FAIL lines above"

echo "== a load crossing the row quota ($QUOTA_ROWS rows per table)"
stop_node
export VONODE_USER_TABLE_MAX_ROWS=$QUOTA_ROWS
if timed "restart with VONODE_USER_TABLE_MAX_ROWS=$QUOTA_ROWS" start_node "$LOG"; then
  timed "check.py quota" check quota || fail "check.py quota: see the FAIL lines above"
else
  tail -30 "$LOG"
  fail "the node did not start again with a row quota"
fi
unset VONODE_USER_TABLE_MAX_ROWS

echo "== the node's log"
if grep -qE '"level":(50|60)' "$LOG"; then
  fail "the node logged errors (level 50/60): $(grep -E '"level":(50|60)' "$LOG" | head -3)"
else
  pass "no error in the node's log"
fi

report
exit $((failures > 0))
