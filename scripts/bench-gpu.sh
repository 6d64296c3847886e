#!/usr/bin/env bash
# bench-gpu.sh — the gpu section of `make bench`: profiling a GPU (issue 9).
# Skipped, with the CUDA error that refused the device, where there is no
# CUDA build or no usable GPU (exit 0: gpu.json says why). On a GPU, in
# parts (GPU_PARTS), each writing its raw files under $RESULTS_DIR (default
# bench/results), recorded in $RESULTS_DIR/gpu.json (build/hgbench-manifest:
# the envelope, the device record, each part's outcome), from which
# hgbench-report renders the section (bench/report_gpu*.c: tables, plots,
# headlines; this script writes no Markdown):
#   - the device record and measured ceilings (hgbench-gpu-info: name,
#     compute capability, SMs, memory, clocks, driver, runtime, cuBLAS and
#     cuDNN versions; float32 and float64 GEMM TFLOP/s, copy GB/s), always;
#   models   the model ops on the device (hgbench-models --device cuda,
#            float32 and float64, BATCHES): loss+grad, HVP, block HVP, each
#            GEMM rate against that precision's ceiling;
#   conv     LeNet's convolutions op by op on cuDNN and on im2col + cuBLAS
#            (hgbench-gpu-conv, float32 and float64, BATCHES), and the path
#            auto picked for each shape;
#   engines  every engine vs T and forward vs the reverse engines vs N on the
#            device (hgbench-engines --device cuda), LeNet on synthetic
#            3x32x32 data and on Fashion-MNIST: time, engine state by kind,
#            the device's peak use; device-memory refusals are skipped rows
#            that say so. The CPU (--device cpu, CPU_THREADS) at the smaller
#            sizes of the same list, in the same run, for the ratio;
#   fig2     Figure 2 (hgbench-fig2 --device cuda) with the paper's 100
#            seeds, float32 (trajectories of the first ROUNDING_SEEDS seeds
#            kept) and float64 (comparing the float32 run, and those
#            trajectories' reverse pass redone in float64 on the GPU), as
#            scripts/fig2.sh does on the CPU, plus CPU_FIG2_SEEDS seeds of the
#            CPU in float64 against the GPU's (gpu-fig2.json and
#            gpu-fig2-f32.json: hgbench-report draws its tables and plots);
#   pytorch  the bench-pytorch problem exported by hgbench on the GPU and
#            recomputed by PyTorch on the same GPU (pytorch_baseline.py
#            --device cuda), PyTorch's time over hgbench's; where PyTorch has
#            no CUDA the part says so;
#   phases   per-phase times from CUDA events (the models part's per-layer
#            profiles and the engines part's per-run phases, tabled by
#            hgbench-report from their JSON).
# Only the CUDA builds are needed (build/cuda-f32, build/cuda-f64; the CPU
# runs are theirs with --device cpu). Every number is measured in this run;
# a part that fails says so and the others still run. Exit 1 if a run on a
# working device failed.
#
# Environment: QUICK=1 (small sizes, minutes), THREADS (host threads of the
# GPU runs, 2), CPU_THREADS (the CPU runs', all CPUs), COMMIT, DATA_DIR
# (Fashion-MNIST folder), GPU_PARTS ("models conv engines fig2 pytorch phases"; a
# part left out is not in gpu.json, so the section leaves it out), BUDGET_S
# (seconds: a part starting later is not run, a program still running then
# is stopped; both said in the section), BATCHES ("128 1024"; QUICK "128"),
# HORIZONS, COUNTS, COUNT_T, CPU_HORIZONS, CPU_COUNTS, ENGINE_DATA
# ("synthetic fashion-mnist"), ENGINE_PRECISIONS ("32"), SEEDS (100; QUICK
# 10 at --quick's T = 50), ROUNDING_SEEDS (5; QUICK 2), CPU_FIG2_SEEDS (2; 0:
# none), PT_STEPS (100; QUICK 10), PT_REPEATS (3; QUICK 1), PYTHON (a Python
# with torch; default the first of python3, /usr/bin/python3 that has it),
# MODELS_ARGS and FIG2_ARGS (extra flags of hgbench-models and, with
# QUICK=1, hgbench-fig2: gpu-check.sh's rehearsal cuts them to seconds).
# REHEARSE=1 runs every part on the strict fake device instead of the GPU
# (HG_FAKE_DEVICE=strict: `--device cuda` is the CPU's kernels with device
# memory closed to the host outside backend ops), into REHEARSE_DIR (default
# a new temporary folder; never bench/results), its gpu.json marked as a
# rehearsal (the section says so first): to try this script's plumbing, and the programs' device code
# paths, where there is no GPU, with no number in it from one. Its programs
# are GPU_BUILD_PREFIX{32,64}/ (build/cuda-f, else build/f: the CPU builds).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

