#!/usr/bin/env bash
# `npm run experiment [-- --quick] [-- --validation]`: the method against its baselines at equal
# compute on the built-in task, self-contained. Builds, starts the API in the background on the embedded
# PostgreSQL (its own data under .stagewise/experiment, kept between invocations, free ports),
# makes an ADMIN key, then:
#   1. loads the built-in task as for `npm run curriculum` (scripts/builtin-task.sh): TRAIN
#      experiment-train (400 problems, seed 0), EVAL experiment-eval (300, seed 1, the eval
#      split), the base checkpoint's TRAIN experiment-base (60,000, seed 2), and a VALIDATION set
#      experiment-val (500, seed 3, an EVAL-split dataset, so decontamination keeps it out of
#      every training manifest as it keeps EVAL; apart from EVAL: the only set a setting may be
#      chosen on);
#   2. the base checkpoint (trained once, its id kept in .stagewise/experiment/base-checkpoint,
#      its recipe in base-checkpoint.recipe: another recipe is trained again),
#      and its greedy accuracy on the validation set (an EVAL run on experiment-val);
#   3. a routing policy (k 4, temperature 1, minAttempts 4, bridge SELECT) and an experiment of
#      the arms x seeds at one budget of tokens per seed;
#   4. creates it with `stagewise experiments create`, follows it live with `stagewise
#      experiments watch` (a line per seed finished and per tenth of the budget used), which ends
#      with the status table (per arm: seeds, mean held-out greedy accuracy, 95% interval,
#      per-level accuracy, tokens used and planned, p-values against the best arm and against
#      STAGEWISE); then the wall time, and as the last line
#      `experiment: best ARM mean X% (CI a–b); STAGEWISE X%; best baseline ARM X%; p=P`
#      (p: exact McNemar of STAGEWISE against the best baseline over the same eval problems).
# Exits 0 when the experiment SUCCEEDED, 1 when it paused (the reason is printed), 3 on usage.
#
# --validation: every arm is evaluated on the VALIDATION set instead of EVAL (the same table,
#   on experiment-val): how a setting is tuned. Choose settings on it, never on EVAL.
# --quick: 1 seed, arms STAGEWISE,SFT_ALL,RL_ONLY,SFT_THEN_RL, 400,000 tokens, 1 round.
# Full: 3 seeds, all eight arms, 500,000 tokens, 1 round: the experiment took 23m26s on the
#   2-core machine with other sessions' builds and tests beside it (load 2-7), after a base
#   trained in 8m28s there; the method's probes take ~210,000 of the tokens.
# Knobs (environment): EXPERIMENT_SEEDS, EXPERIMENT_ARMS (comma-separated), EXPERIMENT_BUDGET
#   (tokens per arm and seed), EXPERIMENT_ROUNDS, EXPERIMENT_N (400), EXPERIMENT_EVAL_N (300),
#   EXPERIMENT_VALIDATION_N (500), EXPERIMENT_BASE_N (60000), EXPERIMENT_BASE_STEPS (2400),
#   EXPERIMENT_BASE_LR (3e-3; a stored base of another recipe is retrained),
#   EXPERIMENT_MAX_NEW_TOKENS (72), EXPERIMENT_SFT_LR (1e-5, the SFT stage config every arm
#   with SFT shares; chosen on the validation set, README), the method's routing policy
#   EXPERIMENT_K (4: probe attempts, minAttempts too), EXPERIMENT_TAU_LOW (0: a pass rate at
#   or below it routes to SFT), EXPERIMENT_REPLAY (0.05: share of the mastered replayed in SFT),
#   EXPERIMENT_STAGE_CONFIGS (JSON replacing the stage configs below), STAGEWISE_EXPERIMENT_DIR
#   (.stagewise/experiment), STAGEWISE_DEMO_DIST (dist), STAGEWISE_DEMO_SKIP_BUILD=1 (use an
#   existing build).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
ON_VALIDATION=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --validation) ON_VALIDATION=1 ;;
    *)
      echo "usage: $0 [--quick] [--validation]" >&2
      exit 3
      ;;
  esac
done

if [ "$QUICK" = 1 ]; then
  SEEDS=${EXPERIMENT_SEEDS:-1}
  ARMS=${EXPERIMENT_ARMS:-STAGEWISE,SFT_ALL,RL_ONLY,SFT_THEN_RL}
  BUDGET=${EXPERIMENT_BUDGET:-400000}
  ROUNDS=${EXPERIMENT_ROUNDS:-1}
