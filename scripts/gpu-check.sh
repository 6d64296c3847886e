#!/usr/bin/env bash
# gpu-check.sh — the one prepared check for a lent GPU (issue 9), within
# ~8 minutes of device time. Build here first (make: build/cuda-f32 and
# build/cuda-f64), carry build/ along, and run from the repository root:
#   bash scripts/gpu-check.sh [OUT_DIR]      (default: $OUT, else bench/results/gpu-check)
# It prints the device (nvidia-smi) and where cuDNN, cuBLAS and cudart load
# from (the image may hold cuDNN only inside PyTorch's Python packages: their
# lib folders go on LD_LIBRARY_PATH), then runs test_backend_ops and
# test_gpu (make test-gpu's binaries) in float64 and float32, then a short
# preset: each engine on LeNet (synthetic 1x28x28 data) on the GPU and on the
# CPU, with the wall times hgbench measures. Every number it writes was
# measured in that run; a step that fails says so and the rest still runs.
set -u
out=${1:-${OUT:-bench/results/gpu-check}}
mkdir -p "$out"
log="$out/gpu-check.log"
exec > >(tee "$log") 2>&1
step() { echo; echo "## $*"; }
fails=0

step "device"
nvidia-smi || echo "nvidia-smi: not found or failed"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version \
  --format=csv 2>/dev/null || true

step "libraries"
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
for b in build/cuda-f64/tests/test_gpu; do
  [ -x "$b" ] || { echo "$b: not built (run make where nvcc is, carry build/)"; exit 2; }
  ldd "$b" | grep -E 'cudnn|cublas|cudart|not found' || true
done
if ldd build/cuda-f64/tests/test_gpu | grep -q 'not found'; then
  echo "gpu-check: a CUDA library does not load (above): stopping"; exit 3
fi

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

step "done: $fails failed steps; log in $log"
[ "$fails" -eq 0 ]
