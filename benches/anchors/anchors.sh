#!/usr/bin/env bash
# The PyTorch anchors on a GPU machine: the public code's model (torch_ref.py beside this file) in
# the configurations a user would pick instead of ttv. One JSON line per figure, to stdout and to
# ${OUT:-.}/anchors.jsonl. Run it on the same machine as `ttv-bench perf`.
# Usage: bash anchors.sh [BATCHES]   (default 1,16,64)
set -u
cd "$(dirname "$0")"
B=${1:-1,16,64}
OUT=${OUT:-.}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
run() { echo "== $*"; timeout "${T:-200}" python3 torch_ref.py "$@" --batches "$B" 2>&1 | grep -E '^\{"kind"' | tee -a "$OUT/anchors.jsonl"; }
run                                        # eager fp32
run --tf32 --sdpa                          # eager TF32 + fused attention
run --compile --tf32 --sdpa                # torch.compile
T=300 run --compile --mode reduce-overhead --tf32 --sdpa   # torch.compile + CUDA graphs
