#!/usr/bin/env bash
# The real clients the tests run against vonode: astropy, astropy-healpix and pyvo for
# Debian's /usr/bin/python3, STILTS (votlint, taplint, tcopy), xmllint for XSD checks (xmlschema for
# the XSD 1.1 ones: MIVOT's schema uses assertions, which xmllint cannot read),
# Chromium for the web pages. Skips the install when everything is present already.
set -euo pipefail
# topcat: its STIL reads proprietary rows with a token (conformance/auth-clients.sh); podman, runc
# and busybox-static: the broker's container isolation on a real engine (conformance/broker-podman.sh).
# postgresql-client: psql loads the upgrade test's pg_dump fixture; postgresql-15 plays a site's external
# server for vonode backup/restore on DATABASE_URL (pg_dump, pg_restore; test/node/backup-external.test.ts).
# chromium: the web pages' tests drive it with playwright-core (test/web).
# iproute2 and util-linux: the loopback and namespaces of isolated broker pipelines (src/broker/isolate.ts).
# jupyter-notebook, python3-nbconvert, python3-ipykernel: the broker's notebook sessions (the
# classic Jupyter Notebook 6 server and nbconvert's batch execution; bookworm has no JupyterLab).
# postgresql-15-q3c: the reference that bench/xmatch.ts compares the upload crossmatch with (q3c_join).
# aladin and xvfb (xvfb-run, with xauth): Aladin Desktop loads the node's HiPS under a virtual display
# (conformance/hips.sh).
packages=(python3-astropy python3-astropy-healpix python3-pyvo python3-numpy python3-xmlschema stilts libxml2-utils topcat podman runc busybox-static chromium postgresql-client postgresql-15 postgresql-15-q3c jupyter-notebook python3-nbconvert python3-ipykernel iproute2 util-linux aladin xvfb xauth)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "debian packages: all present"
  exit 0
fi
SUDO=''
[ "$(id -u)" -eq 0 ] || SUDO='sudo'
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "debian packages: installed ${missing[*]}"
