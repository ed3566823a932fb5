#!/bin/bash
# conformance/shards.sh — big catalogues partitioned and sharded (issue 22, docs/scaling.md):
# one catalogue published plain, partitioned on one server and on 1, 2 and 4 PostgreSQL
# servers on loopback (postgres_fdw) answers a set of cones, polygons, aggregates, joins,
# TOP queries and 1,000- and 10,000-row upload crossmatches identically through TAP; EXPLAIN
# shows pruning; the catalogue crossmatched with itself below the margin runs as one join per
# partition on its shard and moves only the matched pairs (extension vonode_adql);
# `vonode publish` and `vonode shards`; one shard killed with SIGKILL.
# CI runs 20,000 rows (about three minutes); the acceptance size is SHARDS_ROWS=10000000.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$(dirname "$here")"
t0=$(date +%s)
status=0
SHARDS_ROWS="${SHARDS_ROWS:-20000}" npx vitest run --config conformance/vitest.shards.config.ts || status=$?
echo "shards: ${SHARDS_ROWS:-20000} rows, tests in $(( $(date +%s) - t0 )) s, status $status"
exit "$status"
