#!/usr/bin/env bash
# fig2.sh — experiment 3 of `make bench`: Figure 2 of the FDS paper
# (hypergradient MSE vs sharing window) with build/f32/hgbench-fig2, plotted
# by scripts/fig2-plot.sh; raw results bench/results/fig2{,-steps}.txt and
# fig2.json, plots plots/fig2{,-steps}.{png,svg}, Markdown
# bench/results/fig2.md. Exit 1 if the run or the plot failed.
#
# Environment: QUICK=1 (the --quick preset), SEEDS (default 30; the paper's
# 100), THREADS (2), COMMIT, DATA_DIR (Fashion-MNIST folder).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

threads=${THREADS:-2}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
args=(--threads "$threads" --commit "$commit")
if [ "${QUICK:-0}" = 1 ]; then args+=(--quick); [ -n "${SEEDS:-}" ] && args+=(--seeds "$SEEDS")
else args+=(--seeds "${SEEDS:-30}"); fi
[ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/train-images-idx3-ubyte" -o -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] &&
  args+=(--data-dir "$DATA_DIR")
r=bench/results
mkdir -p "$r" plots
status=0
build/f32/hgbench-fig2 "${args[@]}" --out "$r/fig2.txt" --json "$r/fig2.json" \
  --steps-out "$r/fig2-steps.txt" > /dev/null || status=1
if [ -f "$r/fig2.txt" ]; then
  scripts/fig2-plot.sh "$r/fig2.txt" "$r/fig2-steps.txt" plots/fig2 || status=1
fi

ctx() { sed -n "s/^# $1//p" "$r/fig2.txt" | head -n 1; }
{
  echo "## Figure 2: hypergradient error vs sharing window (experiment 3)"
  echo
  if [ ! -f "$r/fig2.txt" ]; then
    echo "**failed**: no results (see bench/results/fig2.log)."; echo
  else
    grep -E '^# (model|inner|seeds|engines|succeeded|time|truth|windows): ' "$r/fig2.txt" | sed 's/^# /- /'
    echo "- machine: $(ctx 'machine cpu: '), $(ctx 'machine cores: '); $(ctx 'date: ')"
    echo
    echo "| W | MSE(W) | bound σ²/W + ε²(W²−1)/12, fitted | same, estimated | with correlation term, fitted |"
    echo "|--:|--:|--:|--:|--:|"
    awk '/^# block 1/ { exit } /^#/ || NF != 5 { next }
         { printf "| %s | %.4g | %.4g | %.4g | %.4g |\n", $1, $2, $3, $4, $5 }' "$r/fig2.txt"
    echo
    grep -E '^# (measured minimum|greedy|bound|  fit|  estimated|check)' "$r/fig2.txt" | sed 's/^# */- /'
    grep -E '^# FAILED' "$r/fig2.txt" | sed 's/^# /- **/; s/$/**/'
    echo
    echo "![MSE vs window](plots/fig2.png)"
    [ -f plots/fig2-steps.png ] && echo "![per-step hypergradients](plots/fig2-steps.png)"
  fi
  echo
  echo "Reproduce: \`build/f32/hgbench-fig2 ${args[*]} --out $r/fig2.txt --steps-out $r/fig2-steps.txt\`"
  echo "then \`scripts/fig2-plot.sh $r/fig2.txt $r/fig2-steps.txt plots/fig2\`."
  echo
} > "$r/fig2.md.tmp.$$" && mv "$r/fig2.md.tmp.$$" "$r/fig2.md"
exit $status
