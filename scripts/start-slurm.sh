#!/usr/bin/env bash
# Starts a private single-node Slurm whose every file lives in DIR (no systemd, nothing written
# outside DIR, no /etc/slurm): DIR/slurm.conf (free ports of its own, so it runs beside any other
# Slurm on the machine), its own munged (own key and socket), slurmctld and slurmd with that
# config, then waits until the node takes jobs. Slurm's commands reach it with
# SLURM_CONF=DIR/slurm.conf. scripts/stop-slurm.sh DIR stops all of it and removes DIR.
#
# Usage: start-slurm.sh DIR    (DIR is made if missing; it must be reachable by root)
# Needs root (slurmd runs jobs as their users), or passwordless sudo, and Debian's
# `slurm-wlm munge` (scripts/setup-system.sh installs them).
set -euo pipefail

DIR=${1:?usage: start-slurm.sh DIR}
TIMEOUT_S=${SLURM_START_TIMEOUT_S:-60}

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n SLURM_START_TIMEOUT_S="$TIMEOUT_S" bash "$0" "$@"
  fi
  echo "start-slurm: slurmd must run as root; run as root, or give this user passwordless sudo" >&2
  exit 1
fi

export PATH="/usr/sbin:/sbin:$PATH"
for bin in munged mungekey munge unmunge slurmctld slurmd sinfo; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "start-slurm: $bin is not installed (apt-get install --no-upgrade slurm-wlm munge)" >&2
    exit 1
  fi
done

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CONF=$DIR/slurm.conf
export SLURM_CONF=$CONF
mkdir -p "$DIR/munge" "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run"
# munged refuses a key or socket folder that others can write to or read.
chmod 0700 "$DIR/munge"

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(free -m | awk '/^Mem:/ { print $2 }')

# Two free TCP ports for slurmctld and slurmd, chosen by the kernel.
read -r ctld_port slurmd_port < <(
  python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))'
)

show_logs() {
  for f in "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" "$DIR/log/munged.log"; do
    [ -f "$f" ] && { echo "---- $f (last 40 lines)" >&2; tail -n 40 "$f" >&2; }
  done
  echo "---- sinfo" >&2
  sinfo -N -l >&2 || true
}

# --- munge: its own key, socket, pid, log and seed ----------------------------------------------
mungekey --create --keyfile="$DIR/munge/munge.key" --force
chmod 0400 "$DIR/munge/munge.key"
MUNGE_SOCKET=$DIR/munge/munge.socket
munged --force --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" \
  --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
  --seed-file="$DIR/munge/munged.seed"
for _ in $(seq 1 50); do
  munge -S "$MUNGE_SOCKET" -n </dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1 && break
  sleep 0.1
done
if ! munge -S "$MUNGE_SOCKET" -n </dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; then
  echo "start-slurm: munged does not answer on $MUNGE_SOCKET" >&2
  show_logs
  exit 1
fi

# --- slurm.conf ------------------------------------------------------------------------------
cat >"$CONF" <<EOF
# Written by stagewise scripts/start-slurm.sh: a private single-node cluster on $host.
ClusterName=stagewise
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
PlugStackConfig=$DIR/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=5
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
: >"$DIR/plugstack.conf"

# --- slurmctld, slurmd (fresh state: -c; the config named on the command line too) -------------
slurmctld -c -f "$CONF"
slurmd -c -f "$CONF"

# --- wait until the node takes jobs ------------------------------------------------------------
deadline=$((SECONDS + TIMEOUT_S))
while :; do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null | head -n 1 || true)
  case "$state" in
    idle | mixed | allocated | completing)
      echo "# start-slurm: node $host is $state (SLURM_CONF=$CONF)"
      exit 0
      ;;
  esac
  if ((SECONDS >= deadline)); then
    echo "start-slurm: node $host not ready after ${TIMEOUT_S}s (state: ${state:-none})" >&2
    show_logs
    exit 1
  fi
  sleep 0.5
done
