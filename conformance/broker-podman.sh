#!/bin/bash
# conformance/broker-podman.sh — the broker's isolation (issue 13) and enforcement (issue 21:
# time limit, cancel, cores, storage) tests on a real container engine: builds a tiny local
# image from Debian's static busybox (podman-image.sh; no registry is reached), then runs
# conformance/broker-podman.test.ts against a node whose container runtime is podman.
# Needs root (apt-get, rootful podman). Images are never pulled.
#
# VONODE_TEST_PODMAN_RUNTIME overrides the engine prefix. The default adds --runtime=runc
# because crun refuses hybrid cgroup hierarchies (cgroup v1 with a cgroup2 mount that still
# holds a controller), which some virtual machines have.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
image=$("$here/podman-image.sh" | tail -1)
cd "$root"
export VONODE_TEST_PODMAN_RUNTIME="${VONODE_TEST_PODMAN_RUNTIME:-podman --runtime=runc run --rm}"
export VONODE_TEST_PODMAN_IMAGE="$image"
t0=$(date +%s)
status=0
npx vitest run --config conformance/vitest.podman.config.ts || status=$?
echo "broker-podman: tests in $(( $(date +%s) - t0 )) s, status $status"
exit "$status"
