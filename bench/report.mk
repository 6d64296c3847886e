# report.mk — hgbench-report (bench/report*.c): RESULTS.md and the plots from
# the bench's JSON results, read with jansson. One binary, build/hgbench-report
# (it has no real type; built from the f64 objects). Its tests
# (tests/test_report*.c) link the renderers, the envelope writer and
# fixtures under tests/fixtures/report/, in every configuration.
REPORT_SRCS := $(filter-out bench/report_main.c,$(sort $(wildcard bench/report_*.c))) \
               io/atomic_file.c common/flags.c bench/fig2_stats.c common/stats.c common/rng.c \
               common/mem.c
REPORT_TEST_SRCS := $(REPORT_SRCS) io/envelope.c io/json_writer.c io/machine.c
REPORT_LDLIBS := -ljansson -lm

REPORT_TESTS := $(patsubst tests/%.c,%,$(sort $(wildcard tests/test_report*.c)))

# $(1) = config, $(2) = its flags, $(3) = one report test
define report_test_rule
build/$(1)/tests/$(3): build/$(1)/obj/tests/$(3).o $$(patsubst %.c,build/$(1)/obj/%.o,$$(TEST_SUPPORT) $$(REPORT_TEST_SRCS)) $(call layer_libs,$(1)) | build/$(1)/layers.ok
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) $$^ $$(LDLIBS) $$(LIBS_$(1)) $$(REPORT_LDLIBS) -o $$@
endef
define report_rules
$(foreach t,$(REPORT_TESTS),$(eval $(call report_test_rule,$(1),$(2),$(t))))
$(1)-tests: build/hgbench-report build/hgbench-manifest build/hgbench-runs
endef
$(eval $(call report_rules,f32,))
$(eval $(call report_rules,f64,-DHG_F64))
$(eval $(call report_rules,asan-f32,$(SAN)))
$(eval $(call report_rules,asan-f64,-DHG_F64 $(SAN)))

build/hgbench-report: $(patsubst %.c,build/f64/obj/%.o,bench/report_main.c $(REPORT_SRCS) common/check.c common/stats.c common/rng.c)
	$(CC) $(CFLAGS_BASE) $^ $(REPORT_LDLIBS) -o $@

# hgbench-manifest (bench/manifest.c): the shared envelope around a
# script-driven section's settings and outcomes (scripts/fig3.sh), so that
# its results open like every program's. Built with hgbench-report.
MANIFEST_SRCS := bench/manifest.c io/envelope.c io/json_writer.c io/machine.c io/atomic_file.c \
                 common/flags.c common/check.c
build/hgbench-manifest: $(patsubst %.c,build/f64/obj/%.o,$(MANIFEST_SRCS))
	$(CC) $(CFLAGS_BASE) $^ -lhwloc -lm -o $@
all: build/hgbench-manifest

# hgbench-runs: a section made of single `hgbench hypergrad --json` runs
# (atlas, conditioning) as one result file with the envelope (bench/runs_collect.c)
RUNS_SRCS := bench/runs_collect.c bench/report_json.c io/envelope.c io/json_writer.c io/machine.c \
             io/atomic_file.c common/flags.c common/check.c
build/hgbench-runs: $(patsubst %.c,build/f64/obj/%.o,$(RUNS_SRCS))
	$(CC) $(CFLAGS_BASE) $^ $(REPORT_LDLIBS) -lhwloc -o $@
