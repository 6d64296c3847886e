#!/usr/bin/env bash
# sweep-measure.sh — independent runs over processes (hgbench-sweep,
# bench/farm.h), measured here and projected onto more ranks. Not yet a
# make bench section (RESULTS.md is being moved to hgbench-report's
# renderers; this script's Markdown is ready for one): run it alone,
#   scripts/sweep-measure.sh && cat bench/results/sweep.md
#   1. The same 8 jobs (LeNet on Fashion-MNIST, float64, four engines, two
#      seeds each) as 1 rank x 2 threads (one process, --threads 2) and as
#      2 ranks x 1 thread (MPIRUN, default `mpirun -np 2`, --threads 1):
#      wall time, the jobs' summed time, and efficiency = the 1-thread jobs'
#      summed time / (2 cores x wall).
#   2. On paper, from job times measured by earlier sections' full runs
#      (bench/results/fig2.json, fig3-<data>-<method>.json; QUICK ones are not
#      used): Figure 2 at S = 100 (float64) and Figure 3 with 5 repeats on
#      16, 64 and 256 ranks, handed out in list order to the first free rank
#      as hgbench-sweep does, and where the scaling stops.
# Writes bench/results/sweep-{1x2,2x1}.json (the runner's summaries),
# sweep-jobs-*.txt and sweep.md. Environment: QUICK=1 (T = 10), MPIRUN.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
r=bench/results
mkdir -p "$r"
steps=30; [ "${QUICK:-0}" = 1 ] && steps=10
launch=${MPIRUN:-mpirun -np 2}
[ -z "${MPIRUN:-}" ] && [ "$(id -u)" = 0 ] && launch="mpirun --allow-run-as-root -np 2"
status=0

engines=(bptt forward reversible greedy)
for t in 2 1; do
  list=$r/sweep-jobs-$t.txt
  {
    echo "# bench-sweep.sh: 8 jobs at --threads $t"
    for i in 0 1 2 3 4 5 6 7; do
      e=${engines[$((i % 4))]}
      echo "hgbench hypergrad --engine $e --model lenet --steps $steps --batch 64 --val 1000" \
           "--learn lr:3 --seed $((i / 4)) --precision 64 --threads $t --json $r/sweep-out-$t/job$i.json"
    done
  } > "$list"
  rm -rf "$r/sweep-out-$t"
done

echo "sweep: 1/2 one process, 8 jobs x 2 threads" >&2
build/hgbench-sweep --jobs "$r/sweep-jobs-2.txt" --summary "$r/sweep-1x2.json" >&2 || status=1
mpi_note=""
if command -v "${launch%% *}" >/dev/null; then
  echo "sweep: 2/2 $launch, 8 jobs x 1 thread" >&2
  read -r -a words <<< "$launch"
  "${words[@]}" build/hgbench-sweep --jobs "$r/sweep-jobs-1.txt" --summary "$r/sweep-2x1.json" >&2 ||
    status=1
else
  mpi_note="**skipped**: ${launch%% *} not found (scripts/install-deps.sh installs openmpi-bin)"
  rm -f "$r/sweep-2x1.json"
fi

# wall, summed job seconds, done count of a summary
stats() { jq -r '"\(.wall_s) \([.results[].seconds] | add) \(.done) \(.ranks)"' "$1" 2>/dev/null; }
# list scheduling in list order onto R ranks: makespan of the job times on stdin
makespan() { awk -v R="$1" '{ t[NR] = $1 } END {
  for (k = 0; k < R; k++) free[k] = 0
  for (i = 1; i <= NR; i++) { b = 0; for (k = 1; k < R; k++) if (free[k] < free[b]) b = k; free[b] += t[i] }
  m = 0; for (k = 0; k < R; k++) if (free[k] > m) m = free[k]; printf "%.0f", m }'; }
hms() { awk -v s="$1" 'BEGIN { if (s >= 3600) printf "%.1f h", s / 3600; else if (s >= 60) printf "%.1f min", s / 60; else printf "%.0f s", s }'; }

