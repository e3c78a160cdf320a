#!/usr/bin/env bash
# Rebuilds every committed model file under models/ from ../shared/data (beside the checkout).
# Needs: /usr/bin/python3 with torch 1.13, onnx, numpy, Pillow; node 20 with the workspace's
# server/node_modules (onnxruntime-node, @huggingface/tokenizers); fonts-noto-color-emoji.
# Optional but strongly recommended: apt-get install libopenblas0-pthread (Debian's torch links the
# reference BLAS, ~9x slower); we point only these processes at it via LD_LIBRARY_PATH.
set -euo pipefail
cd "$(dirname "$0")"
# Debian's packages only (no PyPI here): install what is missing, as root.
if ! /usr/bin/python3 -c 'import torch, onnx, numpy, PIL' 2>/dev/null || [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then
  apt-get update && apt-get install -y python3-torch python3-onnx python3-numpy python3-pil fonts-noto-color-emoji libopenblas0-pthread
fi
if [ -d /usr/lib/x86_64-linux-gnu/openblas-pthread ]; then
  export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# One BLAS thread: on the shared host a 2-thread OpenBLAS under torch's own 2 threads ran 3x slower
# than torch threads over a single-threaded BLAS (spinning barriers while other jobs hold the cores).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} PYTHONUNBUFFERED=1
PY=${PYTHON:-/usr/bin/python3}
mkdir -p ../.work
$PY check_text_cleanup.py                             # the corpora clean-up (mojibake) holds
$PY train_bpe.py                                   2>&1 | tee ../.work/bpe.log     # 8192 tokens, books included
$PY train_lm.py --steps 2400 --eval-every 200      2>&1 | tee ../.work/lm.log
$PY train_embed.py --epochs 5                      2>&1 | tee ../.work/embed.log
$PY train_image.py --steps 1200 --threads 1        2>&1 | tee ../.work/image.log
$PY eval_data.py                                   # inputs of ../evaluate.mts (old vs new comparison)
$PY write_manifest.py
node verify_onnx.mjs ..
