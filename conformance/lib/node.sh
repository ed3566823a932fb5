# Shared by the conformance scripts that run their own node (auth-clients.sh, publish.sh,
# user-tables.sh): PASS/FAIL counting, timings, one node on its embedded PostgreSQL with the
# development issuer, and its tokens. Source it after `cd` to the repository root:
#
#   . conformance/lib/node.sh
#   node_env "$DATA" "$PORT"      # exports the node's settings (loopback, dev issuer, demo size)
#   start_node "$LOG" || ...      # starts it and waits until /tap/availability answers
#   TOKEN=$(mint_token alice team-a)
#   stop_node                     # also done by the EXIT trap the caller installs
#
# Nothing here exits: the caller decides what a failure means.

ROOT=${ROOT:-$(pwd)}
PY=${PY:-/usr/bin/python3}
VONODE=(node "$ROOT/bin/vonode.js")
failures=0
NODE_PID=''

pass() { echo "PASS $*"; }
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}

now() { date +%s.%N; }
since() { $PY -c "print(f'{$(now) - $1:.1f}')"; }

# timed LABEL COMMAND...: runs it and appends its seconds to $TIMINGS (when set, also from
# background jobs) and a progress line to fd 3 (the terminal, when the caller opened it).
timed() {
  local label=$1 t0 rc s
  shift
  t0=$(now)
  "$@"
  rc=$?
  s=$(since "$t0")
  [ -z "${TIMINGS:-}" ] || printf '%-58s %7s s%s\n' "$label" "$s" "$([ $rc -eq 0 ] || echo '  (failed)')" >>"$TIMINGS"
  { echo "-- $label: $s s (exit $rc)" >&3; } 2>/dev/null
  return $rc
}

# node_env DATA PORT: the settings every conformance node shares. The caller may export
# more (limits, timeouts) before start_node.
node_env() {
  export VONODE_DATA_DIR="$1" PORT="$2" VONODE_BASE_URL="http://127.0.0.1:$2" VONODE_DEV_ISSUER=on \
    VONODE_DEMO_ROWS=${VONODE_DEMO_ROWS:-20000} VONODE_DEMO_SCALE=${VONODE_DEMO_SCALE:-8} \
    VONODE_LOG_LEVEL=${VONODE_LOG_LEVEL:-warn}
  BASE=$VONODE_BASE_URL
}

# start_node LOG: the node in the background (NODE_PID), waiting up to 5 minutes for it to
# answer; non-zero when it exits or never answers (its log tells why).
start_node() {
  local log=$1
  "${VONODE[@]}" serve >>"$log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 600); do
    curl -sf "$BASE/tap/availability" >/dev/null 2>&1 && return 0
    kill -0 "$NODE_PID" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

stop_node() {
  [ -n "$NODE_PID" ] || return 0
  kill -TERM "$NODE_PID" 2>/dev/null
  wait "$NODE_PID" 2>/dev/null
  NODE_PID=''
}

# mint_token SUB [GROUPS]: a token of the development issuer (GROUPS comma-separated).
mint_token() {
  if [ -n "${2:-}" ]; then
    "${VONODE[@]}" token --sub "$1" --groups "$2"
  else
    "${VONODE[@]}" token --sub "$1"
  fi
}
