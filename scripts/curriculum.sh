#!/usr/bin/env bash
# `npm run curriculum`: a 2-round SFT-then-RL curriculum of the tiny model on the built-in task,
# self-contained. Builds, starts the API in the background on the embedded PostgreSQL (its own
# data under .stagewise/curriculum, kept between invocations, free ports), makes an ADMIN key,
# then:
#   1. loads the built-in task into a TRAIN dataset curriculum-train (400 problems, seed 0), an
#      EVAL dataset curriculum-eval (300 problems, seed 1, the eval split) and the base
#      checkpoint's own TRAIN dataset curriculum-base (60,000 problems, seed 2), unless loaded;
#   2. the base checkpoint: the tiny model trained from scratch by SFT on curriculum-base's
#      explicit teacher traces (problems the curriculum does not train on, so the base is not a
#      memoriser of them), its id kept in .stagewise/curriculum/base-checkpoint. Trained
#      only when that file is missing (or names a checkpoint that is gone, or its recipe file
#      base-checkpoint.recipe another recipe), and timed apart;
#      `npm run curriculum:base` (this script with the argument `base`) retrains it and stops;
#   3. a routing policy (k 8, temperature 1, minAttempts 8, bridge SELECT; reused when one with
#      these knobs exists) and a 2-round curriculum with stage configs sized for a 2-core CPU;
#   4. `stagewise curricula watch` to its end, then `stagewise curricula status` (the per-round
#      table) and the curriculum's wall time.
# Stops the server at the end (also on failure or Ctrl-C). Exits with the watch's code: 0 the
# curriculum SUCCEEDED, 1 PAUSED (a run failed or a step could not be done: the reason is
# printed; the server log is .stagewise/curriculum/server.log), 2 CANCELLED, 3 usage/connection.
#
# Knobs (environment):
#   CURRICULUM_N (TRAIN problems, 400), CURRICULUM_EVAL_N (EVAL problems, 300),
#   CURRICULUM_BASE_N (the base checkpoint's problems, 60000, as `npm run experiment`'s),
#   CURRICULUM_BASE_STEPS (SFT steps of the base checkpoint, 2400: ~4 minutes on an idle
#   2-core CPU at ~4,100 tokens a step), CURRICULUM_BASE_LR (its peak lr, 3e-3; the defaults
#   of all three in scripts/builtin-task.sh; a stored base of another recipe is retrained),
#   CURRICULUM_ROUNDS (2), CURRICULUM_SFT_EPOCHS (4 passes over the round's SFT set, at most
#   CURRICULUM_SFT_STEPS = 200 steps), CURRICULUM_SFT_LR (1e-5, as `npm run experiment`
#   chose on its validation set),
#   CURRICULUM_RL_STEPS (40), CURRICULUM_MAX_NEW_TOKENS (72: the longest explicit trace of a
#   5-operation problem is ~70 characters), CURRICULUM_STAGE_CONFIGS (a JSON object that
#   replaces the stage configs below), STAGEWISE_CURRICULUM_DIR (.stagewise/curriculum), and as
#   for the demo STAGEWISE_DEMO_DIST (dist) and STAGEWISE_DEMO_SKIP_BUILD=1 (use an existing
#   build).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-run}
case "$MODE" in
  run | base) ;;
  *)
    echo "usage: $0 [base]   (base: retrain the base checkpoint and stop)" >&2
    exit 3
    ;;
esac

DIST=${STAGEWISE_DEMO_DIST:-dist}
DIR=${STAGEWISE_CURRICULUM_DIR:-.stagewise/curriculum}
N=${CURRICULUM_N:-400}
EVAL_N=${CURRICULUM_EVAL_N:-300}
ROUNDS=${CURRICULUM_ROUNDS:-2}
SFT_STEPS=${CURRICULUM_SFT_STEPS:-200}
SFT_EPOCHS=${CURRICULUM_SFT_EPOCHS:-4}
SFT_LR=${CURRICULUM_SFT_LR:-1e-5}
RL_STEPS=${CURRICULUM_RL_STEPS:-40}
MAX_NEW=${CURRICULUM_MAX_NEW_TOKENS:-72}
TRAIN=curriculum-train
EVAL=curriculum-eval
BASE_DATA=curriculum-base
POLICY_NAME=curriculum-select
BASE_FILE="$DIR/base-checkpoint"

