# Sourced by scripts/curriculum.sh and scripts/experiment.sh (after scripts/demo-server.sh):
# the built-in task's datasets and base checkpoint. Needs DIST, BASE_DATA, BASE_N, BASE_STEPS,
# BASE_LR and BASE_FILE; defines took, gql, json_get, load_task (NAME N SEED SPLIT), train_base
# and base_is_stored (BASE_SECONDS is set when train_base ran), and the base checkpoint's
# defaults both scripts ship, BUILTIN_BASE_N, BUILTIN_BASE_STEPS and BUILTIN_BASE_LR.

# The base checkpoint: SFT from scratch on 60,000 fresh problems' explicit traces, 2,400 steps of
# 32 at peak lr 3e-3 (warmup 20, cosine to a tenth; each problem seen ~1.3 times; ~10M tokens:
# ~4 minutes on an idle 2-core CPU, ~15 on a busy one). At lr 1e-3 the same steps ended while
# the tiny GPT was still learning to add: 22.0% greedy on experiment-val, where 3e-3 reached
# 56.8% and 6e-3 63.2 and 72.2% (two seeds; README, "The base checkpoint, and why it was
# weak"); the full experiment ran on a 3e-3 base, 65.4% on experiment-val through the API, so
# 3e-3 ships: the README's experiment table is what this default gives). The earlier 3,000 problems for as many steps (~25 passes) gave a memoriser.
BUILTIN_BASE_N=60000
BUILTIN_BASE_STEPS=2400
BUILTIN_BASE_LR=3e-3

took() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# One GraphQL operation; prints its data as JSON. Exit 1 on a GraphQL error, 3 on no answer.
gql() {
  node -e '
    const [query, vars] = process.argv.slice(1);
    fetch(process.env.STAGEWISE_URL + "/graphql", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer " + process.env.STAGEWISE_API_KEY,
      },
      body: JSON.stringify({ query, variables: vars ? JSON.parse(vars) : {} }),
    })
      .then((r) => r.json())
      .then((b) => {
        if (b.errors) {
          console.error(b.errors[0].message);
          process.exit(1);
        }
        console.log(JSON.stringify(b.data));
      })
      .catch((e) => {
        console.error(e.message);
        process.exit(3);
      });' "$1" "${2:-}"
}
# A field of a JSON document on stdin, by a dotted path: json_get a.b.c
json_get() {
  node -e '
    const text = require("fs").readFileSync(0, "utf8").trim();
    let v = text ? JSON.parse(text) : null;
    for (const k of process.argv[1].split(".")) v = v == null ? v : v[k];
    console.log(v == null ? "" : typeof v === "object" ? JSON.stringify(v) : v);' "$1"
}


samples_in() {
  local id
  id=$(gql 'query($name: String!) { dataset(name: $name) { id } }' "{\"name\": \"$1\"}" 2>/dev/null |
    json_get dataset.id) || id=
  if [ -z "$id" ]; then
    echo 0
    return
  fi
  gql 'query($id: ID!) { samples(first: 0, filter: { datasetIds: [$id] }) { totalCount } }' \
    "{\"id\": \"$id\"}" | json_get samples.totalCount
}

load_task() { # NAME N SEED SPLIT
  local have
  have=$(samples_in "$1")
  if [ "$have" -ge "$2" ]; then
    echo "$1: $have problems already loaded"
  else
    say "stagewise task load --dataset $1 --n $2 --seed $3 --split $4"
    sw task load --dataset "$1" --n "$2" --seed "$3" --split "$4"
  fi
}

BASE_SECONDS=
train_base() {
  say "Base checkpoint: SFT of a from-scratch tiny model on $BASE_DATA's explicit teacher traces ($BASE_STEPS steps of 32, lr $BASE_LR)"
  local t0=$SECONDS run ckpt
  run=$(sw runs start --stage SFT --dataset "$BASE_DATA" --config \
    "{\"steps\": $BASE_STEPS, \"batch_size\": 32, \"lr\": $BASE_LR, \"log_every\": 25, \"checkpoint_name\": \"$BASE_DATA-$(date +%Y%m%d-%H%M%S)\"}")
  sw runs watch "$run"
  ckpt=$(gql 'query($id: ID!) { run(id: $id) { outputCheckpoint { id } } }' "{\"id\": \"$run\"}" |
    json_get run.outputCheckpoint.id)
  if [ -z "$ckpt" ]; then
    echo "The base SFT run $run succeeded but registered no checkpoint" >&2
    exit 1
  fi
  echo "$ckpt" >"$BASE_FILE"
  base_recipe >"$BASE_FILE.recipe"
  BASE_SECONDS=$((SECONDS - t0))
  echo "Base checkpoint $ckpt trained in $(took "$BASE_SECONDS") (recorded in $BASE_FILE)"
}

# What the base checkpoint was trained with, kept beside its id: a base of another recipe (an
# older default, other knobs) is trained again rather than reused.
base_recipe() { echo "problems $BASE_N, steps $BASE_STEPS of 32, lr $BASE_LR"; }

# True when BASE_FILE names a checkpoint this database has, trained with this recipe; else says
# why it is not reused.
base_is_stored() {
  [ -s "$BASE_FILE" ] || return 1
  if ! gql 'query($id: ID!) { node(id: $id) { id } }' "{\"id\": \"$(cat "$BASE_FILE")\"}" >/dev/null 2>&1; then
    echo "$BASE_FILE names a checkpoint this database does not have; retraining"
    return 1
  fi
  local had
  had=$(cat "$BASE_FILE.recipe" 2>/dev/null || echo "an older default recipe")
  if [ "$had" != "$(base_recipe)" ]; then
    echo "$BASE_FILE was trained with $had, not $(base_recipe); retraining"
    return 1
  fi
}

