#!/usr/bin/env bash
# bench-atlas.sh — the trade-off atlas of `make bench` (issue 13): every
# method's time per hypergradient, engine memory and error against the exact
# float64 hypergradient, on one problem: LeNet, Fashion-MNIST, batch 128,
# 1000 validation examples, lr 0.05 / momentum 0.9 / wd 5e-4 constant, seed
# 0 (the engines section's problem), float64 and float32, T in $HORIZONS.
#
# Methods: bptt; checkpoint at C = round(log2 T), round(sqrt T), round(T/10)
# (duplicates once); reversible; bptt truncated to K in {1, 10, 100}, K < T;
# forward with N in {1, 10, 100} windows, N <= T; greedy on the validation set
# and on the next batch; HD (greedy on the next batch, one learning rate
# adapted online at rate $HD_RATE). g* = float64 bptt, --learn lr:T.
# Layouts: every method but forward and HD learns lr per step (--learn lr:T)
# and is compared per step with g*; forward learns N windows and is compared
# with g* summed over the same windows (its exact value); HD learns one rate
# (as HD does) and its per-step look-ahead values are compared per step.
#
# Cuts (stated in the section): float32 runs checkpoint at C = sqrt(T) only
# (its hypergradient is bptt's bit for bit, tests/test_checkpoint.c, and its
# time against bptt is measured in float64); forward is skipped where
# N T > $FWD_MAX_NT (default 10^4: N = 100 at T = 1000 would take about ten
# times the N = 10 run, some 20 minutes in float64); T = 10^4 is left out of
# the default HORIZONS for time (its memory fits: see the section).
#
# Time, measured single runs on a 2-core machine with another benchmark on
# the other core (--threads 1), T = 100, float64 (engine time): bptt 8.8 s,
# checkpoint C = 10 11 s, reversible 6 s, truncated K = 10 4.7 s, forward
# N = 1 / 10 / 100 4.2 / 18 / 124 s, greedy validation 20 s, next batch and
# HD 2.9 s; float32 about 0.35x. Extrapolated: T = 100 about 5 minutes (both
# precisions); T = 1000 about 22 minutes in float64 (x 10 per step, and
# checkpoint's recomputation: C = 10 recomputes about 3.5 T steps, some 200 s)
# and 6 in float32; with data loading (1.5 s a run) about 35 minutes in all at
# one thread beside another benchmark, roughly 20-25 on a quiet 2-core machine
# at 2 threads. QUICK (T = 20, 50) took 3.5 minutes at one thread beside
# another benchmark.
#
# Orchestration only: each run's JSON (and its stderr, .err) goes to
# $RESULTS_DIR/atlas/T<T>-f<32|64>-<method>.json (a run left out by
# FWD_MAX_NT: its .err says "skipped: why"), and hgbench-runs collects them,
# with the envelope and the settings, into $RESULTS_DIR/atlas.json;
# hgbench-report computes each row's error against g*, the Pareto fronts,
# the tables and the 8 plots (atlas-T<T>-f<p>-{memory,error}) from that file
# (bench/report_atlas.c). Exit 1 if a run failed for a reason other than the
# engine's (usage, data); an engine's own failure (divergence) is a row of
# the table.
#
# MPIRUN (e.g. "mpirun -np 8 --hostfile hosts"): the runs, the same
# commands, go to the job list $RESULTS_DIR/atlas-jobs.txt and run over the
# ranks through build/hgbench-sweep (summary atlas-sweep.json, its stdout
# atlas-sweep.json.out); each run's log becomes its .err, so the files
# collected are a one-process run's (times aside). THREADS stays per run.
#
# Environment: QUICK=1, THREADS (2), COMMIT, DATA_DIR, HORIZONS (comma list),
# HD_RATE (1e-5), FWD_MAX_NT (10000), MPIRUN, ATLAS_REPORT_ONLY=1 (no runs: the
# results file from the runs already there), RESULTS_DIR (bench/results).
set -uo pipefail
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE
cd "$(dirname "$0")/.." || exit 1
. scripts/hypergrad-runs.sh

threads=${THREADS:-2}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ "${QUICK:-0}" = 1 ]; then horizons=${HORIZONS:-20,50}; else horizons=${HORIZONS:-100,1000}; fi
hd_rate=${HD_RATE:-1e-5}
fwd_max_nt=${FWD_MAX_NT:-10000}
results=${RESULTS_DIR:-bench/results}
dir=$results/atlas
hg_data
problem=(--model lenet --data fashion-mnist --batch 128 --val 1000 --lr 0.05 --mom 0.9 --wd 5e-4
         --schedule constant --seed 0 --threads "$threads" "${data[@]}")
