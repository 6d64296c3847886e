#!/usr/bin/env bash
# bench-micro.sh — experiment 5 of `make bench`: the microbenchmarks
# (build/<p>/hgbench-micro, Google Benchmark through bench/gbench_shim.h) at
# float32 and float64, 5 repetitions each (medians with spread). Per
# precision, Google Benchmark's JSON in $RESULTS_DIR/micro-<p>.gbench.json and
# the envelope that names it (hgbench-micro --json) in micro-<p>.json;
# hgbench-report (bench/report_micro.c) renders them. Exit 1 if a run failed.
#
# Environment: QUICK=1 (2 repetitions, 0.05 s each), THREADS (2), DATA_DIR,
# RESULTS_DIR (default bench/results), COMMIT.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
r=${RESULTS_DIR:-bench/results}
trap 'exit 130' INT
trap 'exit 143' TERM

threads=${THREADS:-2}
flags=(--benchmark_repetitions=5 --benchmark_report_aggregates_only=true)
[ "${QUICK:-0}" = 1 ] && flags=(--benchmark_repetitions=2 --benchmark_report_aggregates_only=true
                                 --benchmark_min_time=0.05)
data=()
[ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/train-images-idx3-ubyte" -o -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] &&
  data=(--data-dir "$DATA_DIR")
mkdir -p "$r"
status=0
for p in f32 f64; do
  out=$r/micro-$p.gbench.json
  rm -f "$r/micro-$p.json" "$out"  # no stale results beside a failed run
  # (a run cut short leaves its gbench file truncated: the report names it)
  OMP_NUM_THREADS=$threads build/$p/hgbench-micro --threads "$threads" "${data[@]}" "${flags[@]}" \
    --commit "${COMMIT:-unknown}" --json "$r/micro-$p.json" \
    --benchmark_out="$out" --benchmark_out_format=json > /dev/null || status=1
done
exit $status
