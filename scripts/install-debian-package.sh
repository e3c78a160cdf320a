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
bash "$(dirname "$0")/apt-install.sh" "$package"
