#!/usr/bin/env bash
# Installs the Debian packages the tests need that are missing, and only those: nothing is
# printed when all are there. A missing package is named on one line with the reason the tests
# need it; apt's own output is kept in a log shown only when the install fails. Nothing already
# installed is upgraded: `--no-upgrade` for the named packages, and an install that would upgrade
# any installed package (a newer library wanted by a new package) is refused with the command to
# run by hand. Without root (and without passwordless sudo) it prints the command to run as root
# and exits 1.
set -euo pipefail

# package|why the tests need it
needs=(
  'python3-torch|the runner trains its tiny model (gpu-runner tests, run tests)'
  'python3-numpy|the runner'
  'python3-pytest|the gpu-runner tests'
  "python3-sympy|the grader's symbolic equivalence"
  'libopenblas0-pthread|a 10x faster BLAS for the tiny model'
  'slurm-wlm|the Slurm launcher tests (a private single-node Slurm)'
  'munge|Slurm authentication'
  "chromium|the dashboard's browser test"
  'jupyter-nbconvert|the example notebook, run headless'
  'python3-ipykernel|the example notebook'
  'python3-pandas|the example notebook'
  'python3-matplotlib|the example notebook'
  'python3-venv|the Python client install test (pip install -e in a fresh venv)'
  'docker-compose|the container set-up test'
)
# Tests point this at other lists (e.g. a package that does not exist); users never need it.
if [ -n "${STAGEWISE_SYSTEM_PACKAGES:-}" ]; then
  read -r -a names <<<"$STAGEWISE_SYSTEM_PACKAGES"
  needs=()
  for n in "${names[@]}"; do needs+=("$n|asked for by STAGEWISE_SYSTEM_PACKAGES"); done
fi

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]; }

missing=()
reasons=()
for entry in "${needs[@]}"; do
  name=${entry%%|*}
  installed "$name" && continue
  missing+=("$name")
  reasons+=("$name (${entry#*|})")
done
((${#missing[@]})) || exit 0

command_line="apt-get install --no-upgrade -y ${missing[*]}"
reason_list=$(printf '%s, ' "${reasons[@]}")
reason_list=${reason_list%, }

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  {
    echo "setup-system: the tests need Debian packages that are missing: $reason_list."
    echo "Installing them needs root. Run, as root (nothing installed is upgraded):"
    echo "  sudo $command_line"
    echo "then run npm test again."
  } >&2
  exit 1
fi

echo "# setup-system: installing $reason_list"
log=$(mktemp "${TMPDIR:-/tmp}/stagewise-apt.XXXXXX")
trap 'rm -f "$log"' EXIT
apt() { DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get "$@" >>"$log" 2>&1; }
fail() {
  echo "setup-system: $1; apt-get said:" >&2
  cat "$log" >&2
  exit 1
}

# The package lists as they are first: refreshing them (apt-get update) is what makes a new
# package pull newer versions of libraries that are already installed. Only a package the lists
# do not know, or an archive the mirror no longer has, needs a refresh (and then a new check).
install_unless_upgrading() {
  local simulated upgrades
  simulated=$("${as_root[@]}" apt-get install -s --no-upgrade "${missing[@]}" 2>&1) || {
    echo "$simulated" >>"$log"
    return 1
  }
  # "Inst name [installed version] (new version ...)": an upgrade of something already there.
  upgrades=$(echo "$simulated" | awk '/^Inst [^ ]+ \[/ { print $2 }' | tr '\n' ' ')
  if [ -n "$upgrades" ] && [ "${STAGEWISE_SETUP_ALLOW_UPGRADES:-}" = 1 ]; then
    # A throwaway machine (CI) accepts the library upgrades the missing packages require.
    echo "setup-system: also upgrading, as ${missing[*]} require: ${upgrades% }"
  elif [ -n "$upgrades" ]; then
    {
      echo "setup-system: installing ${missing[*]} would upgrade installed packages: ${upgrades% }."
      echo "Nothing was changed. To accept that, run as root:"
      echo "  $command_line"
    } >&2
    exit 1
  fi
  apt install -y -q --no-upgrade "${missing[@]}"
}
if ! install_unless_upgrading; then
  apt update -qq || fail 'apt-get update failed'
  install_unless_upgrading || fail "installing ${missing[*]} failed"
fi
