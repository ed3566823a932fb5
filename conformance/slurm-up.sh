#!/bin/bash
# conformance/slurm-up.sh — a one-machine Slurm for the broker's conformance run.
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge (no recommends), writes a
# slurm.conf with one controller and one compute node both called "localhost", and starts
# munged, slurmctld and slurmd directly (there is no systemd here). Nothing is exported
# globally: every Slurm client must be given SLURM_CONF, whose path is the last line
# printed ("SLURM_CONF=/path"). Without SLURM_CONF the clients would look for the
# controller in DNS, and no traffic may leave this machine.
#
# Things that go wrong without care, and what this script does about them:
#  - no systemd ⇒ nothing makes /run/munge; it is created here, owned by munge.
#  - munged refuses to run as root; it is started as the munge user.
#  - slurmd takes its node name from the hostname; -N localhost makes it the configured node.
#  - CommunicationParameters=NoInAddrAny binds the daemons to the hostname's address, so it
#    is only set when that address is a loopback one.
#  - a node that was down before keeps that state in the controller's save file; it is
#    resumed once.
#  - accounting is off (no slurmdbd); finished jobs go to a job completion text file.
# Processes are tracked by PID files under $VONODE_SLURM_DIR/run and checked by
# /proc/PID/comm before use; slurm-down.sh stops exactly those.
#
# Env: VONODE_SLURM_DIR (default /tmp/vonode-slurm), VONODE_SLURM_NO_APT=1 (skip apt-get).
# Needs root.
set -euo pipefail

DIR="${VONODE_SLURM_DIR:-/tmp/vonode-slurm}"
CONF="$DIR/slurm.conf"
RUN="$DIR/run"
LOG="$DIR/log"
say() { echo "slurm-up: $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "run as root"

# alive PIDFILE NAME: the process in PIDFILE exists, is NAME, and is not a zombie
alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(tr -cd '0-9' <"$1")
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ] \
    && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

start=$(date +%s)

# 1. packages
want="slurmctld slurmd slurm-client munge"
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  [ -z "${VONODE_SLURM_NO_APT:-}" ] || fail "not installed:$missing"
  say "installing$missing"
  apt-get update -q >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=180 $missing >&2
fi

mkdir -p "$RUN" "$LOG" "$DIR/state" "$DIR/spool"

# 2. munge
if [ ! -s /etc/munge/munge.key ]; then
  say "making /etc/munge/munge.key"
  install -d -o munge -g munge -m 700 /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 755 /run/munge
if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged is already answering"
else
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged || runuser -u munge -- /usr/sbin/munged --force \
    || fail "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n </dev/null | unmunge >/dev/null || fail "munge credentials do not round-trip"
  cp /run/munge/munged.pid "$RUN/munged.pid"
  touch "$RUN/munged.started-here"
fi

# 3. slurm.conf from this machine's hardware
hw=$(slurmd -C | head -1)
field() { echo "$hw" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
cpus=$(field CPUs); mem=$(field RealMemory)
: "${cpus:=$(nproc)}"
: "${mem:=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)}"
keep=$(( mem / 10 )); [ "$keep" -gt 1024 ] && keep=1024
bind="# daemons listen on all addresses (the hostname is not loopback); clients still use 127.0.0.1"
case "$(getent ahostsv4 "$(hostname)" | awk '{print $1; exit}')" in
  127.*) bind="CommunicationParameters=NoCtldInAddrAny,NoInAddrAny" ;;
esac
new=$(cat <<CONF
# vonode conformance: one controller and one node on this machine
ClusterName=vonode
SlurmctldHost=localhost
SlurmctldPort=6817
SlurmdPort=6818
$bind
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
ReturnToService=2
KillWait=5
MinJobAge=300
MailProg=/bin/true
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus RealMemory=$(( mem - keep )) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
)
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$new" ]; then
  echo "$new" >"$CONF"
  say "wrote $CONF"
  # a changed file needs the daemons restarted
  for d in slurmd slurmctld; do
    if alive "$RUN/$d.pid" "$d"; then kill "$(cat "$RUN/$d.pid")"; sleep 1; fi
  done
fi
export SLURM_CONF="$CONF"

# 4. daemons
if ! alive "$RUN/slurmctld.pid" slurmctld; then
  say "starting slurmctld"
  slurmctld -f "$CONF" >>"$LOG/slurmctld.out" 2>&1 || fail "slurmctld: $(tail -3 "$LOG/slurmctld.log" 2>/dev/null)"
fi
for _ in $(seq 120); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.5; done
scontrol ping | grep -q UP || fail "slurmctld does not answer: $(tail -3 "$LOG/slurmctld.log")"
if ! alive "$RUN/slurmd.pid" slurmd; then
  say "starting slurmd"
  slurmd -N localhost -f "$CONF" >>"$LOG/slurmd.out" 2>&1 || fail "slurmd: $(tail -3 "$LOG/slurmd.log" 2>/dev/null)"
fi

# 5. wait for the node to take jobs
resumed=no
state=""
for _ in $(seq 120); do
  state=$(sinfo -h -N -n localhost -o %T 2>/dev/null | head -1)
  case "$state" in
    idle*|mixed*|allocated*) break ;;
    down*|drain*|fail*)
      if [ "$resumed" = no ]; then scontrol update NodeName=localhost State=RESUME 2>/dev/null || true; resumed=yes; fi ;;
  esac
  sleep 0.5
done
case "$state" in idle*|mixed*|allocated*) ;; *) fail "node localhost is '$state'; see $LOG" ;; esac
say "ready in $(( $(date +%s) - start )) s (node localhost $state, $cpus CPUs)"
echo "SLURM_CONF=$CONF"
