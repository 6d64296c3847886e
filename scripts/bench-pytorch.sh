#!/usr/bin/env bash
# bench-pytorch.sh — experiment 6 of `make bench`: one exported problem
# (LeNet, Fashion-MNIST, batch 128, lr learned in 10 windows) recomputed by
# PyTorch (scripts/pytorch_baseline.py: autograd through the unrolled loop,
# and a forward-mode loop over columns as in the official FDS code) beside
# hgbench's engines on the same problem, in float64 (agreement) and float32
# (speed). Results in $RESULTS_DIR: pytorch-hgbench-<engine>-f<p>.json
# (hgbench hypergrad --json; repeats r > 1 in .r<r>.json) and
# pytorch-f<p>.json (pytorch_baseline.py --json, with the envelope);
# hgbench-report (bench/report_pytorch.c) renders them: the agreement table,
# and issue 10's speed goal (PyTorch's time over hgbench's for bptt against
# autograd and forward against the column loop, >= 3x, at the same thread
# count). Without Debian's python3-torch the section is skipped: the failed
# check goes to pytorch.skipped, which the report shows. Exit 1 if a run failed.
#
# Speed: every hgbench engine and every PyTorch method runs REPEATS times
# (default 3; QUICK 1) and the tables give the median.
#
# The same problem on a GPU (hgbench --device cuda against PyTorch on the
# same GPU, pytorch_baseline.py --device cuda): scripts/bench-gpu.sh's
# pytorch part.
#
# Environment: QUICK=1 (T = 10), THREADS (2), STEPS (T, default 100),
# REPEATS, DATA_DIR, RESULTS_DIR (default bench/results), COMMIT,
# HG_CPU_CONV (default auto here: float32's convolutions by ours or oneDNN,
# whichever each shape times faster, where oneDNN is built in; the picks are
# in each hgbench JSON's conv_picks; float64 has ours only).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
r=${RESULTS_DIR:-bench/results}
# timings, not pinned bytes: the faster conv path per shape (backend/cpu/cpu_conv_choice.c)
export HG_CPU_CONV=${HG_CPU_CONV:-auto}
# Ctrl-C or SIGTERM: stop, leaving none of the exports (tens of MiB)
trap 'rm -rf "$r"/pytorch-export-f32 "$r"/pytorch-export-f64; exit 130' INT
trap 'rm -rf "$r"/pytorch-export-f32 "$r"/pytorch-export-f64; exit 143' TERM

threads=${THREADS:-2}
steps=${STEPS:-100}
repeats=${REPEATS:-3}
[ "${QUICK:-0}" = 1 ] && steps=${STEPS:-10} repeats=${REPEATS:-1}
py=/usr/bin/python3  # Debian's python3-torch lives in the system interpreter
mkdir -p "$r"
rm -f "$r"/pytorch.skipped "$r"/pytorch-f32.json "$r"/pytorch-f64.json "$r"/pytorch-hgbench-*.json
status=0

if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "$py -c 'import torch' failed" > "$r/pytorch.skipped"
  echo "bench-pytorch: skipped: python3-torch not installed" >&2
  exit 0
fi

data=()
[ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/train-images-idx3-ubyte" -o -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] &&
  data=(--data-dir "$DATA_DIR")
problem=(--model lenet --steps "$steps" --batch 128 --val 1000 --learn lr:10 --lr 0.05
         --mom 0.9 --wd 5e-4 --seed 1 --threads "$threads" "${data[@]}")
for prec in 64 32; do
  dir=$r/pytorch-export-f$prec
  rm -rf "$dir"
  for e in bptt reversible forward; do
    for k in $(seq 1 "$repeats"); do  # run k > 1 only times: pytorch-hgbench-<e>-f<p>.r<k>.json
      out=$r/pytorch-hgbench-$e-f$prec.json extra=()
      [ "$k" -gt 1 ] && out=$r/pytorch-hgbench-$e-f$prec.r$k.json
      [ "$e" = bptt ] && [ "$k" = 1 ] && extra=(--export "$dir")
      if ! build/hgbench hypergrad --engine "$e" --precision "$prec" "${problem[@]}" "${extra[@]}" \
           --json "$out" > /dev/null; then
        status=1; echo "bench-pytorch: hgbench $e float$prec failed" >&2
      fi
    done
  done
  "$py" scripts/pytorch_baseline.py "$dir" --threads "$threads" --repeats "$repeats" \
    --commit "${COMMIT:-unknown}" --json "$r/pytorch-f$prec.json" || status=1
done
# the exports hold the training examples (tens of MiB): not results to keep
rm -rf "$r"/pytorch-export-f32 "$r"/pytorch-export-f64
exit $status
