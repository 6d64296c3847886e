#!/usr/bin/env bash
# machine-line.sh — one Markdown line with the machine record for a RESULTS.md
# section: CPU, cores, caches, NUMA nodes, GPUs (hwloc, via hgbench-models'
# context in bench/results/models-f32.txt), compiler and flags, threads, and
# the date and commit given. Usage: machine-line.sh COMMIT
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
raw=bench/results/models-f32.txt
ctx() { sed -n "s/^# $1: //p" "$raw" 2>/dev/null | head -n 1; }
flags=$(make -s --no-print-directory print-config 2>/dev/null | sed -n '1s/^hgbench: //p')
if [ -s "$raw" ]; then
  echo "Machine: $(ctx cpu), $(ctx cores); caches $(ctx caches); NUMA $(ctx 'numa nodes'); GPUs: $(ctx gpus) (hwloc). Compiler $(ctx compiler), $flags. Commit ${1:-unknown}; $(date -u +%Y-%m-%dT%H:%M:%SZ)."
else
  echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1) (no hwloc record: the models section did not run). $flags. Commit ${1:-unknown}; $(date -u +%Y-%m-%dT%H:%M:%SZ)."
fi
