/* micro.c — hgbench-micro: microbenchmarks through Google Benchmark (via the
 * C shim gbench_shim.h), at the precision of the build (`real`), on real
 * Fashion-MNIST batches of 128:
 *
 *   loss_grad/MODEL          model_loss_grad
 *   hvp/MODEL                model_hvp (one tangent)
 *   hvp_block/MODEL/k:K      model_hvp_block, grad NULL, K = 1, 4, 16, 64;
 *                            counter per_tangent = time / K
 *   infobuf/info_mul/...     info_mul over P = 61706 int64 values (LeNet's P)
 *   infobuf/info_div/...     at m = 0.9 in one stream, and info_div back in
 *                            reverse order; each benchmark times one of the
 *                            two passes (the other runs with the timer
 *                            paused); counter per_value; the values must come
 *                            back bit for bit, or the program aborts (one
 *                            stream on one thread; the reversible engine
 *                            runs up to 16 streams in parallel)
 *   engine_run/E/lenet/T:8/incl_val_grad
 *                            one engine_run of each registered engine E
 *                            (bptt, reversible, forward, greedy):
 *                            T = 8 steps of batch 128, lr learned in
 *                            K = 2 windows, a validation set of 128 examples;
 *                            counter per_step = time / T, which includes the
 *                            validation gradient at w_T (and greedy's
 *                            per-step look-ahead) spread over the steps
 *
 * for MODEL = logreg, mlp (784-256-10 tanh), lenet. Model ops cycle through
 * 8 consecutive batches of the training part, one per iteration. Each op's
 * first call (scratch growth, page faults) is made once, untimed, before its
 * first timed loop. Times are wall clock (UseRealTime): the work runs on
 * OpenMP threads, which the main thread's CPU time would not see.
 * Counters named per_* are seconds per unit (the report prints them as
 * times); gemm_gflops is the GEMM-shaped work (model_grad_flops,
 * model_hvp_flops) per second of wall time; busy_others is the cores other
 * processes kept busy on average during the run (from /proc/stat, 10 ms
 * ticks, so only runs of 0.1 s or more tell): above 0.25 the timings are
 * noisy, and a warning on stderr says so at the end.
 *
 * Data as the hgbench command, through its problem layer (harness/problem.h):
 * the Fashion-MNIST train set, 128 examples held out by validation seed 1,
 * both parts normalised per channel by the training part's mean and std
 * (as bench_models.c); the engines' problem is lenet with w0 and batch
 * order of seed 0, as hgbench hypergrad --seed 0.
 * Repetitions: --benchmark_min_time defaults to 0.2 s here (see usage).
 * Leaves out: float64/float32 comparison within one run (one binary per
 * precision), memory, GPU timings.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../backend/cpu/blas.h"
#include "../common/flags.h"
#include "../common/check.h"
#include "../common/mem.h"
#include "../common/real.h"
#include "../common/rng.h"
#include "../common/timer.h"
#include "../datasets/dataset.h"
#include "../engines/engine.h"
#include "../backend/infobuf.h"
#include "../harness/hyper.h"
#include "../harness/inner.h"
#include "../harness/problem.h"
#include "../harness/runner.h"
#include "../io/atomic_file.h"
#include "../io/envelope.h"
#include "../models/model.h"
#include "gbench_shim.h"
#include "load.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HG_SANITIZED 1
#endif
#endif

enum {
    BATCH = 128,
    NBATCHES = 8,      /* model ops cycle through this many batches */
    VAL = 128,         /* validation examples (engines) */
    VAL_SEED = 1,      /* the hgbench command's default --val-seed */
    ENGINE_T = 8,      /* inner steps per engine run */
    ENGINE_K_LR = 2,   /* learned lr windows */
    KMAX = 64,
};
static const int KS[] = {1, 4, 16, 64}; /* block HVP tangents */
#define NKS ((int)(sizeof KS / sizeof KS[0]))
static const char *const MODELS[] = {"logreg", "mlp", "lenet"};
#define NMODELS ((int)(sizeof MODELS / sizeof MODELS[0]))
#define MAX_ENGINES 16 /* engine_run benchmarks: every registered engine */
#define ENGINE_LR 0.1
#define ENGINE_MOM 0.9
#define ENGINE_WD 5e-4
#define INFO_M 0.9
#define INFO_P 61706L /* LeNet's parameter count on 1x28x28 */
/* Our default for --benchmark_min_time (Google Benchmark's is 0.5 s): 24
 * benchmarks x 5 repetitions at 0.2 s keep a run of one precision near 40 s
 * on a quiet 2-core machine. */
