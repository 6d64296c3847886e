#!/usr/bin/env bash
# fig2.sh — experiment 3 of `make bench`: Figure 2 of the FDS paper
# (hypergradient MSE vs sharing window), in float64, with the float32 run
# the paper made drawn beside it and the rounding measured against the
# spread the figure shows. Three runs of hgbench-fig2 on the same seeds:
#   1. build/f32: the figure in float32, keeping every seed's per-step values
#      and the bptt trajectories of the first ROUNDING_SEEDS seeds;
#   2. build/f32 --kahan: the same seeds with a compensated weight update
#      (no greedy, ROUNDING_SEEDS seeds);
#   3. build/f64: the figure (the default since the measurement RESULTS.md
#      shows), comparing runs 1 and 2 against its per-step values, also
#      with their trajectories' reverse pass redone in float64.
# Only runs them: their results go to $RESULTS_DIR (default bench/results):
# fig2.json (float64), fig2-f32.json, fig2-f32-kahan.json (JSON with the
# shared envelope, io/envelope.h), and the same as text tables (fig2*.txt,
# fig2*-steps.txt). hgbench-report renders the section and its plots from the
# JSON (bench/report_fig2.c). Trajectories go to a temporary folder (about
# 125 MB per seed and run in float32), removed at the end. Exit 1 if a run
# failed.
#
# Environment: QUICK=1 (the --quick preset), SEEDS (default 30; the paper's
# 100), ROUNDING_SEEDS (default 5; QUICK 2), THREADS (2, per rank), MPIRUN
# (e.g. "mpirun -np 8 --hostfile hosts": each run's seeds spread over its
# ranks, bench/farm.h; the files equal a one-process run's, and the envelope
# records the ranks), COMMIT, DATA_DIR (Fashion-MNIST folder), RESULTS_DIR.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

threads=${THREADS:-2}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
args=(--threads "$threads" --commit "$commit")
if [ "${QUICK:-0}" = 1 ]; then args+=(--quick); [ -n "${SEEDS:-}" ] && args+=(--seeds "$SEEDS")
  rs=${ROUNDING_SEEDS:-2}
else args+=(--seeds "${SEEDS:-30}"); rs=${ROUNDING_SEEDS:-5}; fi
[ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/train-images-idx3-ubyte" -o -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] &&
  args+=(--data-dir "$DATA_DIR")
r=${RESULTS_DIR:-bench/results}
mkdir -p "$r"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hgbench-fig2.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT # the EXIT trap then removes $tmp (the programs remove their own temporaries)
trap 'exit 143' TERM
trap 'exit 141' PIPE
status=0

cmd32=(build/f32/hgbench-fig2 "${args[@]}" --out "$r/fig2-f32.txt" --json "$r/fig2-f32.json"
       --steps-out "$r/fig2-f32-steps.txt" --seeds-out "$tmp/f32" --record "$rs")
cmdk=(build/f32/hgbench-fig2 "${args[@]}" --seeds "$rs" --kahan --greedy off
      --out "$r/fig2-f32-kahan.txt" --json "$r/fig2-f32-kahan.json" --seeds-out "$tmp/f32-kahan" --record "$rs")
cmd64=(build/f64/hgbench-fig2 "${args[@]}" --out "$r/fig2.txt" --json "$r/fig2.json"
       --steps-out "$r/fig2-steps.txt" --compare "float32=$tmp/f32"
       --compare "float32-kahan=$tmp/f32-kahan")
# a run that fails leaves no results, never an earlier run's
rm -f "$r/fig2.json" "$r/fig2-f32.json" "$r/fig2-f32-kahan.json"
# MPIRUN: the launcher words in front of each run (unset: one process)
read -r -a launch <<< "${MPIRUN:-}"
echo "fig2: 1/3 float32, as the paper ran it" >&2
"${launch[@]}" "${cmd32[@]}" > /dev/null || status=1
echo "fig2: 2/3 float32 with --kahan, $rs seeds" >&2
"${launch[@]}" "${cmdk[@]}" > /dev/null || status=1
echo "fig2: 3/3 float64, comparing both" >&2
"${launch[@]}" "${cmd64[@]}" > /dev/null || status=1
exit $status