else
  SEEDS=${EXPERIMENT_SEEDS:-3}
  ARMS=${EXPERIMENT_ARMS:-STAGEWISE,SFT_ALL,DISTILL_RAW,RL_ONLY,SFT_THEN_RL,NO_BRIDGE,NO_CRITIQUE,NO_ROUTING_RL}
  BUDGET=${EXPERIMENT_BUDGET:-500000}
  ROUNDS=${EXPERIMENT_ROUNDS:-1}
fi
DIST=${STAGEWISE_DEMO_DIST:-dist}
DIR=${STAGEWISE_EXPERIMENT_DIR:-.stagewise/experiment}
N=${EXPERIMENT_N:-400}
EVAL_N=${EXPERIMENT_EVAL_N:-300}
VALIDATION_N=${EXPERIMENT_VALIDATION_N:-500}
MAX_NEW=${EXPERIMENT_MAX_NEW_TOKENS:-72}
SFT_LR=${EXPERIMENT_SFT_LR:-1e-5}
K=${EXPERIMENT_K:-4}
TAU_LOW=${EXPERIMENT_TAU_LOW:-0}
REPLAY=${EXPERIMENT_REPLAY:-0.05}
TRAIN=experiment-train
EVAL=experiment-eval
VALIDATION=experiment-val
BASE_DATA=experiment-base
BASE_FILE="$DIR/base-checkpoint"
POLICY_NAME=experiment-select

# Steps are set by the budget (SFT's epochs give way to it); PROBE's k and temperature come from
# the policy. The RL settings are the runner's defaults (lr 1e-5), as the curriculum ships them.
STAGE_CONFIGS=${EXPERIMENT_STAGE_CONFIGS:-$(
  cat <<JSON
{"PROBE": {"max_new_tokens": $MAX_NEW, "log_every": 1},
 "SFT": {"lr": $SFT_LR, "batch_size": 32, "warmup_steps": 10, "log_every": 10},
 "RL": {"prompts_per_step": 16, "group_size": 8, "max_new_tokens": $MAX_NEW, "log_every": 2},
 "EVAL": {"max_new_tokens": $MAX_NEW}}
JSON
)}

DEMO_DIR=$DIR
KEY_PREFIX=experiment
# shellcheck source=scripts/demo-server.sh
source scripts/demo-server.sh
# shellcheck source=scripts/builtin-task.sh
source scripts/builtin-task.sh
BASE_N=${EXPERIMENT_BASE_N:-$BUILTIN_BASE_N}
BASE_STEPS=${EXPERIMENT_BASE_STEPS:-$BUILTIN_BASE_STEPS}
BASE_LR=${EXPERIMENT_BASE_LR:-$BUILTIN_BASE_LR}

say "Datasets"
load_task "$TRAIN" "$N" 0 train
load_task "$EVAL" "$EVAL_N" 1 eval
load_task "$VALIDATION" "$VALIDATION_N" 3 eval
load_task "$BASE_DATA" "$BASE_N" 2 train

base_is_stored || train_base
BASE=$(cat "$BASE_FILE")
echo "Base checkpoint: $BASE"

say "The base on the validation set (settings are chosen on it, never on $EVAL)"
VRUN=$(sw runs start --stage EVAL --dataset "$VALIDATION" --checkpoint "$BASE" \
  --config "{\"max_new_tokens\": $MAX_NEW}")
sw runs watch "$VRUN" >/dev/null || true
gql 'query($id: ID!) { run(id: $id) { status metrics } }' "{\"id\": \"$VRUN\"}" | node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8")).run;
  const acc = r.metrics["eval/accuracy"];
  console.log(`base validation greedy accuracy: ${typeof acc === "number" ? (acc * 100).toFixed(1) + "%" : "- (" + r.status + ")"}`);'

