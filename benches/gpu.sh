#!/usr/bin/env bash
# Benchmarks and runs on a CUDA machine without a Rust toolchain: the stripped CUDA binaries
# (ttv-run, ttv-bench, xz-packed) are in gpu/. Usage: benches/gpu.sh <what>...  with what in
# anchors, perf-reference, perf-paper, graphs, mem64-reference, mem64-paper, profile-reference,
# profile-paper, paper, parity, sweep, experiments (SPECS="experiments/a.yaml ..."), long (one spec
# across several invocations on one machine), trained (SPECS with workers sharing GPU 0, then the
# halting-threshold sweep on their checkpoints), scores (FID, KID and FVD left pending in that store,
# with the network weights in $TTV_ASSETS). benches/README.md describes each.
# Results go under $OUT (tables as .txt, JSON, the runs' store as a tarball, CubeCL's compile
# and autotune logs), every returned file under 16 MiB.
#
# CubeCL compiles each distinct kernel on first use (about a second each). The compiled kernels
# and autotune choices live in CubeCL's environment under $TTV_KERNEL_CACHE; this script moves
# it between machines as kernels.txz (read from gpu/, written back to $OUT xz-compressed and
# split under 16 MiB per file; valid only for the same binary). The driver's PTX -> SASS cache
# is rebuilt on each machine.
set -uo pipefail
BIN=${BIN:-gpu}
OUT=${OUT:-out}
STAGE_S=${STAGE_S:-400}   # each stage's time limit (STAGE_S_<stage> overrides it for one), so the cache is always written back
mkdir -p "$OUT"
# xz shrinks the binaries and the PTX text 2-3x more than gzip; python3's lzma stands in for a
# missing xz binary.
unpack() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
pack() { if command -v xz >/dev/null; then xz -T0 -6 -c; else python3 -c 'import lzma,sys,shutil; shutil.copyfileobj(sys.stdin.buffer, lzma.open(sys.stdout.buffer, "w", preset=6))'; fi; }
for f in "$BIN"/ttv-run.xz "$BIN"/ttv-bench.xz; do [ -e "$f" ] && unpack "$f" > "${f%.xz}"; done
for f in "$BIN"/ttv-*.gz; do [ -e "$f" ] && gunzip -f "$f"; done
chmod +x "$BIN"/ttv-run "$BIN"/ttv-bench
export TTV_KERNEL_CACHE=$PWD/kcache TTV_PROGRESS=lines
mkdir -p "$TTV_KERNEL_CACHE"
# Cache parts come as <part>.txz, or split into <part>.txz.aa, .ab ... (16 MiB per file back).
for part in kernels; do
  for f in "$BIN/$part.tgz"; do [ -e "$f" ] && tar xzf "$f" -C "$TTV_KERNEL_CACHE"; done
  files=$(ls "$BIN/$part".txz* 2>/dev/null)
  [ -n "$files" ] && cat $files > "/tmp/$part.txz" && unpack "/tmp/$part.txz" | tar xf - -C "$TTV_KERNEL_CACHE" && rm "/tmp/$part.txz"
