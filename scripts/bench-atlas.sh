#!/usr/bin/env bash
# bench-atlas.sh — the trade-off atlas of `make bench` (issue 13): every
# method's time per hypergradient, engine memory and error against the exact
# float64 hypergradient, on one problem: LeNet, Fashion-MNIST, batch 128,
# 1000 validation examples, lr 0.05 / momentum 0.9 / wd 5e-4 constant, seed
# 0 (the engines section's problem), float64 and float32, T in $HORIZONS.
#
# Methods: bptt; checkpoint at C = round(log2 T), round(sqrt T), round(T/10)
# (duplicates once); reversible; bptt truncated to K in {1, 10, 100}, K < T;
# forward with N in {1, 10, 100} windows, N <= T; greedy on the validation set
# and on the next batch; HD (greedy on the next batch, one learning rate
# adapted online at rate $HD_RATE). g* = float64 bptt, --learn lr:T.
# Layouts: every method but forward and HD learns lr per step (--learn lr:T)
# and is compared per step with g*; forward learns N windows and is compared
# with g* summed over the same windows (its exact value); HD learns one rate
# (as HD does) and its per-step look-ahead values are compared per step.
#
# Cuts (stated in the section): float32 runs checkpoint at C = sqrt(T) only
# (its hypergradient is bptt's bit for bit, tests/test_checkpoint.c, and its
# time against bptt is measured in float64); forward is skipped where
# N T > $FWD_MAX_NT (default 10^4: N = 100 at T = 1000 would take about ten
# times the N = 10 run, some 20 minutes in float64); T = 10^4 is left out of
# the default HORIZONS for time (its memory fits: see the section).
#
# Time, measured single runs on a 2-core machine with another benchmark on
# the other core (--threads 1), T = 100, float64 (engine time): bptt 8.8 s,
# checkpoint C = 10 11 s, reversible 6 s, truncated K = 10 4.7 s, forward
# N = 1 / 10 / 100 4.2 / 18 / 124 s, greedy validation 20 s, next batch and
# HD 2.9 s; float32 about 0.35x. Extrapolated: T = 100 about 5 minutes (both
# precisions); T = 1000 about 22 minutes in float64 (x 10 per step, and
# checkpoint's recomputation: C = 10 recomputes about 3.5 T steps, some 200 s)
# and 6 in float32; with data loading (1.5 s a run) about 35 minutes in all at
# one thread beside another benchmark, roughly 20-25 on a quiet 2-core machine
# at 2 threads. QUICK (T = 20, 50) took 3.5 minutes at one thread beside
# another benchmark.
#
# Raw results: bench/results/atlas/T<T>-f<32|64>-<method>.json (each run's
# hgbench hypergrad --json, .err its stderr), bench/results/atlas.txt
# (columns, # context) and atlas.json; plots plots/atlas-T<T>-f<p>-{memory,
# error}.{png,svg}; Markdown bench/results/atlas.md. Exit 1 if a run failed
# for a reason other than the engine's (usage, data) or a plot failed; an
# engine's own failure (divergence) is a row of the table.
#
# Environment: QUICK=1, THREADS (2), COMMIT, DATA_DIR, HORIZONS (comma list),
# HD_RATE (1e-5), FWD_MAX_NT (10000), ATLAS_REPORT_ONLY=1 (no runs: tables,
# plots and Markdown from the JSON files already there).
set -uo pipefail
trap 'rm -f bench/results/*.tmp.$$; exit 130' INT
trap 'rm -f bench/results/*.tmp.$$; exit 143' TERM
trap 'rm -f bench/results/*.tmp.$$; exit 141' PIPE
cd "$(dirname "$0")/.." || exit 1
. scripts/hypergrad-runs.sh

threads=${THREADS:-2}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ "${QUICK:-0}" = 1 ]; then horizons=${HORIZONS:-20,50}; else horizons=${HORIZONS:-100,1000}; fi
hd_rate=${HD_RATE:-1e-5}
fwd_max_nt=${FWD_MAX_NT:-10000}
dir=bench/results/atlas raw=bench/results/atlas.txt md=bench/results/atlas.md
hg_data
problem=(--model lenet --data fashion-mnist --batch 128 --val 1000 --lr 0.05 --mom 0.9 --wd 5e-4
         --schedule constant --seed 0 --threads "$threads" "${data[@]}")
