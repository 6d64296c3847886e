#!/usr/bin/env bash
# bench-gpu.sh — the gpu section of `make bench`: profiling a GPU (issue 9).
# Skipped, with the CUDA error that refused the device, where there is no
# CUDA build or no usable GPU (exit 0: the section says why). On a GPU:
#   - the device record and measured ceilings (build/cuda-f32/hgbench-gpu-info:
#     name, compute capability, SMs, memory, clocks, driver, runtime, cuBLAS
#     and cuDNN versions; float32 and float64 GEMM TFLOP/s, device-to-device
#     copy GB/s);
#   - the model ops on the device (hgbench-models --device cuda, float32 and
#     float64, batch 128 and 1024): loss+grad, HVP and block HVP k = 1, 4, 16,
#     each with its GEMM rate as a fraction of that precision's ceiling.
# Not in it yet, and said so in the section: engines vs T and N on the
# device, per-phase times from CUDA events, Figure 2 with 100 seeds.
# Raw: bench/results/gpu-info.txt, gpu-models-f<p>-b<B>.txt; Markdown
# bench/results/gpu.md. Exit 1 if a run on a working device failed.
#
# Environment: THREADS (host threads, 2), COMMIT, BATCHES ("128 1024").
set -uo pipefail
trap 'rm -f bench/results/*.tmp.$$; exit 130' INT
trap 'rm -f bench/results/*.tmp.$$; exit 143' TERM
trap 'rm -f bench/results/*.tmp.$$; exit 141' PIPE
cd "$(dirname "$0")/.." || exit 1

commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
batches=${BATCHES:-128 1024}
md=bench/results/gpu.md info=bench/results/gpu-info.txt
mkdir -p bench/results
status=0

skip() {  # why
  { echo "## GPU"; echo; echo "**skipped**: $1"; echo; } > "$md.tmp.$$" && mv "$md.tmp.$$" "$md"
  echo "bench-gpu: skipped: $1" >&2
  exit 0
}
[ -x build/cuda-f32/hgbench-gpu-info ] ||
  skip "no CUDA build here (\`make print-config\`: $(make -s --no-print-directory print-config 2>/dev/null | sed -n 's/^hgbench: nvcc //p'))."
if ! build/cuda-f32/hgbench-gpu-info > "$info.tmp.$$" 2> "$info.err.tmp.$$"; then
  why=$(tail -n 1 "$info.err.tmp.$$"); rm -f "$info.tmp.$$" "$info.err.tmp.$$"
  skip "${why#hgbench-gpu-info: }"
fi
rm -f "$info.err.tmp.$$"; mv "$info.tmp.$$" "$info"
val() { sed -n "s/^# $1: //p" "$2" | head -n 1; }

for p in 32 64; do
  for b in $batches; do
    raw=bench/results/gpu-models-f$p-b$b.txt
    build/cuda-f$p/hgbench-models --device cuda --batch "$b" --threads "${THREADS:-2}" \
      --commit "$commit" > "$raw.tmp.$$" || status=1
    mv "$raw.tmp.$$" "$raw"
  done
done

{
  echo "## GPU"
  echo
  echo "Commit $commit; $(date -u +%Y-%m-%dT%H:%M:%SZ). Command: \`bash scripts/bench-gpu.sh\`."
  echo
  echo "| device record | |"
  echo "|---|---|"
  echo "| device | $(val gpu "$info") |"
  echo "| clocks | $(val clocks "$info") |"
  echo "| float32 GEMM ceiling | $(val sgemm "$info") |"
  echo "| float64 GEMM ceiling | $(val dgemm "$info") |"
  echo "| device-to-device copy | $(val copy "$info") |"
  echo
  echo "### Model ops on the device (Fashion-MNIST batches; medians of 9 repeats)"
  echo
  echo "GEMM rate: the op's GEMM-shaped FLOPs over its median time; × ceiling: that rate over the"
  echo "same precision's GEMM ceiling above."
  echo
  echo "| precision | batch | model | op | k | median ms | GEMM TFLOP/s | × ceiling |"
  echo "|---|--:|---|---|--:|--:|--:|--:|"
  for p in 32 64; do
    ceil=$(val "$([ $p = 32 ] && echo sgemm || echo dgemm)" "$info" | cut -d' ' -f1)
    for b in $batches; do
      awk -v p="$p" -v b="$b" -v c="$ceil" '/^#/ || NF < 12 { next }
        $12 == "ok" { printf "| float%s | %s | %s | %s | %s | %.4g | %.3g | %.3f |\n", p, b, $1, $3,
                      ($4 == "-" ? "" : $4), $6, $11 / 1000, (c > 0 ? $11 / 1000 / c : 0) }
        $12 != "ok" { printf "| float%s | %s | %s | %s | %s | **failed** | | |\n", p, b, $1, $3, $4 }' \
        "bench/results/gpu-models-f$p-b$b.txt"
    done
  done
  echo
  echo "Not measured yet on the device (issue 9): engines vs T and N, per-phase times from CUDA"
  echo "events, Figure 2 with the paper's 100 seeds."
  echo
} > "$md.tmp.$$" && mv "$md.tmp.$$" "$md"
exit $status
