#!/usr/bin/env bash
# gpu-check.sh — the one prepared check for a lent GPU (issue 9), within
# ~8 minutes of device time. Build here first (`make gpu-bundle`: one file,
# build/gpu-bundle.tar.xz, that this script unpacks; or carry build/cuda-f32
# and build/cuda-f64 from `make`, if the device host has this machine's
# libraries and CPU), and run from the repository root:
#   bash scripts/gpu-check.sh [OUT_DIR]      (default: $OUT, else bench/results/gpu-check)
# It prints the device (nvidia-smi) and where cuDNN, cuBLAS and cudart load
# from (the image may hold cuDNN only inside PyTorch's Python packages: their
# lib folders go on LD_LIBRARY_PATH), then runs test_backend_ops and
# test_gpu (make test-gpu's binaries) in float64 and float32, then short
# presets: each engine on LeNet (synthetic 1x28x28 data) on the GPU and on
# the CPU, with the wall times hgbench measures; Figure 2 on the GPU (--quick,
# 3 seeds, float32 then float64 comparing it and replaying one float32
# trajectory on the GPU); the engines at T = 2000 on synthetic 3x32x32 data;
# PyTorch on the GPU on an exported problem where its CUDA works. Last,
# scripts/bench-gpu.sh with QUICK=1 in the time left (BUDGET_S), so that
# bench/results/gpu.md is this device's; its gpu*.{md,txt,json} and
# plots/gpu* are copied to OUT_DIR. Every number it writes was measured in
# that run; a step that fails says so and the rest still runs; each runs
# under `timeout`.
#
# Environment: CHECK_BUDGET_S (480: the whole check's seconds; bench-gpu.sh
# gets what is left, less a margin), DATA_DIR (Fashion-MNIST; else the
# loader's default folder, else data/fashion-mnist here), PYTHON (one with
# torch).
set -u
out=${1:-${OUT:-bench/results/gpu-check}}
mkdir -p "$out"
log="$out/gpu-check.log"
exec > >(tee "$log") 2>&1
step() { echo; echo "## $*  [$(( $(date +%s) - t0 )) s]"; }
t0=$(date +%s)
budget=${CHECK_BUDGET_S:-480}
fails=0
skipped=0

step "device"
timeout 30 nvidia-smi || echo "nvidia-smi: not found or failed"
timeout 30 nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version \
  --format=csv 2>/dev/null || true

step "libraries"
# `make gpu-bundle` here: the programs built for any x86-64-v3 host, the
# libraries the device image lacks (build/gpu-lib) and Fashion-MNIST
if [ -f build/gpu-bundle.tar.xz ]; then
  tar -xJf build/gpu-bundle.tar.xz && echo "unpacked build/gpu-bundle.tar.xz (commit $(cat build/gpu-bundle.commit))"
