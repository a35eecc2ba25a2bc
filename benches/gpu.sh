#!/usr/bin/env bash
# What the H100 runs (device machine, no toolchain): the stripped CUDA binaries are carried in
# gpu/. Usage: benches/gpu.sh <what>...  with what in perf-reference, perf-paper, mem64-reference,
# paper, parity. Results go under $OUT (tables as .txt, JSON, the paper run's registry as a
# tarball, CubeCL's compile and autotune logs).
#
# CubeCL compiles each distinct kernel on first use (about a second each). The compiled kernels
# and autotune choices live in $TTV_KERNEL_CACHE; this script carries them between machines in
# parts (each back from $OUT if under 16 MiB, carried in from gpu/): autotune.tgz (the chosen
# kernel per problem: small, and it spares compiling the losing candidates), ptx.tgz (CubeCL's
# compiled kernels), nv.tgz (the driver's PTX -> SASS cache).
set -uo pipefail
BIN=${BIN:-gpu}
OUT=${OUT:-out}
STAGE_S=${STAGE_S:-400}   # each stage's time limit, so the cache is always written back
mkdir -p "$OUT"
for f in "$BIN"/ttv-*.gz; do [ -e "$f" ] && gunzip -f "$f"; done
chmod +x "$BIN"/ttv-run "$BIN"/ttv-bench
export TTV_KERNEL_CACHE=$PWD/kcache
mkdir -p "$TTV_KERNEL_CACHE"
for part in autotune ptx nv; do [ -e "$BIN/$part.tgz" ] && tar xzf "$BIN/$part.tgz" -C "$TTV_KERNEL_CACHE"; done
# The driver's PTX -> SASS cache, kept with CubeCL's.
export CUDA_CACHE_PATH=$TTV_KERNEL_CACHE/nv CUDA_CACHE_MAXSIZE=4294967296
cat > cubecl.toml <<EOF
[compilation.logger]
level = "basic"
file = "$OUT/compile.log"
[autotune]
level = "${AUTOTUNE:-balanced}"
[autotune.logger]
level = "minimal"
file = "$OUT/autotune.log"
EOF
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
peak_mem() { # sample used memory every 0.2 s while "$@" runs; print the peak in MiB
  local log; log=$(mktemp); nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$log" & local smi=$!
  "$@"; local rc=$?
  kill $smi 2>/dev/null; wait $smi 2>/dev/null
  echo "peak device memory (nvidia-smi, MiB): $(sort -n "$log" | tail -1)"; rm -f "$log"; return $rc
}
for what in "$@"; do
  echo "== $what ($(date +%T), kernels compiled so far: $(grep -c . "$OUT/compile.log" 2>/dev/null || echo 0))"
  case $what in
    perf-reference|perf-paper)
      spec=experiments/${what#perf-}.yaml
      ( time peak_mem timeout "$STAGE_S" "$BIN"/ttv-bench perf "$spec" --device cuda --json "$OUT/$what.json" ${PERF_ARGS:-} ) 2>&1 | tee "$OUT/$what.txt" ;;
    mem64-reference)
      ( peak_mem timeout "$STAGE_S" "$BIN"/ttv-bench perf experiments/reference.yaml --device cuda --train-batches 64 --gen-batches 1 --repeats 3 --json "$OUT/$what.json" ) 2>&1 | tee "$OUT/$what.txt" ;;
    paper)
      ( time timeout "$STAGE_S" "$BIN"/ttv-run experiments/paper.yaml --device cuda --registry "$OUT/registry" ) 2>&1 | tail -30 | tee "$OUT/paper.txt"
      tar czf "$OUT/paper-registry.tgz" -C "$OUT" --exclude=ckpt registry && rm -rf "$OUT/registry" ;;
    parity)
      timeout "$STAGE_S" "$BIN"/ttv-bench parity 2>&1 | tee "$OUT/parity.txt" ;;
  esac
done
echo "== done ($(date +%T)), kernels compiled: $(grep -c . "$OUT/compile.log" 2>/dev/null || echo 0)"
du -sh "$TTV_KERNEL_CACHE"/* 2>/dev/null
tar czf "$OUT/logs.tgz" -C "$OUT" compile.log autotune.log && rm -f "$OUT/compile.log" "$OUT/autotune.log"
for part in autotune:autotune ptx:cuda nv:nv; do
  name=${part%%:*}; dir=${part#*:}
  [ -d "$TTV_KERNEL_CACHE/$dir" ] || continue
  tar czf "/tmp/$name.tgz" -C "$TTV_KERNEL_CACHE" "$dir"
  size=$(stat -c %s "/tmp/$name.tgz"); echo "cache part $name: $size bytes"
  [ "$size" -lt 16000000 ] && mv "/tmp/$name.tgz" "$OUT/"
done
