#!/usr/bin/env bash
# The whole test suite: system packages the tests need, type-check and build, lint, format,
# then every test file against a real PostgreSQL (TEST_DATABASE_URL, or an embedded one).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
[ -d node_modules ] || npm ci --no-audit --no-fund

echo "# type-check and build"
rm -rf dist
npx tsc -p .
echo "# lint"
npx eslint .
npx prettier --check .

mkdir -p test-artifacts
set +e
node dist/scripts/run-tests.js "$@" | tee test-artifacts/test-output.txt
status=${PIPESTATUS[0]}
set -e
pass=$(grep -E '^ℹ pass [0-9]+' test-artifacts/test-output.txt | tail -1 | grep -oE '[0-9]+' || echo 0)
fail=$(grep -E '^ℹ fail [0-9]+' test-artifacts/test-output.txt | tail -1 | grep -oE '[0-9]+' || echo 0)
echo "${pass} passed, ${fail} failed"
exit "$status"