quick=${QUICK:-0}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
export HGBENCH_COMMIT=$commit # the envelope's commit for programs without --commit
threads=${THREADS:-2}
cpu_threads=${CPU_THREADS:-$(nproc)}
parts=${GPU_PARTS:-models conv engines fig2 pytorch phases}
r=${RESULTS_DIR:-bench/results} plots_dir=${PLOTS_DIR:-plots} gdev=cuda rehearse=""
cb=${GPU_BUILD_PREFIX:-build/cuda-f}
if [ "${REHEARSE:-0}" = 1 ]; then
  r=${REHEARSE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/hgbench-gpu-rehearsal.XXXXXX")} plots_dir=$r/plots
  [ -n "${GPU_BUILD_PREFIX:-}" ] || [ -x build/cuda-f32/hgbench ] || cb=build/f
  export HG_FAKE_DEVICE=strict OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
  rehearse=1
  echo "bench-gpu: rehearsal on the CPU into $r" >&2
fi
info=$r/gpu-info.txt
mkdir -p "$r" "$plots_dir"
status=0
start=$(date +%s)
scratch=""
current=""
all_parts="models conv engines fig2 pytorch phases"
for p in $parts; do
  case " $all_parts " in *" $p "*) ;; *) echo "bench-gpu: GPU_PARTS: unknown part '$p' (known: $all_parts)" >&2; exit 2 ;; esac
done

# gpu.json: the section's record (hgbench-manifest: the envelope, the
# settings, the device record, each part's outcome); hgbench-report renders
# the section from it (bench/report_gpu.c). Members added by the parts.
manifest=${GPU_MANIFEST:-build/hgbench-manifest}
[ -x "$manifest" ] || { echo "bench-gpu: $manifest not found: run make first" >&2; exit 2; }
members=()
repro=()
[ "$quick" = 1 ] && repro+=(QUICK=1)
[ -n "${GPU_PARTS:-}" ] && repro+=("GPU_PARTS=$parts")
[ -n "${BUDGET_S:-}" ] && repro+=("BUDGET_S=$BUDGET_S")
[ -n "$rehearse" ] && repro+=(REHEARSE=1)
repro+=(bash scripts/bench-gpu.sh)
write_json() {  # extra members...
  "$manifest" --out "$r/gpu.json" --program scripts/bench-gpu.sh --commit "$commit" \
    --threads "$threads" --precision "float32,float64" \
    --int "quick=$([ "$quick" = 1 ] && echo 1 || echo 0)" --int "rehearsal=$([ -n "$rehearse" ] && echo 1 || echo 0)" \
    --str "parts=$parts" --int "cpu_threads=$cpu_threads" "${members[@]}" "$@" -- "${repro[@]}" ||
    { echo "bench-gpu: $r/gpu.json not written" >&2; status=1; }
}
skip() {  # why
  write_json --str "skipped=$1"
  echo "bench-gpu: skipped: $1" >&2
  exit 0
}
if [ -n "$rehearse" ]; then
  printf '# gpu: none (rehearsal on the CPU)\n' > "$info"
else
[ -x build/cuda-f32/hgbench-gpu-info ] ||
  skip "no CUDA build here (\`make print-config\`: $(make -s --no-print-directory print-config 2>/dev/null | sed -n 's/^hgbench: nvcc //p'))."
