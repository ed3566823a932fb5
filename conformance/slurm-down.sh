#!/bin/bash
# conformance/slurm-down.sh — stops what slurm-up.sh started, by its PID files only:
# cancels the remaining jobs, then slurmd, slurmctld, and munged if slurm-up.sh started it.
# --purge also removes $VONODE_SLURM_DIR. Packages stay installed.
set -uo pipefail
DIR="${VONODE_SLURM_DIR:-/tmp/vonode-slurm}"
RUN="$DIR/run"
export SLURM_CONF="$DIR/slurm.conf"
say() { echo "slurm-down: $*" >&2; }

pid_of() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(tr -cd '0-9' <"$1")
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ] && echo "$pid"
}
stop() {
  local pid
  pid=$(pid_of "$RUN/$1.pid" "$1") || { say "$1 not running"; return 0; }
  say "stopping $1 ($pid)"
  kill "$pid" 2>/dev/null
  for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && break; sleep 0.1; done
  [ -d "/proc/$pid" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  rm -f "$RUN/$1.pid"
}

if pid_of "$RUN/slurmctld.pid" slurmctld >/dev/null && [ -f "$SLURM_CONF" ]; then
  jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    say "cancelling $jobs"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for _ in $(seq 60); do [ -z "$(squeue -h -t R,CG -o %i 2>/dev/null)" ] && break; sleep 0.5; done
  fi
fi
stop slurmd
stop slurmctld
if [ -f "$RUN/munged.started-here" ]; then
  stop munged
  rm -f "$RUN/munged.started-here"
fi
[ "${1:-}" = --purge ] && rm -rf "$DIR" && say "removed $DIR"
say "down"
