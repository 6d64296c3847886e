#!/usr/bin/env bash
# Runs every libFuzzer harness of DIR (build/fuzz/fuzz_*, from tests/fuzz/)
# for SECONDS seconds on its seed corpus (scripts/fuzz-corpus.sh, written
# first under DIR/corpus; inputs the run finds are added there), each with a
# -max_len that fits its format. Prints one line per harness as the tests
# do: "ok - fuzz_X: N runs in S s", "not ok - fuzz_X: ..." (the crashing
# input saved under DIR/artifacts/, the log under DIR/logs/), or, without
# clang, a SKIP line and "skip - fuzz harnesses". Exit status 1 on a failure.
set -u
dir=${1:-build/fuzz}; secs=${2:-10}
cc=${FUZZ_CC:-clang}
if ! command -v "$cc" >/dev/null; then
  echo "#   SKIP: $cc not found: the fuzz harnesses (tests/fuzz/) were not built or run (make deps installs clang)"
  echo "skip - fuzz harnesses"
  exit 0
fi
# The harnesses are the tests/fuzz/ sources, so that one that failed to build shows.
names=()
here=$(cd "$(dirname "$0")/.." && pwd)
for src in "$here"/tests/fuzz/fuzz_*.c; do names+=("$(basename "$src" .c)"); done
bash "$here/scripts/fuzz-corpus.sh" "$dir/corpus" >/dev/null || { echo "not ok - fuzz corpus: scripts/fuzz-corpus.sh failed"; exit 1; }
mkdir -p "$dir/logs" "$dir/artifacts"
fail=0
for h in "${names[@]}"; do
  case $h in
    fuzz_idx) max=2048 ;;
    fuzz_svhn|fuzz_cifar|fuzz_mnist_json) max=12288 ;;
    fuzz_npy) max=1024 ;;
    fuzz_flags) max=256 ;;
    *) max=64 ;;
  esac
  bin=$dir/$h log=$dir/logs/$h.log
  if [ ! -x "$bin" ]; then
    echo "not ok - $h: $bin not built"; fail=1; continue
  fi
  mkdir -p "$dir/corpus/$h" "$dir/artifacts/$h"
  start=$(date +%s)
  "$bin" -max_total_time="$secs" -max_len="$max" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/$h/" "$dir/corpus/$h" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)$/\1/p' "$log" | tail -n 1)
  if [ $rc -eq 0 ] && [ -n "$runs" ]; then
    echo "ok - $h: ${runs} runs in $(( $(date +%s) - start )) s, max_len $max"
  else
    echo "not ok - $h: exit $rc after ${runs:-?} runs; log $log:"
    grep -E "ERROR|SUMMARY|Test unit written|^#" "$log" | grep -v '^#[0-9]' | tail -n 8 | sed 's/^/#   /'
    fail=1
  fi
done
exit $fail
