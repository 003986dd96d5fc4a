#!/usr/bin/env bash
# `npm start`: install dependencies on a fresh clone, build, migrate and serve.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc -p .
exec node dist/src/main.js
