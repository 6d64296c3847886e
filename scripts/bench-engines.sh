#!/usr/bin/env bash
# bench-engines.sh — experiments 1 and 2 of `make bench`:
#   horizon   every engine at T in $HORIZONS (lr learned in K = 10 windows)
#   count     forward vs the reverse engines at T = $COUNT_T for K in $COUNTS
# on LeNet, Fashion-MNIST, batch 128, float32. Raw results (columns and JSON)
# go to bench/results/engines-{horizon,count}.{txt,json}, plots to
# plots/engines-*.{png,svg}, and the Markdown sections to
# bench/results/engines.md. Exit 1 if a run failed (see the tables).
#
# Environment: QUICK=1 (small sizes), THREADS (2), COMMIT, HORIZONS, COUNTS,
# COUNT_T, DATA_DIR (Fashion-MNIST folder).
set -uo pipefail
# Ctrl-C or SIGTERM: stop, leaving none of this script's temporaries (the
# programs it runs clean up their own)
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 130' INT
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 143' TERM
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 141' PIPE # bench.sh's tee gone
cd "$(dirname "$0")/.." || exit 1

threads=${THREADS:-2}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ "${QUICK:-0}" = 1 ]; then
  horizons=${HORIZONS:-10,100} counts=${COUNTS:-1,10} count_t=${COUNT_T:-100}
else
  horizons=${HORIZONS:-10,100,1000,10000} counts=${COUNTS:-1,10,100} count_t=${COUNT_T:-1000}
fi
# sizes set by hand (HORIZONS, COUNTS, COUNT_T) are said in the section
cut=""
[ "${QUICK:-0}" != 1 ] && [ "$horizons,$counts,$count_t" != "10,100,1000,10000,1,10,100,1000" ] &&
  cut="**Cut for time** (HORIZONS=$horizons COUNTS=$counts COUNT_T=$count_t): the full run is T ∈ {10, 100, 1000, 10000} and N ∈ {1, 10, 100} at T = 1000."