if ! build/cuda-f32/hgbench-gpu-info > "$info.tmp.$$" 2> "$info.err.tmp.$$"; then
  why=$(tail -n 1 "$info.err.tmp.$$"); rm -f "$info.tmp.$$" "$info.err.tmp.$$"
  skip "${why#hgbench-gpu-info: }"
fi
rm -f "$info.err.tmp.$$"; mv "$info.tmp.$$" "$info"
fi
val() { sed -n "s/^# $1: //p" "$2" | head -n 1; }

if [ "$quick" = 1 ]; then
  batches=${BATCHES:-128}
  horizons=${HORIZONS:-10,100,1000} counts=${COUNTS:-1,10,100} count_t=${COUNT_T:-100}
  cpu_horizons=${CPU_HORIZONS:-10,100} cpu_counts=${CPU_COUNTS:-1,10}
  plain_repeats=3
else
  batches=${BATCHES:-128 1024}
  horizons=${HORIZONS:-10,100,1000,10000} counts=${COUNTS:-1,10,100,1000} count_t=${COUNT_T:-1000}
  cpu_horizons=${CPU_HORIZONS:-10,100,1000} cpu_counts=${CPU_COUNTS:-1,10,100}
  plain_repeats=9
fi
engine_data=${ENGINE_DATA:-synthetic fashion-mnist}
engine_precs=${ENGINE_PRECISIONS:-32}

# Fashion-MNIST: DATA_DIR, else the loader's default folder, else
# data/fashion-mnist in this checkout (where a lent machine may carry it)
fashion_dir=""
for d in "${DATA_DIR:-}" /usr/share/datasets/fashion-mnist data/fashion-mnist; do
  [ -n "$d" ] && { [ -f "$d/train-images-idx3-ubyte" ] || [ -f "$d/train-images-idx3-ubyte.gz" ]; } &&
    { fashion_dir=$d; break; }
done
fashion_args=()
[ -n "$fashion_dir" ] && fashion_args=(--data-dir "$fashion_dir")
no_fashion="Fashion-MNIST not found (DATA_DIR=${DATA_DIR:-unset}, /usr/share/datasets/fashion-mnist, data/fashion-mnist)"

# ---- budget and helpers ---------------------------------------------------------
left() { echo $(( ${BUDGET_S:-0} - ($(date +%s) - start) )); }
spent() { [ -n "${BUDGET_S:-}" ] && [ "$(left)" -le 0 ]; }
# A program under the budget: exit 124 when the budget stopped it.
timed() {
  if [ -n "${BUDGET_S:-}" ]; then
    local s; s=$(left); [ "$s" -gt 0 ] || return 124
    timeout --signal=TERM --kill-after=10 "$s" "$@"
  else
    "$@"
  fi
}
# One program: its stderr kept in $2.err (its end shown), exit code in $rc;
# a run cut by the budget is said, not counted as a failure.
cut_note=""
runlog() {  # label errfile cmd...
  local label=$1 err=$2; shift 2
  timed "$@" 2> "$err"; rc=$?
  tail -n 3 "$err" | tr '\r' '\n' | grep -v '^\[' | tail -n 2 >&2
  if [ $rc -eq 124 ]; then
    cut_note="stopped by BUDGET_S=$BUDGET_S"; echo "bench-gpu: $label: stopped by the time budget" >&2
    echo "$budget_mark (BUDGET_S=$BUDGET_S s)" >> "$err"
  elif [ $rc -ne 0 ]; then status=1; echo "bench-gpu: $label: exit $rc" >&2; fi
  return 0
}
budget_mark="stopped by the time budget"
errline() { grep -v '^\[' "$1" 2>/dev/null | tail -n 1 | sed 's/|/\\|/g'; }
# What became of a run that left no results: "**failed**: <its error>", or
# "**stopped** by the time budget"
outcome() {
  local e; e=$(errline "$1")
  case $e in "$budget_mark"*) echo "**stopped** ${e#stopped }" ;; *) echo "**failed**: ${e:-no message}" ;; esac
}

