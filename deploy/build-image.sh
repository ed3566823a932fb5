#!/bin/bash
# deploy/build-image.sh [IMAGE] — builds the vonode container image with podman, offline.
#
# Nothing is pulled from a registry: the base image (localhost/vonode-debian-base:12) is made
# from this machine's own Debian packages (the files dpkg lists for libc6, libstdc++6,
# libgcc-s1, base-files, ca-certificates, tzdata, netbase, busybox-static), imported with
# `podman import` as conformance/broker-podman.sh does for its busybox image. The build
# context is staged in a temporary folder: the repository's files (tracked and new, without
# .git and ignored files), node_modules with the development packages pruned (npm prune
# --omit=dev, offline), and this machine's Node.js binary (node 20 or newer) under node/.
# Then `podman build -f Containerfile` (see the Containerfile for what the image is).
#
# Needs: Debian 12 with the packages above installed, podman, node >= 20, an installed
# node_modules (npm ci). Set VONODE_REBUILD_BASE=1 to remake the base.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
image="${1:-localhost/vonode:latest}"
base="localhost/vonode-debian-base:12"
packages=(base-files libc6 libgcc-s1 libstdc++6 ca-certificates tzdata netbase busybox-static)

node_bin="$(command -v node)"
major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || { echo "build-image: node $major is older than 20" >&2; exit 2; }
[ -d "$root/node_modules" ] || { echo "build-image: run npm ci first (no node_modules)" >&2; exit 2; }

tmp=$(mktemp -d)
trap '[ -n "${KEEP_CONTEXT:-}" ] || rm -rf "$tmp"' EXIT

if [ "${VONODE_REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$base"; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build-image: installing ${missing[*]} (Debian packages) for the base" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  rootfs="$tmp/rootfs"
  mkdir -p "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/usr/lib" "$rootfs/usr/lib64"
  # Every file, link and folder each package installed, at its path; the usrmerge links
  # (/bin -> usr/bin ...) come along as links, so files listed under /bin land in /usr/bin.
  for d in bin sbin lib lib64; do if [ -L "/$d" ]; then ln -s "usr/$d" "$rootfs/$d"; fi; done
  for p in "${packages[@]}"; do dpkg -L "$p"; done | grep -vxE '/\.|/(bin|sbin|lib|lib64)' | sort -u |
    while read -r f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\n' "${f#/}"; fi; done >"$tmp/files"
  tar -C / --no-recursion -T "$tmp/files" -cf - | tar -C "$rootfs" --keep-directory-symlink -xf -
  # What maintainer scripts would have made: the certificate bundle, a shell, the user.
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/var/lib/vonode" "$rootfs/usr/local/bin" "$rootfs/bin"
  cp -aL /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  for a in sh ls cat env ps kill wget mkdir rm id; do ln -sf /bin/busybox "$rootfs/usr/bin/$a"; done
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nvonode:x:10001:10001:vonode:/var/lib/vonode:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nvonode:x:10001:\n' >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  chown 10001:10001 "$rootfs/var/lib/vonode"
  tar -C "$rootfs" -cf "$tmp/rootfs.tar" .
  podman import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' "$tmp/rootfs.tar" "$base" >/dev/null
  rm -rf "$rootfs" "$tmp/rootfs.tar"
  echo "build-image: base $base made from the Debian packages ${packages[*]}" >&2
fi

ctx="$tmp/context"
mkdir -p "$ctx/app" "$ctx/node/bin"
cd "$root"
git ls-files -z --cached --others --exclude-standard | grep -zv '^node_modules' |
  xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' | tar --null -T - -cf - | tar -C "$ctx/app" -xf -
cp -rL "$root/node_modules" "$ctx/app/node_modules"
(cd "$ctx/app" && npm prune --omit=dev --offline --no-audit --no-fund --ignore-scripts >/dev/null 2>&1) ||
  echo "build-image: npm prune failed; the image keeps the development packages" >&2
cp "$node_bin" "$ctx/node/bin/node"
cp "$root/Containerfile" "$ctx/Containerfile"
echo "build-image: context staged in $SECONDS s" >&2
podman build --quiet --format docker -f "$ctx/Containerfile" --build-arg "BASE=$base" -t "$image" "$ctx" >/dev/null
echo "build-image: $image ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))" >&2
