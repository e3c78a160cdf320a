#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end tests (test/e2e), which drive it with
# playwright-core, and the Vulkan loader (libvulkan1) that onnxruntime-node's WebGPU provider
# needs to reach Chromium's SwiftShader ICD (test/inference/webgpu.test.ts). Idempotent: does
# nothing when both are already there. (Never `npx playwright install`: the tests use the system browser.)
set -euo pipefail
have_loader() { [[ "$(/sbin/ldconfig -p 2>/dev/null)" == *"libvulkan.so.1 "* ]]; }
packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium fonts-liberation)
have_loader || packages+=(libvulkan1)
if [ ${#packages[@]} -eq 0 ]; then
  echo "install-chromium: /usr/bin/chromium present ($(/usr/bin/chromium --version 2>/dev/null | tail -n 1)); Vulkan loader present"
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" "${packages[@]}"
/usr/bin/chromium --version