#define DEFAULT_MIN_TIME "--benchmark_min_time=0.2"

/* ---------------------------------------------------------------- options */

static void usage(FILE *f, const Flag *flags)
{
    fputs("usage: hgbench-micro [--data-dir DIR] [--threads N] [--benchmark_* flags]\n"
          "Microbenchmarks through Google Benchmark, at the precision of this build\n"
          "(" HG_REAL_NAME "), on Fashion-MNIST batches of 128: loss+gradient, HVP and\n"
          "block HVP (k = 1, 4, 16, 64) of logreg, mlp and lenet; the information\n"
          "buffer (info_mul, info_div over 61706 values at m = 0.9); one engine_run of\n"
          "bptt, reversible, forward and greedy on LeNet, T = 8, lr in 2 windows\n"
          "(per_step includes the final validation gradient). Times are wall clock.\n"
          "\n",
          f);
    flags_usage(f, flags);
    fputs("\n"
          "Every other flag goes to Google Benchmark (1.7.1). The bench runs it as\n"
          "  hgbench-micro --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \\\n"
          "      --json micro-f32.json --benchmark_out=micro-f32.gbench.json \\\n"
          "      --benchmark_out_format=json\n"
          "and hgbench-report renders both (bench/report_micro.c). Also useful:\n"
          "--benchmark_filter=REGEX (e.g. 'engine_run|lenet'), --benchmark_min_time=S\n"
          "(seconds each repetition lasts at least, a plain number in 1.7.1; default\n"
          "here 0.2, Google Benchmark's own 0.5), --benchmark_list_tests=true.\n"
          "\n"
          "Exit status: 0 all ran, 1 a benchmark failed (its row says why) or none\n"
          "matched the filter, 2 bad flags, 3 the data could not be loaded. A round\n"
          "trip of the information buffer that does not restore its values aborts.\n"
          "\n",
          f);
}

typedef struct Options {
    const char *data_dir; /* NULL: the loader's default */
    const char *device;   /* --device: the backend the models run on */
    const char *json;     /* --json: the envelope file (NULL: none) */
    const char *commit;   /* --commit, for the envelope */
    int threads;
    int gb_argc;          /* argv for Google Benchmark: argv[0] and the rest */
    char **gb_argv;
    int argc;             /* the command as run, for the envelope */
    char **argv;
    /* for the envelope, taken before gb_run (Google Benchmark takes its
     * flags out of gb_argv): the --benchmark_out file, and the flags as
     * given less where the output goes */
    const char *gb_out;
    char gb_flags[2048];
} Options;

/* The value of Google Benchmark's flag prefix ("--benchmark_out=") as given
 * (the last one wins, as in Google Benchmark); NULL if absent. */
static const char *gb_flag_value(const Options *o, const char *prefix)
{
    const char *v = NULL;
    for (int i = 1; i < o->gb_argc; i++)
        if (!strncmp(o->gb_argv[i], prefix, strlen(prefix))) v = o->gb_argv[i] + strlen(prefix);
    return v;
}

