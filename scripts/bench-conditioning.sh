#!/usr/bin/env bash
# bench-conditioning.sh — float32 conditioning in `make bench` (issue 13):
# how far float32 hypergradients are from float64 ones of the same problem,
# and whether that gap is the problem's sensitivity or the engine's rounding.
# LeNet and the MLP (784-256-10 tanh) on Fashion-MNIST, batch 128, 1000
# validation examples, lr 0.05 / momentum 0.9 / wd 5e-4 constant, seed 0, the
# learning rate learned in 10 windows (K = 10 <= T for every T), T in
# $HORIZONS:
#   gap(e)   |g32 - g64| / |g64| for e in bptt, forward, reversible, each
#            engine against itself in the other precision;
#   perturb  |g64(w0') - g64(w0)| / |g64(w0)| by float64 bptt, w0' = w0 moved
#            by $PERTURB relative (hgbench hypergrad --perturb-w0, a direction
#            seeded by --seed): what the problem itself does with a change of
#            w0 the size of float32's rounding unit (6e-8).
# Criterion (stated in the section, applied by this script): float32
# hypergradients of a model by an engine are not to be trusted from the
# smallest T from which on that engine's gap exceeds $MAX_GAP at every
# measured T; at that T the gap counts as the problem's sensitivity if it is
# at most 10 times the perturbation gap, else as the float32 run's own
# rounding.
#
# Time: per inner step, measured single runs (--threads 1, a 2-core machine
# with another benchmark on the other core): LeNet float64 bptt 88 ms,
# forward (N = 10) 177 ms, reversible 60 ms, float32 about 0.35x; the MLP's
# seven runs 18 s in all at T = 100. Seven runs per model and T: the full run
# (T = 10 .. 1000, 1440 steps each) about 20 minutes on such a machine
# (LeNet 15, the MLP 4, data loading 2), less on a quiet one; QUICK (T = 10,
# 30) took 85 s at one thread beside another benchmark.
#
# Raw results: bench/results/conditioning/<model>-T<T>-<run>.json (and .err),
# bench/results/conditioning.txt (columns, # context) and conditioning.json;
# plot plots/conditioning.{png,svg}; Markdown bench/results/conditioning.md.
# Exit 1 if a run failed for a reason other than the engine's (usage, data)
# or the plot failed; a diverged run is a row of the table.
#
# Environment: QUICK=1, THREADS (2), COMMIT, DATA_DIR, HORIZONS (comma list),
# PERTURB (1e-7), MAX_GAP (0.1), CONDITIONING_REPORT_ONLY=1 (no runs).
set -uo pipefail
trap 'rm -f bench/results/*.tmp.$$; exit 130' INT
trap 'rm -f bench/results/*.tmp.$$; exit 143' TERM
trap 'rm -f bench/results/*.tmp.$$; exit 141' PIPE
cd "$(dirname "$0")/.." || exit 1
. scripts/hypergrad-runs.sh

threads=${THREADS:-2}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ "${QUICK:-0}" = 1 ]; then horizons=${HORIZONS:-10,30}; else horizons=${HORIZONS:-10,30,100,300,1000}; fi
perturb=${PERTURB:-1e-7}
max_gap=${MAX_GAP:-0.1}
models="lenet mlp" engines="bptt forward reversible"
dir=bench/results/conditioning raw=bench/results/conditioning.txt md=bench/results/conditioning.md
hg_data
problem=(--data fashion-mnist --batch 128 --val 1000 --lr 0.05 --mom 0.9 --wd 5e-4 --schedule constant
         --seed 0 --learn lr:10 --threads "$threads" "${data[@]}")
