#!/usr/bin/env bash
# The whole test suite: system packages the tests need, type-check and build, lint, format,
# then every test file against a real PostgreSQL (TEST_DATABASE_URL, or an embedded one).
# The tests get a temp dir of their own (TMPDIR), removed at the end; before that,
# scripts/machine-check.ts fails the run, naming each thing, if the tests left a process
# running, a file in that temp dir or the system's, or a change under /etc.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
[ -d node_modules ] || npm ci --no-audit --no-fund

echo "# type-check and build"
# A clean build: compiled files of deleted tests must not linger in dist/tests.
rm -rf dist
STAGEWISE_BUILD=always bash scripts/build-if-stale.sh
echo "# lint"
npx eslint .
# The import-boundary rule: layers point one way, no import cycle (.dependency-cruiser.cjs).
npm run --silent lint:imports
npx prettier --check .

mkdir -p test-artifacts
# Readable by others: as root, the embedded PostgreSQL runs as `postgres` and keeps its data here.
test_tmp=$(mktemp -d "${TMPDIR:-/tmp}/stagewise-npm-test.XXXXXX")
chmod 0755 "$test_tmp"
trap 'rm -rf "$test_tmp"' EXIT
node dist/scripts/machine-check.js snapshot test-artifacts/machine-before.json
export TMPDIR=$test_tmp

set +e
echo "# gpu-runner (pytest, Debian's python3 and torch)"
# pytest's own folder (tmp_path) is ours to remove: it keeps its last runs otherwise.
(cd gpu-runner && OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  --basetemp="$test_tmp/pytest") | tee test-artifacts/pytest-output.txt
py_status=${PIPESTATUS[0]}
rm -rf "$test_tmp/pytest"
echo "# API (node's test runner, real PostgreSQL)"
node dist/scripts/run-tests.js "$@" | tee test-artifacts/test-output.txt
node_status=${PIPESTATUS[0]}
echo "# what the tests left behind"
node dist/scripts/machine-check.js compare test-artifacts/machine-before.json \
  --private-tmp "$test_tmp"
machine_status=$?
set -e
count() { grep -oE "[0-9]+ $1" "$2" | tail -1 | grep -oE '[0-9]+' || echo 0; }
node_pass=$(grep -E '^ℹ pass [0-9]+' test-artifacts/test-output.txt | tail -1 | grep -oE '[0-9]+' || echo 0)
node_fail=$(grep -E '^ℹ fail [0-9]+' test-artifacts/test-output.txt | tail -1 | grep -oE '[0-9]+' || echo 0)
py_pass=$(count passed test-artifacts/pytest-output.txt)
py_fail=$(count failed test-artifacts/pytest-output.txt)
echo "$((node_pass + py_pass)) passed, $((node_fail + py_fail)) failed$([ "$machine_status" -eq 0 ] || echo ', and the machine-check failed')"
[ "$py_status" -eq 0 ] && [ "$node_status" -eq 0 ] && [ "$machine_status" -eq 0 ]
