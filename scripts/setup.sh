#!/usr/bin/env bash
# Installs the workspace's packages on a machine that has only Node 20 and npm.
# pnpm comes from the npm registry at a pinned version (the same as package.json's packageManager).
set -euo pipefail
cd "$(dirname "$0")/.."
export PNPM_VERSION=9.15.9
pnpm() { npx --yes "pnpm@${PNPM_VERSION}" "$@"; }
# better-sqlite3 builds from source when no prebuilt binary can be downloaded: it needs these.
for tool in python3 make g++; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is required to build better-sqlite3" >&2; exit 1; }
done
pnpm install --frozen-lockfile
