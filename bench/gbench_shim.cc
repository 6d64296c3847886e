// gbench_shim.cc — the C API of gbench_shim.h over Google Benchmark 1.7.1.
//
// Each extern "C" function catches every exception before returning to C:
// those that can fail return an error code, the rest print what failed and
// abort (a C caller cannot unwind a C++ exception). GbState and GbBench are
// never defined: they are the C names of benchmark::State and
// benchmark::internal::Benchmark, converted back by the casts below.
#include "gbench_shim.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace {

benchmark::State &S(GbState *st) { return *reinterpret_cast<benchmark::State *>(st); }
const benchmark::State &S(const GbState *st)
{
    return *reinterpret_cast<const benchmark::State *>(st);
}
benchmark::internal::Benchmark *B(GbBench *b)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}

// Set by gb_state_skip_with_error: a benchmark failed, gb_run returns 1.
std::atomic<bool> g_failed{false};

[[noreturn]] void die(const char *where, const char *what)
{
    std::fprintf(stderr, "gbench_shim: %s: %s\n", where, what);
    std::abort();
}

// Runs f; an exception is printed and aborts (for calls with no error return).
template <class F> void guarded(const char *where, F &&f) noexcept
{
    try {
        f();
    } catch (const std::exception &e) {
        die(where, e.what());
    } catch (...) {
        die(where, "unknown C++ exception");
    }
}

// Google Benchmark 1.7.1 exits the process on an unknown output format, after
// the setup the caller did; checked here first so it is an ordinary flag error.
bool formats_ok(int argc, char **argv)
{
    static const char *const flags[] = {"--benchmark_format=", "--benchmark_out_format="};
    for (int i = 1; i < argc; i++)
        for (const char *f : flags) {
            const size_t n = std::strlen(f);
            if (std::strncmp(argv[i], f, n) != 0)
                continue;
            const char *v = argv[i] + n;
            if (std::strcmp(v, "console") && std::strcmp(v, "json") && std::strcmp(v, "csv")) {
                std::fprintf(stderr, "%s: flag %.*s: '%s' is not console, json or csv\n",
                             argv[0], (int)(n - 1), f, v);
                return false;
            }
        }
    return true;
}

} // namespace

extern "C" {

GbBench *gb_register(const char *name, gb_fn fn, void *ctx)
{
    try {
        auto *b = benchmark::RegisterBenchmark(
            name, [fn, ctx](benchmark::State &st) { fn(reinterpret_cast<GbState *>(&st), ctx); });
        return reinterpret_cast<GbBench *>(b);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "gbench_shim: cannot register '%s': %s\n", name, e.what());
    } catch (...) {
        std::fprintf(stderr, "gbench_shim: cannot register '%s'\n", name);
    }
    return nullptr;
}

void gb_bench_arg_name(GbBench *b, const char *arg_name)
{
    if (b)
        guarded("gb_bench_arg_name", [&] { B(b)->ArgName(arg_name); });
}

void gb_bench_arg(GbBench *b, long value)
{
    if (b)
        guarded("gb_bench_arg", [&] { B(b)->Arg(value); });
}

void gb_bench_unit(GbBench *b, GbUnit unit)
{
    static const benchmark::TimeUnit units[] = {benchmark::kNanosecond, benchmark::kMicrosecond,
                                                benchmark::kMillisecond, benchmark::kSecond};
    if (b && unit >= GB_NS && unit <= GB_S)
        B(b)->Unit(units[unit]);
}

void gb_bench_real_time(GbBench *b)
{
    if (b)
        B(b)->UseRealTime();
}

void gb_bench_min_time(GbBench *b, double seconds)
{
    if (b && seconds > 0)
        B(b)->MinTime(seconds);
}

int gb_add_context(const char *key, const char *value)
{
    try {
        benchmark::AddCustomContext(key, value);
        return 0;
    } catch (...) {
        std::fprintf(stderr, "gbench_shim: cannot add context '%s'\n", key);
        return -1;
    }
}

int gb_state_keep_running(GbState *st) { return S(st).KeepRunning(); }

long gb_state_range(const GbState *st, int i)
{
    return (long)S(st).range((std::size_t)i);
}

long gb_state_iterations(const GbState *st) { return (long)S(st).iterations(); }

void gb_state_set_items(GbState *st, long items_per_iteration)
{
    S(st).SetItemsProcessed((int64_t)items_per_iteration * S(st).iterations());
}

void gb_state_counter(GbState *st, const char *name, double value, int flags)
{
    int f = benchmark::Counter::kDefaults;
    if (flags & GB_COUNTER_RATE)
        f |= benchmark::Counter::kIsRate;
    if (flags & GB_COUNTER_ITERATION_INVARIANT)
        f |= benchmark::Counter::kIsIterationInvariant;
    if (flags & GB_COUNTER_AVG_ITERATIONS)
        f |= benchmark::Counter::kAvgIterations;
    if (flags & GB_COUNTER_INVERT)
        f |= benchmark::Counter::kInvert;
    guarded("gb_state_counter", [&] {
        S(st).counters[name] = benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(f));
    });
}

void gb_state_label(GbState *st, const char *label)
{
    guarded("gb_state_label", [&] { S(st).SetLabel(label); });
}

void gb_state_skip_with_error(GbState *st, const char *msg)
{
    g_failed = true;
    guarded("gb_state_skip_with_error", [&] { S(st).SkipWithError(msg); });
}

void gb_state_pause(GbState *st) { S(st).PauseTiming(); }
void gb_state_resume(GbState *st) { S(st).ResumeTiming(); }

void gb_print_flags_help(void)
{
    guarded("gb_print_flags_help", [] { benchmark::PrintDefaultHelp(); });
}

#ifndef HG_GBENCH_VERSION
#define HG_GBENCH_VERSION "unknown"
#endif
const char *gb_version(void) { return HG_GBENCH_VERSION[0] ? HG_GBENCH_VERSION : "unknown"; }

int gb_run(int argc, char **argv)
{
    try {
        if (!formats_ok(argc, argv))
            return 2;
        benchmark::Initialize(&argc, argv);
        if (benchmark::ReportUnrecognizedArguments(argc, argv))
            return 2;
        const std::size_t ran = benchmark::RunSpecifiedBenchmarks();
        benchmark::Shutdown();
        if (ran == 0) {
            std::fprintf(stderr, "%s: no benchmark matched --benchmark_filter\n", argv[0]);
            return 1;
        }
        if (g_failed) {
            std::fprintf(stderr, "%s: a benchmark reported an error (see its row)\n", argv[0]);
            return 1;
        }
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: Google Benchmark failed: %s\n", argv[0], e.what());
    } catch (...) {
        std::fprintf(stderr, "%s: Google Benchmark failed (unknown C++ exception)\n", argv[0]);
    }
    return 1;
}

} // extern "C"
