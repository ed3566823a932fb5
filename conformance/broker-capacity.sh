#!/bin/bash
# conformance/broker-capacity.sh — the broker's capacity acceptance (issue 21 item 2) on the
# local backend: N sessions requested at once never run on more cores than granted and all
# finish right; a new 1-second job among many live sessions finishes within 10 s of its start
# (conformance/broker-capacity.ts, which prints the figures). conformance/broker-slurm.sh runs
# the same on Slurm. CI sizes are small; the issue's sizes:
#   BROKER_CAPACITY_SESSIONS=50 BROKER_CAPACITY_LIVE=300 bash conformance/broker-capacity.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export BROKER_CAPACITY_SESSIONS=${BROKER_CAPACITY_SESSIONS:-50}
export BROKER_CAPACITY_LIVE=${BROKER_CAPACITY_LIVE:-300}
t0=$(date +%s)
status=0
VONODE_SLURM_CONF='' node_modules/.bin/tsx conformance/broker-capacity.ts || status=$?
echo "broker-capacity: local backend in $(( $(date +%s) - t0 )) s, status $status"
exit "$status"
