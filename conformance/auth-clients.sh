#!/usr/bin/env bash
# Standard clients reach proprietary data with a token (issue 13, "auth clients can use"):
# a node with the development issuer and small demo data, a team-a token, then
#   - the anonymous answers carry the challenges, the authenticated ones X-VO-Authenticated;
#   - STILTS tapquery (Debian's 3.4.7) with the token as the HTTP Basic password, through
#     the /login/ URL so java.net.Authenticator gets the 401 it needs, sync and async;
#   - TOPCAT's own jar (Debian's 4.8.7: the same STIL jars) the same way, headless;
#   - pyvo (Debian's 1.2) with AuthSession: TAP, DataLink files, previews and SCS
#     (conformance/pyvo_auth.py).
# Loopback only, bounded (every client call has a timeout). Prints PASS/FAIL per check and
# exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. conformance/lib/node.sh
PORT=${CONFORMANCE_AUTH_PORT:-18782}
DATA=$(mktemp -d /tmp/vonode-auth-clients-XXXXXX)
chmod 755 "$DATA"
LOG="$DATA/node.log"
OUT="$DATA/out"
mkdir -p "$OUT"

node_env "$DATA" "$PORT"
trap 'stop_node; rm -rf "$DATA"' EXIT

start_node "$LOG" || { cat "$LOG"; echo "FAIL the node did not start"; exit 1; }

TOKEN=$(mint_token alice team-a) || { echo "FAIL no token"; exit 1; }
COUNT="SELECT COUNT(*) AS n FROM demo.sources WHERE field_id = 'field-07'"

echo "== challenges and X-VO-Authenticated (curl)"
headers=$(curl -s -m 30 -I "$BASE/tap/capabilities")
for scheme in 'Bearer realm=' 'ivoa_bearer standard_id="ivo://ivoa.net/sso#OpenID", access_url="'"$BASE"'/dev-issuer"' 'Basic realm='; do
  if grep -qiF "www-authenticate: $scheme" <<<"$headers"; then pass "HEAD /tap/capabilities offers $scheme"; else fail "HEAD /tap/capabilities lacks $scheme"; fi
done
grep -qi '^x-vo-authenticated' <<<"$headers" && fail "anonymous answer carries X-VO-Authenticated" || pass "no X-VO-Authenticated when anonymous"
who=$(curl -s -m 30 -o /dev/null -D - -u "alice:$TOKEN" "$BASE/tap/capabilities" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-vo-authenticated"{print $2}')
[ "$who" = alice ] && pass "X-VO-Authenticated: alice with the token as the Basic password" || fail "X-VO-Authenticated was '$who'"
code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' -u "alice:not-a-token" "$BASE/tap/capabilities")
[ "$code" = 401 ] && pass "a bad Basic password is 401" || fail "a bad Basic password gave HTTP $code"
code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' "$BASE/login/tap/capabilities")
[ "$code" = 401 ] && pass "anonymous under /login/ is 401" || fail "anonymous under /login/ gave HTTP $code"

# $1: label, $2: expected count ('>0' or '0'), rest: the command printing CSV with a header line.
count_check() {
  local label=$1 want=$2
  shift 2
  local out n
  out=$(timeout 120 "$@" 2>&1)
  n=$(printf '%s\n' "$out" | grep -E '^[0-9]+$' | tail -1)
  if [ -z "$n" ]; then
    fail "$label: no count ($(printf '%s' "$out" | tail -2 | tr '\n' ' '))"
  elif { [ "$want" = '>0' ] && [ "$n" -gt 0 ]; } || { [ "$want" = 0 ] && [ "$n" -eq 0 ]; }; then
    pass "$label: $n field-07 rows"
  else
    fail "$label: $n field-07 rows, expected $want"
  fi
}

echo "== STILTS $(stilts -version 2>/dev/null | grep -o 'STILTS version [^ ]*' | head -1)"
AUTH=(-Dstar.basicauth.user=alice "-Dstar.basicauth.password=$TOKEN")
count_check "stilts tapquery sync, token as Basic password" '>0' \
  stilts "${AUTH[@]}" tapquery tapurl="$BASE/login/tap" sync=true adql="$COUNT" ofmt=csv
count_check "stilts tapquery async, token as Basic password" '>0' \
  stilts "${AUTH[@]}" tapquery tapurl="$BASE/login/tap" sync=false adql="$COUNT" ofmt=csv
count_check "stilts tapquery anonymous" 0 \
  stilts tapquery tapurl="$BASE/tap" sync=true adql="$COUNT" ofmt=csv
out=$(timeout 120 stilts -Dstar.basicauth.user=alice -Dstar.basicauth.password=not-a-token tapquery \
  tapurl="$BASE/login/tap" sync=true adql="$COUNT" ofmt=csv 2>&1)
grep -q 401 <<<"$out" && pass "stilts with a bad password is refused (401)" || fail "stilts with a bad password: $out"

echo "== TOPCAT's STIL (Debian's topcat jar, headless)"
TOPCAT_JAR=/usr/share/java/starlink-topcat.jar
if [ -r "$TOPCAT_JAR" ]; then
  count_check "topcat -stilts tapquery async, token as Basic password" '>0' \
    java -Djava.awt.headless=true "${AUTH[@]}" -jar "$TOPCAT_JAR" -stilts tapquery tapurl="$BASE/login/tap" \
    sync=false adql="$COUNT" ofmt=csv
else
  fail "TOPCAT is not installed ($TOPCAT_JAR; apt-get install topcat)"
fi

echo "== pyvo $($PY -c 'import pyvo; print(pyvo.__version__)') AuthSession"
timeout 300 $PY conformance/pyvo_auth.py "$BASE" "$TOKEN" 2>"$OUT/pyvo.err" || fail "pyvo AuthSession checks ($?)"

echo "auth-clients: $failures failure(s)"
[ "$failures" -eq 0 ]
