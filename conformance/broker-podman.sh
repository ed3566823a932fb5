#!/bin/bash
# conformance/broker-podman.sh — the broker's isolation test (issue 13) on a real container
# engine: builds a tiny local image from Debian's static busybox (no registry is reached),
# then runs conformance/broker-podman.test.ts against a node whose container runtime is
# podman. Needs root (apt-get, rootful podman). Images are never pulled.
#
# VONODE_TEST_PODMAN_RUNTIME overrides the engine prefix. The default adds --runtime=runc
# because crun refuses hybrid cgroup hierarchies (cgroup v1 with a cgroup2 mount that still
# holds a controller), which some virtual machines have.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
image="localhost/vonode-busybox:1"
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
[ -x /bin/busybox ] || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then apt-get install -y "${need[@]}" >/dev/null; fi
if ! podman image exists "$image"; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/tmp" "$tmp/rootfs/output" "$tmp/rootfs/data" "$tmp/rootfs/etc"
  cp /bin/busybox "$tmp/rootfs/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$tmp/rootfs/bin/$a"; done
  chmod 1777 "$tmp/rootfs/tmp"
  tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .
  podman import --change 'ENV PATH=/bin' "$tmp/rootfs.tar" "$image" >/dev/null
fi
cd "$root"
export VONODE_TEST_PODMAN_RUNTIME="${VONODE_TEST_PODMAN_RUNTIME:-podman --runtime=runc run --rm}"
export VONODE_TEST_PODMAN_IMAGE="$image"
t0=$(date +%s)
status=0
npx vitest run --config conformance/vitest.podman.config.ts || status=$?
echo "broker-podman: tests in $(( $(date +%s) - t0 )) s, status $status"
exit "$status"
