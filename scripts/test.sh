#!/usr/bin/env bash
# README command 2 (and .ci/run): set up and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-chromium.sh
bash scripts/install-redis.sh
bash scripts/install-nginx.sh
npx tsc -p tsconfig.json --noEmit
npx --yes pnpm@9.15.9 --filter @ensemble/client build
mkdir -p test-artifacts
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
# Vitest's own summary is not a format every CI reader knows; print the plain one too.
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-artifacts/vitest.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit "$status"
