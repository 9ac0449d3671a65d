#!/usr/bin/env bash
# The runner's PyTorch path on a GPU machine, with python3 and torch only (no Node, no Docker).
# Checks a model saved on the CPU, one saved on the GPU and a TorchScript file saved on the GPU
# against the model's own answers, and times warm calls beside the model's own forward pass.
# Without CUDA it says so and checks the CPU part (and the GPU-only refusal / CPU fallback).
#
# Usage: bash bench/gpu/run-runner-gpu.sh [--calls N] [--json FILE]
#   PYTHON  the interpreter that has torch (default: python3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi: not found"
exec "$python" "$here/runner_gpu.py" "$@"