mkdir -p "$dir" plots
status=0
Ts=${horizons//,/ }

# ---- runs ------------------------------------------------------------------------
if [ "${CONDITIONING_REPORT_ONLY:-0}" != 1 ]; then
  rm -f "$dir"/*.json "$dir"/*.err
  total=$(( $(wc -w <<< "$models") * $(wc -w <<< "$Ts") * 7 )) i=0 t0=$(date +%s)
  one() {  # model T run prec flags...
    local m=$1 T=$2 run=$3 p=$4; shift 4
    i=$((i + 1))
    printf 'conditioning: [%d/%d] %s T = %s %s (%d s so far)\n' "$i" "$total" "$m" "$T" "$run" $(( $(date +%s) - t0 )) >&2
    hg_run "$dir/$m-T$T-$run.json" "$p" "${problem[@]}" --model "$m" --steps "$T" "$@"
    local rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 1 ] || { status=1; echo "conditioning: $m T = $T $run: exit $rc: $(hg_why "$dir/$m-T$T-$run.json")" >&2; }
  }
  for m in $models; do
    for T in $Ts; do
      for e in $engines; do
        one "$m" "$T" "$e-f64" 64 --engine "$e"
        one "$m" "$T" "$e-f32" 32 --engine "$e"
      done
      one "$m" "$T" "bptt-f64-perturbed" 64 --engine bptt --perturb-w0 "$perturb"
    done
  done
fi

# ---- the table -------------------------------------------------------------------------
row() {  # model T name ref.json g.json: one row, or the failed run's reason
  local m=$1 T=$2 name=$3 ref=$4 g=$5 f e
  for f in "$ref" "$g"; do
    [ -s "$f" ] || { printf '  %-6s %5s %-11s %-7s %s\n' "$m" "$T" "$name" failed "$(basename "$f" .json): $(hg_why "$f")"; return; }
  done
  e=$(scripts/hypergrad-error.sh "$ref" "$g") || e="nan nan 0"
  printf '  %-6s %5s %-11s %-7s %10s %10s %12.6g %12.6g\n' "$m" "$T" "$name" ok ${e% *} \
    "$(jq -r .val_loss "$ref")" "$(jq -r .val_loss "$g")"
}
tmp=$raw.tmp.$$
{
  echo "# hgbench float32 conditioning: fashion-mnist, batch 128, val 1000, lr 0.05 mom 0.9 wd 5e-4 constant, seed 0, lr learned in 10 windows, $threads threads, commit $commit"
  echo "# rows bptt, forward, reversible: rel_diff = |g32 - g64| / |g64| of that engine, cosine between them, val loss of the float64 and float32 runs"
  echo "# row perturb: float64 bptt with w0 moved by $perturb relative (--perturb-w0) against float64 bptt: rel_diff, cosine, val losses (unperturbed, perturbed)"
  printf '# %-6s %5s %-11s %-7s %10s %10s %12s %12s\n' model T row status rel_diff cosine val_loss_ref val_loss
  for m in $models; do
    for T in $Ts; do
      for e in $engines; do row "$m" "$T" "$e" "$dir/$m-T$T-$e-f64.json" "$dir/$m-T$T-$e-f32.json"; done
      row "$m" "$T" perturb "$dir/$m-T$T-bptt-f64.json" "$dir/$m-T$T-bptt-f64-perturbed.json"
    done
  done
} > "$tmp" && mv "$tmp" "$raw"
jq -R -s '[split("\n")[] | select(length > 0 and (startswith("#") | not)) | [splits(" +")] | map(select(length > 0)) |
  {model: .[0], T: (.[1] | tonumber), row: .[2], status: .[3]} +
  (if .[3] == "ok" then {rel_diff: (.[4] | tonumber? // null), cosine: (.[5] | tonumber? // null),
     val_loss_ref: (.[6] | tonumber), val_loss: (.[7] | tonumber)} else {reason: (.[4:] | join(" "))} end)]' "$raw" \
  > "bench/results/conditioning.json.tmp.$$" && mv "bench/results/conditioning.json.tmp.$$" bench/results/conditioning.json || status=1

# ---- plot ---------------------------------------------------------------------------------
sel() { echo "< awk '!/^#/ && \$1 ~ /^$1\$/ && \$3 ~ /^$2\$/ && \$4 ~ /^ok\$/ && \$5 > 0' $raw"; }
plotcmd="set logscale xy; set format y '10^{%L}'; set xlabel 'inner steps T'; set ylabel 'relative difference';
  set title 'float32 vs float64 hypergradients, and float64 with w0 moved by $perturb' noenhanced;
  set key outside right top; set arrow from graph 0, first $max_gap to graph 1, first $max_gap nohead ls 5 dt 3;
  set label 'criterion $max_gap' at graph 0.02, first $max_gap * 1.6 font ',9'; plot"
sep=""
for m in $models; do
  extra=""; [ "$m" = mlp ] && extra="dt 2 pt 6"
  for e in $engines; do
    plotcmd+="$sep \"$(sel "$m" "$e")\" using 2:5 with linespoints ls ENGINE_LS('$e') $extra title '$m $e float32'"; sep=","
  done
  plotcmd+=", \"$(sel "$m" perturb)\" using 2:5 with linespoints ls $([ "$m" = lenet ] && echo 6 || echo 5) $extra title '$m float64, w0 moved'"
done
for term in png svg; do
  gnuplot -e "OUT='plots/conditioning'" -e "load 'plots/style.gp'; call 'plots/terminal.gp' '$term'" -e "$plotcmd" || status=1
done

# ---- the verdict, from the rows --------------------------------------------------------------
verdict() {  # model: one sentence, an engine at a time
  awk -v m="$1" -v G="$max_gap" -v eps="$perturb" -v engines="$engines" '
    !/^#/ && $1 == m && $4 == "ok" {
      T = $2 + 0; ts[T] = 1
      gap[T, $3] = ($5 == "nan") ? 1e300 : $5 + 0 }
    END {
      n = 0; for (t in ts) list[++n] = t + 0
      if (!n) { printf "**%s**: no runs succeeded.", m; exit }
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (list[j] < list[i]) { x = list[i]; list[i] = list[j]; list[j] = x }
      printf "**%s** (T ∈ {", m
      for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? ", " : ""), list[i]
      printf "}): "
      ne = split(engines, e, " ")
      for (k = 1; k <= ne; k++) {
        from = 0  # the smallest T from which on every measured gap exceeds G
        for (i = n; i >= 1; i--) { if (((list[i], e[k]) in gap) && gap[list[i], e[k]] > G) from = list[i]; else break }
        printf "%s", (k > 1 ? "; " : "")
        if (!from) { printf "%s float32 stayed within %g of float64 up to T = %d (gap %.2g there)", e[k], G, list[n], gap[list[n], e[k]]; continue }
        g = gap[from, e[k]]
        printf "%s float32 hypergradients are not to be trusted from T = %d on (gap %s", e[k], from, (g >= 1e300 ? "not finite" : sprintf("%.2g", g))
        if ((from, "perturb") in gap) {
          pg = gap[from, "perturb"]
          printf "; w0 moved by %g moves float64 by %.2g, so the gap is %s)", eps, pg, (g <= 10 * pg ? "the problem'"'"'s sensitivity, not the engine" : "float32'"'"'s own rounding through the run")
        } else printf "; no perturbation run)"
      }
      printf "."
    }' "$raw"
}

# ---- Markdown ---------------------------------------------------------------------------------
table() {  # model
  awk -v m="$1" '
    BEGIN { print "| T | bptt gap | forward gap | reversible gap | float64, w0 moved | cosine (bptt) | val loss float64 / float32 (bptt) |"
            print "|--:|--:|--:|--:|--:|--:|--:|" }
    !/^#/ && $1 == m { T = $2 + 0; if (!(T in seen)) { seen[T] = 1; order[++n] = T }
      v[T, $3] = ($4 == "ok") ? $5 : "**" $4 "**"
      if ($3 == "bptt" && $4 == "ok") { c[T] = $6; l[T] = sprintf("%.5g / %.5g", $7, $8) } }
    END { for (i = 1; i <= n; i++) { T = order[i]
      printf "| %d | %s | %s | %s | %s | %s | %s |\n", T, v[T, "bptt"], v[T, "forward"], v[T, "reversible"], v[T, "perturb"], c[T], l[T] } }' "$raw"
}
tmp=$md.tmp.$$
{
  echo "## float32 conditioning"
  echo
  echo "How far float32 hypergradients are from float64 ones of the same problem (the same data,"
  echo "seeds and schedule), and whether that is the problem's sensitivity or the engine's"
  echo "rounding. Fashion-MNIST, batch 128, 1000 validation examples, lr 0.05, momentum 0.9,"
  echo "weight decay 5e-4, constant, seed 0, the learning rate learned in 10 windows (per step at"
  echo "T = 10), $threads thread$([ "$threads" = 1 ] || echo s), T ∈ {${horizons//,/, }}; LeNet (61,706 parameters) and the MLP"
  echo "(784-256-10 tanh, 203,530). One run each."
  [ "${QUICK:-0}" = 1 ] && { echo; echo "**QUICK**: T ∈ {${horizons//,/, }} (the full run: T ∈ {10, 30, 100, 300, 1000})."; }
  echo
  echo "- **gap** of an engine: |g₃₂ − g₆₄| / |g₆₄|, its float32 hypergradient against its own"
  echo "  float64 one (bptt, forward, reversible; reversible's state is int64 fixed point in both,"
  echo "  its gradients are not)."
  echo "- **float64, w0 moved**: float64 bptt with w0 moved by $perturb relative along a seeded"
  echo "  direction (\`--perturb-w0 $perturb\`, about float32's rounding unit 6e-8), against float64"
  echo "  bptt: how much the problem itself amplifies a change of that size."
  echo "- **Criterion**: a model's float32 hypergradients by an engine are not to be trusted from"
  echo "  the smallest T from which on that engine's gap exceeds $max_gap at every measured T; the"
  echo "  gap there counts as the problem's sensitivity if it is at most 10 times the float64"
  echo "  perturbation gap, otherwise as float32's own rounding through the run."
  echo
  echo "$(scripts/machine-line.sh "$commit")"
  echo
  for m in $models; do
    echo "### $m"
    echo
    table "$m"
    echo
    echo "$(verdict "$m")"
    echo
  done
  echo "![float32 vs float64 gaps and the float64 perturbation gap vs T](plots/conditioning.png)"
  echo
  echo "Rows in \`bench/results/conditioning.txt\` and \`conditioning.json\`, each run's JSON in"
  echo "\`bench/results/conditioning/\`. Reproduce the section: \`$( [ "${QUICK:-0}" = 1 ] && echo 'QUICK=1 ')HORIZONS=$horizons PERTURB=$perturb"
  echo "MAX_GAP=$max_gap THREADS=$threads bash scripts/bench-conditioning.sh\`; one pair: \`build/hgbench hypergrad"
  echo "--precision 32|64 --engine E --model M --steps T ${problem[*]} --json F\` (add \`--perturb-w0"
  echo "$perturb\` for the moved start), then \`scripts/hypergrad-error.sh F64.json F32.json\`."
  echo
} > "$tmp" && mv "$tmp" "$md"
exit $status
