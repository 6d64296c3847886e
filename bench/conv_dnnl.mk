# bench/conv_dnnl.mk — hgbench-conv-dnnl: our CPU convolutions against
# oneDNN's (issue 10), float32 only, built where Debian's libdnnl-dev is
# installed (/usr/include/dnnl.h, found by the Makefile: HAVE_DNNL; the
# oneDNN wrapper is backend/cpu/dnnl_conv.c, in the backend archive of the
# float32 configs; linked with -ldnnl, which uses the same GNU OpenMP
# runtime as ours). Included by the Makefile after the config
# rules (it reuses build/<cfg>/obj/%.o):
#
#   make build/f32/hgbench-conv-dnnl
#   build/f32/hgbench-conv-dnnl --threads 2 --json conv-dnnl.json
#
# tests/test_conv_dnnl runs it (plain f32 and asan-f32) with tiny sizes and
# skips, saying so, where libdnnl-dev is missing. Time of a default run
# (batch 128 and 1000, k = 1 and 16, 9 repeats): a few minutes on 2 quiet
# cores.

CONV_DNNL_SRCS := bench/conv_dnnl.c bench/load.c

ifneq ($(HAVE_DNNL),)
# $(1) = config name, $(2) = its extra flags
define conv_dnnl_rules
build/$(1)/hgbench-conv-dnnl: $(patsubst %.c,build/$(1)/obj/%.o,$(CONV_DNNL_SRCS)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) -o $$@
$(1)-tests: build/$(1)/hgbench-conv-dnnl
endef
$(eval $(call conv_dnnl_rules,f32,))
$(eval $(call conv_dnnl_rules,asan-f32,$(SAN)))
CONV_DNNL_ALL := build/f32/hgbench-conv-dnnl
endif
