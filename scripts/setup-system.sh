#!/usr/bin/env bash
# Installs, idempotently, what the tests need from Debian's packages. Nothing yet beyond the
# machine's PostgreSQL client libraries: the GPU runner (PyTorch) and Slurm arrive with their
# features and are added here, so the README stays at two commands.
set -euo pipefail
packages=()
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "# installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
