#!/usr/bin/env bash
# check-layers.sh — the layers the build enforces (issue 25). Lowest first:
#
#   common <- backend <- datasets <- models <- engines (engines/, harness/)
#          <- io <- cli/bench (cli/, bench/: the programs)
#
# A layer may use itself and the layers below it, never one above. The
# Makefile builds each layer but the top one as an archive of its own
# (build/<config>/lib<layer>.a) and runs both checks before it links:
#
#   bash scripts/check-layers.sh includes [ROOT]
#     every #include "..." of every .c .h .cu .cuh .cc file in ROOT's layer
#     folders (default .) that resolves into a higher layer's folder fails,
#     naming the file, the line and the include;
#   bash scripts/check-layers.sh symbols ARCHIVE...
#     archives lowest layer first; a symbol that a member of one archive
#     needs and only a higher archive defines fails, naming the archive, the
#     member, the symbol and where it is defined. (Linked in order, such a
#     call might still link when a higher object happens to pull it in; this
#     checks each archive against the ones below it alone.)
#
# Exit 0 when the layers hold, 1 with one line per violation on stderr, 2 on
# a usage error (an unknown mode, a missing folder or archive).
set -uo pipefail

LAYER_ORDER="common backend datasets models engines io cli"
# folder -> layer (harness/ is in the engines layer, bench/ in the top one)
layer_of_dir() {
  case $1 in
    common) echo common ;; backend) echo backend ;; datasets) echo datasets ;;
    models) echo models ;; engines|harness) echo engines ;; io) echo io ;;
    cli|bench) echo cli ;; *) echo "" ;;
  esac
}
usage() {
  echo "usage: check-layers.sh includes [ROOT] | symbols ARCHIVE... (lowest layer first)" >&2
  exit 2
}

check_includes() {
  local root=${1:-.}
  [ -d "$root" ] || { echo "check-layers: $root: no such folder" >&2; exit 2; }
  local dirs=() d
  for d in common backend datasets models engines harness io cli bench; do
    [ -d "$root/$d" ] && dirs+=("$d")
  done
  [ ${#dirs[@]} -gt 0 ] || { echo "check-layers: $root holds none of the layer folders" >&2; exit 2; }
  # one awk over every file: resolve each quoted include against its file's
  # folder, and compare the ranks of the two top-level folders
  (cd "$root" && find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' \
      -o -name '*.cuh' -o -name '*.cc' \) | LC_ALL=C sort | xargs -r awk -v order="$LAYER_ORDER" '
    BEGIN {
      n = split(order, o, " "); for (i = 1; i <= n; i++) rank[o[i]] = i
      layer["common"] = "common"; layer["backend"] = "backend"; layer["datasets"] = "datasets"
      layer["models"] = "models"; layer["engines"] = "engines"; layer["harness"] = "engines"
      layer["io"] = "io"; layer["cli"] = "cli"; layer["bench"] = "cli"
      bad = 0
    }
    /^[ \t]*#[ \t]*include[ \t]*"/ {
      inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*$/, "", inc)
      # the include resolved from the including file folder
      path = FILENAME; sub(/[^\/]*$/, "", path)
      np = split(path inc, part, "/"); m = 0
      for (i = 1; i <= np; i++) {
        if (part[i] == "" || part[i] == ".") continue
        if (part[i] == "..") { if (m > 0) m--; continue }
        out[++m] = part[i]
      }
      split(FILENAME, self, "/")
      from = layer[self[1]]; to = (m > 1 && (out[1] in layer)) ? layer[out[1]] : ""
      if (from != "" && to != "" && rank[to] > rank[from]) {
        allowed = ""
        for (i = 1; i <= rank[from]; i++) allowed = allowed (i > 1 ? ", " : "") o[i]
        printf "check-layers: %s:%d: #include \"%s\" reaches up from layer %s into layer %s " \
               "(%s may use only %s)\n", FILENAME, FNR, inc, from, to, from, allowed > "/dev/stderr"
        bad = 1
      }
    }
    END { exit bad }') || exit 1
}

check_symbols() {
  [ $# -gt 0 ] || usage
  local a
  for a in "$@"; do
    [ -r "$a" ] || { echo "check-layers: $a: no such archive" >&2; exit 2; }
  done
  # "index archive member symbol" per defined global, then per undefined one
  local i=0 defs="" undefs=""
  for a in "$@"; do
    i=$((i + 1))
    defs+=$(LC_ALL=C nm -A -g --defined-only "$a" 2>/dev/null |
              awk -v i="$i" -v a="$a" '{ split($1, f, ":"); print i, a, f[2], $NF }')$'\n'
    undefs+=$(LC_ALL=C nm -A -u "$a" 2>/dev/null |
                awk -v i="$i" -v a="$a" '{ split($1, f, ":"); print i, a, f[2], $NF }')$'\n'
  done
  awk 'FILENAME == ARGV[1] { if (NF == 4) { if (!($4 in low) || $1 < low[$4]) { low[$4] = $1; where[$4] = $2 ":" $3 } } next }
       NF == 4 && ($4 in low) && low[$4] > $1 {
         printf "check-layers: %s: %s needs %s, which only the higher layer %s defines\n",
                $2, $3, $4, where[$4] > "/dev/stderr"
         bad = 1
       }
       END { exit bad }' <(printf '%s' "$defs") <(printf '%s' "$undefs")
}

case ${1:-} in
  includes) shift; [ $# -le 1 ] || usage; check_includes "$@" ;;
  symbols) shift; check_symbols "$@" ;;
  *) usage ;;
esac