fi
[ -d build/gpu-lib ] && LD_LIBRARY_PATH="$PWD/build/gpu-lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
[ -d "$(dirname "$nvcc_bin")/../lib64" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$(cd "$(dirname "$nvcc_bin")/../lib64" && pwd)"
for d in $(python3 - <<'PY' 2>/dev/null
import importlib, os
for m in ("nvidia.cudnn", "nvidia.cublas", "nvidia.cuda_runtime", "nvidia.cu13"):
    try:
        mod = importlib.import_module(m)
    except Exception:
        continue
    for p in getattr(mod, "__path__", []):
        for sub in ("lib", "lib64"):
            q = os.path.join(p, sub)
            if os.path.isdir(q):
                print(q)
PY
); do
  LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
for b in build/cuda-f64/tests/test_gpu build/cuda-f32/hgbench-fig2; do
  [ -x "$b" ] || { echo "$b: not built (make gpu-bundle where nvcc is; carry build/gpu-bundle.tar.xz)"; exit 2; }
done
ldd build/cuda-f64/tests/test_gpu | grep -E 'cublas|cudart|openblas|not found' || true
if ldd build/cuda-f64/tests/test_gpu | grep -q 'not found'; then
  echo "gpu-check: a library does not load (above): stopping"; exit 3
fi
# cuDNN is not linked: the probe dlopens libcudnn.so.9 (the description in
# the device record below says whether it loaded, or why not)

step "device record and ceilings (hgbench-gpu-info: GEMM TFLOP/s, copy GB/s)"
timeout 60 build/cuda-f32/hgbench-gpu-info --repeats 5 || { echo "FAILED: hgbench-gpu-info"; fails=$((fails + 1)); }

for c in cuda-f64 cuda-f32; do
  step "test_backend_ops ($c)"
  OMP_NUM_THREADS=4 timeout 120 "build/$c/tests/test_backend_ops" || { echo "FAILED: $c test_backend_ops"; fails=$((fails + 1)); }
  step "test_gpu ($c)"
  HG_REQUIRE_GPU=1 OMP_NUM_THREADS=4 timeout 180 "build/$c/tests/test_gpu" || { echo "FAILED: $c test_gpu"; fails=$((fails + 1)); }
done

step "preset: lenet, synthetic 1x28x28, T=50, batch 128, float32 and float64, GPU vs CPU"
for c in cuda-f32 cuda-f64; do
  for e in bptt forward reversible greedy; do
    for dev in cuda cpu; do
      j="$out/preset-$c-$e-$dev.json"
      OMP_NUM_THREADS=8 timeout 60 "build/$c/hgbench" hypergrad --device "$dev" --engine "$e" \
        --model lenet --data synthetic --steps 50 --batch 128 --val 1000 --learn lr:1 \
        --json "$j" >/dev/null 2>"$out/preset-$c-$e-$dev.err" \
        && grep -o '"time_s": *[0-9.e+-]*\|"device_peak": *[0-9]*' "$j" | tr '\n' ' ' \
        | sed "s/^/$c $e $dev: /" && echo \
        || { echo "$c $e $dev: FAILED: $(tail -n 2 "$out/preset-$c-$e-$dev.err")"; fails=$((fails + 1)); }
    done
  done
done

# Fashion-MNIST for Figure 2 and the bench's Fashion-MNIST parts
fashion=""
for d in "${DATA_DIR:-}" /usr/share/datasets/fashion-mnist data/fashion-mnist; do
  [ -n "$d" ] && { [ -f "$d/train-images-idx3-ubyte" ] || [ -f "$d/train-images-idx3-ubyte.gz" ]; } &&
    { fashion=$d; break; }
done
scratch=$(mktemp -d "${TMPDIR:-/tmp}/hgbench-gpu-check.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
show() { grep -E "$1" "$2" | sed 's/^# */  /'; }

step "preset: Figure 2 on the GPU (--quick: T = 50, 3 seeds; float32, then float64 comparing it and replaying one float32 trajectory in float64)"
if [ -z "$fashion" ]; then
  echo "SKIPPED: Fashion-MNIST not found (DATA_DIR=${DATA_DIR:-unset}, /usr/share/datasets/fashion-mnist, data/fashion-mnist)"
  skipped=$((skipped + 1))
else
  f2=(--device cuda --quick --seeds 3 --threads 4 --data-dir "$fashion")
  if OMP_NUM_THREADS=4 timeout 150 build/cuda-f32/hgbench-fig2 "${f2[@]}" --out "$out/fig2-f32.txt" \
       --json "$out/fig2-f32.json" --seeds-out "$scratch/f32" --record 1 > /dev/null 2> "$out/fig2-f32.err"; then
    show '^# (date|succeeded|time|measured minimum):' "$out/fig2-f32.txt"
  else
    echo "FAILED: fig2 float32: $(grep -v '^\[' "$out/fig2-f32.err" | tail -n 2)"; fails=$((fails + 1))
  fi
  if [ ! -f "$scratch/f32/per_step.npy" ]; then
    echo "FAILED: fig2 float64: not run (it compares the float32 run's values, which are missing)"
    fails=$((fails + 1))
  elif OMP_NUM_THREADS=4 timeout 150 build/cuda-f64/hgbench-fig2 "${f2[@]}" --out "$out/fig2-f64.txt" \
       --json "$out/fig2-f64.json" --compare "float32=$scratch/f32" > /dev/null 2> "$out/fig2-f64.err"; then
    show '^# (date|succeeded|time|measured minimum|rounding)' "$out/fig2-f64.txt"
  else
    echo "FAILED: fig2 float64: $(grep -v '^\[' "$out/fig2-f64.err" 2>/dev/null | tail -n 2)"; fails=$((fails + 1))
  fi
fi

step "preset: engines at T = 2000 on the GPU (LeNet, synthetic 3x32x32, float32, lr in K = 10 windows)"
if OMP_NUM_THREADS=4 timeout 240 build/cuda-f32/hgbench-engines --device cuda --data synthetic:3x32x32 \
     --steps 2000 --engines bptt,reversible,forward,checkpoint,greedy --plain-repeats 2 --threads 4 \
     --out "$out/engines-T2000.txt" --json "$out/engines-T2000.json" 2> "$out/engines-T2000.err"; then
  grep -E '^# (device|plain step|engine )' "$out/engines-T2000.txt"; grep -v '^#' "$out/engines-T2000.txt"
else
  echo "FAILED: engines T = 2000: $(grep -v '^\[' "$out/engines-T2000.err" | tail -n 2)"
  [ -f "$out/engines-T2000.txt" ] && grep -v '^#' "$out/engines-T2000.txt"
  fails=$((fails + 1))
fi

step "preset: PyTorch on the GPU (the exported problem: LeNet, synthetic 1x28x28, T = 10, float32)"
py=""
for c in ${PYTHON:-} python3 /usr/bin/python3; do
  command -v "$c" > /dev/null && timeout 60 "$c" -c 'import torch' 2> /dev/null && { py=$c; break; }
done
if [ -z "$py" ]; then
  echo "SKIPPED: no Python here imports torch"; skipped=$((skipped + 1))
elif [ "$(timeout 60 "$py" -c 'import torch; print(int(torch.cuda.is_available()))' 2>/dev/null)" != 1 ]; then
  echo "SKIPPED: $py: PyTorch $(timeout 60 "$py" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null) has no usable CUDA (torch.cuda.is_available() is False)"
  skipped=$((skipped + 1))
elif timeout 60 build/cuda-f32/hgbench hypergrad --device cuda --engine bptt --model lenet \
       --data synthetic:1x28x28 --steps 10 --batch 128 --val 1000 --learn lr:10 --seed 1 \
       --export "$scratch/export" --json "$out/pytorch-hgbench-bptt-f32.json" > /dev/null 2> "$out/pytorch-hgbench.err"; then
  grep -o '"time_s": *[0-9.e+-]*' "$out/pytorch-hgbench-bptt-f32.json" | sed 's/^/hgbench bptt (GPU): /'
  timeout 180 "$py" scripts/pytorch_baseline.py "$scratch/export" --device cuda --threads 4 --repeats 1 \
    --json "$out/pytorch-cuda-f32.json" || { echo "FAILED: pytorch_baseline.py --device cuda"; fails=$((fails + 1)); }
else
  echo "FAILED: hgbench hypergrad --export on the GPU: $(tail -n 2 "$out/pytorch-hgbench.err")"; fails=$((fails + 1))
fi

left=$(( budget - ($(date +%s) - t0) - 30 ))
[ "$left" -lt 60 ] && left=60
step "bench-gpu.sh (QUICK=1, BUDGET_S=$left): bench/results/gpu.md from this device"
[ -n "$fashion" ] && export DATA_DIR=$fashion
if QUICK=1 BUDGET_S=$left HORIZONS=${HORIZONS:-100,1000} COUNTS=${COUNTS:-1,10} CPU_HORIZONS=${CPU_HORIZONS:-100} \
   CPU_COUNTS=${CPU_COUNTS:-1} SEEDS=${SEEDS:-6} timeout $((left + 60)) bash scripts/bench-gpu.sh; then
  echo "bench-gpu.sh: done"
else
  echo "FAILED: bench-gpu.sh (exit $?)"; fails=$((fails + 1))
fi
mkdir -p "$out/bench" "$out/plots"
for f in bench/results/gpu*.md bench/results/gpu*.txt bench/results/gpu*.json; do
  [ -f "$f" ] && cp "$f" "$out/bench/"
done
for f in plots/gpu*; do [ -f "$f" ] && cp "$f" "$out/plots/"; done
[ -f bench/results/gpu.md ] && grep -E '^\*\*|^### ' bench/results/gpu.md

step "done: $fails failed steps, $skipped skipped; log in $log"
[ "$fails" -eq 0 ]
