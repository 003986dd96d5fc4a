#!/usr/bin/env bash
# Installs, idempotently, what the tests need from Debian's packages: PyTorch (CPU), pytest and
# SymPy (the grader's symbolic equivalence) for gpu-runner, OpenBLAS so the tiny model trains 10x
# faster than on the reference BLAS, and a single-node Slurm (started by scripts/start-slurm.sh)
# for the Slurm launcher; Chromium (the dashboard's browser test), and Jupyter's nbconvert with
# ipykernel, pandas and matplotlib (the example notebook, run headless).
set -euo pipefail
packages=(python3-torch python3-numpy python3-pytest python3-sympy libopenblas0-pthread slurm-wlm munge
  chromium jupyter-nbconvert python3-ipykernel python3-pandas python3-matplotlib docker-compose)
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
