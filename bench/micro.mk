# bench/micro.mk — hgbench-micro: microbenchmarks through Google Benchmark
# (Debian's libbenchmark-dev 1.7.1 and g++): a C program, bench/micro.c,
# over a small C++ shim, bench/gbench_shim.cc. Included by the Makefile
# after CFLAGS_BASE, LDLIBS and the config rules (it reuses the
# build/<cfg>/obj/%.o rule for micro.c):
#
#     include bench/micro.mk
#
#   make build/f32/hgbench-micro build/f64/hgbench-micro
#   (make bench runs them through scripts/bench-micro.sh)
#
# The shim is C++17; the program is linked by g++ (libstdc++ for the shim,
# libbenchmark's C++ runtime) with the C build's flags for OpenMP. Needs
# Debian's libbenchmark-dev and g++. Time: about 45 s per precision on a
# quiet 2-core machine (24 benchmarks x 5 repetitions of >= 0.2 s each);
# several times that if other processes share the cores (counter
# busy_others in the table).

# the library's version, recorded in hgbench-micro --json's envelope
GB_VERSION := $(shell dpkg-query -W -f='$${Version}' libbenchmark-dev 2>/dev/null)
CXXFLAGS_GB := -std=c++17 $(OPT) $(ARCH) -g -Wall -Wextra -Wshadow -MMD -MP \
               -DHG_GBENCH_VERSION='"$(GB_VERSION)"'
GB_LDLIBS := -lbenchmark -lpthread

# $(1) = config name, $(2) = its extra flags (-DHG_F64, sanitizers)
define micro_rules
build/$(1)/obj/bench/gbench_shim.o: bench/gbench_shim.cc
	@mkdir -p $$(@D)
	$$(CXX) $$(CXXFLAGS_GB) $(2) -c $$< -o $$@

build/$(1)/hgbench-micro: build/$(1)/obj/bench/micro.o build/$(1)/obj/bench/gbench_shim.o build/$(1)/obj/bench/load.o \
                          $(call layer_libs,$(1)) | build/$(1)/layers.ok
	$$(CXX) $$(OPT) $$(ARCH) -fopenmp -g $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) $$(GB_LDLIBS) -o $$@
endef

$(eval $(call micro_rules,f32,))
$(eval $(call micro_rules,f64,-DHG_F64))
