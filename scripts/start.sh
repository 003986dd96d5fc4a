#!/usr/bin/env bash
# `npm start`: install dependencies on a fresh clone, build when a source changed, migrate and
# serve.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/build-if-stale.sh
exec node dist/src/main.js
