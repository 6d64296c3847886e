#!/usr/bin/env bash
# bench-micro.sh — experiment 5 of `make bench`: the microbenchmarks
# (build/<p>/hgbench-micro, Google Benchmark through bench/gbench_shim.h) at
# float32 and float64, 5 repetitions each (medians with spread); Google
# Benchmark's JSON in bench/results/micro-<p>.json, folded into
# bench/results/micro.md by scripts/gbench-table.sh. Exit 1 if a run failed.
#
# Environment: QUICK=1 (2 repetitions, 0.05 s each), THREADS (2), DATA_DIR.
set -uo pipefail
# Ctrl-C or SIGTERM: stop, leaving none of this script's temporaries (the
# programs it runs clean up their own)
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 130' INT
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 143' TERM
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 141' PIPE # bench.sh's tee gone
cd "$(dirname "$0")/.." || exit 1

threads=${THREADS:-2}
flags=(--benchmark_repetitions=5 --benchmark_report_aggregates_only=true)
[ "${QUICK:-0}" = 1 ] && flags=(--benchmark_repetitions=2 --benchmark_report_aggregates_only=true
                                 --benchmark_min_time=0.05)
data=()
[ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/train-images-idx3-ubyte" -o -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] &&
  data=(--data-dir "$DATA_DIR")
r=bench/results
mkdir -p "$r"
status=0
for p in f32 f64; do
  out=$r/micro-$p.json
  OMP_NUM_THREADS=$threads build/$p/hgbench-micro --threads "$threads" "${data[@]}" "${flags[@]}" \
    --benchmark_out="$out.tmp" --benchmark_out_format=json > /dev/null || status=1
  if [ -s "$out.tmp" ]; then mv "$out.tmp" "$out"; else rm -f "$out.tmp"; status=1; fi
done
{
  echo "## Microbenchmarks (experiment 5)"
  echo
  echo "Google Benchmark $(dpkg-query -W -f='${Version}' libbenchmark-dev 2>/dev/null) called from C through"
  echo "\`bench/gbench_shim.h\`: loss+gradient, HVP and block HVP (k = 1, 4, 16, 64) per model on"
  echo "Fashion-MNIST batches of 128; the information buffer's exact multiply and divide (one"
  echo "stream, one thread, P = 61706, m = 0.9); one engine run of T = 8 LeNet steps (validation"
  echo "set of 128, its final gradient included; \`per_step\` = time / T). Real time, $threads threads,"
  echo "${flags[*]}."
  echo
  for p in f32 f64; do
    echo "### $([ $p = f32 ] && echo float32 || echo float64)"
    echo
    if [ -s "$r/micro-$p.json" ]; then scripts/gbench-table.sh "$r/micro-$p.json" || status=1
    else echo "**failed**: no results (see bench/results/micro.log)."; fi
    echo
  done
  echo "Reproduce: \`build/f32/hgbench-micro --threads $threads ${flags[*]}\`"
  echo
} > "$r/micro.md.tmp.$$" && mv "$r/micro.md.tmp.$$" "$r/micro.md"
exit $status
