#!/usr/bin/env bash
# Stops the private Slurm that scripts/start-slurm.sh DIR started, and removes DIR: its jobs are
# cancelled, then slurmd, slurmctld and munged are stopped by the pid files in DIR (never by name:
# another Slurm may run beside it), any slurmstepd still serving a job of it is killed, and DIR
# goes. Safe when nothing, or only part, was started, and when DIR was removed before.
#
# Usage: stop-slurm.sh DIR
set -uo pipefail

DIR=${1:?usage: stop-slurm.sh DIR}
# DIR may be gone already (removed by someone else): its daemons are still found by its name.
DIR=$(realpath -m "$DIR")
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  exec sudo -n bash "$0" "$@"
fi
export PATH="/usr/sbin:/sbin:$PATH"
export SLURM_CONF=$DIR/slurm.conf

# A pid from a pid file, when that process is still the named daemon.
daemon_pid() { # name pidfile
  local pid
  pid=$(cat "$2" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
}

# Sends TERM to each, waits up to 10 s for all of them, then KILL to those left.
stop_pids() { # pid...
  local pid left
  kill -TERM "$@" 2>/dev/null
  for _ in $(seq 1 100); do
    left=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null
  return 0
}

# Processes whose command line or environment names DIR: the step daemons and job processes of
# this cluster (slurmstepd inherits slurmd's SLURM_CONF). This script and its callers (whose
# command lines name DIR too) are left alone.
processes_of_dir() {
  local pid mine=" " up=$BASHPID
  while [ -n "$up" ] && [ "$up" != 0 ]; do
    mine+="$up "
    up=$(ps -o ppid= -p "$up" 2>/dev/null | tr -d ' ')
  done
  # One grep over every process's files (root reads them all); a file that vanishes is skipped.
  grep -lsaF "$DIR" /proc/[0-9]*/cmdline /proc/[0-9]*/environ | while IFS=/ read -r _ _ pid _; do
    [[ $mine == *" $pid "* ]] || echo "$pid"
  done | sort -u
}

if [ -f "$SLURM_CONF" ] && pid=$(daemon_pid slurmctld "$DIR/run/slurmctld.pid"); then
  # Jobs first, while the controller can still tell slurmd to end them.
  jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086 # one job id per word
    timeout 10 scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
fi
# The two Slurm daemons together (each may wait on the other while it shuts down), then munge.
slurm_pids=()
for daemon in slurmd:run/slurmd.pid slurmctld:run/slurmctld.pid; do
  pid=$(daemon_pid "${daemon%%:*}" "$DIR/${daemon#*:}") && slurm_pids+=("$pid")
done
((${#slurm_pids[@]})) && stop_pids "${slurm_pids[@]}"
pid=$(daemon_pid munged "$DIR/munge/munged.pid") && stop_pids "$pid"
for pid in $(processes_of_dir); do
  kill -KILL "$pid" 2>/dev/null || true
done
rm -rf "$DIR"
