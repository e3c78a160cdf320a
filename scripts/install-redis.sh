#!/usr/bin/env bash
# Installs Debian's redis-server for the multi-process tests (test/scale), which start one on a
# free port when neither REDIS_URL nor a Redis on 127.0.0.1:6379 answers (test/helpers/redis.ts).
set -euo pipefail
bash "$(dirname "$0")/install-debian-package.sh" redis-server redis-server
redis-server --version
