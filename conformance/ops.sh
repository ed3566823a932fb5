#!/bin/bash
# conformance/ops.sh — vonode as an operator runs it (issue 23): the container image built
# offline with podman (deploy/build-image.sh), a Debian PostgreSQL 15 on loopback prepared
# by `vonode init-db` run in the image as a role without superuser rights (first refused,
# with the SQL an administrator runs, then run again: idempotent), the node container
# passing its HEALTHCHECK and a pyvo smoke (sync, async, table listing), then SIGTERM under
# load (50 streaming queries, 20 async jobs): it exits 0 within VONODE_DRAIN_SECONDS, every
# stream ends in a well-formed VOTable (parsed with astropy), and after a restart every job
# reaches COMPLETED, each with exactly one completed run in uws.runs.
# Needs root (apt-get, rootful podman, PostgreSQL run as the postgres user). Loopback only.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$here")"
cd "$ROOT"
. conformance/lib/node.sh
PGBIN=/usr/lib/postgresql/15/bin
PGPORT=${OPS_PG_PORT:-55441}
PORT=${OPS_PORT:-58095}
DRAIN=${OPS_DRAIN_SECONDS:-10}
IMAGE=localhost/vonode:ops
CTR=vonode-ops
t_start=$(now)

need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
[ -x "$PGBIN/initdb" ] || need+=(postgresql-15)
[ ${#need[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

work=$(mktemp -d /tmp/vonode-ops.XXXXXX)
chmod 755 "$work"
cleanup() {
  podman rm -f "$CTR" >/dev/null 2>&1
  [ -f "$work/pg/postmaster.pid" ] && su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $work/pg -m fast -w stop" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# runc, not crun (hybrid cgroups, see broker-podman.sh); explicit limits: this sandbox
# refuses podman's default rlimits.
RUN=(podman run --runtime=runc --ulimit nofile=16384:16384 --ulimit nproc=4096:4096 --network host)

echo "-- building the image"
t0=$(now)
if bash deploy/build-image.sh "$IMAGE"; then pass "image built offline in $(since "$t0") s"; else
  fail "the image could not be built"
  exit 1
fi
[ "$(podman image inspect --format '{{.Config.User}}' "$IMAGE")" = "10001:10001" ] && pass "the image runs as uid 10001" || fail "the image runs as root"

echo "-- Debian PostgreSQL 15 on 127.0.0.1:$PGPORT"
mkdir -p "$work/pg" "$work/pglog" "$work/data" "$work/load"
chown postgres "$work/pg" "$work/pglog"
chown 10001:10001 "$work/data"
echo adminpw >"$work/pwfile"
chown postgres "$work/pwfile"
su postgres -s /bin/sh -c "$PGBIN/initdb -D $work/pg -U postgres -A scram-sha-256 --pwfile=$work/pwfile" >"$work/initdb.log" 2>&1 || {
  fail "initdb"
  exit 1
}
su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $work/pg -l $work/pglog/pg.log -w -o '-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$work/pg -c max_connections=200' start" >/dev/null || {
  fail "PostgreSQL did not start"
  exit 1
}
export PGPASSWORD=adminpw
admin() { psql -qtA -h 127.0.0.1 -p "$PGPORT" -U postgres -d "${DB:-vonode}" "$@"; }
DB=postgres admin -c "CREATE ROLE vonode LOGIN PASSWORD 'nodepw'" -c "CREATE DATABASE vonode OWNER vonode"
DBURL="postgres://vonode:nodepw@127.0.0.1:$PGPORT/vonode"

echo "-- vonode init-db in the image, as the database's owner without CREATEROLE"
"${RUN[@]}" --rm -e DATABASE_URL="$DBURL" "$IMAGE" init-db >"$work/init1.log" 2>&1
rc=$?
grep -q '^  GRANT vonode_reader TO "vonode"' "$work/init1.log" && [ $rc -eq 2 ] &&
  pass "init-db without the rights exits 2 with the SQL to run" || fail "init-db without rights (exit $rc): $(cat "$work/init1.log")"
# The administrator runs exactly what it printed.
grep '^  ' "$work/init1.log" | sed 's/^  //' >"$work/grants.sql"
admin -f "$work/grants.sql" >/dev/null && pass "the printed SQL runs as written ($(wc -l <"$work/grants.sql") statements)" || fail "the printed SQL"
"${RUN[@]}" --rm -e DATABASE_URL="$DBURL" "$IMAGE" init-db >"$work/init2.log" 2>&1 && pass "init-db: $(tail -1 "$work/init2.log")" || fail "init-db: $(cat "$work/init2.log")"
"${RUN[@]}" --rm -e DATABASE_URL="$DBURL" "$IMAGE" init-db >"$work/init3.log" 2>&1 && grep -q 'nothing to do' "$work/init3.log" &&
  pass "init-db again changes nothing" || fail "init-db again: $(cat "$work/init3.log")"

echo "-- the node container"
BASE="http://127.0.0.1:$PORT"
# Test settings: one client address sends all 50 queries (per-client cap raised), results
# stream at once rather than after a status spool, and the pool holds them all.
"${RUN[@]}" -d --name "$CTR" -v "$work/data:/var/lib/vonode" \
  -e DATABASE_URL="$DBURL" -e PORT="$PORT" -e VONODE_HOST=127.0.0.1 -e VONODE_BASE_URL="$BASE" \
  -e VONODE_DEMO_ROWS=20000 -e VONODE_DEMO_SCALE=16 -e VONODE_DRAIN_SECONDS="$DRAIN" \
  -e VONODE_SYNC_MAX_PER_CLIENT=64 -e VONODE_SYNC_PRODUCERS=64 -e VONODE_SYNC_STATUS_SPOOL=0 \
  -e VONODE_DB_POOL=80 -e VONODE_LOG_LEVEL=info "$IMAGE" >/dev/null
ready() {
  for _ in $(seq 1 600); do
    curl -sf "$BASE/health/ready" >/dev/null 2>&1 && return 0
    [ "$(podman inspect --format '{{.State.Running}}' "$CTR" 2>/dev/null)" = true ] || return 1
    sleep 0.5
  done
  return 1
}
t0=$(now)
if ready; then pass "the node answers /health/ready after $(since "$t0") s"; else
  fail "the node never got ready: $(podman logs "$CTR" 2>&1 | tail -5)"
  exit 1
fi
podman healthcheck run "$CTR" >/dev/null 2>&1 && pass "the image's HEALTHCHECK reports healthy" || fail "HEALTHCHECK"
curl -s "$BASE/health/live" | grep -q live && pass "/health/live" || fail "/health/live"

echo "-- pyvo smoke"
$PY conformance/ops_clients.py smoke "$BASE/tap" 2>/dev/null || failures=$((failures + $?))

echo "-- SIGTERM under load (VONODE_DRAIN_SECONDS=$DRAIN)"
$PY conformance/ops_clients.py load "$BASE/tap" "$CTR" "$DRAIN" "$work/load/ids" 2>/dev/null || failures=$((failures + $?))
podman logs "$CTR" 2>&1 | grep -E 'draining|drained|cut|did not finish' | sed 's/^/  node: /'
released=$(admin -c "SELECT count(*) FROM uws.runs WHERE outcome = 'RELEASED'")

echo "-- restart: the handed-back jobs run"
podman start "$CTR" >/dev/null
ready || fail "the restarted node never got ready"
$PY conformance/ops_clients.py jobs "$BASE/tap" "$work/load/ids" 2>/dev/null || failures=$((failures + $?))
ids=$(sed "s/.*/'&'/" "$work/load/ids" | paste -sd,)
once=$(admin -c "SELECT count(*) FROM (SELECT job_id FROM uws.runs WHERE job_id IN ($ids) GROUP BY job_id
  HAVING count(*) FILTER (WHERE outcome = 'COMPLETED') = 1 AND count(*) FILTER (WHERE outcome NOT IN ('COMPLETED', 'RELEASED')) = 0) s")
[ "$once" = "$(wc -l <"$work/load/ids")" ] && pass "every job completed exactly once ($released runs handed back at SIGTERM and run again)" ||
  fail "jobs completed exactly once: $once of $(wc -l <"$work/load/ids")"

podman stop -t 30 "$CTR" >/dev/null 2>&1
echo "ops: $(since "$t_start") s in all"
echo "ops: $failures failed"
exit $((failures > 0))
