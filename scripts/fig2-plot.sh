#!/usr/bin/env bash
# fig2-plot.sh — kept only for scripts/bench-gpu.sh's "Figure 2 on the GPU"
# until hgbench-report renders that section too (bench/report_fig2.h's
# report_fig2_body is its renderer); the fig2 section's plots are drawn by
# hgbench-report (bench/report_fig2.c), which writes plots/fig2.gp itself.
# Turns hgbench-fig2's text results into PNG and SVG with
# plots/fig2-text.gp: PREFIX.png/.svg (MSE vs sharing window) and, when the
# per-step file exists, PREFIX-steps.png/.svg.
#
#   scripts/fig2-plot.sh RESULTS [STEPS] [PREFIX] [RESULTS32 [STEPS32]]
#
# RESULTS: hgbench-fig2 --out; STEPS: hgbench-fig2 --steps-out (default
# RESULTS with "-steps" before its extension, used only if it exists);
# PREFIX: output path without extension (default RESULTS without its
# extension); RESULTS32, STEPS32: a float32 run's, drawn beside a float64
# RESULTS. Exits 2 on bad usage, 1 if gnuplot fails or a PNG is missing.
set -uo pipefail
if [ $# -lt 1 ] || [ $# -gt 5 ] || [ "${1:-}" = --help ]; then
  echo "usage: $0 RESULTS [STEPS] [PREFIX] [RESULTS32 [STEPS32]]" >&2
  exit 2
fi
abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
in=$(abs "$1")
base=${in%.*}
steps=$(abs "${2:-$base-steps.${in##*.}}")
prefix=$(abs "${3:-$base}")
in32=${4:+$(abs "$4")}
steps32=${5:+$(abs "$5")}
[ -r "$in" ] || { echo "$0: cannot read $in" >&2; exit 2; }
for p in "$in32" "$steps32"; do
  [ -z "$p" ] || [ -r "$p" ] || { echo "$0: cannot read $p" >&2; exit 2; }
done
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
for p in "$in" "$steps" "$prefix" "$in32" "$steps32"; do
  case $p in *"'"*|*" "*) echo "$0: a path with a quote or a space is not supported: $p" >&2; exit 2 ;; esac
done
cd "$(dirname "$0")/.." || exit 1   # plots/*.gp load each other by repository paths

vars="IN='$in'; OUT='$prefix'"
[ -r "$steps" ] && vars+="; STEPS='$steps'"
[ -n "$in32" ] && vars+="; IN32='$in32'"
[ -n "$steps32" ] && vars+="; STEPS32='$steps32'"
gnuplot -e "$vars" plots/fig2-text.gp || exit 1
status=0
for f in "$prefix.png" "$prefix.svg"; do
  [ -s "$f" ] || { echo "$0: $f was not written" >&2; status=1; }
done
if [ -r "$steps" ]; then
  for f in "$prefix-steps.png" "$prefix-steps.svg"; do
    [ -s "$f" ] || { echo "$0: $f was not written" >&2; status=1; }
  done
fi
[ $status = 0 ] && echo "wrote $prefix.png/.svg${steps:+$([ -r "$steps" ] && echo " and $prefix-steps.png/.svg")}"
exit $status
