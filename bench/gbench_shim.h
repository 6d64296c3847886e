/* gbench_shim.h — a small C API over Google Benchmark (C++, libbenchmark
 * 1.7.1 from Debian), so that C programs register and run benchmarks with
 * its timing loop, repetitions, aggregates and JSON output.
 *
 * Use:
 *   static void bm_thing(GbState *st, void *ctx)
 *   {
 *       prepare(ctx);                       (untimed: before the loop)
 *       while (gb_state_keep_running(st))
 *           thing(ctx);                     (timed)
 *       gb_state_counter(st, "per_item", 64, GB_COUNTER_TIME_PER_UNIT);
 *   }
 *   GbBench *b = gb_register("thing", bm_thing, &ctx);
 *   gb_bench_real_time(b); gb_bench_unit(b, GB_MS);
 *   return gb_run(argc, argv);
 *
 * The benchmark function is called several times per benchmark (Google
 * Benchmark first grows the iteration count until a run lasts
 * --benchmark_min_time, then runs each repetition); only the loop is timed.
 * ctx belongs to the caller and must outlive gb_run.
 *
 * Errors: no C++ exception crosses into C. A function that can fail reports
 * it by its return value; a failure where C has no way to hear of it (out of
 * memory while storing a counter) prints what failed and aborts.
 * Leaves out: multi-threaded benchmarks (Google Benchmark's ->Threads; our
 * work is parallel inside, with OpenMP), manual timing, complexity fits,
 * custom reporters.
 */
#ifndef HG_GBENCH_SHIM_H
#define HG_GBENCH_SHIM_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct GbState GbState; /* benchmark::State of one run, opaque */
typedef struct GbBench GbBench; /* benchmark::internal::Benchmark, opaque */

/* The body of a benchmark: loops while gb_state_keep_running(state). */
typedef void (*gb_fn)(GbState *state, void *ctx);

typedef enum GbUnit { GB_NS, GB_US, GB_MS, GB_S } GbUnit;

/* Counter flags (benchmark::Counter::Flags), to be or-ed. */
enum {
    GB_COUNTER_DEFAULT = 0,
    GB_COUNTER_RATE = 1 << 0,                /* value / seconds of the run */
    GB_COUNTER_ITERATION_INVARIANT = 1 << 1, /* value x iterations */
    GB_COUNTER_AVG_ITERATIONS = 1 << 2,      /* value / iterations */
    GB_COUNTER_INVERT = 1 << 3,              /* 1 / value, after the above */
    /* Seconds per unit, with value = units done per iteration: the measured
     * time (real time under gb_bench_real_time) / (iterations x value). */
    GB_COUNTER_TIME_PER_UNIT = GB_COUNTER_RATE | GB_COUNTER_ITERATION_INVARIANT |
                               GB_COUNTER_INVERT,
};

/* --- registering (before gb_run) -------------------------------------------
 * gb_register copies name; returns NULL (with a message on stderr) if the
 * library refused it. The gb_bench_* setters accept NULL and do nothing, so
 * a failed registration is reported once, not crashed on. */
GbBench *gb_register(const char *name, gb_fn fn, void *ctx);
/* One run per argument value, named NAME/ARGNAME:VALUE (ArgName/Arg). */
void gb_bench_arg_name(GbBench *b, const char *arg_name);
void gb_bench_arg(GbBench *b, long value);
void gb_bench_unit(GbBench *b, GbUnit unit);
/* Measure wall-clock time, not the main thread's CPU time: needed when the
 * work runs on several threads (OpenMP). */
void gb_bench_real_time(GbBench *b);
/* Overrides --benchmark_min_time for this benchmark (seconds > 0). */
void gb_bench_min_time(GbBench *b, double seconds);

/* A key: value line for the run context (printed, and in the JSON's
 * "context" object). Returns 0, or -1 if it could not be stored. */
int gb_add_context(const char *key, const char *value);

/* --- inside a benchmark function ------------------------------------------ */
/* True while iterations remain; the first call starts the timer. Call it
 * until it returns false (Google Benchmark checks). */
int gb_state_keep_running(GbState *st);
/* The i-th argument of this run (gb_bench_arg), i = 0 for one. */
long gb_state_range(const GbState *st, int i);
/* Iterations run so far (after the loop: all of them). */
long gb_state_iterations(const GbState *st);
/* items per iteration -> "items_per_second" in the report
 * (SetItemsProcessed(items x iterations)). Call after the loop. */
void gb_state_set_items(GbState *st, long items_per_iteration);
/* A named counter with GB_COUNTER_* flags. Call after the loop. */
void gb_state_counter(GbState *st, const char *name, double value, int flags);
/* A free-text label shown beside the result. */
void gb_state_label(GbState *st, const char *label);
/* Marks this run failed with msg (reported in place of its times, and
 * gb_run returns nonzero). After it, leave the function without calling
 * gb_state_keep_running again. */
void gb_state_skip_with_error(GbState *st, const char *msg);
/* Stop and restart the timer around work that should not count. */
void gb_state_pause(GbState *st);
void gb_state_resume(GbState *st);

/* The Google Benchmark this was built with (Debian's package version, from
 * bench/micro.mk), or "unknown". */
const char *gb_version(void);

/* --- running ----------------------------------------------------------------
 * Google Benchmark's own list of its --benchmark_* flags, on stdout. */
void gb_print_flags_help(void);
/* benchmark::Initialize (takes the --benchmark_* flags out of argv),
 * RunSpecifiedBenchmarks, Shutdown. Returns 0 on success; 2 on flags it does
 * not know or cannot parse (named on stderr; nothing runs); 1 if no
 * benchmark matched --benchmark_filter, a benchmark reported an error, or
 * the library threw. Google Benchmark itself exits the process on --help
 * (0) and on an --benchmark_out file it cannot open (1). */
int gb_run(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