mkdir -p "$dir" plots
status=0
Ts=${horizons//,/ }

# The methods at T and precision p, one a line: name engine-flags (the
# --learn flag included) and the layout it is compared in (step: per step
# against g*; windows: g* summed over its windows; online: per-step
# look-ahead values of an online run).
checkpoint_counts() {  # T: the distinct C of round(log2 T), round(sqrt T), round(T/10), in 1..T-1
  awk -v T="$1" 'BEGIN { c[1] = int(log(T) / log(2) + 0.5); c[2] = int(sqrt(T) + 0.5); c[3] = int(T / 10 + 0.5)
    w[1] = "log2 T"; w[2] = "sqrt T"; w[3] = "T/10"
    for (i = 1; i <= 3; i++) if (c[i] >= 1 && c[i] < T) { if (c[i] in what) what[c[i]] = what[c[i]] ", " w[i]; else what[c[i]] = w[i] }
    for (x in what) print x, what[x] }' | sort -n
}
methods() {  # T prec
  local T=$1 p=$2 c why k n sqrtc
  echo "bptt step --engine bptt --learn lr:T"
  sqrtc=$(awk -v T="$T" 'BEGIN { print int(sqrt(T) + 0.5) }')
  while read -r c why; do
    [ "$p" = 32 ] && [ "$c" != "$sqrtc" ] && continue
    echo "checkpoint-C$c step --engine checkpoint --checkpoints $c --learn lr:T"
  done < <(checkpoint_counts "$T")
  echo "reversible step --engine reversible --learn lr:T"
  for k in 1 10 100; do [ "$k" -lt "$T" ] && echo "truncated-K$k step --engine bptt --truncate $k --learn lr:T"; done
  for n in 1 10 100; do [ "$n" -le "$T" ] && echo "forward-N$n windows --engine forward --learn lr:$n"; done
  echo "greedy-val step --engine greedy --greedy-target val --learn lr:T"
  echo "greedy-train step --engine greedy --greedy-target train --learn lr:T"
  echo "hd online --engine greedy --greedy-target train --greedy-online-lr $hd_rate --learn lr:1"
}

# ---- runs ------------------------------------------------------------------------
if [ "${ATLAS_REPORT_ONLY:-0}" != 1 ]; then
  rm -f "$dir"/*.json "$dir"/*.err
  total=0
  for T in $Ts; do for p in 64 32; do total=$(( total + $(methods "$T" "$p" | wc -l) )); done; done
  i=0 t0=$(date +%s)
  for T in $Ts; do
    for p in 64 32; do  # float64 first: its bptt is g*
      while read -r name layout flags; do
        i=$((i + 1))
        json=$dir/T$T-f$p-$name.json
        n=$(sed -n 's/.*--learn lr:\([0-9]*\).*/\1/p' <<< "$flags")
        if [[ $name == forward-* ]] && [ $(( n * T )) -gt "$fwd_max_nt" ]; then
          est=$(jq -r --arg n "$n" '"about \(.time_s * ($n | tonumber) / 10 | floor) s, N / 10 times the N = 10 row"' \
                "$dir/T$T-f$p-forward-N10.json" 2>/dev/null) || est="no N = 10 row to estimate it from"
          echo "skipped: N T = $(( n * T )) > FWD_MAX_NT = $fwd_max_nt (estimated $est)" > "$json.err"
          continue
        fi
        printf 'atlas: [%d/%d] T = %s float%s %s (%d s so far)\n' "$i" "$total" "$T" "$p" "$name" $(( $(date +%s) - t0 )) >&2
        # shellcheck disable=SC2086 # flags is a list of words
        hg_run "$json" "$p" "${problem[@]}" --steps "$T" $flags
        rc=$?
        [ $rc -eq 0 ] || [ $rc -eq 1 ] || { status=1; echo "atlas: $name T = $T float$p: exit $rc: $(hg_why "$json")" >&2; }
      done < <(methods "$T" "$p")
    done
  done
