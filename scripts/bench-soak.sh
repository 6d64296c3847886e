#!/usr/bin/env bash
# bench-soak.sh — the soak section of `make bench` (not in make test): the
# reversible engine on the MLP (synthetic 28x28 data, 203,530 parameters,
# batch 128, lr learned in K = 10 windows, float32 build) at T = 10^5 inner
# steps (QUICK=1: 10^4), one run, with its resident memory sampled from
# /proc every SAMPLE_S seconds while it runs. It leaves in $RESULTS_DIR:
#   soak-run.json      the envelope (hgbench-manifest): commit, command, threads
#   soak.json          the run's hgbench hypergrad --json (w_0 restored bit for
#                      bit: the engine checks it and fails the run otherwise;
#                      the information buffer and its floor)
#   soak-summary.txt   the run's own summary (stdout)
#   soak-memory.json   the RSS samples: {"interval_s": S, "samples": [[t_ns, kib], ...]}
# hgbench-report (bench/report_soak.c) renders the section and its plot, and
# checks the buffer is within 1.06x its floor.
# Time: T = 10^5 took 2128 s (21.3 ms per step) on one thread of a 2-core
# Xeon VM with another benchmark on the other core (2026-12); T = 10^4 about
# a tenth of that. Exit 1 if the run failed.
#
# Environment: QUICK=1, THREADS (2), SOAK_T (the horizon), SAMPLE_S, RESULTS_DIR.
set -uo pipefail
pid=""
cd "$(dirname "$0")/.." || exit 1
out=${RESULTS_DIR:-bench/results}
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$out"/soak*.tmp.$$; }
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 141' PIPE

threads=${THREADS:-2}
if [ "${QUICK:-0}" = 1 ]; then T=${SOAK_T:-10000} dt=${SAMPLE_S:-0.5}; else T=${SOAK_T:-100000} dt=${SAMPLE_S:-2}; fi
bin=build/f32/hgbench
json=$out/soak.json mem=$out/soak-memory.json summary=$out/soak-summary.txt run=$out/soak-run.json
mkdir -p "$out"
[ -x "$bin" ] || { echo "bench-soak: $bin not built (make)" >&2; exit 1; }
rm -f "$json" "$mem" "$summary" "$run" # a failed run leaves none of an earlier run's

# The run in the background; its RSS sampled until it exits.
cmd=("$bin" hypergrad --engine reversible --model mlp --data synthetic --steps "$T" --batch 128
     --learn lr:10 --threads "$threads" --json "$json")
"${cmd[@]}" > "$summary.tmp.$$" &
pid=$!
{
  printf '{"interval_s": %s, "samples": [' "$dt"
  sep=""
  while kill -0 "$pid" 2>/dev/null; do
    rss=""
    { while read -r key value _; do [ "$key" = "VmRSS:" ] && rss=$value; done < "/proc/$pid/status"; } 2>/dev/null
    [ -n "$rss" ] && { printf '%s[%s, %s]' "$sep" "$(date +%s%N)" "$rss"; sep=", "; }
    sleep "$dt"
  done
  printf ']}\n'
} > "$mem.tmp.$$"
wait "$pid"; rc=$?; pid=""
mv "$mem.tmp.$$" "$mem"
mv "$summary.tmp.$$" "$summary"
[ $rc -eq 0 ] && build/hgbench-manifest --out "$run" --program scripts/bench-soak.sh \
  --commit "${COMMIT:-unknown}" --threads "$threads" --precision float32 -- "${cmd[@]}"
[ $rc -eq 0 ] || echo "bench-soak: the run failed (exit $rc)" >&2
exit $([ $rc -eq 0 ] && echo 0 || echo 1)
