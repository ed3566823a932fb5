#!/usr/bin/env bash
# Regenerates the upgrade test's fixture (test/node/upgrade.test.ts): the database of a node
# run with the code of an older commit, dumped with pg_dump, and what its queries answered.
#
#   bash scripts/make-upgrade-fixture.sh [COMMIT]      (default f3fcbaa)
#
# writes test/fixtures/upgrade/COMMIT.sql (plain SQL, pg_dump --no-owner) and COMMIT.json.
# The old code runs from a `git worktree` of COMMIT in a temporary folder, on a temporary
# cluster of Debian's PostgreSQL 15 (packages postgresql-15 and postgresql-client-15), so that
# Debian's pg_dump can dump it; the fixture then loads into any PostgreSQL 15 or newer.
# Needs the repository's node_modules (npm ci). Takes a minute or two.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
commit=${1:-f3fcbaa}
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
out="$root/test/fixtures/upgrade"
mkdir -p "$out"
work=$(mktemp -d /tmp/vonode-upgrade-fixture-XXXXXX)
chmod 755 "$work"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  git -C "$root" worktree remove --force "$work/src" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

git -C "$root" worktree add --detach "$work/src" "$commit" >/dev/null
ln -s "$(readlink -f "$root/node_modules")" "$work/src/node_modules"

mkdir "$work/pg"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work/pg"
as_pg "$pgbin/initdb" -D "$work/pg" -U vonode --auth=trust --encoding=UTF8 >/dev/null
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
as_pg "$pgbin/pg_ctl" -D "$work/pg" -w -l "$work/pg/log" \
  -o "-p $port -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
url="postgres://vonode@127.0.0.1:$port/vonode"
"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U vonode vonode

OLD_BIN="$work/src/bin/vonode.js" DATABASE_URL="$url" WORK="$work" COMMIT="$commit" \
  OUT="$out/$commit.json" npx tsx scripts/upgrade-fixture.ts

# Owners are the restoring user's; grants to vonode_reader stay (the test creates the role).
"$pgbin/pg_dump" --no-owner --format=plain --dbname="$url" --file="$out/$commit.sql"
echo "wrote $out/$commit.sql ($(wc -c <"$out/$commit.sql") bytes)"
