# cuda.mk — the CUDA builds, included by the Makefile; empty without nvcc.
#
# build/cuda-f32 and build/cuda-f64 reuse every C object of build/f32 and
# build/f64 (same flags: the CUDA backend changes no CPU object) except the
# registry, backend/backend.c, compiled again with -DHG_CUDA; backend/cuda/
# adds the table (C) and the .cu files (nvcc). Only the backend layer's
# archive is their own (build/cuda-*/libbackend.a); the other layers link
# from build/f32 or build/f64, checked the same way (scripts/check-layers.sh).
# Code for sm_90 (H100, H200) plus compute_90 PTX, which newer cards
# compile at load. The runtime API
# loads libcuda.so.1 itself: no link against it (nor its stub) is needed.
# cuDNN is not linked either: the probe dlopens it (cuda_dnn.cuh), so a
# machine without it still runs every conv, as im2col + cuBLAS.
# Warnings are errors for the .cu files (host and device).

comma := ,
CUDA_ALL :=
CUDA_TEST_DIRS :=
ifneq ($(NVCC),)
CUDA_HOME ?= $(patsubst %/bin/,%,$(dir $(realpath $(NVCC))))
CUDA_LIB ?= $(CUDA_HOME)/lib64
CUDA_GENCODE := -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
CUDA_ARCH_NOTE := sm_90 + compute_90 PTX
NVCC_FLAGS := -std=c++17 -O2 -g $(CUDA_GENCODE) -Werror all-warnings \
              -Xcompiler -Wall,-Wextra,-Wno-unused-parameter -MMD -MP
CUDA_LDLIBS := -L$(CUDA_LIB) -Wl,-rpath,$(CUDA_LIB) -lcublas -lcudart -lstdc++ -lpthread -ldl
CUDA_CU := $(sort $(wildcard backend/cuda/*.cu))
CUDA_C := $(sort $(wildcard backend/cuda/*.c))
# test_backend_ops: every op against the CPU; test_gpu: the engines (make test-gpu)
CUDA_TESTS := test_backend_ops test_gpu
CUDA_PROGRAMS := hgbench hgbench-models hgbench-engines hgbench-fig2

# The layers' archives of a CUDA config, lowest first: the CPU config's,
# but its own backend. $(1) = cuda config, $(2) = the CPU config
cuda_layer_archives = $(subst build/$(2)/libbackend.a,build/$(1)/libbackend.a,$(call layer_archives,$(2)))

# $(1) = cuda config, $(2) = the CPU config whose objects it reuses, $(3) = flags
define cuda_rules
build/$(1)/obj/backend/backend.o: backend/backend.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(3) -DHG_CUDA -c $$< -o $$@
build/$(1)/obj/backend/cuda/%.o: backend/cuda/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(3) -DHG_CUDA -c $$< -o $$@
build/$(1)/obj/backend/cuda/%.o: backend/cuda/%.cu
	@mkdir -p $$(@D)
	$$(NVCC) $$(NVCC_FLAGS) $(3) -DHG_CUDA -c $$< -o $$@
build/$(1)/libbackend.a: $(patsubst %.c,build/$(2)/obj/%.o,$(filter-out backend/backend.c,$(call layer_srcs,backend))) \
                         build/$(1)/obj/backend/backend.o \
                         $(patsubst %.c,build/$(1)/obj/%.o,$(CUDA_C)) $(patsubst %.cu,build/$(1)/obj/%.o,$(CUDA_CU))
	@rm -f $$@
	ar rcs $$@ $$^
$(call layer_check_rule,$(1),$(call cuda_layer_archives,$(1),$(2)))
build/$(1)/tests/%: build/$(2)/obj/tests/%.o $(patsubst %.c,build/$(2)/obj/%.o,$(TEST_SUPPORT)) $(call reverse,$(call cuda_layer_archives,$(1),$(2))) | build/$(1)/layers.ok
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(3) $$^ $$(LDLIBS) $$(LIBS_$(2)) $$(CUDA_LDLIBS) -o $$@
build/$(1)/hgbench: $(patsubst %.c,build/$(2)/obj/%.o,$(HGBENCH_SRCS)) $(call reverse,$(call cuda_layer_archives,$(1),$(2))) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(3) $$^ $$(LDLIBS) $$(LIBS_$(2)) $$(CUDA_LDLIBS) -o $$@
build/$(1)/hgbench-models: $(patsubst %.c,build/$(2)/obj/%.o,$(MODELS_SRCS)) $(call reverse,$(call cuda_layer_archives,$(1),$(2))) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(3) $$^ $$(LDLIBS) $$(LIBS_$(2)) $$(CUDA_LDLIBS) -o $$@
build/$(1)/hgbench-engines: $(patsubst %.c,build/$(2)/obj/%.o,$(ENGINES_BENCH_SRCS)) $(call reverse,$(call cuda_layer_archives,$(1),$(2))) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(3) $$^ $$(LDLIBS) $$(LIBS_$(2)) $$(CUDA_LDLIBS) -o $$@
build/$(1)/hgbench-fig2: $(patsubst %.c,build/$(2)/obj/%.o,$(FIG2_SRCS)) $(call reverse,$(call cuda_layer_archives,$(1),$(2))) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(3) $$^ $$(LDLIBS) $$(LIBS_$(2)) $$(CUDA_LDLIBS) $$(FARM_LIBS) -o $$@
build/$(1)/hgbench-gpu-info: build/$(2)/obj/bench/gpu_info.o $(call reverse,$(call cuda_layer_archives,$(1),$(2))) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(3) $$^ $$(LDLIBS) $$(LIBS_$(2)) $$(CUDA_LDLIBS) -o $$@
build/$(1)/hgbench-gpu-conv: $(patsubst %.c,build/$(2)/obj/%.o,$(GPU_CONV_SRCS)) $(call reverse,$(call cuda_layer_archives,$(1),$(2))) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(3) $$^ $$(LDLIBS) $$(LIBS_$(2)) $$(CUDA_LDLIBS) -o $$@
CUDA_ALL += $(addprefix build/$(1)/tests/,$(CUDA_TESTS)) $(addprefix build/$(1)/,$(CUDA_PROGRAMS)) \
            build/$(1)/hgbench-gpu-info build/$(1)/hgbench-gpu-conv
endef

$(eval $(call cuda_rules,cuda-f32,f32,$(DNNL_CFLAGS)))
$(eval $(call cuda_rules,cuda-f64,f64,-DHG_F64))
# make test runs test_backend_ops of both (loud "cuda: skipped" without a
# GPU); test_gpu only through make test-gpu
CUDA_TEST_DIRS := build/cuda-f32 build/cuda-f64
endif

.PHONY: test-gpu
test-gpu: $(CUDA_ALL)
ifeq ($(NVCC),)
	@echo "make test-gpu: nvcc not found: no CUDA build to test"; exit 2
else
	@rc=0; for c in cuda-f64 cuda-f32; do HG_REQUIRE_GPU=1 OMP_NUM_THREADS=$(THREADS) \
	  build/$$c/tests/test_gpu || { rc=$$?; break; }; done; exit $$rc
endif