# Per stage, for a 2-core CPU: PROBE's k and temperature come from the policy.
STAGE_CONFIGS=${CURRICULUM_STAGE_CONFIGS:-$(
  cat <<JSON
{"PROBE": {"max_new_tokens": $MAX_NEW, "log_every": 1},
 "SFT": {"steps": $SFT_STEPS, "epochs": $SFT_EPOCHS, "lr": $SFT_LR, "batch_size": 32, "warmup_steps": 10, "log_every": 10},
 "RL": {"steps": $RL_STEPS, "prompts_per_step": 16, "group_size": 8, "max_new_tokens": $MAX_NEW, "log_every": 2},
 "EVAL": {"max_new_tokens": $MAX_NEW}}
JSON
)}

DEMO_DIR=$DIR
KEY_PREFIX=curriculum
# shellcheck source=scripts/demo-server.sh
source scripts/demo-server.sh

# shellcheck source=scripts/builtin-task.sh
source scripts/builtin-task.sh
BASE_N=${CURRICULUM_BASE_N:-$BUILTIN_BASE_N}
BASE_STEPS=${CURRICULUM_BASE_STEPS:-$BUILTIN_BASE_STEPS}
BASE_LR=${CURRICULUM_BASE_LR:-$BUILTIN_BASE_LR}

# ---------------------------------------------------------------------------------------------
# 1. The datasets (task load is idempotent; a partly loaded dataset is completed)

say "Datasets"
load_task "$TRAIN" "$N" 0 train
load_task "$EVAL" "$EVAL_N" 1 eval
load_task "$BASE_DATA" "$BASE_N" 2 train

# ---------------------------------------------------------------------------------------------
# 2. The base checkpoint

if [ "$MODE" = base ]; then
  train_base
  exit 0
fi
base_is_stored || train_base
BASE=$(cat "$BASE_FILE")
BASE_NAME=$(gql 'query($id: ID!) { node(id: $id) { ... on Checkpoint { name } } }' \
  "{\"id\": \"$BASE\"}" | json_get node.name)
echo "Base checkpoint: $BASE_NAME ($BASE)"

# ---------------------------------------------------------------------------------------------
# 3. The policy and the curriculum

say "Routing policy $POLICY_NAME (k 8, temperature 1, minAttempts 8, bridge SELECT)"
POLICY=$(sw policies list --name "$POLICY_NAME" --json | node -e '
  const policies = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const same = policies.filter((p) => p.k === 8 && p.temperature === 1 && p.minAttempts === 8 &&
    p.tauLow === 0 && p.tauHigh === 1 && p.replayFraction === 0.05 &&
    p.bridgeStrategy === "SELECT" && Object.keys(p.bridgeOptions).length === 0 && p.seed === 0);
  console.log(same.length ? same[same.length - 1].id : "");')
if [ -z "$POLICY" ]; then
  POLICY=$(sw policies create --name "$POLICY_NAME" --k 8 --temperature 1 --min-attempts 8 \
    --tau-low 0 --tau-high 1 --replay 0.05 --bridge SELECT --seed 0)
else
  echo "Reusing policy $POLICY"
fi

NAME="curriculum-$(date +%Y%m%d-%H%M%S)"
say "A $ROUNDS-round curriculum $NAME"
echo "Stage configs: $(node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1])))' "$STAGE_CONFIGS")"
T0=$SECONDS
CID=$(sw curricula create --name "$NAME" --dataset "$TRAIN" --eval-dataset "$EVAL" \
  --base "$BASE" --policy "$POLICY" --rounds "$ROUNDS" --stage-configs "$STAGE_CONFIGS")

say "stagewise curricula watch $CID"
RC=0
sw curricula watch "$CID" || RC=$?
WALL=$((SECONDS - T0))

say "stagewise curricula status $CID"
sw curricula status "$CID" || true

echo
echo "Curriculum wall time: $(took "$WALL") (probe, route, bridge, SFT, re-probe, RL, critique x $ROUNDS rounds, then eval)"
if [ -n "$BASE_SECONDS" ]; then
  echo "Base checkpoint training, before it and not counted: $(took "$BASE_SECONDS")"
else
  echo "Base checkpoint reused from $BASE_FILE (npm run curriculum:base retrains it)"
fi
if [ "$RC" -ne 0 ]; then
  echo "curricula watch exited $RC; the server log is $DIR/server.log and the runs' folders are under $DIR/runs" >&2
fi
exit "$RC"
