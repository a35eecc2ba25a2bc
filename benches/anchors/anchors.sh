#!/usr/bin/env bash
# The PyTorch anchors on a GPU machine: the public code's model (torch_ref.py beside this file) in
# the configurations a user would pick instead of ttv. One JSON line per figure, to stdout and to
# ${OUT:-.}/anchors.jsonl. Run it on the same machine, just before `ttv-bench perf --anchors`.
# Usage: bash anchors.sh [BATCHES]   (default 1,16,64); CONFIGS picks configurations (default
# "eager tf32 compile graphs"); T bounds each in seconds.
set -u
OUT=$(mkdir -p "${OUT:-.}" && cd "${OUT:-.}" && pwd)
cd "$(dirname "$0")"
B=${1:-1,16,64}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
run() { echo "== $*"; timeout "${T:-300}" python3 torch_ref.py "$@" --batches "$B" 2>&1 | grep -E '^\{"kind"' | tee -a "$OUT/anchors.jsonl"; }
for config in ${CONFIGS:-eager tf32 compile graphs}; do
  case $config in
    eager) run ;;                                                # eager fp32
    tf32) run --tf32 --sdpa ;;                                   # eager TF32 + fused attention
    compile) run --compile --tf32 --sdpa ;;                      # torch.compile
    graphs) run --compile --mode reduce-overhead --tf32 --sdpa ;; # torch.compile + CUDA graphs
  esac
done
