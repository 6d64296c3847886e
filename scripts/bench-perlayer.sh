#!/usr/bin/env bash
# bench-perlayer.sh — the perlayer section of `make bench` (issue 23,
# experiment 3): learning-rate schedules learned per layer by `hgbench hpo`,
# for the MLP and LeNet on Fashion-MNIST, against the per-run schedule
# learned from the same start. Per model and repeat r = 0..R-1 (--seed r
# --val-seed r, the same for every method of r, so the methods pair by r):
#
#   layer-r<r>     --learn lr:K/layer            K windows for each
#                                                parameterised layer
#   run-r<r>       --learn lr:K                  K windows shared by all layers
#   layermom-r<r>  --learn lr:K/layer,mom:K/layer  also the momentum per layer
#                                                (MOM=0 leaves it out)
#
# Fixed: batch 128, 1,000 validation images held out of the train split,
# every learning rate starting at 0 (as scripts/fig3.sh), momentum 0.9 and
# weight decay 5e-4 (momentum learned only by layermom), engine bptt, outer
# optimiser sign (steps lr:SIGN_LR, mom:0.05, halved on a flip), the test
# split evaluated at every outer step, each run's best outer step by
# validation accuracy. T: the MLP 200 inner steps, LeNet 150 (a third of an
# epoch: LeNet's outer step, with the test evaluation, is the longest).
#
# Sizes (2-core VM, 1 thread, float32, 2026-12): an outer step takes ~2.2 s
# for the MLP at T = 200 and ~2.7 s for LeNet at T = 100 (~4 s at 150),
# whatever is learned (bptt's cost does not grow with N). Full: K = 10, 20
# outer steps, R = 3, three methods: 9 x 20 x 2.2 s + 9 x 20 x 4 s = ~19
# min. QUICK=1: T = 50 (MLP) and 30 (LeNet), K = 5, 4 outer steps, R = 2:
# about a minute.
#
# Leaves in $RESULTS_DIR: perlayer-<model>.json per model (hgbench-runs:
# the envelope, the settings as params, one row per run with its whole hpo
# log). The runs' own files (and their stdout and stderr in <name>.json.err)
# stay in RUNS_DIR, default build/perlayer-runs (QUICK:
# build/bench-quick/perlayer-runs). hgbench-report renders the section
# (bench/report_perlayer.c).
#
# Environment: QUICK=1, REPEATS, OUTER_STEPS, WINDOWS (K), MLP_STEPS,
# LENET_STEPS, SIGN_LR, MOM (1: run layermom), THREADS (default 2; each
# run's), DATA_DIR (Fashion-MNIST in $DATA_DIR/fashion-mnist, else Debian's
# /usr/share/datasets/fashion-mnist), MPIRUN, RUNS_DIR, RESULTS_DIR.
# Exit 1 if a run failed, 2 on bad settings.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${RESULTS_DIR:-bench/results}
trap 'rm -f "$out"/*.tmp.$$; exit 130' INT
trap 'rm -f "$out"/*.tmp.$$; exit 143' TERM
trap 'rm -f "$out"/*.tmp.$$; exit 141' PIPE

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  REPEATS=${REPEATS:-2} OUTER=${OUTER_STEPS:-4} K=${WINDOWS:-5} TM=${MLP_STEPS:-50} TL=${LENET_STEPS:-30}
  runs=${RUNS_DIR:-build/bench-quick/perlayer-runs}
else
  REPEATS=${REPEATS:-3} OUTER=${OUTER_STEPS:-20} K=${WINDOWS:-10} TM=${MLP_STEPS:-200} TL=${LENET_STEPS:-150}
  runs=${RUNS_DIR:-build/perlayer-runs}
fi
SIGN_LR=${SIGN_LR:-0.02} SIGN_MOM=0.05
MOM=${MOM:-1}
THREADS=${THREADS:-2}
BATCH=128 VAL=1000 MOM0=0.9 WD=5e-4
for v in REPEATS OUTER K TM TL THREADS; do
  case ${!v} in ''|*[!0-9]*|0) echo "$0: $v=${!v}: a whole number >= 1" >&2; exit 2 ;; esac
done
if [ "$K" -gt "$TM" ] || [ "$K" -gt "$TL" ]; then
  echo "$0: WINDOWS=$K: at most the inner steps ($TM, $TL)" >&2; exit 2
