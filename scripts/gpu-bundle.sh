#!/usr/bin/env bash
# gpu-bundle.sh — what a lent GPU machine needs to run scripts/gpu-check.sh,
# in one file to carry: build/gpu-bundle.tar.gz (`make gpu-bundle`; gzip,
# since the device image need not have xz).
#
# The device image has nvcc, cuBLAS and PyTorch, but not this machine's
# OpenBLAS, hwloc or zlib, and its CPU need not have this one's vector
# units. So the bundle holds:
#   - the CUDA builds' programs and GPU tests (build/cuda-f32, build/cuda-f64),
#     and build/hgbench-manifest and build/hgbench-report (the gpu section's
#     JSON record and its Markdown)
#     compiled again from this checkout's working tree (tracked files as
#     they are now, uncommitted edits included, and untracked files git
#     does not ignore: a fix made for the device run is in it; the commit
#     and the edits' diffstat are recorded in build/gpu-bundle.commit) with
#     ARCH=$BUNDLE_ARCH (x86-64-v3: AVX2 and FMA, which every H100/H200 host
#     has) instead of -march=native, debug info stripped;
#   - build/gpu-lib/: the shared libraries they load that are neither the C
#     and C++ runtimes nor CUDA's (OpenBLAS with libgfortran, libgomp,
#     hwloc, zlib, ...), found by ldd here; gpu-check.sh puts it first on
#     LD_LIBRARY_PATH;
#   - data/fashion-mnist/: the installed Fashion-MNIST files, for the parts
#     that train on it.
# cuBLAS and cudart come from the device's own CUDA 13 (they are hundreds of
# MB); cuDNN is loaded at run time where it is found. On the device machine:
#   tar -xzf build/gpu-bundle.tar.gz && bash scripts/gpu-check.sh
# (gpu-check.sh unpacks it itself when it finds it). Exit 2 without nvcc.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${BUNDLE_ARCH:--march=x86-64-v3}
bundle=build/gpu-bundle.tar.gz
command -v "${NVCC:-nvcc}" >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] ||
  { echo "gpu-bundle: nvcc not found: no CUDA build to bundle" >&2; exit 2; }

src=$(mktemp -d "${TMPDIR:-/tmp}/hgbench-bundle.XXXXXX")
trap 'rm -rf "$src"' EXIT
# the working tree as it is: what the device must run is what was tested here
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -x -C "$src"
dirty=$(git status --porcelain --untracked-files=normal | wc -l)
targets=""
for c in cuda-f32 cuda-f64; do
  for p in hgbench hgbench-models hgbench-engines hgbench-fig2 hgbench-gpu-info hgbench-gpu-conv \
           tests/test_backend_ops tests/test_gpu; do
    targets="$targets build/$c/$p"
  done
done
# bench-gpu.sh records its results with hgbench-manifest; gpu-check.sh
# renders the gpu section with hgbench-report (libjansson goes in gpu-lib)
targets="$targets build/hgbench-manifest build/hgbench-report"
echo "gpu-bundle: building $(git rev-parse --short HEAD) with ARCH=$arch in $src" >&2
# shellcheck disable=SC2086
make -C "$src" -j"$(nproc)" ARCH="$arch" $targets > "$src/build.log" 2>&1 ||
  { tail -n 20 "$src/build.log" >&2; echo "gpu-bundle: the build failed" >&2; exit 1; }

stage=$src/stage
mkdir -p "$stage/build/gpu-lib" "$stage/data"
for t in $targets; do
  mkdir -p "$stage/$(dirname "$t")"
  strip --strip-debug -o "$stage/$t" "$src/$t"
done
# every library a program loads, but the C library's, the C++ runtime (the
# device image has one, and ours needs glibc 2.36, newer than Ubuntu
# 22.04's; the programs themselves need 2.34) and CUDA's own
for t in $targets; do
  ldd "$src/$t" | awk '$3 ~ /^\// { print $3 }'
done | sort -u | while read -r lib; do
  case $(basename "$lib") in
    libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libstdc++*|libgcc_s*) ;;
    libcuda*|libcublas*|libcudnn*) ;;
    *) cp -L "$lib" "$stage/build/gpu-lib/" ;;
  esac
done
fm=${DATA_DIR:-/usr/share/datasets/fashion-mnist}
if [ -f "$fm/train-images-idx3-ubyte.gz" ]; then
  mkdir -p "$stage/data/fashion-mnist" && cp "$fm"/*-ubyte.gz "$stage/data/fashion-mnist/"
else
  echo "gpu-bundle: no Fashion-MNIST in $fm: the parts that train on it will say so" >&2
fi
{ echo "$(git rev-parse HEAD)$([ "$dirty" -gt 0 ] && echo " + $dirty uncommitted paths")"
  [ "$dirty" -gt 0 ] && git diff --stat HEAD | tail -n 1; } > "$stage/build/gpu-bundle.commit"
mkdir -p build
tar -C "$stage" -czf "$bundle.tmp.$$" build data && mv "$bundle.tmp.$$" "$bundle"
echo "gpu-bundle: $bundle ($(du -h "$bundle" | cut -f1)): $(echo "$targets" | wc -w) programs," \
     "$(ls "$stage/build/gpu-lib" | wc -l) libraries ($(ls "$stage/build/gpu-lib" | tr '\n' ' '))," \
     "commit $(head -n 1 "$stage/build/gpu-bundle.commit")" >&2