/* Takes our flags out of argv; the rest, in order, is Google Benchmark's. */
static Options parse_flags(int argc, char **argv)
{
    Options o = {.threads = 2, .argc = argc, .argv = argv};
    const char *env = getenv("OMP_NUM_THREADS"); /* "4" or a list "4,2" */
    if (env && *env) {
        char *end;
        long t = strtol(env, &end, 10);
        if (t < 1 || t > 4096 || (*end && *end != ','))
            hg_die("OMP_NUM_THREADS='%s' is not a thread count", env);
        o.threads = (int)t;
    }
    int help = 0;
    const Flag flags[] = {
        {"--data-dir", "DIR", "the loader's, /usr/share/datasets/fashion-mnist",
         "Fashion-MNIST folder", FLAG_STRING, .target = &o.data_dir},
        {"--device", "NAME", "cpu", "cpu, cuda (CUDA builds only) or auto", FLAG_STRING,
         .target = &o.device},
        {"--threads", "N", "OMP_NUM_THREADS, else 2", "OpenMP and OpenBLAS threads",
         FLAG_INT, .target = &o.threads, .lo = 1, .hi = 4096},
        {"--json", "FILE", NULL,
         "also write the run's envelope (io/envelope.h) and settings to FILE, naming the "
         "--benchmark_out file that holds the results",
         FLAG_STRING, .target = &o.json},
        {"--commit", "ID", "unknown", "the commit to record in --json's envelope", FLAG_STRING,
         .target = &o.commit},
        {"--help", NULL, NULL, "this text, then Google Benchmark's flags", FLAG_SWITCH,
         .target = &help},
        {0},
    };
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    o.gb_argv = calloc((size_t)argc + 2, sizeof *o.gb_argv);
    HG_CHECK(rest && o.gb_argv, "out of memory");
    HgErr err = {{0}};
    int nrest = 0;
    if (flags_parse_known(flags, argc, argv, &nrest, rest, &err)) {
        fprintf(stderr, "hgbench-micro: %s\n", err.msg);
        exit(2);
    }
    if (help) {
        usage(stdout, flags);
        gb_print_flags_help();
        exit(0);
    }
    o.gb_argv[o.gb_argc++] = rest[0];
    static char min_time[] = DEFAULT_MIN_TIME; /* a later --benchmark_min_time wins */
    o.gb_argv[o.gb_argc++] = min_time;
    for (int i = 1; i < nrest; i++)
        o.gb_argv[o.gb_argc++] = rest[i];
    free(rest);
    o.gb_out = gb_flag_value(&o, "--benchmark_out=");
    if (o.json && !o.gb_out) {
        fprintf(stderr, "hgbench-micro: --json %s needs --benchmark_out=FILE (the results it "
                        "points to)\n", o.json);
        exit(2);
    }
    size_t len = 0;
    for (int i = 2; i < o.gb_argc; i++) { /* [1]: our default --benchmark_min_time */
        if (!strncmp(o.gb_argv[i], "--benchmark_out", 15)) continue;
        int n = snprintf(o.gb_flags + len, sizeof o.gb_flags - len, "%s%s", len ? " " : "",
                         o.gb_argv[i]);
        if (n < 0 || (size_t)n >= sizeof o.gb_flags - len) break;
        len += (size_t)n;
    }
    return o;
}

/* ---------------------------------------------------------------- load */

static double g_busy_max; /* the largest busy_others of a run of >= 0.1 s */

/* Counter busy_others: cores that other processes used on average since l0.
 * /proc/stat counts in ticks (10 ms): over runs much shorter than 0.1 s it
 * is noise, and such runs do not raise the end-of-run warning. */
static void report_load(GbState *st, Load l0)
{
    const Load l1 = load_now();
    const double wall = l1.wall - l0.wall;
    double others = wall > 0 ? (l1.busy - l0.busy - (l1.own - l0.own)) / wall : 0;
    if (others < 0) others = 0;
    if (wall >= 0.1 && others > g_busy_max) g_busy_max = others;
    gb_state_counter(st, "busy_others", others, GB_COUNTER_DEFAULT);
}

/* ---------------------------------------------------------------- model ops */

typedef enum OpKind { OP_LOSS_GRAD, OP_HVP, OP_HVP_BLOCK } OpKind;

typedef struct ModelCtx {
    Model *m;
    const Dataset *d;   /* normalised training part; batch b is examples
                         * [b BATCH, (b + 1) BATCH) */
    real *w, *grad;     /* [P] */
    real *V, *HV;       /* [KMAX][P] tangents and their products */
} ModelCtx;

typedef struct OpCtx {
    ModelCtx *mc;
    OpKind kind;
    unsigned warmed;    /* bit j: k = KS[j] (bit 0 for the other ops) has had
                         * its untimed first call */
} OpCtx;

