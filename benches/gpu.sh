#!/usr/bin/env bash
# What the H100 runs (device machine, no toolchain): the stripped CUDA binaries are carried in
# gpu/. Usage: benches/gpu.sh <what>...  with what in perf-reference, perf-paper, paper, parity.
# Results go under $OUT (tables as .txt, JSON, the paper run's registry as a tarball).
set -uo pipefail
BIN=${BIN:-gpu}
OUT=${OUT:-out}
mkdir -p "$OUT"
for f in "$BIN"/*.gz; do [ -e "$f" ] && gunzip -f "$f"; done
chmod +x "$BIN"/ttv-run "$BIN"/ttv-bench
export CUBECL_CACHE_DIR=${CUBECL_CACHE_DIR:-$HOME/.cache/cubecl}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
peak_mem() { # sample used memory every 0.2 s while "$@" runs; print the peak in MiB
  local log; log=$(mktemp); nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$log" & local smi=$!
  "$@"; local rc=$?
  kill $smi 2>/dev/null; wait $smi 2>/dev/null
  echo "peak device memory (nvidia-smi, MiB): $(sort -n "$log" | tail -1)"; rm -f "$log"; return $rc
}
for what in "$@"; do
  case $what in
    perf-reference|perf-paper)
      spec=experiments/${what#perf-}.yaml
      ( time peak_mem "$BIN"/ttv-bench perf "$spec" --device cuda --json "$OUT/$what.json" ${PERF_ARGS:-} ) 2>&1 | tee "$OUT/$what.txt" ;;
    mem64-reference)
      ( peak_mem "$BIN"/ttv-bench perf experiments/reference.yaml --device cuda --train-batches 64 --gen-batches 1 --repeats 3 --json "$OUT/$what.json" ) 2>&1 | tee "$OUT/$what.txt" ;;
    paper)
      ( time "$BIN"/ttv-run experiments/paper.yaml --device cuda --registry "$OUT/registry" ) 2>&1 | tail -30 | tee "$OUT/paper.txt"
      tar czf "$OUT/paper-registry.tgz" -C "$OUT" --exclude=ckpt registry && rm -rf "$OUT/registry" ;;
    parity)
      "$BIN"/ttv-bench parity 2>&1 | tee "$OUT/parity.txt" ;;
  esac
done