bin=build/f32/hgbench-engines
data=()
[ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/train-images-idx3-ubyte" -o -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] &&
  data=(--data-dir "$DATA_DIR")
mkdir -p bench/results plots
status=0

run() {  # label, flags...
  local label=$1; shift
  "$bin" --label "$label" --threads "$threads" --commit "$commit" "${data[@]}" "$@" \
    --out "bench/results/engines-$label.txt" --json "bench/results/engines-$label.json"
  local rc=$?
  [ $rc -eq 0 ] || { echo "bench-engines: $label: exit $rc" >&2; status=1; }
  return 0
}
run horizon --steps "$horizons" --lr-windows 10
run count --steps "$count_t" --lr-windows "$counts" --engines forward,bptt,reversible

# ---- plots -------------------------------------------------------------------
plot() {  # name, gnuplot body (IN is the raw file)
  for term in png svg; do
    gnuplot -e "IN='bench/results/engines-$1.txt'; OUT='plots/engines-$1-$2'" \
      -e "load 'plots/style.gp'; call 'plots/terminal.gp' '$term'" -e "$3" || status=1
  done
}
sel='"< awk -v e=%s '"'"'$1 == e && $4 == \"ok\"'"'"' " . IN'
plot horizon time "
  set logscale xy; set xlabel 'inner steps T'; set ylabel 'ms per inner step';
  set title 'Time per inner step vs horizon (LeNet, batch 128, lr in K = 10 windows)';
  sel(e) = sprintf($sel, e);
  plot for [e in 'bptt checkpoint reversible forward greedy'] sel(e) using 2:6 with linespoints ls ENGINE_LS(e) title e"
plot horizon memory "
  set logscale xy; set xlabel 'inner steps T'; set ylabel 'engine state (MiB)';
  set title 'Engine state vs T: trajectory, buffer, tangents (points) and formulas (lines)';
  sel(e) = sprintf($sel, e);
  plot for [e in 'bptt checkpoint reversible forward'] sel(e) using 2:(\$8+\$9+\$10+\$17) with points ls ENGINE_LS(e) title e.' measured', \
       for [e in 'bptt checkpoint reversible forward'] sel(e) using 2:13 with lines ls ENGINE_LS(e) title e.' formula'"
plot count time "
  set logscale xy; set xlabel 'learned values N'; set ylabel 'seconds per hypergradient';
  set title 'Forward vs reverse as N grows (T = $count_t)';
  sel(e) = sprintf($sel, e);
  plot for [e in 'forward bptt reversible'] sel(e) using 3:5 with linespoints ls ENGINE_LS(e) title e"

# ---- Markdown ------------------------------------------------------------------
ctx() { sed -n "s/^# $1: //p" "$2" | head -n 1; }
table() {  # raw file
  awk '
    /^#/ { next }
    NR == 1 || !hdr { print "| engine | T | K | s per hypergradient | ms per step | × plain step | trajectory (checkpoints) MiB | buffer MiB | tangents MiB | formula MiB | peak RSS MiB |";
                      print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"; hdr = 1 }
    $4 != "ok" { msg = $5; for (i = 6; i <= NF; i++) msg = msg " " $i
                 printf "| %s | %s | %s | **%s**: %s | | | | | | | |\n", $1, $2, $3, $4, msg; next }
    { printf "| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.4f | %.2f | %.3f | %.0f |\n",
             $1, $2, $3, $5, $6, $7, $8 + $17, $9, $10, $13, $14 }' "$1"
}
crossover() {  # from the count file: time and memory crossovers, as measured
  awk '
    /^#/ || $4 != "ok" { next }
    $1 == "forward" { ft[$3] = $5; fm[$3] = $10; ns[$3] = 1 }
    $1 == "bptt" { bt[$3] = $5; bm[$3] = $8 }
    $1 == "reversible" { rt[$3] = $5 }
    END {
      n = 0; for (k in ns) list[++n] = k + 0
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (list[j] < list[i]) { x = list[i]; list[i] = list[j]; list[j] = x }
      tc = ""; mc = ""
      for (i = 1; i <= n; i++) { k = list[i]
        rev = (k in bt) ? bt[k] : rt[k]; if ((k in rt) && rt[k] < rev) rev = rt[k]
        if (tc == "" && rev != "" && ft[k] > rev) tc = k
        if (mc == "" && (k in bm) && fm[k] > bm[k]) mc = k }
      if (n == 0) { print "- No forward run succeeded: no crossover measured."; exit }
      if (tc == list[1]) printf "- **Time**: forward is already slower than the fastest reverse engine at the smallest N measured (N = %d: %.2f s vs %.2f s); its cost grows with N while reverse mode costs one HVP per step whatever N.\n", list[1], ft[list[1]], (list[1] in bt ? bt[list[1]] : rt[list[1]])
      else if (tc != "") printf "- **Time**: forward is faster than the fastest reverse engine below N = %d and slower from N = %d on (the smallest measured N where it is slower).\n", tc, tc
      else printf "- **Time**: forward stayed faster than reverse for every N measured (up to %d).\n", list[n]
      if (mc != "") printf "- **Memory**: forward tangents exceed the bptt trajectory from N = %d on (measured).\n", mc
      else printf "- **Memory**: forward tangents stay below the bptt trajectory for every N measured (up to %d); by the formulas they cross at N = T (2PN vs 2TP reals).\n", list[n]
    }' "$1"
}
h=bench/results/engines-horizon.txt c=bench/results/engines-count.txt
tmp=bench/results/engines.md.tmp.$$
{
  echo "## Horizon scaling (experiment 1)"
  echo
  [ -n "$cut" ] && { echo "$cut"; echo; }
  echo "LeNet on Fashion-MNIST, batch 128, float32, lr 0.05 / momentum 0.9 / wd 5e-4 constant,"
  echo "lr learned in K = 10 windows; T ∈ {$horizons}. Greedy looks ahead on the next training"
  echo "batch (HD); its validation-set variant costs a validation gradient per step. Checkpoint"
  echo "stores C = round(√T) states on the binomial schedule (bptt's hypergradient, bit for bit)."
  if [ -f "$h" ]; then
    echo "$(ctx 'plain step (gradient + update)' "$h" | sed 's/^/Plain step (gradient + update): /')."
    echo "Times include the final validation gradient (1000 examples), which dominates small T."
    echo "Each run is one run of T steps (its steps are the repetitions); memory is the"
    echo "allocator's peak per kind during the run. Machine: $(ctx cpu "$h"), $(ctx cores "$h"),"
    echo "$(ctx caches "$h"); commit $commit; $threads threads; $(sed -n '1s/.*float32, \([^,]*\),.*/\1/p' "$h")."
    echo
    table "$h"
    echo
    grep '^# reversible' "$h" | sed 's/^# /- /'
    echo
    echo "Seeds: $(ctx seeds "$h" | sed 's/; each run.*//'). Each row's val loss and |hypergradient|"
    echo "are those of \`hgbench hypergrad\` on the same problem, bit for bit; the first row's command:"
    echo "\`$(sed -n 's/^# reproduce [^:]*: //p' "$h" | head -n 1)\` (every row's is in the raw file)."
    echo
    echo "![time per step vs T](plots/engines-horizon-time.png)"
    echo "![engine state vs T](plots/engines-horizon-memory.png)"
  else
    echo; echo "**failed**: no results (see the bench log)."
  fi
  echo
  echo "Reproduce: \`$bin --label horizon --steps $horizons --lr-windows 10 --threads $threads\`"
  echo
  echo "## Hyperparameter-count scaling (experiment 2)"
  echo
  echo "The same problem at T = $count_t with the learning rate learned in N = K windows,"
  echo "N ∈ {$counts}: forward mode against the reverse engines. The issue's N = 1000 is left out"
  echo "of the default run: forward's cost grows with N (about ten times the N = 100 run, close"
  echo "to an hour on a 2-core machine); \`COUNTS=1,10,100,1000\` adds it."
  if [ -f "$c" ]; then
    echo "$(ctx 'plain step (gradient + update)' "$c" | sed 's/^/Plain step (gradient + update): /')."
    echo
    table "$c"
    echo
    crossover "$c"
    echo
    echo "![time vs N](plots/engines-count-time.png)"
  else
    echo; echo "**failed**: no results (see the bench log)."
  fi
  echo
  echo "Reproduce: \`$bin --label count --steps $count_t --lr-windows $counts --engines forward,bptt,reversible --threads $threads\`"
  echo
} > "$tmp" && mv "$tmp" bench/results/engines.md
exit $status