/* One call on batch i mod NBATCHES; returns the loss (0 for hvp). */
static double op_call(const OpCtx *c, int k, long i)
{
    const ModelCtx *mc = c->mc;
    const long b = i % NBATCHES;
    const real *x = mc->d->x + (size_t)b * BATCH * dataset_dim(mc->d);
    const int32_t *y = mc->d->y + (size_t)b * BATCH;
    switch (c->kind) {
    case OP_LOSS_GRAD:
        return model_loss_grad(mc->m, mc->w, x, y, BATCH, mc->grad);
    case OP_HVP:
        model_hvp(mc->m, mc->w, x, y, BATCH, mc->V, mc->HV);
        return 0.0;
    case OP_HVP_BLOCK:
        return model_hvp_block(mc->m, mc->w, x, y, BATCH, k, mc->V, mc->HV, NULL);
    }
    return NAN;
}

/* NULL if the loss and the op's output are finite, else what is not. */
static const char *op_check(const OpCtx *c, int k, double loss)
{
    if (!isfinite(loss)) return "the loss is not finite";
    const long n = c->kind == OP_LOSS_GRAD ? c->mc->m->nparams : (long)k * c->mc->m->nparams;
    if (!c->mc->m->be->vec.all_finite(c->kind == OP_LOSS_GRAD ? c->mc->grad : c->mc->HV, n))
        return c->kind == OP_LOSS_GRAD ? "the gradient has non-finite entries"
                                       : "H v has non-finite entries";
    return NULL;
}

static void bm_model_op(GbState *st, void *ctx)
{
    OpCtx *c = ctx;
    const int k = c->kind == OP_HVP_BLOCK ? (int)gb_state_range(st, 0) : 1;
    unsigned bit = 1;
    for (int j = 0; j < NKS; j++)
        if (c->kind == OP_HVP_BLOCK && KS[j] == k) bit = 1u << j;
    if (!(c->warmed & bit)) {
        op_call(c, k, 0);
        c->warmed |= bit;
    }
    double loss = 0;
    long i = 0;
    const Load l0 = load_now();
    while (gb_state_keep_running(st))
        loss = op_call(c, k, i++);
    report_load(st, l0);
    const char *bad = op_check(c, k, loss);
    if (bad) {
        gb_state_skip_with_error(st, bad);
        return;
    }
    const Model *m = c->mc->m;
    const double flops = c->kind == OP_LOSS_GRAD ? model_grad_flops(m, BATCH)
                                                 : model_hvp_flops(m, BATCH, k);
    gb_state_counter(st, "gemm_gflops", flops / 1e9,
                     GB_COUNTER_RATE | GB_COUNTER_ITERATION_INVARIANT);
    if (c->kind == OP_HVP_BLOCK)
        gb_state_counter(st, "per_tangent", k, GB_COUNTER_TIME_PER_UNIT);
}

static void model_ctx_init(ModelCtx *mc, const char *spec, const Dataset *d, const Backend *be)
{
    HgErr err = {{0}};
    const Shape in = {d->c, d->h, d->w};
    mc->m = model_by_name(spec, in, d->classes, &err);
    if (!mc->m) hg_die("model %s: %s", spec, err.msg);
    model_set_backend(mc->m, be);
    mc->d = d;
    const size_t P = (size_t)mc->m->nparams;
    mc->w = mem_alloc(MEM_PARAMS, P * sizeof(real));
    mc->grad = mem_alloc(MEM_PARAMS, P * sizeof(real));
    mc->V = mem_alloc(MEM_TANGENTS, KMAX * P * sizeof(real));
    mc->HV = mem_alloc(MEM_TANGENTS, KMAX * P * sizeof(real));
    model_init(mc->m, mc->w, INIT_XAVIER, 0.0, 1);
    Rng r = rng_seed(2);
    for (size_t i = 0; i < KMAX * P; i++) mc->V[i] = (real)rng_normal(&r);
}

static void model_ctx_free(ModelCtx *mc)
{
    mem_free(mc->w);
    mem_free(mc->grad);
    mem_free(mc->V);
    mem_free(mc->HV);
    model_free(mc->m);
}

/* ---------------------------------------------------------------- infobuf */

typedef struct InfoCtx {
    int time_div;    /* 0: time the info_mul pass, 1: the info_div pass */
    long P;
    InfoRational q;
    InfoStream s;
    int64_t *x, *x0; /* [P] values, and their starting copy */
} InfoCtx;

