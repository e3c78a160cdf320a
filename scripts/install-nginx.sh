#!/usr/bin/env bash
# Installs Debian's nginx for test/scale/load-balancer.test.ts, which runs docker-compose.yml's
# load balancer (deploy/nginx.conf) in front of real processes (test/helpers/nginx.ts). Installing
# the package does not leave an nginx running here (no init system); the test starts its own.
set -euo pipefail
bash "$(dirname "$0")/install-debian-package.sh" nginx nginx-light
nginx -v
