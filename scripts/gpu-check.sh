#!/usr/bin/env bash
# gpu-check.sh — the one prepared check for a lent GPU (issues 9 and 24):
# about 300 s of device time, its results in at most 4 files. Build here
# first (`make gpu-bundle`: build/gpu-bundle.tar.gz, which this script
# unpacks; or carry build/cuda-f32 and build/cuda-f64 from `make`, if the
# device host has this machine's libraries and CPU), and run from the
# repository root:
#   bash scripts/gpu-check.sh [OUT_DIR]      (default: $OUT, else bench/results/gpu-check)
# OUT_DIR gets only: gpu-check.log (everything printed), gpu-check-summary.txt
# (one line per step: ok, FAILED or SKIPPED, with its seconds),
# gpu-check.tar.gz (every file the steps wrote: JSON, tables, the bench's
# results and plots, each program's stderr) and, when the bench ran,
# gpu.md (rendered from the bench's JSON by build/hgbench-report; the JSON
# is in the tarball, so `hgbench-report --section gpu --results DIR`
# renders it again here). They are written at exit whatever ends the run
# (an error, the deadline, SIGTERM or SIGINT), so a machine that hands back
# at most 8 files, 2 folders deep, returns all of it.
#
# Steps, each under one global deadline (CHECK_BUDGET_S, 300 s: a step gets
# at most its own cap and never more than what is left, less the time to
# pack; one that cannot start in time is SKIPPED, saying so):
#   device     nvidia-smi; the programs and their libraries (stops here,
#              exit 2 or 3, when a program is missing or a library does not
#              load); the device record (hgbench-gpu-info: stops here when
#              the device is refused); a WARNING when cuDNN did not load or
#              its probe switched it off (every conv then runs as im2col +
#              cuBLAS: the run still passes, so the warning is the only sign)
#   tests      test_backend_ops and test_gpu, float64 then float32
#   presets    each engine on LeNet through `hgbench hypergrad --device
#              cuda` (T = PRESET_T, 20), float32, and bptt in float64;
#              Figure 2 on the GPU in float32 (FIG2_ARGS, "--quick --seeds
#              2"); hgbench-engines at T = ENGINES_T (200); PyTorch on the
#              exported problem where its CUDA works
#   bench      QUICK=1 scripts/bench-gpu.sh in the time left: only when every
#              test passed (a failing backend's numbers would mislead)
# Libraries: build/gpu-lib (the bundle's), CUDA's lib64, and the cuBLAS and
# cudart of PyTorch's wheels go on LD_LIBRARY_PATH for hgbench's programs
# only; Python runs with the environment it came with, so that nothing
# bundled shadows PyTorch's own. A cuDNN inside a wheel is handed to the
# programs by HG_CUDNN_LIB (backend/cuda/cuda_dnn.cuh), not by the path.
#
# REHEARSE=1: the whole script on the CPU, on the strict fake device
# (HG_FAKE_DEVICE=strict: `--device cuda` is the CPU's kernels with device
# memory closed to the host outside backend ops), with the CPU builds
# (build/f32, build/f64; REHEARSE_BUILD=build/cuda-f to use the CUDA
# builds' binaries) and bench-gpu.sh's own REHEARSE=1, at sizes cut for a
# CPU (PRESET_T 3, ENGINES_T 10, Figure 2 at T = 4, the bench's sizes and
# MODELS_ARGS likewise; each can be set). No number from it is a GPU's; the
# log and the summary say REHEARSAL first. tests/test_gpu_check.c
# runs it, cut down by CHECK_PARTS, and counts what it leaves in OUT_DIR.
#
# Environment: CHECK_BUDGET_S (300), CHECK_PARTS ("device tests presets
# bench"), DATA_DIR (Fashion-MNIST; else the loader's default folder, else
# data/fashion-mnist here), PYTHON (one with torch), THREADS (host threads,
# 4), and bench-gpu.sh's QUICK sizes (HORIZONS, COUNTS, SEEDS, ...).
set -u
out=${1:-${OUT:-bench/results/gpu-check}}
mkdir -p "$out" || { echo "gpu-check: cannot make the output folder $out" >&2; exit 2; }
out=$(cd "$out" && pwd)
log=$out/gpu-check.log
summary=$out/gpu-check-summary.txt
rm -f "$log" "$summary" "$out/gpu-check.tar.gz" "$out/gpu.md"
work=$(mktemp -d "${TMPDIR:-/tmp}/hgbench-gpu-check.XXXXXX") ||
  { echo "gpu-check: cannot make a scratch folder" >&2; exit 2; }
