#!/usr/bin/env bash
# Installs one of Debian's packages for the tests: install-debian-package.sh COMMAND PACKAGE.
# Idempotent: does nothing when COMMAND is already on the PATH.
set -euo pipefail
command_name="$1"
package="$2"
if command -v "$command_name" >/dev/null; then
  echo "install $package: $(command -v "$command_name") is there"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install $package: need root (or sudo) to apt-get install it" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "$package"
