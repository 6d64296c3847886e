#!/usr/bin/env bash
# bench-conditioning.sh — float32 conditioning in `make bench` (issues 13,
# 27): how far float32 hypergradients are from float64 ones of the same
# problem, and whether that gap is what any float32-sized noise in the run
# would make or the float32 engine's own. LeNet and the MLP (784-256-10
# tanh) on Fashion-MNIST, batch 128, 1000 validation examples, lr 0.05 /
# momentum 0.9 / wd 5e-4 constant, the learning rate learned in 10 windows
# (K = 10 <= T for every T), T in $HORIZONS, each over the seeds
# 0..$SEEDS-1 (--seed: initialisation and batch order):
#   gap(e)   |g32 - g64| / |g64| for e in bptt, forward, reversible, each
#            engine against itself in the other precision;
#   sr32     |g64(sr32) - g64| / |g64| by float64 bptt, its run rounded
#            stochastically to float32's grid after every update
#            (hgbench hypergrad --round-noise sr32, draws seeded by --seed):
#            float32-sized noise at every step, the arithmetic float64;
#   perturb  |g64(w0') - g64(w0)| / |g64(w0)| by float64 bptt, w0' = w0 moved
#            by $PERTURB relative (hgbench hypergrad --perturb-w0, a direction
#            seeded by --seed): one change of w0 of float32's rounding unit.
# Criterion (stated in the section, applied by hgbench-report per seed and
# reported as a distribution over seeds, with median and range per T):
# float32 hypergradients of a model by an engine are not to be trusted from
# the smallest T from which on that engine's gap exceeds $MAX_GAP at every
# measured T; at that T the float32 gap is compared like with like, with
# the spread over seeds of the sr32 gaps.
#
# Time: per inner step, measured single runs (--threads 1, a 2-core machine
# with another benchmark on the other core): LeNet float64 bptt 88 ms,
# forward (N = 10) 177 ms, reversible 60 ms, float32 about 0.35x, sr32 about
# bptt's; the MLP's seven runs 18 s in all at T = 100. Eight runs per model,
# T and seed: one seed of the full run (T = 10 .. 1000, 1440 steps each)
# about 22 minutes on such a machine, so the 5 seeds nearly 2 hours (MPIRUN
# spreads them); QUICK (T = 10, 30, 2 seeds) a few minutes.
#
# Orchestration only: each run's JSON (and its stderr, .err) goes to
# $RESULTS_DIR/conditioning/<model>-T<T>-s<seed>-<run>.json, and hgbench-runs
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
# SEEDS (5; QUICK 2),
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
if [ "${QUICK:-0}" = 1 ]; then horizons=${HORIZONS:-10,30} nseeds=${SEEDS:-2}
else horizons=${HORIZONS:-10,30,100,300,1000} nseeds=${SEEDS:-5}; fi
[[ $nseeds =~ ^[1-9][0-9]*$ ]] || { echo "bench-conditioning.sh: SEEDS '$nseeds': a positive count" >&2; exit 2; }
seeds=$(seq -s ' ' 0 $((nseeds - 1)))
perturb=${PERTURB:-1e-7}
max_gap=${MAX_GAP:-0.1}
models="lenet mlp" engines="bptt forward reversible"
results=${RESULTS_DIR:-bench/results}
dir=$results/conditioning
hg_data
problem=(--data fashion-mnist --batch 128 --val 1000 --lr 0.05 --mom 0.9 --wd 5e-4 --schedule constant
         --learn lr:10 --threads "$threads" "${data[@]}")
mkdir -p "$dir"
status=0
Ts=${horizons//,/ }

# ---- runs ------------------------------------------------------------------------
if [ "${CONDITIONING_REPORT_ONLY:-0}" != 1 ]; then
  rm -f "$dir"/*.json "$dir"/*.err "$dir"/*.log "$results/conditioning.json"  # no stale results
  hg_sweep_init "$results/conditioning-jobs.txt"  # MPIRUN: the runs become a job list
  total=$(( $(wc -w <<< "$models") * $(wc -w <<< "$Ts") * nseeds * 8 )) i=0 t0=$(date +%s)
  one() {  # model T seed run prec flags...
    local m=$1 T=$2 s=$3 run=$4 p=$5; shift 5
    local name=$m-T$T-s$s-$run
    i=$((i + 1))
    hg_sweeping ||
    printf 'conditioning: [%d/%d] %s (%d s so far)\n' "$i" "$total" "$name" $(( $(date +%s) - t0 )) >&2
    hg_run "$dir/$name.json" "$p" "${problem[@]}" --model "$m" --steps "$T" --seed "$s" "$@"
    local rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 1 ] || { status=1; echo "conditioning: $name: exit $rc: $(hg_why "$dir/$name.json")" >&2; }
  }
  for m in $models; do
    for T in $Ts; do
      for s in $seeds; do
        for e in $engines; do
          one "$m" "$T" "$s" "$e-f64" 64 --engine "$e"
          one "$m" "$T" "$s" "$e-f32" 32 --engine "$e"
        done
        one "$m" "$T" "$s" "bptt-f64-sr32" 64 --engine bptt --round-noise sr32
        one "$m" "$T" "$s" "bptt-f64-perturbed" 64 --engine bptt --perturb-w0 "$perturb"
      done
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
    for s in $seeds; do
      for e in $engines; do names+=" $m-T$T-s$s-$e-f64 $m-T$T-s$s-$e-f32"; done
      names+=" $m-T$T-s$s-bptt-f64-sr32 $m-T$T-s$s-bptt-f64-perturbed"
    done
  done
done
cmd=(HORIZONS="$horizons" SEEDS="$nseeds" PERTURB="$perturb" MAX_GAP="$max_gap" THREADS="$threads" bash scripts/bench-conditioning.sh)
[ "${QUICK:-0}" = 1 ] && cmd=(QUICK=1 "${cmd[@]}")
ranks=()
hg_sweeping && ranks=(--ranks "$hg_ranks")  # the envelope's ranks
build/hgbench-runs --program bench-conditioning --out "$results/conditioning.json" --dir "$dir" \
  --runs "${names# }" --commit "$commit" --threads "$threads" "${ranks[@]}" --param models="$models" \
  --param engines="$engines" --param horizons="$horizons" --param seeds="$seeds" --param perturb="$perturb" \
  --param max_gap="$max_gap" --param quick="${QUICK:-0}" --param problem="${problem[*]}" \
  -- "${cmd[@]}" || status=1
exit $status
