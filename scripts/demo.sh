#!/usr/bin/env bash
# `npm run demo`: the whole loop from a clean clone, self-contained. Builds, starts the API in the
# background on the embedded PostgreSQL (its own data under .stagewise/demo, free ports), makes an
# ADMIN key, imports the built-in arithmetic task, then runs and watches live, on the local
# launcher: a PROBE of a from-scratch tiny model, an SFT run, and a PROBE of the SFT checkpoint.
# Stops the server at the end (also on failure or Ctrl-C). Exits with the first failing watch's
# code (1 FAILED, 2 CANCELLED, 3 connection/usage), 0 when everything succeeded.
#
# Knobs (environment): DEMO_N (problems, 1000), DEMO_PROBE_LIMIT (problems probed, 200),
# DEMO_SFT_STEPS (200), STAGEWISE_DEMO_DIR (.stagewise/demo), STAGEWISE_DEMO_DIST (dist) and
# STAGEWISE_DEMO_SKIP_BUILD=1 (use an existing build).
set -euo pipefail
cd "$(dirname "$0")/.."

DIST=${STAGEWISE_DEMO_DIST:-dist}
DEMO_DIR=${STAGEWISE_DEMO_DIR:-.stagewise/demo}
N=${DEMO_N:-1000}
PROBE_LIMIT=${DEMO_PROBE_LIMIT:-200}
SFT_STEPS=${DEMO_SFT_STEPS:-200}

KEY_PREFIX=demo
# shellcheck source=scripts/demo-server.sh
source scripts/demo-server.sh

say "stagewise task load --dataset demo-arith --n $N"
sw task load --dataset demo-arith --n "$N" --seed 0 --split train

say "PROBE of a from-scratch tiny model ($PROBE_LIMIT problems, k=4)"
PROBE_ID=$(sw runs start --stage PROBE --dataset demo-arith --limit "$PROBE_LIMIT" \
  --config '{"k": 4, "log_every": 1}')
sw runs watch "$PROBE_ID"

say "SFT of the tiny model on the explicit teacher traces ($SFT_STEPS steps)"
SFT_ID=$(sw runs start --stage SFT --dataset demo-arith \
  --config "{\"steps\": $SFT_STEPS, \"batch_size\": 16, \"log_every\": 10}")
sw runs watch "$SFT_ID"

CKPT=$(sw runs list --json | node -e '
  const runs = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const run = runs.find((r) => r.id === process.argv[1]);
  console.log(run && run.outputCheckpoint ? run.outputCheckpoint.id : "");' "$SFT_ID")
if [ -n "$CKPT" ]; then
  say "PROBE again, from the SFT checkpoint"
  AFTER_ID=$(sw runs start --stage PROBE --dataset demo-arith --limit "$PROBE_LIMIT" \
    --checkpoint "$CKPT" --config '{"k": 4, "log_every": 1}')
  sw runs watch "$AFTER_ID"
fi

say "All runs"
sw runs list
