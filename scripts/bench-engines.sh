#!/usr/bin/env bash
# bench-engines.sh — experiments 1 and 2 of `make bench`:
#   horizon   every engine at T in $HORIZONS (lr learned in K = 10 windows)
#   count     forward vs the reverse engines at T = $COUNT_T for K in $COUNTS
# on LeNet, Fashion-MNIST, batch 128, float32. Orchestration only: the
# results go to $RESULTS_DIR/engines-{horizon,count}.json (the envelope of
# io/envelope.h and one row per run; the columns on stdout, which bench.sh
# keeps in the log), and hgbench-report renders the section and its plots
# from them (bench/report_engines.c). Exit 1 if a run failed (the table
# shows it).
#
# Environment: QUICK=1 (small sizes), THREADS (2), COMMIT, HORIZONS, COUNTS,
# COUNT_T, DATA_DIR (Fashion-MNIST folder), RESULTS_DIR (bench/results).
set -uo pipefail
# Ctrl-C or SIGTERM: stop (the programs remove their own temporaries)
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE # bench.sh's tee gone
cd "$(dirname "$0")/.." || exit 1

threads=${THREADS:-2}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
results=${RESULTS_DIR:-bench/results}
if [ "${QUICK:-0}" = 1 ]; then
  horizons=${HORIZONS:-10,100} counts=${COUNTS:-1,10} count_t=${COUNT_T:-100}
else
  horizons=${HORIZONS:-10,100,1000,10000} counts=${COUNTS:-1,10,100} count_t=${COUNT_T:-1000}
fi
bin=build/f32/hgbench-engines
data=()
[ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/train-images-idx3-ubyte" -o -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] &&
  data=(--data-dir "$DATA_DIR")
mkdir -p "$results"
status=0

run() {  # label, flags...
  local label=$1; shift
  rm -f "$results/engines-$label.json"  # a failed run leaves no stale results
  "$bin" --label "$label" --threads "$threads" --commit "$commit" "${data[@]}" "$@" \
    --json "$results/engines-$label.json"
  local rc=$?
  [ $rc -eq 0 ] || { echo "bench-engines: $label: exit $rc" >&2; status=1; }
  return 0
}
run horizon --steps "$horizons" --lr-windows 10
run count --steps "$count_t" --lr-windows "$counts" --engines forward,bptt,reversible
exit $status