# gpu.json from the device record and what the parts recorded; $1: a note
# (an interruption) put first.
write_record() {
  local m=()
  [ -n "${1:-}" ] && m+=(--str "note=$1")
  [ -n "$current" ] && m+=(--str "current=$current")
  m+=(--str "gpu=$(val gpu "$info")" --str "clocks=$(val clocks "$info")"
      --str "sgemm=$(val sgemm "$info")" --str "dgemm=$(val dgemm "$info")"
      --str "copy=$(val copy "$info")" --int "host_cpus=$(nproc)"
      --str "host_cpu=$(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1)")
  write_json "${m[@]}"
}
cleanup() { rm -f "$r"/*.tmp.$$; [ -n "$scratch" ] && rm -rf "$scratch"; }
on_signal() { cleanup; write_record "**Interrupted** ($1) during part \`${current:-none}\`: the parts after it did not run."; exit "$2"; }
trap 'on_signal SIGINT 130' INT
trap 'on_signal SIGTERM 143' TERM
trap 'cleanup; exit 141' PIPE
trap cleanup EXIT

# ---- models: the model ops on the device ------------------------------------------
part_models() {
  local p b raw
  if [ -z "$fashion_dir" ]; then members+=(--str "models_not_run=$no_fashion"); return; fi
  for p in 32 64; do
    for b in $batches; do
      raw=$r/gpu-models-f$p-b$b
      rm -f "$raw.txt" "$raw.json" "$raw.err"
      # the text (--out) is the phases part's input; the JSON the table's
      runlog "models float$p batch $b" "$raw.err.tmp.$$" \
        ${cb}$p/hgbench-models --device "$gdev" --batch "$b" --threads "$threads" \
        --commit "$commit" "${fashion_args[@]}" ${MODELS_ARGS:-} --out "$raw.txt" --json "$raw.json"
      # a failed run (or row) is one row saying so, as before; its stderr kept
      if [ $rc -ne 0 ] || [ ! -f "$raw.json" ]; then
        cp "$raw.err.tmp.$$" "$raw.err"
        members+=(--str "models_f${p}_b${b}_failed=$(outcome "$raw.err")")
      fi
      rm -f "$raw.err.tmp.$$"
    done
  done
  members+=(--str "models_batches=$batches")
  [ -n "$cut_note" ] && members+=(--str "models_cut=$cut_note")
}

# ---- engines: vs T and vs N on the device, the CPU beside it ------------------------
# One hgbench-engines run: label, device, flags...; raw files
# bench/results/gpu-engines-<label>.{txt,json}; a whole-program failure leaves
# <label>.err with its message.
engines_run() {
  local label=$1 dev=$2 p=$3; shift 3
  local out=$r/gpu-engines-$label
  rm -f "$out.txt" "$out.json" "$out.err"
  local threads_here=$threads
  [ "$dev" = cpu ] && threads_here=$cpu_threads
  runlog "engines $label" "$out.err.tmp.$$" ${cb}"$p"/hgbench-engines --device "$dev" \
    --label "$label" --threads "$threads_here" --commit "$commit" --plain-repeats "$plain_repeats" \
    "$@" --out "$out.txt" --json "$out.json"
  # exit 1 is a failed row (in the table); others leave no table
  if [ ! -f "$out.json" ]; then mv "$out.err.tmp.$$" "$out.err"; else rm -f "$out.err.tmp.$$"; fi
}
part_engines() {
  local data p dflags name
  for data in $engine_data; do
    case $data in
      synthetic) dflags=(--data synthetic:3x32x32) name="synthetic 3x32x32" ;;
      fashion-mnist) dflags=(--data fashion-mnist "${fashion_args[@]}") name="Fashion-MNIST (1x28x28)" ;;
      *) echo "bench-gpu: ENGINE_DATA: '$data' is not synthetic or fashion-mnist" >&2; status=1; continue ;;
    esac
    [ "$data" = fashion-mnist ] && [ -z "$fashion_dir" ] && continue
    for p in $engine_precs; do
      spent && break 2
      engines_run "horizon-$data-f$p-cuda" "$gdev" "$p" "${dflags[@]}" --steps "$horizons" --lr-windows 10
      engines_run "count-$data-f$p-cuda" "$gdev" "$p" "${dflags[@]}" --steps "$count_t" --lr-windows "$counts" \
        --engines forward,bptt,reversible
      engines_run "horizon-$data-f$p-cpu" cpu "$p" "${dflags[@]}" --steps "$cpu_horizons" --lr-windows 10
      engines_run "count-$data-f$p-cpu" cpu "$p" "${dflags[@]}" --steps "$count_t" --lr-windows "$cpu_counts" \
        --engines forward,bptt,reversible
    done
  done
  # the settings the section states, and what became of runs that left no JSON
  members+=(--str "engines_data=$engine_data" --str "engines_precisions=$engine_precs"
            --str "engines_horizons=$horizons" --str "engines_counts=$counts" --int "engines_count_t=$count_t"
            --str "engines_cpu_horizons=$cpu_horizons" --str "engines_cpu_counts=$cpu_counts")
  [ -z "$fashion_dir" ] && members+=(--str "fashion_missing=$no_fashion")
  local f
  for f in "$r"/gpu-engines-*.err; do
    [ -f "$f" ] || continue
    local label=${f##*/gpu-engines-}; label=${label%.err}
    members+=(--str "engines_${label}_failed=$(outcome "$f")")
  done
  [ -n "$cut_note" ] && members+=(--str "engines_cut=$cut_note")
}

