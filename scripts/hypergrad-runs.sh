# hypergrad-runs.sh — sourced by the bench sections that are made of many
# single `hgbench hypergrad` runs (atlas, conditioning): the data folder
# flag, and one run into a JSON file with its stderr kept beside it (the
# runs are then collected by build/hgbench-runs and rendered by
# hgbench-report). Not a program.
#
#   hg_data                 sets the array data=(--data-dir DIR) if DATA_DIR
#                           holds Fashion-MNIST, else data=()
#   hg_run JSON PREC ARGS   build/hgbench hypergrad --precision PREC ARGS
#                           --json JSON; stderr to JSON's .err; returns its exit
#                           status, and a failed run leaves no JSON
#   hg_why JSON             the failed run's reason (last line of its .err)
#
# Over MPI ranks (MPIRUN set, e.g. "mpirun -np 8 --hostfile hosts"):
#   hg_sweep_init LIST      with MPIRUN set, hg_run from now on appends its
#                           run to the job list LIST (bench/sweep_jobs.h: the
#                           same command, `hgbench hypergrad --precision PREC
#                           ARGS --json JSON`) and returns 0; unset, nothing
#                           changes. hg_sweeping says which
#   hg_sweep SUMMARY TAG    $MPIRUN build/hgbench-sweep --jobs LIST --summary
#                           SUMMARY (its stdout into SUMMARY's .out, then to
#                           stderr); then each run's log (JSON.log, its stdout
#                           and stderr) becomes its JSON.err, as hg_run leaves
#                           it; a run that failed with an exit other than 1
#                           (the engine's own failure) is said on stderr as
#                           "TAG: JSON: exit N: why". Returns 1 if one did or
#                           the sweep could not run, else 0; hg_ranks = the
#                           sweep's ranks (its last line), for the collector's
#                           --ranks

hg_data() {
  data=()
  [ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/train-images-idx3-ubyte" -o -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] &&
    data=(--data-dir "$DATA_DIR")
  return 0
}

hg_list='' hg_ranks=1
hg_sweep_init() {
  hg_list='' hg_jobs=()
  read -r -a hg_launch <<< "${MPIRUN:-}"
  [ ${#hg_launch[@]} -gt 0 ] || return 0
  hg_list=$1
  echo "# $(basename "$0"): one hgbench hypergrad run a line, for build/hgbench-sweep" > "$hg_list"
}
hg_sweeping() { [ -n "$hg_list" ]; }

hg_run() {
  local json=$1 prec=$2 a; shift 2
  rm -f "$json"
  if [ -n "$hg_list" ]; then
    rm -f "$json.err" "$json.log"
    for a in "$@" "$json"; do  # the list has no quoting: a word is a word
      case $a in *[[:space:]\"\'\$\`\\]*|'')
        echo "$json: '$a': a job list word cannot hold spaces, quotes, \$, \` or \\" > "$json.err"
        return 2 ;;
      esac
    done
    echo "hgbench hypergrad --precision $prec $* --json $json" >> "$hg_list"
    hg_jobs+=("$json")
    return 0
  fi
  build/hgbench hypergrad --precision "$prec" "$@" --json "$json" > /dev/null 2> "$json.err"
}

hg_why() {
  grep -v 'memory estimate' "$1.err" 2>/dev/null | tail -n 1 | sed 's/^hgbench hypergrad: //; s/|/\//g'
}


hg_sweep() {
  local summary=$1 tag=$2 json rc line st=0
  local -A failed=()
  rm -f "$summary" "$summary.out"
  "${hg_launch[@]}" build/hgbench-sweep --jobs "$hg_list" --summary "$summary" > "$summary.out"
  rc=$?
  cat "$summary.out" >&2
  [ $rc -eq 0 ] || [ $rc -eq 1 ] || { st=1; echo "$tag: $MPIRUN build/hgbench-sweep: exit $rc" >&2; }
  # its stdout names each failed job: "hgbench-sweep: FAILED line N (JSON): exit N: why"
  # (or "killed by signal N...")
  while IFS= read -r line; do
    if [[ $line =~ ^hgbench-sweep:\ FAILED\ line\ [0-9]+\ \((.*)\):\ exit\ ([0-9]+): ]]; then
      failed[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    elif [[ $line =~ ^hgbench-sweep:\ FAILED\ line\ [0-9]+\ \((.*)\):\ killed ]]; then
      failed[${BASH_REMATCH[1]}]=signal
    elif [[ $line =~ ^hgbench-sweep:\ [0-9]+\ jobs:.*\;\ ([0-9]+)\ ranks?, ]]; then
      hg_ranks=${BASH_REMATCH[1]}
    fi
  done < "$summary.out"
  for json in "${hg_jobs[@]}"; do
    [ -f "$json.log" ] && mv -f "$json.log" "$json.err"
    [ -f "$json" ] && continue
    rc=${failed[$json]:-none}
    [ "$rc" = 1 ] && continue
    st=1
    echo "$tag: $json: exit $rc: $(hg_why "$json")" >&2
  done
  return $st
}
