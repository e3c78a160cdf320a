#!/usr/bin/env bash
# README command 1: set up, build the web client and start Ensemble on embedded defaults
# (SQLite in ./data, models from ./models on the CPU) at http://localhost:${PORT:-8080}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx --yes pnpm@9.15.9 --filter @ensemble/client build
exec node --import tsx server/src/main.ts