say "Routing policy $POLICY_NAME (k $K, temperature 1, minAttempts $K, tau $TAU_LOW..1, replay $REPLAY, bridge SELECT)"
# Reused when one with these knobs exists; else the name's next version.
POLICY=$(sw policies list --name "$POLICY_NAME" --json | node -e '
  const [k, tauLow, replay] = process.argv.slice(1).map(Number);
  const same = JSON.parse(require("fs").readFileSync(0, "utf8")).filter((p) =>
    p.k === k && p.temperature === 1 && p.minAttempts === k && p.tauLow === tauLow &&
    p.tauHigh === 1 && p.replayFraction === replay && p.bridgeStrategy === "SELECT" && p.seed === 0);
  console.log(same.length ? same[same.length - 1].id : "");' "$K" "$TAU_LOW" "$REPLAY")
if [ -z "$POLICY" ]; then
  POLICY=$(sw policies create --name "$POLICY_NAME" --k "$K" --temperature 1 --min-attempts "$K" \
    --tau-low "$TAU_LOW" --tau-high 1 --replay "$REPLAY" --bridge SELECT --seed 0)
fi

NAME="experiment-$(date +%Y%m%d-%H%M%S)"
SCORED_ON=$EVAL
if [ "$ON_VALIDATION" = 1 ]; then
  NAME="$NAME-validation"
  SCORED_ON=$VALIDATION
fi
say "Experiment $NAME: arms $ARMS, $SEEDS seed(s), $BUDGET tokens per arm and seed, $ROUNDS round(s), scored on $SCORED_ON"
T0=$SECONDS
EID=$(sw experiments create --name "$NAME" --train "$TRAIN" --eval "$SCORED_ON" --base "$BASE" \
  --policy "$POLICY" --arms "$ARMS" --seeds "$SEEDS" --budget "$BUDGET" --rounds "$ROUNDS" \
  --stage-configs "$STAGE_CONFIGS")
echo "Experiment $EID"

# Live to its end (experimentUpdated): a line per seed finished and per tenth of the budget used,
# then the status table; its exit code is the outcome.
set +e
sw experiments watch "$EID" --reconnect-timeout 600
OUTCOME=$?
set -e
WALL=$((SECONDS - T0))

# The method's premise needs mastered, partly solved and unsolved problems in useful numbers: the
# first STAGEWISE seed's round table (SFT = unsolved, RL = partly solved, REPLAY + DROPPED =
# mastered, from the base's probe of the TRAIN set in round 1).
CUR=$(sw curricula list --json | node -e '
  const raw = Buffer.from(process.argv[1], "base64").toString().split(":")[1];
  const mine = JSON.parse(require("fs").readFileSync(0, "utf8"))
    .filter((c) => c.name.startsWith(`experiment-${raw}-stagewise-seed-`))
    .sort((a, b) => a.name.localeCompare(b.name));
  console.log(mine.length ? mine[0].id : "");' "$EID")
if [ -n "$CUR" ]; then
  say "Routing of the method's first seed: stagewise curricula status $CUR"
  sw curricula status "$CUR" || true
fi
echo
echo "Experiment wall time: $(took "$WALL") ($SEEDS seed(s) x $(echo "$ARMS" | tr ',' '\n' | wc -l) arms at $BUDGET tokens)"
if [ "$OUTCOME" != 0 ]; then
  echo "The experiment did not succeed (watch exit $OUTCOME); the server log is $DIR/server.log" >&2
  exit 1
fi
sw experiments status "$EID" --json | node -e '
  const e = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const pct = (v) => (v === null || v === undefined ? "-" : `${(v * 100).toFixed(1)}%`);
  const done = e.arms.filter((a) => a.meanAccuracy !== null);
  const byMean = [...done].sort((a, b) => b.meanAccuracy - a.meanAccuracy);
  const best = byMean[0];
  const method = done.find((a) => a.arm === "STAGEWISE");
  const baselines = ["SFT_ALL", "DISTILL_RAW", "RL_ONLY", "SFT_THEN_RL"];
  const baseline = byMean.find((a) => baselines.includes(a.arm));
  const ci = best.ciLow === null ? "-" : `${pct(best.ciLow)}–${pct(best.ciHigh)}`;
  const p = baseline && baseline.pValueVsStagewise !== null ? baseline.pValueVsStagewise.toPrecision(2) : "-";
  console.log(`experiment: best ${best.arm} mean ${pct(best.meanAccuracy)} (CI ${ci}); ` +
    `STAGEWISE ${pct(method && method.meanAccuracy)}; ` +
    `best baseline ${baseline ? baseline.arm : "-"} ${pct(baseline && baseline.meanAccuracy)}; p=${p}`);'