exec > >(tee "$log") 2>&1
exec 3>&1   # the log, for what a step says about itself while its output goes elsewhere
t0=$(date +%s)
budget=${CHECK_BUDGET_S:-300}
deadline=$((t0 + budget))
reserve=10   # seconds kept for packing at the end
parts=${CHECK_PARTS:-device tests presets bench}
threads=${THREADS:-4}
rehearse=0
[ "${REHEARSE:-0}" = 1 ] && rehearse=1
fails=0 skipped=0 tests_failed=0 warnings=0

note() {  # WORD text: one summary line, also in the log
  echo "$1: $2" >> "$work/summary.txt"
  echo "gpu-check: $1: $2" >&3
}
# The gpu section's Markdown, rendered from bench-gpu.sh's JSON by
# hgbench-report (build/hgbench-report: the bundle carries it, libjansson in
# build/gpu-lib) into the scratch folder, so that it is both in the tarball
# and beside it; where it cannot run, the JSON in the tarball still renders
# on the build machine (hgbench-report --section gpu --results DIR).
render_gpu() {
  local rep=${GPU_REPORT:-build/hgbench-report}
  [ -f "$work/bench/gpu.json" ] || return 0
  if [ ! -x "$rep" ]; then echo "gpu-check: no $rep: gpu.md not rendered here (its JSON is in the tarball)" >&3; return 0; fi
  "${hgenv[@]}" "$rep" --section gpu --results "$work/bench" --plots "$work/bench/plots" \
    --out "$work/bench/gpu.md" --quick > "$work/bench/gpu.md.tmp" 2> "$work/bench/gpu-report.err" &&
    mv "$work/bench/gpu.md.tmp" "$work/bench/gpu.md" ||
    { echo "gpu-check: hgbench-report failed: $(tail -n 1 "$work/bench/gpu-report.err")" >&3
      rm -f "$work/bench/gpu.md.tmp"; }
}
# Packs every file of the scratch folder into one tarball, writes the
# summary, and removes the scratch folder: whatever ended the run.
finish() {
  local rc=$?
  trap - EXIT INT TERM
  note "done" "$fails failed, $skipped skipped, $warnings warnings, in $(( $(date +%s) - t0 )) s of $budget (exit $rc)"
  { [ $rehearse = 1 ] && echo "REHEARSAL on the CPU (strict fake device): no number here is from a GPU"
    cat "$work/summary.txt"; } > "$summary.tmp" && mv "$summary.tmp" "$summary"
  render_gpu
  [ -f "$work/bench/gpu.md" ] && cp "$work/bench/gpu.md" "$out/gpu.md"
  tar -C "$work" -czf "$out/gpu-check.tar.gz.tmp" . && mv "$out/gpu-check.tar.gz.tmp" "$out/gpu-check.tar.gz"
  rm -rf "$work"
  exit "$rc"
}
trap finish EXIT
trap 'note FAILED "interrupted (SIGINT)"; fails=$((fails + 1)); exit 130' INT
trap 'note FAILED "stopped (SIGTERM)"; fails=$((fails + 1)); exit 143' TERM
stop() {  # code text: fail fast
  note FAILED "$2; stopping (what follows needs it)"; fails=$((fails + 1)); exit "$1"
}
has_part() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
left() { echo $(( deadline - $(date +%s) - reserve )); }
# step NAME CAP CMD...: CMD under min(CAP, the time left); its result one
# summary line; returns CMD's exit status (124: not started or stopped)
step() {
  local name=$1 cap=$2; shift 2
  local l; l=$(left)
  [ "$l" -lt "$cap" ] && cap=$l
  if [ "$cap" -lt 5 ]; then
    note SKIPPED "$name: the deadline (CHECK_BUDGET_S=$budget) leaves ${l} s"
    skipped=$((skipped + 1)); return 124
  fi
  { echo; echo "## $name  [$(( $(date +%s) - t0 )) s, at most $cap s]"; } >&3
  local t; t=$(date +%s)
  timeout --kill-after=5 "$cap" "$@"; local rc=$?
  local dt=$(( $(date +%s) - t ))
  if [ $rc -eq 0 ]; then note ok "$name (${dt} s)"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then note FAILED "$name: stopped at its limit of $cap s"; fails=$((fails + 1))
  else note FAILED "$name: exit $rc (${dt} s)"; fails=$((fails + 1)); fi
  return $rc
}