fi

# ---- the table -------------------------------------------------------------------------
tmp=$raw.tmp.$$
{
  echo "# hgbench trade-off atlas: lenet on fashion-mnist, batch 128, val 1000, lr 0.05 mom 0.9 wd 5e-4 constant, seed 0, $threads threads, commit $commit"
  echo "# g*: float64 bptt --learn lr:T of the same T (file T<T>-f64-bptt.json); rel_err |g - g*| / |g*|, cosine g.g* / (|g| |g*|), in the layout of column compare (step: per step; windows: g* summed over the method's N windows; online: the online run's per-step look-ahead values, per step)"
  echo "# memory in MiB, allocator peaks during the run: engine = params + trajectory + checkpoints + infobuf + tangents + other (not the model's activations or the data); state = trajectory + checkpoints + infobuf + tangents; time_s: the engine's run, one run each"
  echo "# HD rate $hd_rate; FWD_MAX_NT $fwd_max_nt"
  printf '# %-5s %-5s %-16s %-10s %-8s %5s %-8s %10s %11s %10s %9s %9s %12s %10s %10s %10s\n' \
    T prec method engine compare N status time_s engine_MiB state_MiB activ_MiB rss_MiB val_loss rel_err cosine recomputed
  for T in $Ts; do
    ref=$dir/T$T-f64-bptt.json
    for p in 64 32; do
      while read -r name layout flags; do
        json=$dir/T$T-f$p-$name.json
        engine=$(sed -n 's/.*--engine \([a-z]*\).*/\1/p' <<< "$flags")
        n=$(sed -n 's/.*--learn lr:\([0-9T]*\).*/\1/p' <<< "$flags")
        [ "$n" = T ] || [ "$layout" = online ] && n=$T  # the length of the vector compared
        if [ -s "$json" ]; then
          read -r time mem state act rss loss rec <<< "$(hg_fields "$json")"
          err="n/a n/a"
          if [ -s "$ref" ]; then
            e=$(scripts/hypergrad-error.sh $([ "$layout" = online ] && echo --per-step) "$ref" "$json") && err=${e% *}
          fi
          printf '  %-5s %-5s %-16s %-10s %-8s %5s %-8s %10.4g %11.4g %10.4g %9.4g %9.4g %12.6g %10s %10s %10s\n' \
            "$T" "f$p" "$name" "$engine" "$layout" "$n" ok "$time" "$mem" "$state" "$act" "$rss" "$loss" ${err} "$rec"
        elif [ -f "$json.err" ]; then
          why=$(hg_why "$json"); st=failed; [[ $why == skipped:* ]] && { st=skipped; why=${why#skipped: }; }
          printf '  %-5s %-5s %-16s %-10s %-8s %5s %-8s %s\n' "$T" "f$p" "$name" "$engine" "$layout" "$n" "$st" "$why"
        fi
      done < <(methods "$T" "$p")
    done
  done
} > "$tmp" && mv "$tmp" "$raw"
# the same rows as JSON (numbers as numbers; a failed or skipped row keeps its reason)
jq -R -s '[split("\n")[] | select(length > 0 and (startswith("#") | not)) | [splits(" +")] | map(select(length > 0)) |
  {T: (.[0] | tonumber), precision: (if .[1] == "f64" then "float64" else "float32" end), method: .[2],
   engine: .[3], compare: .[4], N: (.[5] | tonumber), status: .[6]} +
  (if .[6] == "ok" then {time_s: (.[7] | tonumber), engine_mib: (.[8] | tonumber), state_mib: (.[9] | tonumber),
     activations_mib: (.[10] | tonumber), peak_rss_mib: (.[11] | tonumber), val_loss: (.[12] | tonumber),
     rel_err: (.[13] | tonumber? // null), cosine: (.[14] | tonumber? // null), recomputed_steps: (.[15] | tonumber)}
   else {reason: (.[7:] | join(" "))} end)]' "$raw" > "bench/results/atlas.json.tmp.$$" &&
  mv "bench/results/atlas.json.tmp.$$" bench/results/atlas.json || status=1

# ---- plots -------------------------------------------------------------------------------
# The Pareto front of two columns (both smaller is better) of the ok rows of
# one T and precision: the rows no other row beats in both, by time.
front() {  # T prec xcol ycol
  awk -v T="$1" -v p="f$2" -v xc="$3" -v yc="$4" '
    !/^#/ && $1 == T && $2 == p && $7 == "ok" && $xc != "nan" && $yc != "nan" {
      n++; x[n] = $xc + 0; y[n] = ($yc + 0 > 1e-17 ? $yc + 0 : 1e-17); line[n] = $3 }
    END { for (i = 1; i <= n; i++) { dom = 0
            for (j = 1; j <= n; j++) if (j != i && x[j] <= x[i] && y[j] <= y[i] && (x[j] < x[i] || y[j] < y[i])) dom = 1
            if (!dom) print x[i], y[i], line[i] } }' "$raw" | sort -g
}
plot() {  # T prec kind ycol ylabel title
  local T=$1 p=$2 sel fr=bench/results/atlas-front.tmp.$$
  front "$T" "$p" 8 "$4" > "$fr"
  [ -s "$fr" ] || { rm -f "$fr"; return 0; }
  sel="< awk '!/^#/ && \$1 == $T && \$2 ~ /^f$p\$/ && \$7 ~ /^ok\$/' $raw" # no double quotes: a gnuplot string
  for term in png svg; do
    gnuplot -e "OUT='plots/atlas-T$T-f$p-$3'" -e "load 'plots/style.gp'; call 'plots/terminal.gp' '$term'" -e "
      set logscale xy; set xlabel 'seconds per hypergradient'; set ylabel '$5'; set title '$6' noenhanced;
      set format y '10^{%L}'; set format x '%g'; set key bottom right; set offsets graph 0.05, graph 0.15, graph 0.1, graph 0.1;
      atleast(v) = (v > 1e-17 ? v : 1e-17);
      plot '$fr' using 1:2 with steps ls 6 title 'Pareto front', \
        for [e in 'bptt checkpoint reversible forward greedy'] \"$sel\" using (strcol(4) eq e ? \$8 : NaN):(atleast(\$$4)) with points ls ENGINE_LS(e) ps 1.2 title e, \
        \"$sel\" using 8:(atleast(\$$4) * (int(\$0) % 2 ? 1.35 : 0.74)):3 with labels offset char 0.6,0 left font ',8' noenhanced notitle" || status=1
  done
  rm -f "$fr"
}
for T in $Ts; do
  for p in 64 32; do
    plot "$T" "$p" memory 9 'engine memory (MiB)' "Memory vs time, T = $T, float$p (LeNet, Fashion-MNIST)"
    plot "$T" "$p" error 14 'relative error vs float64 bptt' "Error vs time, T = $T, float$p (0 drawn at 1e-17)"
  done
done

# ---- Markdown ------------------------------------------------------------------------------
table() {  # T prec
  awk -v T="$1" -v p="f$2" '
    BEGIN { print "| method | compared | N | s per hypergradient | engine MiB | state MiB | activations MiB | val loss | rel. error | cosine | recomputed steps |"
            print "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|" }
    !/^#/ && $1 == T && $2 == p {
      if ($7 != "ok") { msg = $8; for (i = 9; i <= NF; i++) msg = msg " " $i
                        printf "| %s | %s | %s | **%s**: %s | | | | | | | |\n", $3, $5, $6, $7, msg; next }
      printf "| %s | %s | %s | %.3g | %.3g | %.3g | %.3g | %.5g | %s | %s | %s |\n", $3, $5, $6, $8, $9, $10, $11, $13, $14, $15, ($16 > 0 ? $16 : "") }' "$raw"
}
# In words, from the rows: the memory-time front among the per-step methods
# within 1e-3 of g* (exact up to rounding) at one T and precision. Forward's
# rows answer a coarser question (N windows) and are left out of it.
front_words() {  # T prec
  awk -v T="$1" -v p="f$2" '
    !/^#/ && $1 == T && $2 == p && $7 == "ok" && $5 == "step" && $14 != "nan" && $14 + 0 < 1e-3 { n++; x[n] = $8 + 0; m[n] = $9 + 0; name[n] = $3 }
    END {
      if (!n) { print "no per-step method came within 1e-3 of g\\* here."; exit }
      k = 0
      for (i = 1; i <= n; i++) { dom = 0
        for (j = 1; j <= n; j++) if (j != i && x[j] <= x[i] && m[j] <= m[i] && (x[j] < x[i] || m[j] < m[i])) dom = 1
        if (!dom) { k++; fx[k] = x[i]; fm[k] = m[i]; fn[k] = name[i] } }
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (fm[j] > fm[i]) {
        t = fx[i]; fx[i] = fx[j]; fx[j] = t; t = fm[i]; fm[i] = fm[j]; fm[j] = t; t = fn[i]; fn[i] = fn[j]; fn[j] = t }
      s = ""
      for (i = 1; i <= k; i++) s = s sprintf("%s%s (%.3g MiB, %.3g s)", (i > 1 ? (i == k ? ", and with the least memory " : ", then ") : "the fastest is "), fn[i], fm[i], fx[i])
      print s "."
    }' "$raw"
}
ckpt_line() {  # T: what each C stands for
  checkpoint_counts "$1" | awk '{ c = $1; $1 = ""; sub(/^ /, ""); printf "%sC = %s (%s)", (NR > 1 ? ", " : ""), c, $0 }'
}
mem_fit() {  # T = 10^4: bptt's trajectory 2 T P reals against this machine's memory, and the time
  local P Tmax
  P=$(jq -r .model_params "$dir/T${Ts%% *}-f64-bptt.json" 2>/dev/null) || P=61706
  Tmax=$(tr ' ' '\n' <<< "$Ts" | sort -n | tail -n 1)
  awk -v P="$P" -v M="$(awk '/MemTotal/ { print $2 * 1024 }' /proc/meminfo)" -v T="$Tmax" '
    !/^#/ && $1 == T && $7 == "ok" { s += $8 }
    END { printf "bptt'"'"'s trajectory is 2 T P = %.1f GiB in float64 (%.1f GiB in float32) of %.1f GiB here, so it fits; ", 2e4 * P * 8 / 2^30, 2e4 * P * 4 / 2^30, M / 2^30
          printf "it is left out for time: every method costs about 10^4 / T times its T = %d row, %.0f minutes in all by this run'"'"'s rows", T, s * 1e4 / T / 60 }' "$raw"
}
tmp=$md.tmp.$$
{
  echo "## Trade-off atlas"
  echo
  echo "Which method to use for a hypergradient: time per hypergradient, engine memory, and error"
  echo "against the exact one, for every method on one problem: LeNet (61,706 parameters) on"
  echo "Fashion-MNIST, batch 128, 1000 validation examples, lr 0.05, momentum 0.9, weight decay 5e-4,"
  echo "constant, seed 0 (init, batch order derived from it, validation split 1), threads: $threads,"
  echo "T ∈ {${horizons//,/, }}, float64 and float32. One run each (no repeats); the time is the"
  echo "engine's run (data loading left out), memory the allocator's tagged peaks."
  [ "${QUICK:-0}" = 1 ] && { echo; echo "**QUICK**: T ∈ {${horizons//,/, }} (the full run: T ∈ {100, 1000})."; }
  echo
  echo "**The exact hypergradient** g\* is float64 bptt with the learning rate learned per step"
  echo "(\`--learn lr:T\`) on the same problem and seeds. **Layouts**: every method but forward"
  echo "and HD also learns the learning rate per step and is compared with g\* per step"
  echo "(\"step\"): truncated bptt and greedy learn the same quantity as the exact engines but"
  echo "estimate it (truncation sets the first T − K steps to 0; greedy differentiates one step"
  echo "ahead). Forward mode's cost grows with the number of learned values, so it learns N"
  echo "windows (\`--learn lr:N\`) and is compared with g\* summed over the same windows"
  echo "(\"windows\"): the window sums are the exact hypergradient of that layout, so forward"
  echo "answers a coarser question exactly, and its N = 1 row is not per-step information."
  echo "HD adapts one learning rate online (\`--greedy-online-lr $hd_rate\`, HD_RATE: small, so that"
  echo "the adapted run stays near g\*'s), which is HD's setting; its per-step look-ahead values are"
  echo "compared with g\* per step (\"online\"). Its"
  echo "run is not g\*'s (the rate moved while it ran: the val loss column shows how far), so its"
  echo "error also holds that difference. Reversible runs in int64 fixed point, a slightly"
  echo "different training run in float32 (its val loss differs)."
  echo
  echo "**Memory**: engine = params (w, v and the engine's working vectors) + trajectory +"
  echo "checkpoints + information buffer + tangents + other, the tagged peaks; state = the part"
  echo "that grows with T or N. The model's activations (forward's tangent block grows them with"
  echo "N) and the data are listed apart. Truncated bptt stores the whole trajectory before its K"
  echo "reverse steps, as measured; a truncating implementation could keep the last K steps only."
  echo
  echo "**Cuts**: float32 runs checkpoint at C = round(√T) only (its hypergradient equals bptt's"
  echo "bit for bit, \`tests/test_checkpoint.c\`, and its time against bptt is measured in float64);"
  echo "forward is skipped where N T > $fwd_max_nt (its cost grows as N T; the skipped row gives"
  echo "the estimate from its N = 10 row; \`FWD_MAX_NT=100000\` adds N = 100 at T = 1000). T = 10⁴:"
  echo "$(mem_fit) (\`HORIZONS=100,1000,10000\` adds it)."
  echo
  echo "$(scripts/machine-line.sh "$commit")"
  echo
  for T in $Ts; do
    for p in 64 32; do
      echo "### T = $T, float$p"
      echo
      [ "$p" = 64 ] && { echo "Checkpoints: $(ckpt_line "$T")."; echo; }
      table "$T" "$p"
      echo
      echo "Memory–time front of the per-step methods within 10⁻³ of g\* (forward's window rows left"
      echo "out: a coarser question): $(front_words "$T" "$p")"
      echo
      [ -f "plots/atlas-T$T-f$p-memory.png" ] && echo "![memory vs time, T = $T, float$p](plots/atlas-T$T-f$p-memory.png) ![error vs time, T = $T, float$p](plots/atlas-T$T-f$p-error.png)"
      echo
    done
  done
  echo "Rows in \`bench/results/atlas.txt\` and \`atlas.json\`, each run's JSON in \`bench/results/atlas/\`."
  echo "Reproduce the section: \`$( [ "${QUICK:-0}" = 1 ] && echo 'QUICK=1 ')HORIZONS=$horizons HD_RATE=$hd_rate FWD_MAX_NT=$fwd_max_nt THREADS=$threads bash scripts/bench-atlas.sh\`;"
  echo "one row: \`build/hgbench hypergrad --precision 64 ${problem[*]} --steps T\` plus the row's"
  echo "flags (bptt: \`--engine bptt --learn lr:T\`; checkpoint: \`--engine checkpoint --checkpoints C"
  echo "--learn lr:T\`; truncated: \`--engine bptt --truncate K --learn lr:T\`; forward: \`--engine"
  echo "forward --learn lr:N\`; greedy: \`--engine greedy --greedy-target val|train --learn lr:T\`; HD:"
  echo "\`--engine greedy --greedy-target train --greedy-online-lr $hd_rate --learn lr:1\`), then"
  echo "\`scripts/hypergrad-error.sh [--per-step] G_STAR.json ROW.json\` for its error."
  echo
} > "$tmp" && mv "$tmp" "$md"
exit $status
