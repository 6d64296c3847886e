#!/usr/bin/env bash
# bench-sweep.sh — the sweep section of `make bench`: independent runs over
# processes (build/hgbench-sweep, bench/farm.h). The same 8 jobs (LeNet on
# Fashion-MNIST, float64, four engines, two seeds each) run as 1 rank x 2
# threads (one process, --threads 2) and as 2 ranks x 1 thread ($MPIRUN,
# default `mpirun -np 2`, --threads 1). Only runs them: the runner's
# summaries (JSON with the shared envelope) go to $RESULTS_DIR as
# sweep-1x2.json and sweep-2x1.json; hgbench-report (bench/report_sweep.c)
# renders their wall times and efficiency, and projects Figures 2 and 3 onto
# 16, 64 and 256 ranks from the job times of the fig2 and fig3 results beside
# them. Environment: QUICK=1 (T = 10), MPIRUN, RESULTS_DIR.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
r=${RESULTS_DIR:-bench/results}
mkdir -p "$r"
steps=30; [ "${QUICK:-0}" = 1 ] && steps=10
launch=${MPIRUN:-mpirun -np 2}
[ -z "${MPIRUN:-}" ] && [ "$(id -u)" = 0 ] && launch="mpirun --allow-run-as-root -np 2"
data=()
[ -n "${DATA_DIR:-}" ] && data=(--data-dir "$DATA_DIR")
trap 'rm -rf "$r/sweep-out-1" "$r/sweep-out-2"; exit 130' INT
trap 'rm -rf "$r/sweep-out-1" "$r/sweep-out-2"; exit 143' TERM
status=0

engines=(bptt forward reversible greedy)
for t in 2 1; do
  list=$r/sweep-jobs-$t.txt
  {
    echo "# bench-sweep.sh: 8 jobs at --threads $t"
    for i in 0 1 2 3 4 5 6 7; do
      echo "hgbench hypergrad --engine ${engines[$((i % 4))]} --model lenet --steps $steps --batch 64" \
           "--val 1000 --learn lr:3 --seed $((i / 4)) --precision 64 --threads $t ${data[*]}" \
           "--json $r/sweep-out-$t/job$i.json"
    done
  } > "$list"
  rm -rf "$r/sweep-out-$t"
done
rm -f "$r/sweep-1x2.json" "$r/sweep-2x1.json" # a failed sweep leaves none of an earlier one's

echo "sweep: 1/2 one process, 8 jobs x 2 threads" >&2
build/hgbench-sweep --jobs "$r/sweep-jobs-2.txt" --summary "$r/sweep-1x2.json" >&2 || status=1
if command -v "${launch%% *}" >/dev/null; then
  echo "sweep: 2/2 $launch, 8 jobs x 1 thread" >&2
  read -r -a words <<< "$launch"
  "${words[@]}" build/hgbench-sweep --jobs "$r/sweep-jobs-1.txt" --summary "$r/sweep-2x1.json" >&2 ||
    status=1
else
  echo "sweep: ${launch%% *} not found (scripts/install-deps.sh installs openmpi-bin)" >&2
  status=1
fi
rm -rf "$r/sweep-out-1" "$r/sweep-out-2"
exit $status