if [ $rehearse = 1 ]; then
  echo "gpu-check: REHEARSAL on the CPU: --device cuda is the strict fake device; no GPU, no GPU numbers"
  cb=${REHEARSE_BUILD:-build/f}
  export HG_FAKE_DEVICE=strict OMP_WAIT_POLICY=passive
  # sizes for a CPU: the plumbing and the device code paths, in seconds each
  : "${PRESET_T:=3}" "${ENGINES_T:=10}" "${FIG2_ARGS:=--quick --seeds 2 --steps 4}"
  export BATCHES=${BATCHES:-16} HORIZONS=${HORIZONS:-10} COUNTS=${COUNTS:-1} COUNT_T=${COUNT_T:-10} \
         CPU_HORIZONS=${CPU_HORIZONS:-10} CPU_COUNTS=${CPU_COUNTS:-1} SEEDS=${SEEDS:-2} \
         ROUNDING_SEEDS=${ROUNDING_SEEDS:-1} CPU_FIG2_SEEDS=${CPU_FIG2_SEEDS:-0} PT_STEPS=${PT_STEPS:-10} \
         PT_REPEATS=${PT_REPEATS:-1} ENGINE_DATA=${ENGINE_DATA:-synthetic} \
         MODELS_ARGS=${MODELS_ARGS:---model logreg,lenet --repeats 1 --min-time 0.001} FIG2_ARGS
else
  cb=build/cuda-f
  if [ -n "${HG_FAKE_DEVICE:-}" ]; then
    echo "gpu-check: HG_FAKE_DEVICE=$HG_FAKE_DEVICE is set: unset for this run (a GPU check runs the GPU)"
    unset HG_FAKE_DEVICE
  fi
fi
note start "commit $(cat build/gpu-bundle.commit 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown), parts: $parts, budget $budget s$([ $rehearse = 1 ] && echo ', REHEARSAL')"

# ---- device: the programs, their libraries, the device record -------------------
if [ $rehearse = 0 ] && [ -f build/gpu-bundle.tar.gz ]; then
  tar -xzf build/gpu-bundle.tar.gz || stop 2 "unpacking build/gpu-bundle.tar.gz failed"
  echo "unpacked build/gpu-bundle.tar.gz ($(cat build/gpu-bundle.commit 2>/dev/null))"
elif [ $rehearse = 0 ] && [ -f build/gpu-bundle.tar.xz ]; then
  command -v xz > /dev/null || stop 2 "build/gpu-bundle.tar.xz needs xz, which this machine lacks (make gpu-bundle now writes .tar.gz)"
  tar -xJf build/gpu-bundle.tar.xz || stop 2 "unpacking build/gpu-bundle.tar.xz failed"