{
  echo "## Scale-out: independent runs over MPI ranks (hgbench-sweep)"
  echo
  echo "The same 8 jobs (\`hgbench hypergrad\`, LeNet on Fashion-MNIST, T = $steps, batch 64,"
  echo "float64, engines ${engines[*]} for seeds 0 and 1) through \`build/hgbench-sweep\`, once as"
  echo "one process with \`--threads 2\` and once as 2 MPI ranks with \`--threads 1\`. Efficiency:"
  echo "the 1-thread jobs' summed time over the cores in use (threads or ranks) x the wall time"
  echo "(1 = every core busy with 1-thread work all along)."
  echo
  scripts/machine-line.sh "${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null)}" 2>/dev/null | head -n 1
  echo
  echo "| ranks x threads | command | wall | jobs' summed time | efficiency | done |"
  echo "|---|---|--:|--:|--:|--:|"
  one=$(jq '[.results[].seconds] | add' "$r/sweep-2x1.json" 2>/dev/null)
  for c in 1x2 2x1; do
    f=$r/sweep-$c.json
    if [ -f "$f" ] && read -r wall sum done ranks < <(stats "$f"); then
      cmd=$([ $c = 1x2 ] && echo "build/hgbench-sweep --jobs $r/sweep-jobs-2.txt" ||
            echo "$launch build/hgbench-sweep --jobs $r/sweep-jobs-1.txt")
      cores=$([ $c = 1x2 ] && echo 2 || echo "$ranks")
      eff=$([ -n "$one" ] && awk -v a="$one" -v w="$wall" -v c="$cores" 'BEGIN { printf "%.2f", a / (c * w) }' || echo -)
      printf '| %s | `%s` | %.1f s | %.1f s | %s | %s/8 |\n' "$([ $c = 1x2 ] && echo "1 x 2" || echo "$ranks x 1")" \
        "$cmd" "$wall" "$sum" "$eff" "$done"
    else
      echo "| $c | - | - | - | - | ${mpi_note:-**failed** (see bench/results/sweep.log)} |"
    fi
  done
  echo
  echo "On a machine shared with other work these times are indicative only."
  echo
  echo "### On paper: Figure 2 and Figure 3 over more ranks"
  echo
  echo "From the job times of earlier full runs, handed out in list order to the first free"
  echo "rank (hgbench-sweep's and hgbench-fig2's order), hand-out and start-up costs left out."
  echo
  fig2=$r/fig2.json
  if [ -f "$fig2" ] && [ "$(jq -r .quick "$fig2")" = false ]; then
    read -r seed th < <(jq -r '"\((.time_s.nongreedy | add / length) + (.time_s.greedy | add / length)) \(.threads)"' "$fig2")
    echo "- **Figure 2 at S = 100, float64** (one item per seed: bptt and greedy, T = 250): a seed"
    echo "  takes $(hms "$seed") at $th threads ($fig2); 100 seeds, one after another: $(hms "$(awk -v s="$seed" 'BEGIN { print 100 * s }')")."
    for R in 16 64 256; do
      m=$(for i in $(seq 100); do echo "$seed"; done | makespan $R)
      echo "  - $R ranks x $th threads: $(hms "$m") (speed-up $(awk -v s="$seed" -v m="$m" 'BEGIN { printf "%.0f", 100 * s / m }'))"
    done
    echo "  - Scaling stops at 100 ranks, one seed each: the longest item, one seed, $(hms "$seed")"
    echo "    (bptt and greedy as separate items would bring it to the greedy run alone)."
  else
    echo "- Figure 2: no full float64 run in $fig2 (QUICK or not run): nothing to project."
  fi
  jobs3=$(for rep in 1 2 3 4 5; do for d in fashion-mnist mnist-subset; do for m in greedy nongreedy fds cosine; do
    f=$r/fig3-$d-$m.json; [ -f "$f" ] && jq -r '[.log[].time_s] | add' "$f"; done; done; done)
  n3=$(printf '%s\n' "$jobs3" | grep -c .)
  if [ "$n3" -gt 0 ]; then
    total=$(printf '%s\n' "$jobs3" | awk '{ s += $1 } END { print s }')
    longest=$(printf '%s\n' "$jobs3" | sort -g | tail -n 1)
    echo "- **Figure 3 with 5 repeats**: $n3 hpo jobs (methods x data sets x 5, each its whole outer"
    echo "  loop, which is sequential), $(hms "$total") one after another (bench/results/fig3-*.json, 1 thread)."
    for R in 16 64 256; do
      m=$(printf '%s\n' "$jobs3" | makespan $R)
      echo "  - $R ranks: $(hms "$m") (speed-up $(awk -v t="$total" -v m="$m" 'BEGIN { printf "%.1f", t / m }'))"
    done
    echo "  - Scaling stops at the longest single job, $(hms "$longest") (greedy's 50 outer steps on"
    echo "    Fashion-MNIST): $n3 jobs on 16 ranks already wait on it; more ranks change nothing."
  else
    echo "- Figure 3: no full run's results in $r: nothing to project."
  fi
  echo "- Rank 0's hand-out is one MPI message pair per job, answered after its 1 ms poll"
  echo "  sleep: about 1000 jobs/s on an idle machine, fewer on a loaded one, where the sleep"
  echo "  lasts longer (\`mpirun -np 2 build/hgbench-sweep --handout-rate 2000\` measures it);"
  echo "  256 ranks on 200 s jobs ask for 1.3 jobs/s. Each job's process start and data"
  echo "  loading happen on its own rank, in parallel."
  echo
  echo "Reproduce: \`scripts/sweep-measure.sh\` (\`MPIRUN=\"...\"\` for the 2-rank launcher)."
  echo
} > "$r/sweep.md.tmp.$$" && mv "$r/sweep.md.tmp.$$" "$r/sweep.md"
rm -rf "$r/sweep-out-1" "$r/sweep-out-2"
exit $status
