#!/bin/bash
# conformance/broker-notebook.sh — the broker's Jupyter notebook sessions (issue 21 item 4)
# on a real node: a notebook run in batch by nbconvert, and a notebook server behind the
# node's proxy opened in Debian's Chromium with the user's token, reading a product, its
# output downloaded; the proxy's refusals; the server ending on cancel and on its time limit.
# Needs Debian's jupyter-notebook, python3-nbconvert, python3-ipykernel, python3-astropy and
# chromium (scripts/install-debian-deps.sh). About two minutes on a loaded 2-core machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$(dirname "$here")"
t0=$(date +%s)
status=0
npx vitest run --config conformance/vitest.notebook.config.ts || status=$?
echo "broker-notebook: tests in $(( $(date +%s) - t0 )) s, status $status"
exit "$status"