fi
orig_ld=${LD_LIBRARY_PATH:-}
hg_ld=$orig_ld
cudnn_lib=${HG_CUDNN_LIB:-}
py_clean=$work/python
if [ $rehearse = 0 ]; then
  [ -d build/gpu-lib ] && hg_ld="$PWD/build/gpu-lib${hg_ld:+:$hg_ld}"
  nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  [ -d "$(dirname "$nvcc_bin")/../lib64" ] && hg_ld="${hg_ld:+$hg_ld:}$(cd "$(dirname "$nvcc_bin")/../lib64" && pwd)"
  # PyTorch's wheels: cuBLAS and cudart on the programs' path, cuDNN by HG_CUDNN_LIB
  while read -r kind d; do
    case $kind in
      cudnn) [ -z "$cudnn_lib" ] && cudnn_lib=$d ;;
      *) hg_ld="${hg_ld:+$hg_ld:}$d" ;;
    esac
  done < <(timeout 30 python3 - <<'PY' 2>/dev/null
import importlib, os
for kind, m in (("cudnn", "nvidia.cudnn"), ("lib", "nvidia.cublas"), ("lib", "nvidia.cuda_runtime"), ("lib", "nvidia.cu13")):
    try:
        mod = importlib.import_module(m)
    except Exception:
        continue
    for p in getattr(mod, "__path__", []):
        for sub in ("lib", "lib64"):
            q = os.path.join(p, sub)
            if os.path.isdir(q):
                print(kind, q)
PY
  )
fi
# the programs' environment; Python gets the one it came with
hgenv=(env "LD_LIBRARY_PATH=$hg_ld" "HG_CUDNN_LIB=$cudnn_lib" "OMP_NUM_THREADS=$threads")
printf '#!/bin/sh\nLD_LIBRARY_PATH="%s" exec "${GPU_CHECK_PYTHON:-python3}" "$@"\n' "$orig_ld" > "$py_clean"
chmod +x "$py_clean"
echo "programs: ${cb}32, ${cb}64; their LD_LIBRARY_PATH=$hg_ld; HG_CUDNN_LIB=${cudnn_lib:-unset}"

if has_part device; then
  if [ $rehearse = 0 ]; then
    step "nvidia-smi" 20 nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv ||
      echo "nvidia-smi: not found or failed (the device record below says what CUDA sees)"
  fi
  for b in "${cb}64/tests/test_gpu" "${cb}64/tests/test_backend_ops" "${cb}32/tests/test_gpu" \
           "${cb}32/hgbench" "${cb}64/hgbench" "${cb}32/hgbench-fig2" "${cb}32/hgbench-engines"; do
    [ -x "$b" ] || stop 2 "$b: not built (make gpu-bundle where nvcc is, and carry build/gpu-bundle.tar.gz; REHEARSE=1: make)"
  done
  if "${hgenv[@]}" ldd "${cb}64/tests/test_gpu" | tee "$work/ldd.txt" | grep -q 'not found'; then
    grep 'not found' "$work/ldd.txt"
    stop 3 "a library of ${cb}64/tests/test_gpu does not load (above)"
  fi
  grep -E 'cublas|cudart|openblas' "$work/ldd.txt"
  if [ $rehearse = 1 ]; then
    echo "# gpu: none: the strict fake device (rehearsal)" > "$work/gpu-info.txt"
    note WARNING "cuDNN: none on the fake device (rehearsal: on a GPU this line names why cuDNN did not load or was switched off)"
    warnings=$((warnings + 1))
  else
    step "device record (hgbench-gpu-info)" 40 "${hgenv[@]}" "${cb}32/hgbench-gpu-info" --repeats 3 \
      > "$work/gpu-info.txt" 2> "$work/gpu-info.err"
    rc=$?; cat "$work/gpu-info.txt"
    [ $rc -eq 0 ] || stop 2 "the device was refused: $(tail -n 1 "$work/gpu-info.err")"
    gpu_line=$(sed -n 's/^# gpu: //p' "$work/gpu-info.txt" | head -n 1)
    case $gpu_line in
      *"no cuDNN"*) note WARNING "cuDNN not used: ${gpu_line#*no cuDNN }; every conv runs as im2col + cuBLAS, and nothing else fails because of it"
                    warnings=$((warnings + 1)) ;;
      *) echo "cuDNN: ${gpu_line##*, }" ;;
    esac
  fi
