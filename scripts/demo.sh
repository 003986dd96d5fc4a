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

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "${STAGEWISE_DEMO_SKIP_BUILD:-}" != 1 ]; then
  # The runner needs Debian's PyTorch; installed once, idempotently (as the tests do).
  bash scripts/setup-system.sh
  [ -d node_modules ] || npm ci --no-audit --no-fund
  say "Building"
  npx tsc -p .
fi

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

mkdir -p "$DEMO_DIR"
unset DATABASE_URL REDIS_URL
export STAGEWISE_DATA_DIR="$DEMO_DIR"
export EMBEDDED_PG_PORT=$(free_port)
export PORT=$(free_port)
export RUNS_DIR="$DEMO_DIR/runs"
export BOOTSTRAP_ADMIN_KEY=false
export LOG_LEVEL=${LOG_LEVEL:-warn}

# The key first: keys.js opens the same embedded database (same STAGEWISE_DATA_DIR and port),
# migrates it, and stops it again before the server takes it over.
say "Creating an ADMIN key in $DEMO_DIR"
KEY_JSON=$(node "$DIST/src/cli/keys.js" create --name "demo-$(date +%s)" --scopes ADMIN --json)
export STAGEWISE_API_KEY=$(node -e 'console.log(JSON.parse(process.argv[1]).key)' "$KEY_JSON")
export STAGEWISE_URL="http://127.0.0.1:$PORT"

say "Starting the API on $STAGEWISE_URL (log: $DEMO_DIR/server.log)"
node "$DIST/src/main.js" >"$DEMO_DIR/server.log" 2>&1 &
SERVER_PID=$!
stop_server() {
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "Stopping the API (pid $SERVER_PID)"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

sw() { node "$DIST/src/cli/stagewise.js" "$@"; }

for _ in $(seq 1 240); do
  if sw runs list --json >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "The API did not start:" >&2
    cat "$DEMO_DIR/server.log" >&2
    exit 3
  fi
  sleep 0.5
done
sw runs list --json >/dev/null

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
