#!/usr/bin/env bash
# Installs Debian's redis-server for the multi-process tests (test/scale), which start one on a
# free port when neither REDIS_URL nor a Redis on 127.0.0.1:6379 answers (test/helpers/redis.ts).
# Idempotent: does nothing when redis-server is already there.
set -euo pipefail
if command -v redis-server >/dev/null; then
  echo "install-redis: $(redis-server --version)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-redis: need root (or sudo) to apt-get install redis-server" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends redis-server
redis-server --version
