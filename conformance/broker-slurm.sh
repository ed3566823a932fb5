#!/bin/bash
# conformance/broker-slurm.sh — the broker's end-to-end test on a real single-node Slurm:
# starts Slurm (slurm-up.sh), runs conformance/broker-slurm.test.ts with the Slurm backend
# (pipelines, and containers through rootful podman inside Slurm jobs: time limit, cancel,
# cores, storage; the image comes from podman-image.sh), then stops Slurm (slurm-down.sh)
# whatever the outcome — unless Slurm was already running when it started, in which case
# it is left as it was found. Needs root (apt-get, daemons).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
t0=$(date +%s)
running=no
pid=$(tr -cd 0-9 2>/dev/null <"${VONODE_SLURM_DIR:-/tmp/vonode-slurm}/run/slurmctld.pid" || true)
[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slurmctld ] && running=yes
[ "$running" = yes ] || trap '"$here/slurm-down.sh" || true' EXIT
image=$("$here/podman-image.sh" | tail -1)
conf_line=$("$here/slurm-up.sh" | tail -1)
case "$conf_line" in SLURM_CONF=*) ;; *) echo "broker-slurm: slurm-up.sh printed no SLURM_CONF" >&2; exit 1 ;; esac
t1=$(date +%s)
cd "$root"
status=0
VONODE_TEST_PODMAN_RUNTIME="${VONODE_TEST_PODMAN_RUNTIME:-podman --runtime=runc run --rm}" \
VONODE_TEST_PODMAN_IMAGE="$image" \
VONODE_SLURM_CONF="${conf_line#SLURM_CONF=}" npx vitest run --config conformance/vitest.slurm.config.ts || status=$?
t2=$(date +%s)
# Capacity on Slurm (issue 21 item 2): offers within the partition, PENDING shown WAITING,
# a 1-s job among many live sessions. Smaller than on the local backend: each Slurm job
# costs the controller a second or two to launch.
BROKER_CAPACITY_SESSIONS=${BROKER_SLURM_CAPACITY_SESSIONS:-20} BROKER_CAPACITY_LIVE=${BROKER_CAPACITY_LIVE:-300} \
  VONODE_SLURM_CONF="${conf_line#SLURM_CONF=}" node_modules/.bin/tsx conformance/broker-capacity.ts || status=$?
t3=$(date +%s)
echo "broker-slurm: Slurm up in $(( t1 - t0 )) s, tests in $(( t2 - t1 )) s, capacity in $(( t3 - t2 )) s, status $status"
exit "$status"
