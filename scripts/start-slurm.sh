#!/usr/bin/env bash
# Starts, idempotently, a single-node Slurm on this machine (no systemd here): writes
# /etc/slurm/slurm.conf for this host, creates the munge key if missing, starts munged (as user
# munge), slurmctld and slurmd (as root) when they are not running, and waits until `sinfo` shows
# the node ready for jobs. Safe to run again and again: a running cluster is left as it is.
# Needs root (or sudo) and Debian's `slurm-wlm munge` (scripts/setup-system.sh installs them).
set -euo pipefail

TIMEOUT_S=${SLURM_START_TIMEOUT_S:-60}
CONF=/etc/slurm/slurm.conf
LOG_DIR=/var/log/slurm

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -n SLURM_START_TIMEOUT_S="$TIMEOUT_S" bash "$0" "$@"
fi

for bin in munged slurmctld slurmd sinfo; do
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
    echo "start-slurm: $bin is not installed (apt-get install slurm-wlm munge)" >&2
    exit 1
  fi
done
export PATH="/usr/sbin:/sbin:$PATH"

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(free -m | awk '/^Mem:/ { print $2 }')

# Is a daemon running? Reads its pid file (pgrep would also match other containers' processes
# on a shared kernel; a pid file names ours).
running() { # name pidfile
  local pid
  [ -f "$2" ] || return 1
  pid=$(cat "$2" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$1" ]
}

show_logs() {
  for f in "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" /var/log/munge/munged.log; do
    [ -f "$f" ] && { echo "---- $f (last 40 lines)" >&2; tail -n 40 "$f" >&2; }
  done
  echo "---- sinfo" >&2
  sinfo -N -l >&2 || true
}

# --- slurm.conf ------------------------------------------------------------------------------
mkdir -p /etc/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd "$LOG_DIR"
tmp=$(mktemp)
cat >"$tmp" <<EOF
# Written by stagewise scripts/start-slurm.sh: a single-node cluster on $host.
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=5
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
conf_changed=0
if ! cmp -s "$tmp" "$CONF"; then
  install -m 0644 "$tmp" "$CONF"
  conf_changed=1
  echo "# start-slurm: wrote $CONF (node $host, $cpus CPUs, ${mem_mb} MB)"
fi
rm -f "$tmp"

# --- munge -----------------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile=/etc/munge/munge.key --force
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  echo "# start-slurm: created /etc/munge/munge.key"
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
if ! running munged /run/munge/munged.pid; then
  echo "# start-slurm: starting munged"
  runuser -u munge -- /usr/sbin/munged
fi
for _ in $(seq 1 50); do
  munge -n </dev/null | unmunge >/dev/null 2>&1 && break
  sleep 0.1
done
if ! munge -n </dev/null | unmunge >/dev/null 2>&1; then
  echo "start-slurm: munged does not answer" >&2
  show_logs
  exit 1
fi

# --- slurmctld, slurmd -----------------------------------------------------------------------
started=0
if ! running slurmctld /run/slurmctld.pid; then
  echo "# start-slurm: starting slurmctld"
  /usr/sbin/slurmctld
  started=1
fi
if ! running slurmd /run/slurmd.pid; then
  echo "# start-slurm: starting slurmd"
  /usr/sbin/slurmd
  started=1
fi
if [ "$started" = 0 ] && [ "$conf_changed" = 1 ]; then
  scontrol reconfigure || true
fi

# --- wait until the node takes jobs ------------------------------------------------------------
deadline=$((SECONDS + TIMEOUT_S))
resumed=0
while :; do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null | head -n 1 || true)
  case "$state" in
    idle | mixed | allocated | completing)
      echo "# start-slurm: node $host is $state"
      exit 0
      ;;
    drained | draining | down | drained\* | down\*)
      # Left over from an earlier start (e.g. a changed RealMemory): put it back in service once.
      if [ "$resumed" = 0 ] && running slurmd /run/slurmd.pid; then
        scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
        resumed=1
      fi
      ;;
  esac
  if ((SECONDS >= deadline)); then
    echo "start-slurm: node $host not ready after ${TIMEOUT_S}s (state: ${state:-none})" >&2
    show_logs
    exit 1
  fi
  sleep 0.5
done
