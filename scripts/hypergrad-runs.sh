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

hg_data() {
  data=()
  [ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/train-images-idx3-ubyte" -o -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] &&
    data=(--data-dir "$DATA_DIR")
  return 0
}

hg_run() {
  local json=$1 prec=$2; shift 2
  rm -f "$json"
  build/hgbench hypergrad --precision "$prec" "$@" --json "$json" > /dev/null 2> "$json.err"
}

hg_why() {
  grep -v 'memory estimate' "$1.err" 2>/dev/null | tail -n 1 | sed 's/^hgbench hypergrad: //; s/|/\//g'
}