mkdir -p "$dir"
status=0
Ts=${horizons//,/ }

# The methods at T and precision p, one a line: name engine-flags (the
# --learn flag included) and the layout it is compared in (step: per step
# against g*; windows: g* summed over its windows; online: per-step
# look-ahead values of an online run).
checkpoint_counts() {  # T: the distinct C of round(log2 T), round(sqrt T), round(T/10), in 1..T-1
  local T=$1 l=0 q=1 t
  while (( 1 << (2 * l + 1) <= T * T )); do l=$((l + 1)); done  # 2^(l - 1/2) <= T
  while (( (2 * q + 1) * (2 * q + 1) <= 4 * T )); do q=$((q + 1)); done  # (q - 1/2)^2 <= T
  t=$(( (T + 5) / 10 ))
  for c in $l $q $t; do echo "$c"; done | sort -nu | while read -r c; do
    [ "$c" -ge 1 ] && [ "$c" -lt "$T" ] && echo "$c"
  done
}
methods() {  # T prec
  local T=$1 p=$2 c k n sqrtc=1
  echo "bptt step --engine bptt --learn lr:T"
  while (( (2 * sqrtc + 1) * (2 * sqrtc + 1) <= 4 * T )); do sqrtc=$((sqrtc + 1)); done
  while read -r c; do
    [ "$p" = 32 ] && [ "$c" != "$sqrtc" ] && continue
    echo "checkpoint-C$c step --engine checkpoint --checkpoints $c --learn lr:T"
  done < <(checkpoint_counts "$T")
  echo "reversible step --engine reversible --learn lr:T"
  for k in 1 10 100; do [ "$k" -lt "$T" ] && echo "truncated-K$k step --engine bptt --truncate $k --learn lr:T"; done
  for n in 1 10 100; do [ "$n" -le "$T" ] && echo "forward-N$n windows --engine forward --learn lr:$n"; done
  echo "greedy-val step --engine greedy --greedy-target val --learn lr:T"
  echo "greedy-train step --engine greedy --greedy-target train --learn lr:T"
  echo "hd online --engine greedy --greedy-target train --greedy-online-lr $hd_rate --learn lr:1"
}

# ---- runs ------------------------------------------------------------------------
if [ "${ATLAS_REPORT_ONLY:-0}" != 1 ]; then
  rm -f "$dir"/*.json "$dir"/*.err "$dir"/*.log "$results/atlas.json"  # no stale results
  hg_sweep_init "$results/atlas-jobs.txt"  # MPIRUN: the runs become a job list
  total=0
  for T in $Ts; do for p in 64 32; do total=$(( total + $(methods "$T" "$p" | wc -l) )); done; done
  i=0 t0=$(date +%s)
  for T in $Ts; do
    for p in 64 32; do  # float64 first: its bptt is g*
      while read -r name layout flags; do
        i=$((i + 1))
        json=$dir/T$T-f$p-$name.json
        n=${name#forward-N}
        if [[ $name == forward-* ]] && [ $(( n * T )) -gt "$fwd_max_nt" ]; then
          # hgbench-report estimates its time from the N = 10 row
          echo "skipped: N T = $(( n * T )) > FWD_MAX_NT = $fwd_max_nt" > "$json.err"
          continue
        fi
        hg_sweeping ||
        printf 'atlas: [%d/%d] T = %s float%s %s (%d s so far)\n' "$i" "$total" "$T" "$p" "$name" $(( $(date +%s) - t0 )) >&2
        # shellcheck disable=SC2086 # flags is a list of words
        hg_run "$json" "$p" "${problem[@]}" --steps "$T" $flags
        rc=$?
        [ $rc -eq 0 ] || [ $rc -eq 1 ] || { status=1; echo "atlas: $name T = $T float$p: exit $rc: $(hg_why "$json")" >&2; }
      done < <(methods "$T" "$p")
    done
  done
  if hg_sweeping; then
    echo "atlas: ${#hg_jobs[@]} runs over $MPIRUN (job list $hg_list)" >&2
    hg_sweep "$results/atlas-sweep.json" atlas || status=1
  fi
fi

# ---- the results: one file with the envelope, the runs as they are -------------------
names=""
for T in $Ts; do
  for p in 64 32; do
    while read -r name layout flags; do names+=" T$T-f$p-$name"; done < <(methods "$T" "$p")
  done
done
cmd=(HORIZONS="$horizons" HD_RATE="$hd_rate" FWD_MAX_NT="$fwd_max_nt" THREADS="$threads" bash scripts/bench-atlas.sh)
[ "${QUICK:-0}" = 1 ] && cmd=(QUICK=1 "${cmd[@]}")
ranks=()
hg_sweeping && ranks=(--ranks "$hg_ranks")  # the envelope's ranks
build/hgbench-runs --program bench-atlas --out "$results/atlas.json" --dir "$dir" \
  --runs "${names# }" --commit "$commit" --threads "$threads" "${ranks[@]}" --param horizons="$horizons" \
  --param hd_rate="$hd_rate" --param fwd_max_nt="$fwd_max_nt" --param quick="${QUICK:-0}" \
  --param problem="${problem[*]}" -- "${cmd[@]}" || status=1
exit $status
