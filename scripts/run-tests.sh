#!/usr/bin/env bash
# Runs every test binary of the given build folders and adds up their
# results. A binary that crashes (a sanitizer report, a signal) counts as one
# failed test on top of what it printed. With FUZZ_SMOKE="DIR SECONDS" set
# (make test), the libFuzzer harnesses' smoke runs too (scripts/fuzz-smoke.sh:
# one ok / not ok line per harness, a SKIP line without clang), counted the
# same way. Closes with "N passed, M failed".
set -u
# hwloc's PCI plugin (libhwloc-plugins, pulled in by Open MPI's packages)
# leaks in hwloc_topology_load, which the sanitizer builds' leak check would
# count against every program that records the machine (io/machine.c); the
# tests need no PCI devices in that record.
export HWLOC_COMPONENTS=${HWLOC_COMPONENTS:--pci}
passed=0; failed=0; skipped=0; checks=0; parts=0; crashed=()
start=$(date +%s)
# count NAME OUT RC: adds up one binary's (or script's) printed results
count() {
  local t=$1 out=$2 rc=$3 p f s c
  p=$(printf '%s\n' "$out" | grep -c '^ok - ')
  f=$(printf '%s\n' "$out" | grep -c '^not ok - ')
  s=$(printf '%s\n' "$out" | grep -c '^skip - ')
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  c=$(printf '%s\n' "$out" | sed -n 's/^# checks: \([0-9]*\), parts skipped: \([0-9]*\)$/\1 \2/p' | tail -n 1)
  [ -n "$c" ] && { checks=$((checks + ${c%% *})); parts=$((parts + ${c##* })); }
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
    failed=$((failed + 1)); crashed+=("$t (exit $rc)")
  fi
}
for dir in "$@"; do
  for t in "$dir"/tests/test_*; do
    [ -x "$t" ] || continue
    echo "# === $t"
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    count "$t" "$out" $rc
  done
done
if [ -n "${FUZZ_SMOKE:-}" ]; then
  echo "# === fuzz smoke: scripts/fuzz-smoke.sh $FUZZ_SMOKE"
  # shellcheck disable=SC2086 # DIR SECONDS, two words
  out=$(bash "$(dirname "$0")/fuzz-smoke.sh" $FUZZ_SMOKE 2>&1); rc=$?
  printf '%s\n' "$out"
  count "scripts/fuzz-smoke.sh" "$out" $rc
fi
for c in "${crashed[@]+"${crashed[@]}"}"; do echo "# CRASHED: $c"; done
echo "# test time: $(( $(date +%s) - start )) s"
echo "# checks: $checks in all; skipped tests: $skipped, skipped parts: $parts (each named by a SKIP line above)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
