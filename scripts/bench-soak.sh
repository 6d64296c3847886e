#!/usr/bin/env bash
# bench-soak.sh — the soak section of `make bench` (not in make test): the
# reversible engine on the MLP (synthetic 28x28 data, 203,530 parameters,
# batch 128, lr learned in K = 10 windows, float32 build) at T = 10^5 inner
# steps (QUICK=1: 10^4), one run, with its resident memory sampled from
# /proc every SAMPLE_S seconds while it runs.
#   - w_0 restored bit for bit: the engine compares W with w_0 after its
#     reverse pass and fails the run otherwise, so exit 0 is the check;
#   - the information buffer within 1.06x of its floor (log2(1/m) bits per
#     parameter per step), from the run's JSON;
#   - memory over time: RSS samples (bench/results/soak-memory.txt, plot
#     plots/soak-memory.{png,svg}), with the tagged peaks of the run.
# Time: T = 10^5 took 2128 s (21.3 ms per step) on one thread of a 2-core
# Xeon VM with another benchmark on the other core (2026-12); T = 10^4 about
# a tenth of that.
# Writes bench/results/soak.{json,md} and soak-memory.txt. Exit 1 if the run
# failed or a check did not hold.
#
# Environment: QUICK=1, THREADS (2), COMMIT, SOAK_T (the horizon), SAMPLE_S.
set -uo pipefail
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f bench/results/*.tmp.$$; }
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 141' PIPE
cd "$(dirname "$0")/.." || exit 1

threads=${THREADS:-2}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ "${QUICK:-0}" = 1 ]; then T=${SOAK_T:-10000} dt=${SAMPLE_S:-0.5}; else T=${SOAK_T:-100000} dt=${SAMPLE_S:-2}; fi
cut=""
[ "${QUICK:-0}" != 1 ] && [ "$T" != 100000 ] && cut="**Cut for time** (SOAK_T=$T): the full soak is T = 10^5."
bin=build/f32/hgbench
json=bench/results/soak.json mem=bench/results/soak-memory.txt md=bench/results/soak.md
mkdir -p bench/results plots
[ -x "$bin" ] || { echo "bench-soak: $bin not built (make)" >&2; exit 1; }

# The run in the background; its RSS sampled until it exits.
"$bin" hypergrad --engine reversible --model mlp --data synthetic --steps "$T" --batch 128 \
  --learn lr:10 --threads "$threads" --json "$json" > "$md.tmp.$$" 2> "$mem.err.tmp.$$" &
pid=$!
{
  echo "# soak: RSS of hgbench hypergrad --engine reversible --model mlp --steps $T, every $dt s; commit $commit"
  echo "# columns: t_s rss_mib"
  t0=$(date +%s.%N)
  while kill -0 "$pid" 2>/dev/null; do
    rss=""
    { while read -r key value _; do [ "$key" = "VmRSS:" ] && rss=$value; done < "/proc/$pid/status"; } 2>/dev/null
    [ -n "$rss" ] && awk -v a="$(date +%s.%N)" -v b="$t0" -v r="$rss" 'BEGIN { printf "%.1f %.2f\n", a - b, r / 1024 }'
    sleep "$dt"
  done
} > "$mem.tmp.$$"
wait "$pid"; rc=$?; pid=""
mv "$mem.tmp.$$" "$mem"
summary=$(cat "$md.tmp.$$"); rm -f "$md.tmp.$$"
errors=$(cat "$mem.err.tmp.$$"); rm -f "$mem.err.tmp.$$"

num() { sed -n "s/^ *\"$1\": \([0-9.e+-]*\),\{0,1\}$/\1/p" "$json" | head -n 1; }
status=0
if [ $rc -ne 0 ] || [ ! -f "$json" ]; then
  status=1 restored="**no**: the run failed (exit $rc)" ratio=nan buf=nan floor=nan time_s=nan rss=nan
else
  restored="yes (bit for bit: the engine checks it and would have failed the run)"
  buf=$(num infobuf_bytes) floor=$(num infobuf_floor_bytes) time_s=$(num time_s)
  rss=$(num peak_rss)
  ratio=$(awk -v b="$buf" -v f="$floor" 'BEGIN { printf "%.4f", b / f }')
  awk -v r="$ratio" 'BEGIN { exit !(r <= 1.06) }' || status=1
fi
mib() { awk -v x="$1" 'BEGIN { printf "%.1f", x / 1048576 }'; }
samples=$(grep -vc '^#' "$mem")
rss_stats=$(awk '!/^#/ { n++; if (n == 1) first = $2; last = $2; if ($2 > max) max = $2; s[n] = $2 }
  END { if (!n) { print "no samples"; exit }
        printf "first %.1f MiB, at the midpoint %.1f MiB, last %.1f MiB, largest %.1f MiB", first, s[int((n + 1) / 2)], last, max }' "$mem")

for term in png svg; do
  gnuplot -e "IN='$mem'; OUT='plots/soak-memory'" \
    -e "load 'plots/style.gp'; call 'plots/terminal.gp' '$term'" \
    -e "set xlabel 'seconds since the start'; set ylabel 'resident set (MiB)';
        set title 'Soak: reversible engine, MLP, T = $T (forward pass, then the reverse pass)';
        set yrange [0:*];
        plot IN using 1:2 with lines ls ENGINE_LS('reversible') title 'RSS'" || status=1
done

{
  echo "## soak"
  echo
  echo "The reversible engine alone over a long horizon: MLP (203,530 parameters) on synthetic"
  echo "28x28 data, batch 128, lr learned in 10 windows, float32, T = $T inner steps, $threads"
  echo "thread$([ "$threads" = 1 ] || echo s); commit $commit. Command: \`scripts/bench-soak.sh\` (SOAK_T, QUICK=1 for T = 10^4)."
  [ -n "$cut" ] && { echo; echo "$cut"; }
  echo
  echo "| check | result |"
  echo "|---|---|"
  echo "| w_0 restored after the reverse pass | $restored |"
  echo "| information buffer / floor (at most 1.06) | $ratio ($(mib "$buf") MiB against $(mib "$floor") MiB) $(awk -v r="$ratio" 'BEGIN { print (r <= 1.06) ? "ok" : "**over**" }') |"
  echo "| run time | $(awk -v x="$time_s" -v t="$T" 'BEGIN { printf "%.1f s (%.2f ms per inner step)", x, 1000 * x / t }') |"
  echo "| peak RSS | $(mib "$rss") MiB |"
  echo "| RSS over the run ($samples samples, every $dt s) | $rss_stats |"
  echo
  echo "The run's own summary (tagged peaks by kind):"
  echo
  echo '```'
  printf '%s\n' "$summary" | grep -E '^(memory|infobuf|time|hypergrad|val loss)' || printf '%s\n' "$summary" | tail -n 8
  echo '```'
  [ $rc -ne 0 ] && { echo; echo "Its errors:"; echo; echo '```'; printf '%s\n' "$errors" | tail -n 10; echo '```'; }
  echo
  echo "![RSS over the soak run](plots/soak-memory.png) (raw: bench/results/soak-memory.txt)"
} > "$md.tmp.$$" && mv "$md.tmp.$$" "$md"
exit $status
