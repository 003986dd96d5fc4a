#!/usr/bin/env bash
# `npm run demo`: the whole loop from a clean clone, self-contained, ending on a model that got
# better. Builds, starts the API in the background on the embedded PostgreSQL (its own data under
# .stagewise/demo, free ports), makes an ADMIN key, imports the built-in arithmetic task's one- and
# two-operation problems twice: demo-arith (the problems the SFT trains on) and demo-arith-new (the
# eval split: problems it never sees). One and two operations because that is what the tiny model
# learns visibly in a couple of minutes of CPU; with all five levels the same steps reach only a
# few percent (DEMO_LEVELS=1,2,3,4,5 shows it). Then, on the local launcher, each run watched live:
#   1. PROBE of a from-scratch tiny model on DEMO_PROBE_LIMIT seen and DEMO_PROBE_LIMIT new problems;
#   2. SFT of that model on demo-arith's explicit teacher traces (DEMO_SFT_STEPS steps of 32);
#   3. PROBE of the SFT checkpoint on the same seen and new problems;
#   4. a table, split | before | after, with a sentence saying what the numbers mean
#      (scripts/demo-gain-table.ts).
# The probes are greedy (temperature 0, k 1), so pass@1 is plain accuracy, and every run takes
# DEMO_SEED: the same seed gives the same table, however busy the machine.
# Stops the server at the end (also on failure or Ctrl-C). Exits with the first failing watch's
# code (1 FAILED, 2 CANCELLED, 3 connection/usage), 0 when everything succeeded.
#
# Knobs (environment): DEMO_N (problems the SFT trains on, 1000), DEMO_PROBE_LIMIT (problems
# probed per split, 200), DEMO_SFT_STEPS (1200: about 2 minutes on an idle 2-core CPU),
# DEMO_SEED (0), DEMO_LEVELS (operations per problem, 1,2), STAGEWISE_DEMO_DIR
# (.stagewise/demo), STAGEWISE_DEMO_DIST (dist) and STAGEWISE_DEMO_SKIP_BUILD=1 (use an existing
# build).
set -euo pipefail
cd "$(dirname "$0")/.."

DIST=${STAGEWISE_DEMO_DIST:-dist}
DEMO_DIR=${STAGEWISE_DEMO_DIR:-.stagewise/demo}
N=${DEMO_N:-1000}
PROBE_LIMIT=${DEMO_PROBE_LIMIT:-200}
SFT_STEPS=${DEMO_SFT_STEPS:-1200}
SEED=${DEMO_SEED:-0}
LEVELS=${DEMO_LEVELS:-1,2}
SEEN=demo-arith
NEW=demo-arith-new

# Greedy probes: one answer per problem, the model's best guess. 72 new tokens cover the longest
# explicit trace (a 5-operation problem, ~70 characters) and cut a from-scratch model's babble.
PROBE_CONFIG="{\"k\": 1, \"temperature\": 0, \"max_new_tokens\": 72, \"seed\": $SEED, \"log_every\": 1}"
SFT_CONFIG="{\"steps\": $SFT_STEPS, \"batch_size\": 32, \"seed\": $SEED, \"log_every\": 50}"

KEY_PREFIX=demo
# shellcheck source=scripts/demo-server.sh
source scripts/demo-server.sh

say "stagewise task load: $SEEN ($N problems the SFT trains on) and $NEW ($PROBE_LIMIT it never sees), operations $LEVELS"
sw task load --dataset "$SEEN" --n "$N" --seed "$SEED" --split train --levels "$LEVELS"
sw task load --dataset "$NEW" --n "$PROBE_LIMIT" --seed "$SEED" --split eval --levels "$LEVELS"

# probe LABEL DATASET [CHECKPOINT]: a watched greedy PROBE of the first PROBE_LIMIT problems;
# sets PROBED to its run id.
probe() {
  local label=$1 dataset=$2 checkpoint=${3:-}
  say "PROBE $label: $PROBE_LIMIT problems of $dataset, greedy"
  PROBED=$(sw runs start --stage PROBE --dataset "$dataset" --limit "$PROBE_LIMIT" \
    ${checkpoint:+--checkpoint "$checkpoint"} --config "$PROBE_CONFIG")
  sw runs watch "$PROBED"
}

probe "of a from-scratch tiny model" "$SEEN"
SEEN_BEFORE=$PROBED
probe "of the same from-scratch model" "$NEW"
NEW_BEFORE=$PROBED

say "SFT of the tiny model on $SEEN's explicit teacher traces ($SFT_STEPS steps of 32)"
SFT_ID=$(sw runs start --stage SFT --dataset "$SEEN" --config "$SFT_CONFIG")
sw runs watch "$SFT_ID"

CKPT=$(sw runs list --json | node -e '
  const runs = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const run = runs.find((r) => r.id === process.argv[1]);
  console.log(run && run.outputCheckpoint ? run.outputCheckpoint.id : "");' "$SFT_ID")
if [ -z "$CKPT" ]; then
  echo "The SFT run $SFT_ID registered no checkpoint" >&2
  exit 1
fi

probe "of the SFT checkpoint" "$SEEN" "$CKPT"
SEEN_AFTER=$PROBED
probe "of the SFT checkpoint" "$NEW" "$CKPT"
NEW_AFTER=$PROBED

say "All runs"
sw runs list

say "Before and after SFT"
sw runs list --json | node "$DIST/scripts/demo-gain-table.js" --steps "$SFT_STEPS" \
  "seen=$SEEN_BEFORE,$SEEN_AFTER" "new=$NEW_BEFORE,$NEW_AFTER"