static void info_ctx_init(InfoCtx *c, int time_div)
{
    c->time_div = time_div;
    c->P = INFO_P;
    HG_CHECK(info_rational(INFO_M, &c->q) == 0, "no rational for m = %g", INFO_M);
    /* the floor's words (P log2(d/n) bits, ~59.8 bits a word at S = 9), + slack */
    const double bits = (double)c->P * log2((double)c->q.d / (double)c->q.n);
    info_stream_init(&c->s, c->q.need, (long)(bits / 56) + 2);
    c->x = mem_alloc(MEM_PARAMS, sizeof(int64_t) * c->P);
    c->x0 = mem_alloc(MEM_PARAMS, sizeof(int64_t) * c->P);
    Rng r = rng_seed(3);
    for (long i = 0; i < c->P; i++) /* weights ~ N(0, 0.05^2), fixed point 2^-44 */
        c->x[i] = c->x0[i] = (int64_t)ldexp(0.05 * rng_normal(&r), 44);
}

static void info_ctx_free(InfoCtx *c)
{
    info_stream_free(&c->s);
    mem_free(c->x);
    mem_free(c->x0);
}

static void info_mul_pass(InfoCtx *c)
{
    for (long i = 0; i < c->P; i++)
        c->x[i] = info_mul(&c->s, c->x[i], &c->q);
}

static void info_div_pass(InfoCtx *c) /* a stack: last pushed, first popped */
{
    for (long i = c->P - 1; i >= 0; i--)
        c->x[i] = info_div(&c->s, c->x[i], &c->q);
}

static void bm_infobuf(GbState *st, void *ctx)
{
    InfoCtx *c = ctx;
    const Load l0 = load_now();
    while (gb_state_keep_running(st)) {
        if (c->time_div) {
            gb_state_pause(st);
            info_mul_pass(c);
            gb_state_resume(st);
            info_div_pass(c);
        } else {
            info_mul_pass(c);
            gb_state_pause(st);
            info_div_pass(c);
            gb_state_resume(st);
        }
    }
    HG_CHECK(!memcmp(c->x, c->x0, sizeof(int64_t) * c->P) && info_stream_empty(&c->s),
             "information buffer: info_mul then info_div over %ld values at m = %ld/%ld "
             "did not restore them bit for bit (stream %s): a bug in backend/infobuf.h",
             c->P, (long)c->q.n, (long)c->q.d, info_stream_empty(&c->s) ? "empty" : "not empty");
    report_load(st, l0);
    gb_state_counter(st, "per_value", (double)c->P, GB_COUNTER_TIME_PER_UNIT);
}

/* ---------------------------------------------------------------- engines */

typedef struct EngineCtx {
    Runner run; /* lenet on the loaded data, w0 and batch order of seed 0; the
                 * schedule theta describes, as hgbench hypergrad runs */
    int warmed;
} EngineCtx;

/* The engine's run of the engine benchmarks, by the run builder. */
static void engine_ctx_init(EngineCtx *c, const EngineOps *ops, const Problem *pb, int C)
{
    HgErr err = {{0}};
    const int K[HYPER_KINDS] = {[HYPER_LR] = ENGINE_K_LR};
    RunSpec spec = runner_spec(ops, ENGINE_T, K, ENGINE_LR, ENGINE_MOM, ENGINE_WD);
    spec.opt.checkpoints = C;
    c->warmed = 0;
    if (runner_build(&c->run, &pb->inner, &spec, &err))
        hg_die("engine problem: %s", err.msg);
}

static void bm_engine(GbState *st, void *ctx)
{
    EngineCtx *c = ctx;
    EngineResult r;
    HgErr err = {{0}};
    if (!c->warmed) {
        if (runner_hypergrad(&c->run, NULL, &r, &err)) {
            gb_state_skip_with_error(st, err.msg);
            return;
        }
        engine_result_free(&r);
        c->warmed = 1;
    }
    const Load l0 = load_now();
    while (gb_state_keep_running(st)) {
        if (runner_hypergrad(&c->run, NULL, &r, &err)) {
            gb_state_skip_with_error(st, err.msg);
            return;
        }
        engine_result_free(&r);
    }
    report_load(st, l0);
    gb_state_counter(st, "per_step", c->run.layout.T, GB_COUNTER_TIME_PER_UNIT);
}

/* ---------------------------------------------------------------- --json */