# ---- fig2: Figure 2 with the paper's seeds on the GPU -------------------------------
part_fig2() {
  if [ -z "$fashion_dir" ]; then members+=(--str "fig2_not_run=$no_fashion"); return; fi
  local args rs cs
  args=(--device "$gdev" --threads "$threads" --commit "$commit" "${fashion_args[@]}")
  # shellcheck disable=SC2206 # FIG2_ARGS: extra words (gpu-check's rehearsal sizes)
  [ -n "${FIG2_ARGS:-}" ] && extra_fig2=(${FIG2_ARGS}) || extra_fig2=()
  if [ "$quick" = 1 ]; then args+=(--quick --seeds "${SEEDS:-10}" "${extra_fig2[@]}"); rs=${ROUNDING_SEEDS:-2}
  else args+=(--seeds "${SEEDS:-100}"); rs=${ROUNDING_SEEDS:-5}; fi
  cs=${CPU_FIG2_SEEDS:-2}
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/hgbench-gpu-fig2.XXXXXX") || { status=1; return; }
  local cmd32 cmdc cmd64
  cmd32=("${cb}32/hgbench-fig2" "${args[@]}" --json "$r/gpu-fig2-f32.json"
         --seeds-out "$scratch/f32" --record "$rs")
  cmd64=("${cb}64/hgbench-fig2" "${args[@]}" --json "$r/gpu-fig2.json" --compare "float32=$scratch/f32")
  cmdc=()
  if [ "$cs" -ge 2 ]; then
    cmdc=("${cb}64/hgbench-fig2" "${args[@]}" --device cpu --threads "$cpu_threads" --seeds "$cs"
          --greedy off --seeds-out "$scratch/cpu64")
    cmd64+=(--compare "cpu-float64=$scratch/cpu64")
  fi
  rm -f "$r"/gpu-fig2*.txt "$r"/gpu-fig2*.json
  echo "bench-gpu: fig2 1/3 float32 on the GPU" >&2
  runlog "fig2 float32" "$scratch/f32.err" "${cmd32[@]}" > /dev/null
  if [ ${#cmdc[@]} -gt 0 ]; then
    echo "bench-gpu: fig2 2/3 float64 on the CPU, $cs seeds" >&2
    runlog "fig2 cpu float64" "$scratch/cpu.err" "${cmdc[@]}" > /dev/null
  fi
  echo "bench-gpu: fig2 3/3 float64 on the GPU, comparing both" >&2
  runlog "fig2 float64" "$scratch/f64.err" "${cmd64[@]}" > /dev/null
  # what became of runs that left no results (hgbench-report says it)
  [ -f "$r/gpu-fig2.json" ] || members+=(--str "fig2_f64_failed=$(outcome "$scratch/f64.err")")
  [ -f "$r/gpu-fig2-f32.json" ] || members+=(--str "fig2_f32_failed=$(outcome "$scratch/f32.err")")
  [ -n "$cut_note" ] && members+=(--str "fig2_cut=$cut_note")
  rm -rf "$scratch"; scratch=""
}

# ---- pytorch: the same problem on the same GPU ----------------------------------------
part_pytorch() {
  local py="" c tried=""
  for c in ${PYTHON:-} python3 /usr/bin/python3; do
    tried+=" $c"
    command -v "$c" > /dev/null && "$c" -c 'import torch' 2> /dev/null && { py=$c; break; }
  done
  if [ -z "$py" ]; then
    members+=(--str "pytorch_not_measured=no Python here imports torch (tried:$tried; PYTHON sets one)")
    return
  fi
  local tinfo cuda_ok
  tinfo=$("$py" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null)
  cuda_ok=$("$py" -c 'import torch; print(int(torch.cuda.is_available()))' 2>/dev/null)
  local ptdev=$gdev
  [ -n "$rehearse" ] && cuda_ok=1 ptdev=cpu # pytorch_baseline.py runs on the CPU then
  if [ "$cuda_ok" != 1 ]; then
    members+=(--str "pytorch_not_measured=PyTorch $tinfo ($py) has no usable CUDA device here (\`torch.cuda.is_available()\` is False): no PyTorch GPU run to compare with")
    return
  fi
  local steps repeats data dnote="" prec e rep dir out extra f
  steps=${PT_STEPS:-100} repeats=${PT_REPEATS:-3}
  [ "$quick" = 1 ] && steps=${PT_STEPS:-10} repeats=${PT_REPEATS:-1}
  if ! [ "$steps" -ge 10 ] 2>/dev/null || ! [ "$repeats" -ge 1 ] 2>/dev/null; then
    echo "bench-gpu: PT_STEPS=$steps PT_REPEATS=$repeats: expected T >= 10 (lr is learned in 10 windows) and at least 1 repeat" >&2
    members+=(--str "pytorch_failed=PT_STEPS=$steps PT_REPEATS=$repeats: expected T >= 10 (lr is learned in 10 windows) and at least 1 repeat")
    status=1; return
  fi
  data=(--data fashion-mnist "${fashion_args[@]}")
  if [ -z "$fashion_dir" ]; then data=(--data synthetic:1x28x28); dnote=" ($no_fashion: synthetic 1x28x28 data instead)"; fi
  local problem=(--model lenet "${data[@]}" --steps "$steps" --batch 128 --val 1000 --learn lr:10
                 --lr 0.05 --mom 0.9 --wd 5e-4 --seed 1 --threads "$threads")
  for prec in 64 32; do
    dir=$r/gpu-pytorch-export-f$prec
    rm -rf "$dir" "$r/gpu-pytorch-f$prec.json" "$r"/gpu-pytorch-hgbench-*-f$prec*.json
    for e in bptt forward; do
      for rep in $(seq 1 "$repeats"); do
        out=$r/gpu-pytorch-hgbench-$e-f$prec.json extra=()
        [ "$rep" -gt 1 ] && out=$r/gpu-pytorch-hgbench-$e-f$prec.r$rep.json
        [ "$e" = bptt ] && [ "$rep" = 1 ] && extra=(--export "$dir")
        runlog "hgbench $e float$prec" "$r/gpu-pytorch-hgbench-$e-f$prec.err.tmp.$$" \
          ${cb}$prec/hgbench hypergrad --device "$gdev" --engine "$e" --precision "$prec" \
          "${problem[@]}" "${extra[@]}" --json "$out" > /dev/null
        [ $rc -eq 0 ] || cp "$r/gpu-pytorch-hgbench-$e-f$prec.err.tmp.$$" "$r/gpu-pytorch-hgbench-$e-f$prec.err"
        rm -f "$r/gpu-pytorch-hgbench-$e-f$prec.err.tmp.$$"
      done
    done
    if [ -f "$dir/problem.json" ]; then
      runlog "pytorch float$prec" "$r/gpu-pytorch-f$prec.err.tmp.$$" "$py" scripts/pytorch_baseline.py \
        "$dir" --device "$ptdev" --threads "$threads" --repeats "$repeats" --json "$r/gpu-pytorch-f$prec.json"
      [ $rc -eq 0 ] || cp "$r/gpu-pytorch-f$prec.err.tmp.$$" "$r/gpu-pytorch-f$prec.err"
      rm -f "$r/gpu-pytorch-f$prec.err.tmp.$$"
    fi
  done
  # what became of runs that left no JSON, and the settings the section states
  for prec in 64 32; do
    for e in bptt forward; do
      f=$r/gpu-pytorch-hgbench-$e-f$prec
      [ -f "$f.json" ] || members+=(--str "pytorch_${e}_f${prec}_failed=$(outcome "$f.err")")
    done
    [ -f "$r/gpu-pytorch-f$prec.json" ] || members+=(--str "pytorch_f${prec}_failed=$(outcome "$r/gpu-pytorch-f$prec.err")")
  done
  members+=(--int "pytorch_steps=$steps" --int "pytorch_repeats=$repeats" --str "pytorch_torch=$tinfo"
            --str "pytorch_python=$py" --str "pytorch_problem=${problem[*]}")
  [ -n "$dnote" ] && members+=(--str "pytorch_data_note=${dnote# }")
  [ -n "$cut_note" ] && members+=(--str "pytorch_cut=$cut_note")
  # the exports hold the training examples (tens of MiB): not results to keep
  rm -rf "$r/gpu-pytorch-export-f32" "$r/gpu-pytorch-export-f64" "$r"/gpu-pytorch-*.err
}

# ---- conv: cuDNN against im2col + cuBLAS, op by op, and auto's picks -------------
part_conv() {
  local p raw
  for p in 32 64; do
    raw=$r/gpu-conv-f$p
    rm -f "$raw.txt" "$raw.json" "$raw.err"
    runlog "conv float$p" "$raw.err.tmp.$$" ${cb}$p/hgbench-gpu-conv --device "$gdev" \
      --batch "$(echo "$batches" | tr ' ' ,)" --repeats "$([ "$quick" = 1 ] && echo 3 || echo 9)" \
      --json "$raw.json" > "$raw.txt.tmp.$$"
    if [ $rc -eq 0 ]; then mv "$raw.txt.tmp.$$" "$raw.txt"
    else
      cp "$raw.err.tmp.$$" "$raw.err"; rm -f "$raw.txt.tmp.$$" "$raw.json"
      members+=(--str "conv_f${p}_failed=$(outcome "$raw.err")")
    fi
    rm -f "$raw.err.tmp.$$"
  done
  members+=(--int "conv_ran=1")
  [ -n "$cut_note" ] && members+=(--str "conv_cut=$cut_note")
}

# ---- phases: where the time goes, by CUDA events ------------------------------------
# Nothing to run: hgbench-report tables the models part's per-layer profiles
# and the engines part's per-run phases from their JSON (both timed by CUDA
# events on the device; each row names its clock).
part_phases() {
  members+=(--int "phases_ran=1")
}

for p in $all_parts; do
  case " $parts " in *" $p "*) ;; *) continue ;; esac
  current=$p cut_note=""
  if spent; then
    members+=(--str "${p}_not_started=the time budget (BUDGET_S=$BUDGET_S s) was spent before this part started")
    continue
  fi
  echo "bench-gpu: === $p ===" >&2
  "part_$p"
  write_record
done
current=""
write_record
exit $status
