#!/usr/bin/env bash
# bench-conditioning.sh — float32 conditioning in `make bench` (issue 13):
# how far float32 hypergradients are from float64 ones of the same problem,
# and whether that gap is the problem's sensitivity or the engine's rounding.
# LeNet and the MLP (784-256-10 tanh) on Fashion-MNIST, batch 128, 1000
# validation examples, lr 0.05 / momentum 0.9 / wd 5e-4 constant, seed 0, the
# learning rate learned in 10 windows (K = 10 <= T for every T), T in
# $HORIZONS:
#   gap(e)   |g32 - g64| / |g64| for e in bptt, forward, reversible, each
#            engine against itself in the other precision;
#   perturb  |g64(w0') - g64(w0)| / |g64(w0)| by float64 bptt, w0' = w0 moved
#            by $PERTURB relative (hgbench hypergrad --perturb-w0, a direction
#            seeded by --seed): what the problem itself does with a change of
#            w0 the size of float32's rounding unit (6e-8).
# Criterion (stated in the section, applied by hgbench-report): float32
# hypergradients of a model by an engine are not to be trusted from the
# smallest T from which on that engine's gap exceeds $MAX_GAP at every
# measured T; at that T the gap counts as the problem's sensitivity if it is
# at most 10 times the perturbation gap, else as the float32 run's own
# rounding.
#
# Time: per inner step, measured single runs (--threads 1, a 2-core machine
# with another benchmark on the other core): LeNet float64 bptt 88 ms,
# forward (N = 10) 177 ms, reversible 60 ms, float32 about 0.35x; the MLP's
# seven runs 18 s in all at T = 100. Seven runs per model and T: the full run
# (T = 10 .. 1000, 1440 steps each) about 20 minutes on such a machine
# (LeNet 15, the MLP 4, data loading 2), less on a quiet one; QUICK (T = 10,
# 30) took 85 s at one thread beside another benchmark.
#
# Orchestration only: each run's JSON (and its stderr, .err) goes to
# $RESULTS_DIR/conditioning/<model>-T<T>-<run>.json, and hgbench-runs
# collects them, with the envelope and the settings above, into
# $RESULTS_DIR/conditioning.json; hgbench-report computes the gaps, applies
# the criterion and renders the section and its plot from that file
# (bench/report_conditioning.c). Exit 1 if a run failed for a reason other
# than the engine's (usage, data); a diverged run is a row of the table.
#
# MPIRUN (e.g. "mpirun -np 8 --hostfile hosts"): the runs, the same
# commands, go to the job list $RESULTS_DIR/conditioning-jobs.txt and run
# over the ranks through build/hgbench-sweep (summary conditioning-sweep.json,
# its stdout conditioning-sweep.json.out); each run's log becomes its .err, so
# the files collected are a one-process run's (times aside).
#
# Environment: QUICK=1, THREADS (2), COMMIT, DATA_DIR, HORIZONS (comma list),
# PERTURB (1e-7), MAX_GAP (0.1), MPIRUN, CONDITIONING_REPORT_ONLY=1 (no runs: the
# results file from the runs already there), RESULTS_DIR (bench/results).
set -uo pipefail
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE
cd "$(dirname "$0")/.." || exit 1
. scripts/hypergrad-runs.sh

threads=${THREADS:-2}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ "${QUICK:-0}" = 1 ]; then horizons=${HORIZONS:-10,30}; else horizons=${HORIZONS:-10,30,100,300,1000}; fi
perturb=${PERTURB:-1e-7}
max_gap=${MAX_GAP:-0.1}
models="lenet mlp" engines="bptt forward reversible"
results=${RESULTS_DIR:-bench/results}
dir=$results/conditioning
hg_data
problem=(--data fashion-mnist --batch 128 --val 1000 --lr 0.05 --mom 0.9 --wd 5e-4 --schedule constant
         --seed 0 --learn lr:10 --threads "$threads" "${data[@]}")
mkdir -p "$dir"
status=0
Ts=${horizons//,/ }

# ---- runs ------------------------------------------------------------------------
if [ "${CONDITIONING_REPORT_ONLY:-0}" != 1 ]; then
  rm -f "$dir"/*.json "$dir"/*.err "$dir"/*.log "$results/conditioning.json"  # no stale results
  hg_sweep_init "$results/conditioning-jobs.txt"  # MPIRUN: the runs become a job list
  total=$(( $(wc -w <<< "$models") * $(wc -w <<< "$Ts") * 7 )) i=0 t0=$(date +%s)
  one() {  # model T run prec flags...
    local m=$1 T=$2 run=$3 p=$4; shift 4
    i=$((i + 1))
    hg_sweeping ||
    printf 'conditioning: [%d/%d] %s T = %s %s (%d s so far)\n' "$i" "$total" "$m" "$T" "$run" $(( $(date +%s) - t0 )) >&2
    hg_run "$dir/$m-T$T-$run.json" "$p" "${problem[@]}" --model "$m" --steps "$T" "$@"
    local rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 1 ] || { status=1; echo "conditioning: $m T = $T $run: exit $rc: $(hg_why "$dir/$m-T$T-$run.json")" >&2; }
  }
  for m in $models; do
    for T in $Ts; do
      for e in $engines; do
        one "$m" "$T" "$e-f64" 64 --engine "$e"
        one "$m" "$T" "$e-f32" 32 --engine "$e"
      done
      one "$m" "$T" "bptt-f64-perturbed" 64 --engine bptt --perturb-w0 "$perturb"
    done
  done
  if hg_sweeping; then
    echo "conditioning: ${#hg_jobs[@]} runs over $MPIRUN (job list $hg_list)" >&2
    hg_sweep "$results/conditioning-sweep.json" conditioning || status=1
  fi
fi

# ---- the results: one file with the envelope, the runs as they are -----------------
names=""
for m in $models; do
  for T in $Ts; do
    for e in $engines; do names+=" $m-T$T-$e-f64 $m-T$T-$e-f32"; done
    names+=" $m-T$T-bptt-f64-perturbed"
  done
done
cmd=(HORIZONS="$horizons" PERTURB="$perturb" MAX_GAP="$max_gap" THREADS="$threads" bash scripts/bench-conditioning.sh)
[ "${QUICK:-0}" = 1 ] && cmd=(QUICK=1 "${cmd[@]}")
ranks=()
hg_sweeping && ranks=(--ranks "$hg_ranks")  # the envelope's ranks
build/hgbench-runs --program bench-conditioning --out "$results/conditioning.json" --dir "$dir" \
  --runs "${names# }" --commit "$commit" --threads "$threads" "${ranks[@]}" --param models="$models" \
  --param engines="$engines" --param horizons="$horizons" --param perturb="$perturb" \
  --param max_gap="$max_gap" --param quick="${QUICK:-0}" --param problem="${problem[*]}" \
  -- "${cmd[@]}" || status=1
exit $status