fi

# ---- tests ------------------------------------------------------------------------
if has_part tests; then
  for p in 64 32; do
    step "test_backend_ops (float$p)" 45 "${hgenv[@]}" "${cb}$p/tests/test_backend_ops" \
      > "$work/test_backend_ops-f$p.txt" 2>&1 || tests_failed=1
    grep -E '^(not ok|ok|skip) |SKIP|FAIL|cuda: ' "$work/test_backend_ops-f$p.txt" | head -n 20
    step "test_gpu (float$p)" 90 "${hgenv[@]}" HG_REQUIRE_GPU=1 "${cb}$p/tests/test_gpu" \
      > "$work/test_gpu-f$p.txt" 2>&1 || tests_failed=1
    grep -E '^(not ok|ok|skip) |^#|FAIL' "$work/test_gpu-f$p.txt" | head -n 30
  done
fi

# ---- presets ----------------------------------------------------------------------
fashion=""
for d in "${DATA_DIR:-}" /usr/share/datasets/fashion-mnist data/fashion-mnist; do
  [ -n "$d" ] && { [ -f "$d/train-images-idx3-ubyte" ] || [ -f "$d/train-images-idx3-ubyte.gz" ]; } &&
    { fashion=$d; break; }
done
if has_part presets; then
  mkdir -p "$work/presets"
  pt=${PRESET_T:-20} et=${ENGINES_T:-200}
  pre=(--model lenet --data synthetic --steps "$pt" --batch 128 --val 1000 --learn lr:1)
  for e in bptt forward reversible greedy; do
    j=$work/presets/hypergrad-f32-$e.json
    step "hypergrad $e on the GPU (float32, LeNet, T = $pt)" 30 "${hgenv[@]}" "${cb}32/hgbench" hypergrad \
      --device cuda --engine "$e" "${pre[@]}" --json "$j" > "$work/presets/hypergrad-f32-$e.txt" 2>&1 &&
      grep -o '"time_s": *[0-9.e+-]*\|"device": *"[^"]*"' "$j" | tr '\n' ' ' && echo
  done
  step "hypergrad bptt on the GPU (float64)" 30 "${hgenv[@]}" "${cb}64/hgbench" hypergrad --device cuda \
    --engine bptt "${pre[@]}" --json "$work/presets/hypergrad-f64-bptt.json" > "$work/presets/hypergrad-f64-bptt.txt" 2>&1
  if [ -z "$fashion" ]; then
    note SKIPPED "Figure 2: Fashion-MNIST not found (DATA_DIR=${DATA_DIR:-unset}, /usr/share/datasets/fashion-mnist, data/fashion-mnist)"
    skipped=$((skipped + 1))
  else
    # shellcheck disable=SC2086 # FIG2_ARGS: words
    step "Figure 2 on the GPU (${FIG2_ARGS:---quick --seeds 2}, float32)" 60 "${hgenv[@]}" "${cb}32/hgbench-fig2" \
      --device cuda ${FIG2_ARGS:---quick --seeds 2} --threads "$threads" --data-dir "$fashion" --out "$work/presets/fig2-f32.txt" \
      --json "$work/presets/fig2-f32.json" > /dev/null 2> "$work/presets/fig2-f32.err" &&
      grep -E '^# (succeeded|time|measured minimum):' "$work/presets/fig2-f32.txt"
  fi
  step "engines at T = $et on the GPU (LeNet, synthetic 3x32x32, float32, K = 10)" 45 "${hgenv[@]}" "${cb}32/hgbench-engines" \
    --device cuda --data synthetic:3x32x32 --steps "$et" --engines bptt,reversible,forward,checkpoint,greedy \
    --plain-repeats 2 --threads "$threads" --out "$work/presets/engines.txt" \
    --json "$work/presets/engines.json" 2> "$work/presets/engines.err" &&
    grep -v '^#' "$work/presets/engines.txt"
  if [ $rehearse = 1 ]; then
    note SKIPPED "PyTorch on the GPU: rehearsal (bench-gpu.sh's pytorch part runs it on the CPU)"; skipped=$((skipped + 1))
  elif [ "$(GPU_CHECK_PYTHON=${PYTHON:-python3} timeout 60 "$py_clean" -c 'import torch; print(int(torch.cuda.is_available()))' 2>/dev/null)" != 1 ]; then
    note SKIPPED "PyTorch on the GPU: no Python here whose torch has CUDA (PYTHON=${PYTHON:-python3})"; skipped=$((skipped + 1))
  elif step "hgbench --export for PyTorch (bptt, float32, T = 10)" 30 "${hgenv[@]}" "${cb}32/hgbench" hypergrad \
         --device cuda --engine bptt --model lenet --data synthetic:1x28x28 --steps 10 --batch 128 --val 1000 \
         --learn lr:10 --seed 1 --export "$work/presets/export" --json "$work/presets/pytorch-hgbench-f32.json" \
         > /dev/null 2> "$work/presets/pytorch-hgbench.err"; then
    GPU_CHECK_PYTHON=${PYTHON:-python3} step "PyTorch on the GPU (the exported problem)" 60 "$py_clean" \
      scripts/pytorch_baseline.py "$work/presets/export" --device cuda --threads "$threads" --repeats 1 \
      --json "$work/presets/pytorch-cuda-f32.json"
    rm -rf "$work/presets/export"
  fi