done
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
[profiling.logger]
level = "disabled"
file = "$OUT/profile.log"
EOF
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
# The store of `trained` and `scores` back as registry.tgz.* without checkpoints or claims;
# TAR_EXCLUDE="pattern ..." leaves more out (e.g. 'epoch_[1-5].safetensors': only the last eval's clips).
pack_longrun() {
  tar czf - -C "$PWD/longrun" --exclude=ckpt --exclude=claim $(for e in ${TAR_EXCLUDE:-}; do printf -- '--exclude=%s ' "$e"; done) registry \
    | split -b 15000000 - "$OUT/registry.tgz."
}
peak_mem() { # sample used memory every 0.2 s while "$@" runs; print the peak in MiB
  local log; log=$(mktemp); nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$log" & local smi=$!
  "$@"; local rc=$?
  kill $smi 2>/dev/null; wait $smi 2>/dev/null
  echo "peak device memory (nvidia-smi, MiB): $(sort -n "$log" | tail -1)"; rm -f "$log"; return $rc
}
for what in "$@"; do
  v=STAGE_S_${what//-/_}; limit=${!v:-$STAGE_S}   # e.g. STAGE_S_paper=400 for one stage
  echo "== $what ($(date +%T), kernels compiled so far: $(grep -c . "$OUT/compile.log" 2>/dev/null || echo 0))"
  case $what in
    perf-reference|perf-paper)
      spec=experiments/${what#perf-}.yaml
      anchors=(); [ -s "$OUT/anchors.jsonl" ] && anchors=(--anchors "$OUT/anchors.jsonl")
      ( time peak_mem timeout "$limit" "$BIN"/ttv-bench perf "$spec" --device cuda --json "$OUT/$what.json" "${anchors[@]}" ${PERF_ARGS:-} ) 2>&1 | tee "$OUT/$what.txt" ;;
    profile-reference|profile-paper)   # CubeCL's kernel profile: a table (kernel, launches, GPU time) per sync, eager
      # updates only (CubeCL refuses a profiling event inside a graph capture)
      # (the last ones: one training step at batch 64, then generation at batch 1 and 64 is
      # before them); each launch is timed on its own, so wall times here are not benchmarks.
      ( TTV_CUDA_GRAPHS=0 CUBECL_DEBUG_OPTION=profile timeout "$limit" "$BIN"/ttv-bench perf "experiments/${what#profile-}.yaml" --device cuda --train-batches 64 --gen-batches 1,64 --repeats 1 --warmup 2 ) 2>&1 | tee "$OUT/$what.txt"
      mv "$OUT/profile.log" "$OUT/$what.log" 2>/dev/null ;;
    mem64-reference|mem64-paper)   # training at batch 64 alone in its process: its peak memory
      ( peak_mem timeout "$limit" "$BIN"/ttv-bench perf "experiments/${what#mem64-}.yaml" --device cuda --train-batches 64 --gen-batches 1 --repeats 3 --json "$OUT/$what.json" ) 2>&1 | tee "$OUT/$what.txt" ;;
    paper)   # = experiments with SPECS=experiments/paper.yaml
      SPECS=experiments/paper.yaml ;&
    experiments)   # every spec in $SPECS into one run store (read from gpu/registry.tgz* when present), back as registry.tgz.aa, .ab ...
      mkdir -p "$OUT/registry"; ls "$BIN"/registry.tgz* >/dev/null 2>&1 && cat "$BIN"/registry.tgz* | tar xzf - -C "$OUT"
      deadline=$(( $(date +%s) + limit ))
      for spec in ${SPECS:-}; do
        left=$(( deadline - $(date +%s) )); [ $left -gt 20 ] || break
        # ONLY="hash ..." (with one spec in SPECS) runs just those of its runs.
        ( time timeout "$left" "$BIN"/ttv-run "$spec" --device cuda --registry "$OUT/registry" $(for h in ${ONLY:-}; do printf -- '--only %s ' "$h"; done) ) 2>&1 | grep -v '^\[' | tail -15
      done 2>&1 | tee "$OUT/experiments.txt"
      tar czf - -C "$OUT" --exclude=ckpt --exclude=claim registry | split -b 15000000 - "$OUT/registry.tgz." && rm -rf "$OUT/registry" ;;
    long)   # one spec in $SPECS (ONLY= picks its runs) trained across several invocations on one machine: the
            # run store lives in longrun/ (ignored, so it stays between invocations); a run stopped at this stage's
            # limit resumes from its newest checkpoint in the next. Back: registry.tgz.* without checkpoints.
      reg=$PWD/longrun/registry; mkdir -p "$reg"
      rm -f "$reg"/runs/*/claim   # the previous invocation's runner was stopped at its limit: its claims are dead
      ( time timeout "$limit" "$BIN"/ttv-run $SPECS --device cuda --registry "$reg" $(for h in ${ONLY:-}; do printf -- '--only %s ' "$h"; done) ) 2>&1 | grep -v '^\[' | tail -25 | tee "$OUT/long.txt"
      tar czf - -C "$PWD/longrun" --exclude=ckpt --exclude=claim registry | split -b 15000000 - "$OUT/registry.tgz." ;;
    trained)   # the runs of $SPECS (ONLY="hash ..." picks some) with WORKERS (default 3) workers sharing GPU 0, then
               # `ttv-run thresholds` (THRESHOLDS="0.3,0.5,..." or its default) on the checkpoints of the runs that
               # ended. The store lives in longrun/ (ignored, so it stays on a warm machine between invocations): a
               # run stopped at this stage's limit checkpoints on the signal and resumes in the next invocation.
               # MPS=1 runs the workers under CUDA MPS (their kernels share the GPU instead of taking turns).
               # Back: the store as registry.tgz.* without checkpoints.
      reg=$PWD/longrun/registry; mkdir -p "$reg"
      rm -f "$reg"/runs/*/claim   # the previous invocation was stopped at its limit: its claims are dead
      only=$(for h in ${ONLY:-}; do printf -- '--only %s ' "$h"; done)
      if [ "${MPS:-0}" = 1 ]; then
        export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
        mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
        nvidia-cuda-mps-control -d && echo "CUDA MPS on" | tee -a "$OUT/trained.txt"
      fi
      # SIGTERM at the limit (to the launcher and its workers): each run checkpoints and reads `interrupted`.
      ( time peak_mem timeout "$limit" "$BIN"/ttv-run $SPECS --devices cuda:0 --workers-per-device "${WORKERS:-3}" --registry "$reg" $only ) > /tmp/trained.log 2>&1
      rc=$?; grep -v '^\[' /tmp/trained.log | tail -60 >> "$OUT/trained.txt"; echo "training exit: $rc" >> "$OUT/trained.txt"
      [ "${MPS:-0}" = 1 ] && echo quit | nvidia-cuda-mps-control
      # The sweep only once every run ended (not after an invocation stopped at its limit); THRESHOLDS_S=0 skips it.
      [ $rc = 0 ] && [ "${THRESHOLDS_S:-150}" -gt 0 ] && ( time timeout "${THRESHOLDS_S:-150}" "$BIN"/ttv-run thresholds --registry "$reg" --device cuda ${THRESHOLDS:+--values $THRESHOLDS} $(for h in ${ONLY:-}; do printf -- '--run %s ' "$h"; done) ) >> "$OUT/trained.txt" 2>&1
      "$BIN"/ttv-run status $SPECS --registry "$reg" >> "$OUT/trained.txt" 2>&1
      tail -40 "$OUT/trained.txt"
      pack_longrun ;;
    scores)   # FID, KID and FVD that the runs in longrun/ left pending (they trained without the network
              # weights), computed on GPU 0 from their kept eval clips; EXPERIMENTS="name ..." limits it
      ( time timeout "$limit" "$BIN"/ttv-run fid --registry "$PWD/longrun/registry" --device cuda \
          $(for e in ${EXPERIMENTS:-}; do printf -- '--experiment %s ' "$e"; done) ) 2>&1 | tee "$OUT/scores.txt"
      pack_longrun ;;
    sweep)   # a 12-run sweep of paper.yaml (seeds 0-11) on GPU 0: one process, then WORKERS (default 4)
             # worker processes; wall time and peak memory of each, the two stores back as sweep.tgz
      seeds="seeds=[0,1,2,3,4,5,6,7,8,9,10,11]"
      # One run first, untimed: whatever kernel the cache lacks is compiled before either is timed.
      timeout "$limit" "$BIN"/ttv-run experiments/paper.yaml --registry "$PWD/sweep/warmup" --device cuda > "$OUT/sweep-warmup.txt" 2>&1
      for k in 1 ${WORKERS:-4}; do
        reg=$PWD/sweep/workers-$k; rm -rf "$reg"
        if [ "$k" = 1 ]; then launch=(--device cuda); else launch=(--devices cuda:0 --workers-per-device "$k"); fi
        t0=$(date +%s.%N)
        peak_mem timeout "$limit" "$BIN"/ttv-run experiments/paper.yaml -s "$seeds" --registry "$reg" "${launch[@]}" > "$OUT/sweep-$k.txt" 2>&1
        rc=$?; tail -1 "$OUT/sweep-$k.txt"
        python3 -c "import sys; print(f'workers {sys.argv[1]}: wall {float(sys.argv[3]) - float(sys.argv[2]):.1f} s, exit {sys.argv[4]}')" "$k" "$t0" "$(date +%s.%N)" "$rc" | tee -a "$OUT/sweep.txt"
      done
      tar czf "$OUT/sweep.tgz" -C "$PWD" --exclude=ckpt --exclude=claim --exclude=eval --exclude=warmup sweep ;;
    parity)
      timeout "$limit" "$BIN"/ttv-bench parity 2>&1 | tee "$OUT/parity.txt" ;;
    anchors)   # the PyTorch anchors on this machine, for perf-* to print beside its figures
      OUT=$OUT timeout "$limit" bash "$(dirname "$0")/anchors/anchors.sh" "${ANCHOR_BATCHES:-1,16,64}" 2>&1 | tee "$OUT/anchors.txt" ;;
    graphs)   # replayed CUDA-graph updates against eager ones, 50 updates from the same weights
      for spec in experiments/reference.yaml experiments/paper.yaml; do
        timeout "$limit" "$BIN"/ttv-bench graphs "$spec" --device cuda --batches 1,16 2>&1
      done | tee "$OUT/graphs.txt" ;;
  esac
done
echo "== done ($(date +%T)), kernels compiled: $(grep -c . "$OUT/compile.log" 2>/dev/null || echo 0)"
du -sh "$TTV_KERNEL_CACHE"/* 2>/dev/null
(cd "$OUT" && tar czf logs.tgz --remove-files $(ls *.log *.txt *.json 2>/dev/null))
# The kernel cache goes back in parts under 16 MiB; the driver's SASS cache (hundreds of MB) stays.
tar cf - -C "$TTV_KERNEL_CACHE" --exclude=nv . | pack > /tmp/kernels.txz
echo "kernel cache: $(stat -c %s /tmp/kernels.txz) bytes"
split -b 15000000 /tmp/kernels.txz "$OUT/kernels.txz." && rm /tmp/kernels.txz
ls -la "$OUT"