fi
[[ $SIGN_LR =~ ^[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$ ]] || { echo "$0: SIGN_LR=$SIGN_LR: not a number" >&2; exit 2; }
case $MOM in 0|1) ;; *) echo "$0: MOM=$MOM: 0 or 1" >&2; exit 2 ;; esac
sweep=build/hgbench-sweep collect=build/hgbench-runs
for p in build/hgbench build/f32/hgbench "$sweep" "$collect"; do
  [ -x "$p" ] || { echo "$0: $p not found: run make first" >&2; exit 2; }
done
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
read -r -a launch <<< "${MPIRUN:-}"
mkdir -p "$out" "$runs"
rm -f "$out"/perlayer-mlp.json "$out"/perlayer-lenet.json
status=0 ranks=1

repro=()
[ "$QUICK" = 1 ] && repro+=(QUICK=1)
repro+=("REPEATS=$REPEATS" "OUTER_STEPS=$OUTER" "WINDOWS=$K" "MLP_STEPS=$TM" "LENET_STEPS=$TL" "SIGN_LR=$SIGN_LR" "MOM=$MOM")
[ "$THREADS" != 2 ] && repro+=("THREADS=$THREADS")
repro+=(scripts/bench-perlayer.sh)

. scripts/data-sets.sh
data_fashion_mnist
[ -n "$data_flags" ] || { echo "$0: $data_why" >&2; exit 1; }
read -r -a data <<< "$data_flags"

methods=(layer run)
[ "$MOM" = 1 ] && methods+=(layermom)
learn() { # method
  case $1 in
    layer) echo "--learn lr:$K/layer --sign-step lr:$SIGN_LR" ;;
    run) echo "--learn lr:$K --sign-step lr:$SIGN_LR" ;;
    layermom) echo "--learn lr:$K/layer,mom:$K/layer --sign-step lr:$SIGN_LR,mom:$SIGN_MOM" ;;
  esac
}
echo "# perlayer: MLP T = $TM, LeNet T = $TL, batch $BATCH, val $VAL; lr from 0, mom $MOM0, wd $WD;" \
     "K = $K windows; methods ${methods[*]}; sign steps lr $SIGN_LR, $OUTER outer steps; R = $REPEATS" >&2

list=$out/perlayer-jobs.txt
echo "# bench-perlayer.sh: one hgbench hpo run a line" > "$list"
for model in mlp lenet; do
  T=$([ $model = mlp ] && echo "$TM" || echo "$TL")
  for ((r = 0; r < REPEATS; r++)); do
    for m in "${methods[@]}"; do
      json=$runs/$model-$m-r$r.json
      rm -f "$json" "$json.log" "$json.err"  # the sweep skips a finished result
      echo "hgbench hpo --precision 32 --model $model ${data[*]} --steps $T --batch $BATCH --val $VAL" \
           "--lr 0 --mom $MOM0 --wd $WD --test --threads $THREADS --seed $r --val-seed $r" \
           "--outer sign --sign-decay 0.5 --outer-steps $OUTER $(learn "$m") --json $json" >> "$list"
    done
  done
done
"${launch[@]}" "$sweep" --jobs "$list" --summary "$out/perlayer-sweep.json" > "$out/perlayer-sweep.json.out" || status=1
cat "$out/perlayer-sweep.json.out" >&2
while IFS= read -r line; do
  [[ $line =~ ^hgbench-sweep:\ [0-9]+\ jobs:.*\;\ ([0-9]+)\ ranks?, ]] && ranks=${BASH_REMATCH[1]}
done < "$out/perlayer-sweep.json.out"
for j in "$runs"/*.json.log; do [ -f "$j" ] && mv -f "$j" "${j%.log}.err"; done

for model in mlp lenet; do
  T=$([ $model = mlp ] && echo "$TM" || echo "$TL")
  names=""
  for ((r = 0; r < REPEATS; r++)); do for m in "${methods[@]}"; do names+=" $model-$m-r$r"; done; done
  "$collect" --program bench-perlayer --out "$out/perlayer-$model.json" --dir "$runs" \
    --runs "${names# }" --commit "$commit" --threads "$THREADS" --ranks "$ranks" \
    --param "model=$model" --param "T=$T" --param "K=$K" --param "batch=$BATCH" --param "val=$VAL" \
    --param "mom=$MOM0" --param "wd=$WD" --param "sign_lr=$SIGN_LR" --param "sign_mom=$SIGN_MOM" \
    --param "outer_steps=$OUTER" --param "repeats=$REPEATS" --param "methods=${methods[*]}" \
    --param "quick=$QUICK" -- "${repro[@]}" || status=1
done
exit $status
