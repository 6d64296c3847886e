#!/usr/bin/env bash
# bench-models.sh — the model section of `make bench` (scripts/bench.sh):
# hgbench-models at float32 and float64, one run per model (a model that
# crashes is recorded as failed and the others still run), LeNet float32 at
# one thread too, and oneDNN against our convolutions (hgbench-conv-dnnl,
# where libdnnl-dev is installed). Results in $RESULTS_DIR (default
# bench/results), rendered by hgbench-report (bench/report_models.c):
#   models-<p>.json          the machine/build context and GEMM ceiling
#                            (--context-only), with the models planned
#   models-<p>-<model>.json  one model's rows and per-layer profile
#   models-<p>-<model>.failed  why a model left no results (crash, signal)
#   models-f32-1thread.json  LeNet float32 at one thread
#   conv-dnnl.json           hgbench-conv-dnnl --json; conv-dnnl.skipped or
#                            conv-dnnl.failed say why there is none
# and the programs' raw text beside them (models-<p>.txt, conv-dnnl.txt).
# Exits 1 if any run failed.
#
# Environment: OMP_NUM_THREADS (threads, default 2), MODELS (default
# "logreg mlp lenet"), BENCH_FLAGS (extra flags for hgbench-models, e.g.
# "--repeats 5"), RESULTS_DIR, COMMIT, HG_CPU_CONV (default auto here: the
# float32 CPU backend's convolutions by ours or oneDNN, whichever each shape
# times faster, where oneDNN is built in; each model's JSON and raw text
# list the picks, conv_picks; ours elsewhere and in float64).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
r=${RESULTS_DIR:-bench/results}
# Ctrl-C or SIGTERM: stop, leaving none of this script's temporaries (the
# programs it runs clean up their own)
trap 'rm -f "$r"/*.err.$$; exit 130' INT
trap 'rm -f "$r"/*.err.$$; exit 143' TERM
trap 'rm -f "$r"/*.err.$$; exit 141' PIPE # bench.sh's tee gone

models=${MODELS:-logreg mlp lenet}
threads=${OMP_NUM_THREADS:-2}
commit=${COMMIT:-unknown}
# timings, not pinned bytes: the faster conv path per shape (backend/cpu/cpu_conv_choice.c)
export HG_CPU_CONV=${HG_CPU_CONV:-auto}
status=0
mkdir -p "$r"
rm -f "$r"/models-*.json "$r"/models-*.failed "$r"/conv-dnnl.json "$r"/conv-dnnl.skipped \
  "$r"/conv-dnnl.failed

for p in f32 f64; do
  bin=build/$p/hgbench-models raw=$r/models-$p.txt
  # (BENCH_FLAGS here too: the context states the method, --repeats and --min-time)
  # shellcheck disable=SC2086
  "$bin" --context-only --threads "$threads" --commit "$commit" --model "${models// /,}" \
    ${BENCH_FLAGS:-} --json "$r/models-$p.json" > "$raw" || status=1
  for m in $models; do
    err=$r/models-$p-$m.err.$$
    # stdout (rows) to the raw file; stderr (progress, errors) shown and kept.
    # shellcheck disable=SC2086  # BENCH_FLAGS is a list of words
    "$bin" --no-context --model "$m" --threads "$threads" --commit "$commit" ${BENCH_FLAGS:-} \
      --json "$r/models-$p-$m.json" 2>&1 >> "$raw" | tee "$err" >&2
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || status=1
    # Exit 1: the binary wrote its own error rows. Anything else: no results
    # (bad flags, no data, a crash): say why, for the report.
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
      why="exit $rc"; [ "$rc" -gt 128 ] && why="killed by signal $((rc - 128))"
      msg=$(grep -v ' ms/call ' "$err" | tail -n 1)
      printf '%s (%s)\n' "${msg:-no message}" "$why" > "$r/models-$p-$m.failed"
    fi
    rm -f "$err"
  done
done

# LeNet float32 at one thread too (issue 10: 1 vs N threads, same run)
if [ "$threads" -gt 1 ]; then
  # shellcheck disable=SC2086
  build/f32/hgbench-models --no-context --model lenet --threads 1 --commit "$commit" \
    ${BENCH_FLAGS:-} --json "$r/models-f32-1thread.json" > /dev/null 2>&1 || status=1
fi

# oneDNN 2.6 against our conv kernels, shape by shape (issue 10's
# evaluation; bench/conv_dnnl.c), when libdnnl-dev is installed
# (HGBENCH_WITH_DNNL=1 scripts/install-deps.sh; make bench does it as root).
if [ ! -f /usr/include/dnnl.h ]; then
  echo "oneDNN (Debian's \`libdnnl-dev\`) is not installed." > "$r/conv-dnnl.skipped"
elif ! make -s --no-print-directory build/f32/hgbench-conv-dnnl > /dev/null 2>&1; then
  echo "\`make build/f32/hgbench-conv-dnnl\` did not build." > "$r/conv-dnnl.failed"
  status=1
elif ! build/f32/hgbench-conv-dnnl --threads "$threads" --commit "$commit" \
       --json "$r/conv-dnnl.json" > "$r/conv-dnnl.txt" 2> "$r/conv-dnnl.err.$$"; then
  status=1
  echo "\`hgbench-conv-dnnl\` exit nonzero: $(tail -n 1 "$r/conv-dnnl.err.$$")" > "$r/conv-dnnl.failed"
fi
rm -f "$r/conv-dnnl.err.$$"
echo "bench-models: results in $r$([ $status -ne 0 ] && echo ' (some runs FAILED, see the report)')"
exit $status