fi

# ---- bench: only after every test passed ---------------------------------------
if has_part bench; then
  if ! has_part tests; then
    note SKIPPED "bench-gpu.sh: the tests were not run (CHECK_PARTS), and the bench runs only after they pass"
    skipped=$((skipped + 1))
  elif [ $tests_failed = 1 ]; then
    note SKIPPED "bench-gpu.sh: a test failed or did not run above, so its numbers would not be trusted"
    skipped=$((skipped + 1))
  else
    l=$(( $(left) - 10 ))
    mkdir -p "$work/bench"
    [ -n "$fashion" ] && export DATA_DIR=$fashion
    bench_env=(QUICK=1 "BUDGET_S=$l" "HORIZONS=${HORIZONS:-100,1000}" "COUNTS=${COUNTS:-1,10}"
               "CPU_HORIZONS=${CPU_HORIZONS:-100}" "CPU_COUNTS=${CPU_COUNTS:-1}" "SEEDS=${SEEDS:-6}"
               "THREADS=$threads" "PYTHON=$py_clean" "GPU_CHECK_PYTHON=${PYTHON:-python3}")
    if [ $rehearse = 1 ]; then
      bench_env+=(REHEARSE=1 "REHEARSE_DIR=$work/bench" "GPU_BUILD_PREFIX=$cb")
    fi
    # its results straight into the scratch folder (packed at the end)
    bench_env+=("RESULTS_DIR=$work/bench" "PLOTS_DIR=$work/bench/plots")
    step "bench-gpu.sh (QUICK=1, BUDGET_S=$l)" $((l + 5)) "${hgenv[@]}" "${bench_env[@]}" bash scripts/bench-gpu.sh
    render_gpu
    [ -f "$work/bench/gpu.md" ] && grep -E '^\*\*|^### ' "$work/bench/gpu.md"
  fi
fi
[ "$fails" -eq 0 ]
