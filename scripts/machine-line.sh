#!/usr/bin/env bash
# machine-line.sh — one Markdown line with the machine record for a RESULTS.md
# section: CPU, cores, caches, NUMA nodes, GPUs (hwloc, read fresh from this
# machine by `hgbench-models --context-only`: not from an earlier models run,
# which may have been on another machine), compiler and flags, threads, and
# the commit given, and the date (RUN_DATE if set: a report redrawn from
# earlier results keeps the date they were measured; else now).
# Usage: machine-line.sh COMMIT
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
when=${RUN_DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
raw=$(build/f32/hgbench-models --context-only 2>/dev/null) || raw=""
ctx() { sed -n "s/^# $1: //p" <<< "$raw" | head -n 1; }
flags=$(make -s --no-print-directory print-config 2>/dev/null | sed -n '1s/^hgbench: //p')
if [ -n "$raw" ]; then
  echo "Machine: $(ctx cpu), $(ctx cores); caches $(ctx caches); NUMA $(ctx 'numa nodes'); GPUs: $(ctx gpus) (hwloc). Compiler $(ctx compiler), $flags. Commit ${1:-unknown}; $when."
else
  echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1) (no hwloc record: build/f32/hgbench-models is not built). $flags. Commit ${1:-unknown}; $when."
fi
