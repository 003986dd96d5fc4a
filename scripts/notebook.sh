#!/usr/bin/env bash
# `npm run notebook`: runs examples/researcher.ipynb against the server you started with
# `npm start` (or any at STAGEWISE_URL). Seeds what the notebook looks at through the API
# (scripts/notebook-seed.ts: the built-in task as dataset notebook-arith, a checkpoint that probed
# it, the routing policy "notebook"; reused when they exist, so a second call starts no run),
# then executes the notebook headless with jupyter nbconvert, the client on PYTHONPATH as an
# absolute path (the kernel runs in examples/), and writes the executed copy to NOTEBOOK_OUT.
#
#   STAGEWISE_API_KEY=sw_... npm run notebook              # seed, execute; exit 0 when no cell failed
#   STAGEWISE_API_KEY=sw_... npm run notebook -- --open    # seed, then open it in Jupyter
#   STAGEWISE_API_KEY=sw_... npm run notebook -- --seed-only   # print the export lines, run nothing
#
# Needs a WRITE key. Knobs: STAGEWISE_URL (http://127.0.0.1:4000), NOTEBOOK_OUT
# (.stagewise/notebook/researcher.executed.ipynb), NOTEBOOK_DATASET, NOTEBOOK_N, NOTEBOOK_SFT_STEPS,
# JUPYTER (jupyter).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=execute
case "${1:-}" in
  '') ;;
  --open) mode=open ;;
  --seed-only) mode=seed ;;
  *)
    echo "usage: npm run notebook [-- --open | --seed-only]" >&2
    exit 3
    ;;
esac

if [ -z "${STAGEWISE_API_KEY:-}" ]; then
  echo "notebook: set STAGEWISE_API_KEY to a READ,WRITE key" \
    "(npm run keys -- create --name notebook --scopes READ,WRITE)" >&2
  exit 3
fi
export STAGEWISE_URL=${STAGEWISE_URL:-http://127.0.0.1:4000}
JUPYTER=${JUPYTER:-jupyter}
if [ "$mode" != seed ] && ! command -v "$JUPYTER" >/dev/null; then
  echo "notebook: $JUPYTER not found; install Jupyter (Debian: apt-get install jupyter-nbconvert" \
    "python3-ipykernel python3-pandas python3-matplotlib) or set JUPYTER" >&2
  exit 3
fi

bash scripts/build-if-stale.sh
ids=$(mktemp)
trap 'rm -f "$ids"' EXIT
# Progress to stderr: with --seed-only, stdout is only the export lines.
node dist/scripts/notebook-seed.js "$ids" >&2
set -a
# shellcheck source=/dev/null
. "$ids"
set +a

if [ "$mode" = seed ]; then
  sed 's/^/export /' "$ids"
  exit 0
fi

export PYTHONPATH="$root/clients/python${PYTHONPATH:+:$PYTHONPATH}"
if [ "$mode" = open ]; then
  exec "$JUPYTER" notebook "$root/examples/researcher.ipynb"
fi

out=${NOTEBOOK_OUT:-$root/.stagewise/notebook/researcher.executed.ipynb}
case "$out" in /*) ;; *) out=$root/$out ;; esac # nbconvert reads a relative --output from examples/
mkdir -p "$(dirname "$out")"
echo "notebook: executing examples/researcher.ipynb against $STAGEWISE_URL" >&2
"$JUPYTER" nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
  --output "$out" examples/researcher.ipynb
echo "notebook: done; the executed notebook is $out" >&2
