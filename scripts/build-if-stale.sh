#!/usr/bin/env bash
# Builds dist/ with tsc only when a source changed since the last successful build: a file or
# folder under src/ migrations/ scripts/ bench/ tests/, or tsconfig.json / package.json, newer
# than the stamp dist/.build-stamp. Folders count because deleting or renaming a file changes
# its folder's mtime. The check is one `find` (milliseconds); a full `tsc -p .` takes about half
# a minute, and even `tsc -b`'s up-to-date check loads the compiler first (about a second).
# The stamp is taken before tsc starts and moved into place only when it succeeds, so an edit
# made during a build, or a failed build, makes the next call build again.
# STAGEWISE_BUILD=always builds regardless; STAGEWISE_BUILD=never skips the check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STAMP=dist/.build-stamp
SOURCES=(src migrations scripts bench tests tsconfig.json package.json)

case "${STAGEWISE_BUILD:-auto}" in
  never) exit 0 ;;
  always) rm -f "$STAMP" ;;
esac

stale() {
  [ -f "$STAMP" ] || return 0
  local newer
  newer=$(find "${SOURCES[@]}" \( -type d -o -name '*.ts' -o -name '*.json' \) -newer "$STAMP" \
    -print -quit 2>/dev/null)
  [ -n "$newer" ]
}

stale || exit 0

mkdir -p dist
next=$(mktemp dist/.build-stamp.XXXXXX)
trap 'rm -f "$next"' EXIT
echo "# building (tsc -p .): sources changed since the last build" >&2
# Its messages go to stderr (stdout may be a command's answer); coloured only on a terminal.
pretty=false
[ -t 2 ] && [ -z "${NO_COLOR:-}" ] && pretty=true
npx tsc -p . --pretty "$pretty" >&2
mv -f "$next" "$STAMP"
