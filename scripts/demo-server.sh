# Sourced by scripts/demo.sh and scripts/curriculum.sh: builds (unless
# STAGEWISE_DEMO_SKIP_BUILD=1), then starts the API in the background on its own embedded
# PostgreSQL in "$DEMO_DIR" (free ports), with an ADMIN key made for it, and stops it on exit.
# Needs DIST, DEMO_DIR and KEY_PREFIX; defines say, sw (the stagewise CLI) and stop_server, and
# exports STAGEWISE_URL and STAGEWISE_API_KEY.

# shellcheck source=scripts/terminal.sh
source scripts/terminal.sh

if [ "${STAGEWISE_DEMO_SKIP_BUILD:-}" != 1 ]; then
  # The runner needs Debian's PyTorch; installed once, idempotently (as the tests do).
  bash scripts/setup-system.sh
  [ -d node_modules ] || npm ci --no-audit --no-fund
  bash scripts/build-if-stale.sh
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
KEY_JSON=$(node "$DIST/src/cli/keys.js" create --name "$KEY_PREFIX-$(date +%s)" --scopes ADMIN --json)
export STAGEWISE_API_KEY=$(node -e 'console.log(JSON.parse(process.argv[1]).key)' "$KEY_JSON")
export STAGEWISE_URL="http://127.0.0.1:$PORT"

say "Starting the API on $STAGEWISE_URL (log: $DEMO_DIR/server.log)"
node "$DIST/src/main.js" >>"$DEMO_DIR/server.log" 2>&1 &
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
    tail -n 50 "$DEMO_DIR/server.log" >&2
    exit 3
  fi
  sleep 0.5
done
sw runs list --json >/dev/null
