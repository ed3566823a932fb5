#!/bin/bash
# conformance/podman-image.sh — the tiny local image the broker's container tests run:
# Debian's static busybox in an otherwise empty root, imported into rootful podman (no
# registry is reached). Installs podman, runc and busybox-static when missing. Needs root.
# Prints the image name.
set -euo pipefail
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
echo "$image"