/* The envelope file (--json): what ran (io/envelope.h), the settings the
 * section's text states, and where Google Benchmark's own JSON is
 * (gbench_results: its file name, in the same folder). hgbench-report
 * (bench/report_micro.c) reads both. Returns 0, or 1 (the reason on stderr). */
static int write_envelope(const Options *o, int rc)
{
    AtomicFile a;
    HgErr err = {{0}};
    if (atomic_open(&a, o->json, &err)) {
        fprintf(stderr, "hgbench-micro: %s\n", err.msg);
        return 1;
    }
    JsonWriter j;
    json_init(&j, a.f);
    envelope_begin(&j, &(Envelope){.program = "hgbench-micro", .commit = o->commit,
                                   .argc = o->argc, .argv = o->argv, .threads = o->threads,
                                   .precision = HG_REAL_NAME, .device = o->device});
    json_field_int(&j, "exit", rc);
    json_field_string(&j, "gbench_version", gb_version());
    const char *slash = strrchr(o->gb_out, '/');
    json_field_string(&j, "gbench_results", slash ? slash + 1 : o->gb_out);
    json_field_string(&j, "gbench_flags", o->gb_flags);
    json_key(&j, "settings");
    json_object_begin(&j, 0);
    json_field_int(&j, "batch", BATCH);
    json_key(&j, "models");
    json_array_begin(&j, 1);
    for (int i = 0; i < NMODELS; i++) json_put_string(&j, MODELS[i]);
    json_array_end(&j);
    json_key(&j, "ks");
    json_array_begin(&j, 1);
    for (int i = 0; i < NKS; i++) json_int(&j, KS[i]);
    json_array_end(&j);
    json_field_int(&j, "info_p", INFO_P);
    json_field_double(&j, "info_m", INFO_M);
    json_field_int(&j, "engine_steps", ENGINE_T);
    json_field_int(&j, "engine_val", VAL);
    json_object_end(&j);
    json_object_end(&j);
    fputc('\n', a.f);
    if (atomic_commit(&a, &err)) {
        fprintf(stderr, "hgbench-micro: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- main */

/* The problem (harness/problem.h): Fashion-MNIST train, VAL examples held
 * out by validation seed VAL_SEED, both normalised by the training part's
 * per-channel statistics; lenet, w0 and batch order of seed 0. Exits 3 if it
 * cannot be loaded. */
static void load_problem(const Options *o, Problem *pb, char *desc, size_t cap)
{
    HgErr err = {{0}};
    ProblemSpec spec = problem_spec_defaults();
    spec.model = "lenet";
    spec.data = "fashion-mnist";
    spec.data_dir = o->data_dir;
    spec.device = o->device;
    spec.batch = BATCH;
    spec.val = VAL;
    spec.val_seed = VAL_SEED;
    spec.seed = 0;
    const int rc = problem_load(&spec, pb, &err);
    if (rc) {
        fprintf(stderr, "hgbench-micro: %s\n", err.msg);
        exit(rc == PROBLEM_BAD_SPEC ? 2 : 3); /* a bad --device is a usage error */
    }
    HG_CHECK(pb->train.n >= NBATCHES * BATCH, "%d training examples", pb->train.n);
    const char *dir = o->data_dir ? o->data_dir : dataset_default_dir("fashion-mnist");
    snprintf(desc, cap, "fashion-mnist train from %s: %d training examples, %d held out "
             "(val seed %d), normalised by the training part's mean %.4f and std %.4f",
             dir ? dir : "?", pb->train.n, pb->val.n, VAL_SEED, pb->mean[0], pb->std[0]);
}

static void add_context(const char *key, const char *value)
{
    if (gb_add_context(key, value)) exit(1);
}

int main(int argc, char **argv)
{
    Options o = parse_flags(argc, argv);
    BACKEND_CPU.mem.set_threads(o.threads); /* OpenMP and OpenBLAS */

    Problem pb;
    char buf[512];
    load_problem(&o, &pb, buf, sizeof buf);
    add_context("hg_data", buf);
    add_context("hg_precision", HG_REAL_NAME);
    snprintf(buf, sizeof buf, "%d (OpenMP max %d; %s, core %s)", o.threads,
             omp_get_max_threads(), openblas_get_config(), openblas_get_corename());
    add_context("hg_threads", buf);
    add_context("hg_time", "wall clock (UseRealTime); per_* counters are seconds per unit");
    snprintf(buf, sizeof buf, "model ops: batch %d, cycling through %d batches; engines: "
             "lenet, T = %d, batch %d, val %d, lr %g (learned, K = %d), mom %g, wd %g, "
             "constant schedule", BATCH, NBATCHES, ENGINE_T, BATCH, VAL, ENGINE_LR,
             ENGINE_K_LR, ENGINE_MOM, ENGINE_WD);
    add_context("hg_settings", buf);
#ifndef __OPTIMIZE__
    add_context("hg_WARNING_build", "built without optimisation: timings do not measure the code");
    fprintf(stderr, "hgbench-micro: WARNING: built without optimisation\n");
#endif
#ifdef HG_SANITIZED
    add_context("hg_WARNING_sanitizer", "built with a sanitizer: timings are several times slower");
    fprintf(stderr, "hgbench-micro: WARNING: built with a sanitizer\n");
#endif

    static const char *const op_names[] = {"loss_grad", "hvp", "hvp_block"};
    ModelCtx mcs[NMODELS];
    OpCtx ops[NMODELS][3];
    for (int i = 0; i < NMODELS; i++) {
        model_ctx_init(&mcs[i], MODELS[i], &pb.train, pb.be);
        for (int k = 0; k < 3; k++) {
            ops[i][k] = (OpCtx){.mc = &mcs[i], .kind = (OpKind)k};
            snprintf(buf, sizeof buf, "%s/%s", op_names[k], MODELS[i]);
            GbBench *b = gb_register(buf, bm_model_op, &ops[i][k]);
            if (!b) return 1;
            gb_bench_unit(b, GB_US);
            gb_bench_real_time(b);
            if (k == OP_HVP_BLOCK) {
                gb_bench_arg_name(b, "k");
                for (int j = 0; j < NKS; j++) gb_bench_arg(b, KS[j]);
            }
        }
    }

    InfoCtx info[2];
    for (int t = 0; t < 2; t++) {
        info_ctx_init(&info[t], t);
        snprintf(buf, sizeof buf, "infobuf/%s/m:%g/P:%ld", t ? "info_div" : "info_mul", INFO_M,
                 INFO_P);
        GbBench *b = gb_register(buf, bm_infobuf, &info[t]);
        if (!b) return 1;
        gb_bench_unit(b, GB_US);
        gb_bench_real_time(b);
    }

    EngineCtx ecs[MAX_ENGINES];
    int necs = 0;
    for (int i = 0; engine_at(i); i++) {
        const EngineOps *eo = engine_at(i);
        HG_CHECK(i < MAX_ENGINES, "more than %d engines registered", MAX_ENGINES);
        /* the checkpoint engine gets its default count of states, as in
         * the engines bench (C = 0 is refused) */
        const int C = engine_takes(eo, "--checkpoints") ? checkpoint_count(0, ENGINE_T) : 0;
        engine_ctx_init(&ecs[i], eo, &pb, C);
        necs = i + 1;
        if (C)
            snprintf(buf, sizeof buf, "engine_run/%s/lenet/T:%d/C:%d/incl_val_grad", eo->name,
                     ENGINE_T, C);
        else
            snprintf(buf, sizeof buf, "engine_run/%s/lenet/T:%d/incl_val_grad", eo->name,
                     ENGINE_T);
        GbBench *b = gb_register(buf, bm_engine, &ecs[i]);
        if (!b) return 1;
        gb_bench_unit(b, GB_MS);
        gb_bench_real_time(b);
    }

    int rc = gb_run(o.gb_argc, o.gb_argv);
    if (o.json && rc != 2 && write_envelope(&o, rc) && !rc) rc = 1;
    if (g_busy_max > 0.25)
        fprintf(stderr, "hgbench-micro: WARNING: other processes kept up to %.2f cores busy "
                "during a benchmark (counter busy_others): its timings are noisy\n",
                g_busy_max);

    for (int i = 0; i < necs; i++)
        runner_free(&ecs[i].run);
    for (int t = 0; t < 2; t++) info_ctx_free(&info[t]);
    for (int i = 0; i < NMODELS; i++) model_ctx_free(&mcs[i]);
    problem_free(&pb);
    free(o.gb_argv);
    return rc;
}
