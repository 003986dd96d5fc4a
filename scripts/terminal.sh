# Sourced by the npm scripts that print headings (scripts/demo-server.sh, hence demo.sh and
# curriculum.sh): `say` prints a heading, bold only when stdout is a terminal and NO_COLOR is
# unset (https://no-color.org), so piped or logged output carries no escape codes.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  say() { printf '\n== %s\n' "$*"; }
fi
