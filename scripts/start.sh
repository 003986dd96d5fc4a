#!/usr/bin/env bash
# `npm start`: install dependencies on a fresh clone, build when a source changed, migrate and
# serve. A port already taken (a second `npm start`) is reported before anything is built; the
# server checks again itself (src/main.ts), for those who run dist/src/main.js directly.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e '
  const [port, host] = [Number(process.argv[1]), process.argv[2]];
  if (!Number.isInteger(port) || port <= 0 || port > 65535) process.exit(0); // the server says why
  const probe = require("net").createServer();
  probe.once("error", (err) => {
    if (err.code !== "EADDRINUSE") process.exit(0); // left for the server to report
    console.error(`port ${port} is taken (another stagewise?); set PORT`);
    process.exit(1);
  });
  probe.listen(port, host, () => probe.close());' "${PORT:-4000}" "${HOST:-127.0.0.1}"
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/build-if-stale.sh
# The API's Node flags (a larger young generation) live in one place, src/app/server-node-flags.ts.
read -r -a NODE_FLAGS <<<"$(node -p 'require("./dist/src/app/server-node-flags.js").SERVER_NODE_FLAGS.join(" ")')"
exec node "${NODE_FLAGS[@]}" dist/src/main.js
