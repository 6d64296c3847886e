/* bench_models.c — hgbench-models: time per call of the model ops on real
 * Fashion-MNIST batches, at the precision of the build (`real`):
 *   loss_grad      model_loss_grad           (the baseline of each model)
 *   hvp            model_hvp                 (one tangent)
 *   hvp_block k    model_hvp_block, grad=NULL (k = 1, 4, 16 tangents)
 *
 * Method (google/benchmark style): per op a warm-up, then --repeats
 * repetitions; repetition r times a loop of C calls on batch r (examples
 * [r*batch, (r+1)*batch) of the normalised training set), C calibrated so a
 * loop lasts >= --min-time. Reported: median time per call over the
 * repetitions, min and max, time per tangent, ratio to loss_grad of the same
 * model in the same run, and GFLOP/s of the GEMM-shaped work
 * (model_grad_flops, model_hvp_flops: exact counts of the products).
 *
 * Output: whitespace columns with '#' context lines (gnuplot reads it as is);
 * '-' marks a column that does not apply. A non-finite loss or output is an
 * error row, never a number. --json FILE: the same as data (the envelope of
 * io/envelope.h, the context, and per model its facts, rows and profile by
 * name), which hgbench-report renders (bench/report_models.c). A backend
 * with several conv paths (CUDA: HG_CUDA_CONV; the CPU with oneDNN:
 * HG_CPU_CONV) adds its path and the picks made so far in this process, as
 * '#' lines and per model as "conv_picks" (hypergrad's JSON has the same).
 * On a device (--device cuda) the timed loops
 * end with a download, and the per-layer profile is timed by CUDA events.
 * Leaves out: the engines (hgbench-engines), memory beyond the activation
 * scratch peak.
 */
#include <ctype.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../backend/cpu/blas.h"
#include "../backend/backend.h"
#include "../common/flags.h"
#include "../io/atomic_file.h"
#include "../io/envelope.h"
#include "../common/check.h"
#include "../common/mem.h"
#include "../common/real.h"
#include "../common/rng.h"
#include "../common/timer.h"
#include "../datasets/dataset.h"
#include "../harness/problem.h"
#include "../models/model.h"
#include "ceiling.h"
#include "../io/machine.h"
#include "load.h"

#ifndef HG_BUILD_FLAGS
#define HG_BUILD_FLAGS "unknown (compile with -DHG_BUILD_FLAGS='\"...\"' to record them)"
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HG_SANITIZED 1
#endif
#endif

#define MAX_MODELS 16
#define MODELS_VAL 128 /* validation examples held out, as hgbench-micro */
#define MAX_K 16

/* ---------------------------------------------------------------- options */

typedef struct Options {
    char models[MAX_MODELS][64];
    int nmodels;
    int batch, repeats, threads;
    double min_time;      /* seconds per timed loop */
    const char *data_dir; /* NULL: the loader's default */
    const char *device;   /* --device: the backend every model runs on */
    const Backend *be;    /* resolved from it by the problem layer */
    const char *out;      /* NULL: stdout */
    const char *json;     /* --json: the results as data too (NULL: none) */
    const char *commit;
    int context_only, no_context;
} Options;

static Options options_defaults(void)
{
    Options o = {.batch = 128, .repeats = 9, .threads = 2, .min_time = 0.05,
                 .commit = "unknown"};
    const char *env = getenv("OMP_NUM_THREADS"); /* "4" or a list "4,2" */
    if (env && *env) {
        char *end;
        long t = strtol(env, &end, 10);
        if (t < 1 || t > 4096 || (*end && *end != ','))
            hg_die("OMP_NUM_THREADS='%s' is not a thread count", env);
        o.threads = (int)t;
    }
    return o;
}

/* "logreg,mlp:256,128:relu,lenet": split on commas, but a piece that starts
 * with a digit continues the previous spec (the layer list of an mlp).
 * --model is repeatable: each adds to the list. */
static int add_models(const char *flag, const char *list, void *target, HgErr *err)
{
    Options *o = target;
    const char *p = list;
    if (!*p) return hg_fail(err, "%s '': no model named", flag);
    while (*p) {
        size_t n = strcspn(p, ",");
        int continues = o->nmodels > 0 && p != list && isdigit((unsigned char)*p);
        if (n == 0) return hg_fail(err, "%s: empty name in '%s'", flag, list);
        if (continues) {
            char *prev = o->models[o->nmodels - 1];
            size_t have = strlen(prev);
            if (have + 1 + n >= sizeof o->models[0])
                return hg_fail(err, "%s: spec too long in '%s'", flag, list);
            snprintf(prev + have, sizeof o->models[0] - have, ",%.*s", (int)n, p);
        } else {
            if (o->nmodels == MAX_MODELS)
                return hg_fail(err, "%s: more than %d models", flag, MAX_MODELS);
            if (n >= sizeof o->models[0])
                return hg_fail(err, "%s: name too long in '%s'", flag, list);
            snprintf(o->models[o->nmodels++], sizeof o->models[0], "%.*s", (int)n, p);
        }
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}

static FlagTable models_flags(Options *o, int *help)
{
    return (FlagTable){{
        {"--model", "NAME", "logreg,mlp,lenet",
         "logreg, mlp (784-256-10 tanh), lenet, or an mlp spec such as mlp:256,128:relu; "
         "repeatable or a comma list", FLAG_FUNC, .target = o, .parse = add_models},
        {"--batch", "N", "128", "examples per batch", FLAG_INT, .target = &o->batch, .lo = 1,
         .hi = 60000},
        {"--repeats", "N", "9", "timed repetitions per op, repetition r on batch r", FLAG_INT,
         .target = &o->repeats, .lo = 1, .hi = 1000},
        {"--min-time", "S", "0.05", "seconds each timed loop lasts at least, in (0, 60]",
         FLAG_REAL, .target = &o->min_time, .lo = 0, .hi = 60, .open_lo = 1},
        {"--threads", "N", "OMP_NUM_THREADS, else 2", "OpenMP and OpenBLAS threads",
         FLAG_INT, .target = &o->threads, .lo = 1, .hi = 4096},
        {"--data-dir", "DIR", "the loader's, /usr/share/datasets/fashion-mnist",
         "Fashion-MNIST folder", FLAG_STRING, .target = &o->data_dir},
        {"--device", "NAME", "cpu", "cpu, cuda (CUDA builds only) or auto", FLAG_STRING,
         .target = &o->device},
        {"--out", "FILE", "stdout", "write results to FILE (atomically)", FLAG_STRING,
         .target = &o->out},
        {"--json", "FILE", NULL,
         "also write the results as JSON to FILE (atomically), with the envelope",
         FLAG_STRING, .target = &o->json},
        {"--commit", "ID", "unknown", "commit to record (scripts/bench-models.sh passes it)",
         FLAG_STRING, .target = &o->commit, .empty_ok = 1},
        {"--context-only", NULL, NULL, "print the machine/build preamble and exit",
         FLAG_SWITCH, .target = &o->context_only},
        {"--no-context", NULL, NULL, "leave the machine/build preamble out", FLAG_SWITCH,
         .target = &o->no_context},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = help},
    }};
}

static void usage(FILE *f)
{
    Options scratch;
    int help;
    const FlagTable t = models_flags(&scratch, &help);
    fputs("usage: hgbench-models [flags]\n"
          "Times loss+gradient, HVP and block HVP (k = 1, 4, 16) of the models on\n"
          "Fashion-MNIST batches at the precision of this build (" HG_REAL_NAME ").\n"
          "\n",
          f);
    flags_usage(f, t.f);
    fputs("\n"
          "Exit status: 0 all ops ran, 1 an op or model failed (see its error row),\n"
          "2 bad flags, 3 the data could not be loaded.\n",
          f);
}

/* Exits 0 after --help, 2 on a usage error. */
static Options parse_flags(int argc, char **argv)
{
    Options o = options_defaults();
    HgErr err = {{0}};
    int help = 0;
    const FlagTable t = models_flags(&o, &help);
    if (flags_parse(t.f, argc, argv, &err)) {
        fprintf(stderr, "hgbench-models: %s\n", err.msg);
        exit(2);
    }
    if (help) {
        usage(stdout);
        exit(0);
    }
    if (o.context_only && o.no_context)
        hg_die("flags --context-only and --no-context exclude each other");
    if (o.nmodels == 0 && add_models("--model", "logreg,mlp,lenet", &o, &err))
        hg_die("%s", err.msg);
    return o;
}

/* ---------------------------------------------------------------- JSON */

/* --json: the writer (NULL without it) and its file. The text output is
 * written as before; each piece of it also goes here, by name. */
static JsonWriter *J;
static JsonWriter g_json;
static AtomicFile g_json_file;

/* The "# key: value" lines of text as members of an open JSON object; the
 * header line, the column list and warnings (kept apart) are left out. */
static void json_context_lines(const char *text)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        const char *colon = memchr(line, ':', n);
        if (n > 2 && line[0] == '#' && line[1] == ' ' && colon && colon + 1 < line + n &&
            colon[1] == ' ') {
            char key[64], value[2048];
            snprintf(key, sizeof key, "%.*s", (int)(colon - line - 2), line + 2);
            snprintf(value, sizeof value, "%.*s", (int)(line + n - colon - 2), colon + 2);
            if (strcmp(key, "hgbench-models") && strcmp(key, "columns") &&
                strcmp(key, "WARNING"))
                json_field_string(J, key, value);
        }
        line += n + (end ? 1 : 0);
    }
}

/* ---------------------------------------------------------------- context */

static void iso_date(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *isa_flags(void)
{
    static char buf[96];
    buf[0] = '\0';
#ifdef __AVX512F__
    strcat(buf, " avx512f");
#endif
#ifdef __AVX2__
    strcat(buf, " avx2");
#endif
#ifdef __FMA__
    strcat(buf, " fma");
#endif
#ifdef __AVX__
    strcat(buf, " avx");
#endif
#ifdef __SSE4_2__
    strcat(buf, " sse4.2");
#endif
    return buf[0] ? buf + 1 : "baseline x86-64 (no -march)";
}

/* Loud, in the output and on stderr: these builds do not measure speed
 * (and in --json's "build_warnings"). */
static void print_build_warnings(FILE *f)
{
    const char *w[2];
    int n = 0;
#ifndef __OPTIMIZE__
    w[n++] = "built WITHOUT OPTIMISATION (__OPTIMIZE__ undefined): these timings do not "
             "measure the speed of the code";
#endif
#ifdef HG_SANITIZED
    w[n++] = "built with a SANITIZER (address/thread): timings are several times slower "
             "than a plain build";
#endif
    for (int i = 0; i < n; i++) {
        fprintf(f, "# WARNING: %s\n", w[i]);
        fprintf(stderr, "hgbench-models: WARNING: %s\n", w[i]);
    }
    if (J) {
        json_key(J, "build_warnings");
        json_array_begin(J, 1);
        for (int i = 0; i < n; i++) json_put_string(J, w[i]);
        json_array_end(J);
    }
}

static void print_context(FILE *out, const Options *o)
{
    /* written to a buffer first: the text as before, and its lines as
     * --json's "context" */
    char *text = NULL;
    size_t text_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    HG_CHECK(f, "open_memstream");
    Machine mc;
    machine_probe(&mc);
    char date[32];
    iso_date(date, sizeof date);
    fprintf(f, "# hgbench-models: time per call of the model ops (loss+gradient, HVP, "
               "block HVP), batch %d\n", o->batch);
    fprintf(f, "# date: %s\n", date);
    machine_print(&mc, f, "# ");
#if defined(__clang__)
    fprintf(f, "# compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
    fprintf(f, "# compiler: gcc %s\n", __VERSION__);
#else
    fprintf(f, "# compiler: unknown\n");
#endif
    fprintf(f, "# build flags: %s\n", HG_BUILD_FLAGS);
    fprintf(f, "# build: %s, %s; isa: %s; OpenMP %d\n",
#ifdef __OPTIMIZE__
            "optimised",
#else
            "NOT OPTIMISED",
#endif
#ifdef HG_SANITIZED
            "SANITIZED",
#else
            "no sanitizers",
#endif
            isa_flags(), _OPENMP);
    fprintf(f, "# precision: %s\n", HG_REAL_NAME);
    fprintf(f, "# threads: %d (OpenMP max threads %d; %s, core %s, %d threads)\n", o->threads,
            omp_get_max_threads(), openblas_get_config(), openblas_get_corename(),
            openblas_get_num_threads());
    fprintf(f, "# commit: %s\n", o->commit);
    const double ceiling = gemm_ceiling_gflops(2048, 5);
    fprintf(f, "# gemm ceiling: %.1f GFLOP/s (%s 2048^3 GEMM, median of 5, %d threads)\n",
            ceiling, HG_REAL_NAME, omp_get_max_threads());
    fprintf(f, "# method: per op a warm-up (>= %.3g s, batch 0), then %d "
               "repetitions; repetition r times a loop of C calls on batch r, C calibrated "
               "so the loop lasts >= %.3g s; median time per call over repetitions, min and "
               "max; wall clock (CLOCK_MONOTONIC)\n",
            2 * o->min_time, o->repeats, o->min_time);
    fprintf(f, "# gemm flops: counts of the GEMM-shaped work (2 x multiply-adds of the "
               "conv and linear products) each op does: model_grad_flops for loss_grad, "
               "model_hvp_flops(k) for hvp and hvp_block; elementwise work is not "
               "counted\n");
    fclose(f);
    fputs(text, out);
    if (J) {
        json_field_int(J, "batch", o->batch);
        json_field_int(J, "repeats", o->repeats);
        json_field_double(J, "gemm_ceiling_gflops", ceiling);
        json_key(J, "context");
        json_object_begin(J, 0);
        json_context_lines(text);
        json_object_end(J);
    }
    free(text);
    print_build_warnings(out);
    fprintf(out, "# columns: model params op k calls median_ms min_ms max_ms ms_per_tangent "
                 "ratio_to_loss_grad gemm_gflops status ('-': does not apply; status "
                 "'error: MESSAGE' replaces the numbers)\n");
}

/* ---------------------------------------------------------------- timing */

typedef enum OpKind { OP_LOSS_GRAD, OP_HVP, OP_HVP_BLOCK } OpKind;

typedef struct OpSpec {
    const char *name;
    OpKind kind;
    int k;
} OpSpec;

static const OpSpec OPS[] = {
    {"loss_grad", OP_LOSS_GRAD, 1}, {"hvp", OP_HVP, 1},       {"hvp_block", OP_HVP_BLOCK, 1},
    {"hvp_block", OP_HVP_BLOCK, 4}, {"hvp_block", OP_HVP_BLOCK, 16},
};
#define NOPS ((int)(sizeof OPS / sizeof OPS[0]))

/* The buffers live in the backend's memory (the device's on a GPU; there
 * the data is the problem's uploaded copy): ops see no host pointer. */
typedef struct Bench {
    Model *m;
    const Backend *be;
    const Dataset *d;
    int batch;
    real *w;    /* [nparams] */
    real *grad; /* [nparams] */
    real *V;    /* [MAX_K][nparams] tangents */
    real *HV;   /* [MAX_K][nparams] */
    real *host; /* [MAX_K][nparams]: outputs downloaded for the finiteness check */
} Bench;

/* One call of `op` on batch `rep`; returns its loss (0 for hvp, which has none). */
static double op_call(const Bench *b, const OpSpec *op, int rep)
{
    const real *x = b->d->x + (size_t)rep * b->batch * dataset_dim(b->d);
    const int32_t *y = b->d->y + (size_t)rep * b->batch;
    switch (op->kind) {
    case OP_LOSS_GRAD:
        return model_loss_grad(b->m, b->w, x, y, b->batch, b->grad);
    case OP_HVP:
        model_hvp(b->m, b->w, x, y, b->batch, b->V, b->HV);
        return 0.0;
    case OP_HVP_BLOCK:
        return model_hvp_block(b->m, b->w, x, y, b->batch, op->k, b->V, b->HV, NULL);
    }
    return NAN;
}

/* NULL if the loss and the op's output are finite, else what is not. */
static const char *check_outputs(const Bench *b, const OpSpec *op, double loss)
{
    if (isnan(loss)) return "loss is nan";
    if (isinf(loss)) return "loss is inf";
    long len = op->kind == OP_LOSS_GRAD ? b->m->nparams : (long)op->k * b->m->nparams;
    const real *out = b->host;
    b->be->mem.download(b->host, op->kind == OP_LOSS_GRAD ? b->grad : b->HV, sizeof(real) * len);
    for (long i = 0; i < len; i++)
        if (!isfinite(out[i]))
            return op->kind == OP_LOSS_GRAD ? "gradient has non-finite entries"
                                            : "H v has non-finite entries";
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct Timing {
    int calls;                 /* per repetition */
    double median, min, max;   /* seconds per call */
} Timing;

/* Returns NULL, or the error that stopped the measurement. */
static const char *time_op(const Bench *b, const OpSpec *op, const Options *o, Timing *t,
                           char *msg, size_t cap)
{
    const char *bad;
    /* Warm-up on batch 0 for >= 2 min_time: a slow op gets one call, a fast
     * one many. The calls after the first (which sizes the scratch) estimate
     * the time per call. */
    double start = now_s(), after_first = 0, loss;
    int calls = 0;
    do {
        loss = op_call(b, op, 0);
        if (++calls == 1) after_first = now_s();
    } while (now_s() - start < 2 * o->min_time);
    if ((bad = check_outputs(b, op, loss))) {
        snprintf(msg, cap, "%s (warm-up, batch 0)", bad);
        return msg;
    }
    double per_call = calls > 1 ? (now_s() - after_first) / (calls - 1) : after_first - start;
    double c = ceil(o->min_time / (per_call > 1e-9 ? per_call : 1e-9));
    t->calls = c < 1 ? 1 : c > 1e8 ? 100000000 : (int)c;

    double *times = malloc((size_t)o->repeats * sizeof *times);
    HG_CHECK(times, "out of memory");
    for (int r = 0; r < o->repeats; r++) {
        int finite = 1;
        double t0 = now_s();
        for (int i = 0; i < t->calls; i++) {
            loss = op_call(b, op, r);
            finite &= isfinite(loss) != 0;
        }
        real last; /* a download waits for a device's queued work: the loop's time is its own */
        b->be->mem.download(&last, op->kind == OP_LOSS_GRAD ? b->grad : b->HV, sizeof last);
        times[r] = (now_s() - t0) / t->calls;
        if ((bad = check_outputs(b, op, finite ? loss : NAN))) {
            snprintf(msg, cap, "%s (repetition %d, batch %d)", bad, r, r);
            free(times);
            return msg;
        }
    }
    qsort(times, (size_t)o->repeats, sizeof *times, cmp_double);
    int n = o->repeats;
    t->median = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    t->min = times[0];
    t->max = times[n - 1];
    free(times);
    return NULL;
}

/* ---------------------------------------------------------------- rows */

static void row_error(FILE *f, const char *model, long params, const char *op, int k,
                      const char *msg)
{
    char p[24] = "-", ks[12] = "-";
    if (params > 0) snprintf(p, sizeof p, "%ld", params);
    if (k > 0) snprintf(ks, sizeof ks, "%d", k);
    fprintf(f, "%-8s %8s %-9s %2s %7s %11s %11s %11s %11s %7s %8s error: %s\n", model, p, op,
            ks, "-", "-", "-", "-", "-", "-", "-", msg);
    fflush(f);
    fprintf(stderr, "hgbench-models: %s %s %s: error: %s\n", HG_REAL_NAME, model, op, msg);
    if (J) {
        json_object_begin(J, 1);
        json_field_string(J, "op", op);
        if (k > 0) json_field_int(J, "k", k);
        else json_field_null(J, "k");
        json_field_string(J, "status", "error");
        json_field_string(J, "error", msg);
        json_object_end(J);
    }
}

/* "conv2d(6@5x5,p2) relu maxpool ... linear(10)" */
static void describe_layers(const Model *m, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < m->nlayers && len < cap; i++) {
        const Layer *l = &m->layers[i];
        int n;
        if (l->type == LAYER_CONV2D)
            n = snprintf(buf + len, cap - len, "%sconv2d(%d@%dx%d,p%d)", i ? " " : "",
                         l->geom.out.c, l->geom.ksize, l->geom.ksize, l->geom.pad);
        else if (l->type == LAYER_LINEAR)
            n = snprintf(buf + len, cap - len, "%slinear(%ld)", i ? " " : "",
                         shape_size(l->geom.out));
        else
            n = snprintf(buf + len, cap - len, "%s%s", i ? " " : "", layer_type_name(l->type));
        if (n < 0) break;
        len += (size_t)n;
    }
}

/* Where the time goes: per layer and pass, ms per call, averaged over
 * PROFILE_CALLS calls of loss_grad (forward, backward) and of hvp (its R
 * passes; its forward and backward are the same work as loss_grad's). On a
 * device the layers are timed by its stream's marks (CUDA events) for
 * these calls only: the timed loops above record none. */
#define PROFILE_CALLS 20
static void print_profile(const Bench *b, const char *spec, const Options *o, FILE *f)
{
    double grad[PASS_COUNT][MODEL_MAX_LAYERS], hvp[PASS_COUNT][MODEL_MAX_LAYERS];
    long gcalls[PASS_COUNT], hcalls[PASS_COUNT];
    const int device_time = b->be->device_memory && model_profile_on_device(b->m, 1);
    model_profile_reset(b->m);
    for (int i = 0; i < PROFILE_CALLS; i++)
        op_call(b, &OPS[0], i % o->repeats);
    model_profile(b->m, grad, gcalls);
    model_profile_reset(b->m);
    for (int i = 0; i < PROFILE_CALLS; i++)
        op_call(b, &OPS[1], i % o->repeats);
    model_profile(b->m, hvp, hcalls);
    model_profile_on_device(b->m, 0);
    fprintf(f, "# profile %s: columns layer type forward_ms backward_ms rforward_ms "
               "rbackward_ms (per call of loss_grad: forward, backward; of hvp: the R "
               "passes), then each pass's GEMM-shaped MFLOP (model_layer_flops)\n", spec);
    if (device_time)
        fprintf(f, "# profile %s: device times on %s by CUDA events: the stream's time "
                   "between marks around each layer's launches (its work, and any wait for "
                   "the host)\n", spec, b->be->name);
    else if (b->be->device_memory)
        fprintf(f, "# profile %s: on %s these are host times around asynchronous launches, "
                   "not the layers' device time\n", spec, b->be->name);
    if (J) {
        json_key(J, "profile");
        json_object_begin(J, 0);
        json_field_string(J, "clock", device_time ? "device events"
                                      : b->be->device_memory ? "host, asynchronous launches"
                                                             : "host");
        json_key(J, "layers");
        json_array_begin(J, 0);
    }
    for (int l = 0; l < b->m->nlayers; l++) {
        double fl[4];
        model_layer_flops(b->m, l, o->batch, fl);
        if (J) {
            json_object_begin(J, 1);
            json_field_int(J, "layer", l);
            json_field_string(J, "type", layer_type_name(b->m->layers[l].type));
            json_field_double(J, "forward_ms", 1e3 * grad[PASS_FORWARD][l] / PROFILE_CALLS);
            json_field_double(J, "backward_ms", 1e3 * grad[PASS_BACKWARD][l] / PROFILE_CALLS);
            json_field_double(J, "rforward_ms", 1e3 * hvp[PASS_RFORWARD][l] / PROFILE_CALLS);
            json_field_double(J, "rbackward_ms", 1e3 * hvp[PASS_RBACKWARD][l] / PROFILE_CALLS);
            json_field_double(J, "forward_mflop", fl[0] / 1e6);
            json_field_double(J, "backward_mflop", fl[1] / 1e6);
            json_field_double(J, "rforward_mflop", fl[2] / 1e6);
            json_field_double(J, "rbackward_mflop", fl[3] / 1e6);
            json_object_end(J);
        }
        fprintf(f, "# profile %s: %2d %-8s %9.4f %9.4f %9.4f %9.4f %9.3f %9.3f %9.3f %9.3f\n",
                spec, l, layer_type_name(b->m->layers[l].type),
                1e3 * grad[PASS_FORWARD][l] / PROFILE_CALLS,
                1e3 * grad[PASS_BACKWARD][l] / PROFILE_CALLS,
                1e3 * hvp[PASS_RFORWARD][l] / PROFILE_CALLS,
                1e3 * hvp[PASS_RBACKWARD][l] / PROFILE_CALLS, fl[0] / 1e6, fl[1] / 1e6,
                fl[2] / 1e6, fl[3] / 1e6);
    }
    if (J) {
        json_array_end(J);
        json_object_end(J);
    }
    fflush(f);
}

/* Benchmarks one model spec; returns the number of failed ops (a model that
 * cannot be built counts as one). */
static int bench_model(const char *spec, const Dataset *d, const Options *o, FILE *f)
{
    HgErr err = {{0}};
    Shape in = {d->c, d->h, d->w};
    Model *m = model_by_name(spec, in, d->classes, &err);
    if (J) {
        json_object_begin(J, 0);
        json_field_string(J, "model", spec);
    }
    if (!m) {
        if (J) {
            json_key(J, "rows");
            json_array_begin(J, 0);
        }
        row_error(f, spec, 0, "build", 0, err.msg[0] ? err.msg : "model_by_name failed");
        if (J) {
            json_array_end(J);
            json_object_end(J);
        }
        return 1;
    }
    model_set_backend(m, o->be);
    long np = m->nparams;
    double F = model_forward_flops(m, o->batch);
    char layers[512];
    describe_layers(m, layers, sizeof layers);
    fprintf(f, "# model %s: %s, %ld params, forward %.4g MFLOP per example; layers: %s\n",
            spec, m->name, np, F / o->batch / 1e6, layers);
    fprintf(f, "# grad mflop %s: %.6g (loss+gradient of one batch: GEMM-shaped work only)\n",
            spec, model_grad_flops(m, o->batch) / 1e6);
    fprintf(f, "# hvp mflop %s: %.6g (one HVP of one batch: GEMM-shaped work only)\n", spec,
            model_hvp_flops(m, o->batch, 1) / 1e6);
    fflush(f);
    if (J) {
        json_field_string(J, "name", m->name);
        json_field_int(J, "params", np);
        json_field_double(J, "forward_mflop_per_example", F / o->batch / 1e6);
        json_field_string(J, "layers", layers);
        json_field_double(J, "grad_mflop", model_grad_flops(m, o->batch) / 1e6);
        json_field_double(J, "hvp_mflop", model_hvp_flops(m, o->batch, 1) / 1e6);
        json_key(J, "rows");
        json_array_begin(J, 0);
    }

    mem_reset_peaks();
    const Backend *be = o->be;
    Bench b = {.m = m, .be = be, .d = d, .batch = o->batch};
    b.w = be->mem.alloc(MEM_PARAMS, (size_t)np * sizeof(real));
    b.grad = be->mem.alloc(MEM_PARAMS, (size_t)np * sizeof(real));
    b.V = be->mem.alloc(MEM_TANGENTS, (size_t)MAX_K * np * sizeof(real));
    b.HV = be->mem.alloc(MEM_TANGENTS, (size_t)MAX_K * np * sizeof(real));
    b.host = mem_alloc(MEM_OTHER, (size_t)MAX_K * np * sizeof(real));
    model_init(m, b.host, INIT_XAVIER, 0.0, 1);
    be->mem.upload(b.w, b.host, (size_t)np * sizeof(real));
    Rng rng = rng_seed(2);
    for (long i = 0; i < (long)MAX_K * np; i++) b.host[i] = (real)rng_normal(&rng);
    be->mem.upload(b.V, b.host, (size_t)MAX_K * np * sizeof(real));

    Load l0 = load_now();
    double base = NAN; /* loss_grad median, seconds per call */
    int failed = 0;
    for (int i = 0; i < NOPS; i++) {
        const OpSpec *op = &OPS[i];
        Timing t;
        char msg[256];
        if (time_op(&b, op, o, &t, msg, sizeof msg)) {
            row_error(f, spec, np, op->name, op->kind == OP_HVP_BLOCK ? op->k : 0, msg);
            failed++;
            continue;
        }
        if (op->kind == OP_LOSS_GRAD) base = t.median;
        double flops = op->kind == OP_LOSS_GRAD ? model_grad_flops(m, o->batch)
                                                : model_hvp_flops(m, o->batch, op->k);
        char ks[12] = "-", per_tangent[24] = "-", ratio[16] = "-";
        if (op->kind != OP_LOSS_GRAD) {
            snprintf(ks, sizeof ks, "%d", op->k);
            snprintf(per_tangent, sizeof per_tangent, "%11.5f", 1e3 * t.median / op->k);
        }
        if (isfinite(base)) snprintf(ratio, sizeof ratio, "%7.3f", t.median / base);
        fprintf(f, "%-8s %8ld %-9s %2s %7d %11.5f %11.5f %11.5f %11s %7s %8.3f ok\n", spec, np,
                op->name, ks, t.calls, 1e3 * t.median, 1e3 * t.min, 1e3 * t.max, per_tangent,
                ratio, flops / t.median / 1e9);
        if (J) {
            json_object_begin(J, 1);
            json_field_string(J, "op", op->name);
            if (op->kind != OP_LOSS_GRAD) json_field_int(J, "k", op->k);
            else json_field_null(J, "k");
            json_field_string(J, "status", "ok");
            json_field_int(J, "calls", t.calls);
            json_field_double(J, "median_ms", 1e3 * t.median);
            json_field_double(J, "min_ms", 1e3 * t.min);
            json_field_double(J, "max_ms", 1e3 * t.max);
            if (op->kind != OP_LOSS_GRAD)
                json_field_double(J, "ms_per_tangent", 1e3 * t.median / op->k);
            else
                json_field_null(J, "ms_per_tangent");
            if (isfinite(base)) json_field_double(J, "ratio_to_loss_grad", t.median / base);
            else json_field_null(J, "ratio_to_loss_grad");
            json_field_double(J, "gemm_gflops", flops / t.median / 1e9);
            json_object_end(J);
        }
        fflush(f);
        fprintf(stderr, "hgbench-models: %s %-6s %-9s k=%-2s %10.4f ms/call  (%d x %d calls)\n",
                HG_REAL_NAME, spec, op->name, ks, 1e3 * t.median, o->repeats, t.calls);
    }
    if (J) json_array_end(J);
    print_profile(&b, spec, o, f);
    Load l1 = load_now();
    double wall = l1.wall - l0.wall;
    double other = wall > 0 ? (l1.busy - l0.busy - (l1.own - l0.own)) / wall : 0;
    double steal = wall > 0 ? (l1.steal - l0.steal) / wall : 0;
    fprintf(f, "# model %s: activation scratch peak %.2f MiB; during its %.1f s other "
               "processes used %.2f cores on average (hypervisor steal %.2f)\n",
            spec, (double)mem_peak(MEM_ACTIVATIONS) / (1 << 20), wall, other < 0 ? 0 : other,
            steal);
    if (be->layer.conv_picks) { /* '#' lines: the path, and auto's picks so far */
        char picks[16384];
        be->layer.conv_picks(picks, sizeof picks);
        fputs(picks, f);
    }
    if (other > 0.25 || steal > 0.1)
        fprintf(f, "# WARNING: model %s: the machine was busy with other work during the "
                   "run (%.2f cores, steal %.2f): its timings may be noisy\n",
                spec, other, steal);
    fflush(f);
    if (J) {
        json_field_double(J, "scratch_peak_mib", (double)mem_peak(MEM_ACTIVATIONS) / (1 << 20));
        json_field_double(J, "seconds", wall);
        if (be->layer.conv_picks) { /* the conv path of each shape: the times depend on it */
            char picks[16384];
            be->layer.conv_picks(picks, sizeof picks);
            json_field_string(J, "conv_picks", picks);
        }
        json_field_double(J, "busy_other_cores", other < 0 ? 0 : other);
        json_field_double(J, "steal", steal);
        json_field_bool(J, "busy", other > 0.25 || steal > 0.1);
        json_object_end(J);
    }

    be->mem.free(b.w);
    be->mem.free(b.grad);
    be->mem.free(b.V);
    be->mem.free(b.HV);
    mem_free(b.host);
    model_free(m);
    return failed;
}

/* ---------------------------------------------------------------- main */

/* Commits --out FILE (io/atomic_file.h); stdout is left as it is. Closes
 * and commits --json FILE. */
static void finish_out(AtomicFile *af, const Options *o)
{
    HgErr err = {{0}};
    if (o->out && atomic_commit(af, &err))
        hg_die("--out %s", err.msg);
    if (J) {
        json_object_end(J);
        fputc('\n', g_json_file.f);
        if (atomic_commit(&g_json_file, &err)) hg_die("--json %s", err.msg);
        J = NULL;
    }
}

/* Opens --json FILE with the envelope and the models this run was asked for. */
static void begin_json(const Options *o, int argc, char **argv)
{
    HgErr err = {{0}};
    if (atomic_open(&g_json_file, o->json, &err)) hg_die("--json %s", err.msg);
    J = &g_json;
    json_init(J, g_json_file.f);
    envelope_begin(J, &(Envelope){.program = "hgbench-models", .commit = o->commit,
                                  .argc = argc, .argv = argv, .threads = o->threads,
                                  .precision = HG_REAL_NAME, .device = o->device});
    json_key(J, "planned_models");
    json_array_begin(J, 1);
    for (int i = 0; i < o->nmodels; i++) json_put_string(J, o->models[i]);
    json_array_end(J);
}

int main(int argc, char **argv)
{
    Options o = parse_flags(argc, argv);
    BACKEND_CPU.mem.set_threads(o.threads); /* OpenMP and OpenBLAS */

    FILE *f = stdout;
    AtomicFile af;
    HgErr oerr = {{0}};
    if (o.out) {
        if (atomic_open(&af, o.out, &oerr))
            hg_die("--out %s", oerr.msg);
        f = af.f;
    }
    if (o.json) begin_json(&o, argc, argv);
    if (!o.no_context)
        print_context(f, &o);
    else
        print_build_warnings(f);
    if (o.context_only) {
        finish_out(&af, &o);
        return 0;
    }

    /* the data through the problem layer (harness/problem.h), as the hgbench
     * command and hgbench-micro load it: each model spec is built below */
    HgErr err = {{0}};
    const char *dir = o.data_dir ? o.data_dir : dataset_default_dir("fashion-mnist");
    ProblemSpec spec = problem_spec_defaults();
    spec.model = NULL; /* the data only */
    spec.data = "fashion-mnist";
    spec.data_dir = o.data_dir;
    spec.device = o.device;
    spec.batch = o.batch;
    spec.val = MODELS_VAL;
    Problem pb;
    const int prc = problem_load(&spec, &pb, &err);
    if (prc != 0) {
        fprintf(stderr, "hgbench-models: %s\n", err.msg); /* names the set, file or flag */
        if (o.out) atomic_abort(&af);
        if (J) atomic_abort(&g_json_file);
        return prc == PROBLEM_BAD_SPEC ? 2 : 3;
    }
    o.be = pb.be;
    const Dataset *d = &pb.train;
    long need = (long)o.batch * o.repeats;
    if (need > d->n) {
        if (J) atomic_abort(&g_json_file); /* no half-written --json left behind */
        hg_die("--batch %d x --repeats %d needs %ld examples; fashion-mnist train has %d",
               o.batch, o.repeats, need, d->n);
    }
    fprintf(f, "# data: fashion-mnist train from %s: %d examples of %dx%dx%d, %d classes "
               "(%d held out by validation seed %llu, as the hgbench command); normalised per "
               "channel by their mean %.4f and std %.4f (channel 0); repetition r uses "
               "examples [%d r, %d r + %d)\n",
            dir ? dir : "?", d->n, d->c, d->h, d->w, d->classes, pb.val.n,
            (unsigned long long)pb.val_seed, pb.mean[0], pb.std[0], o.batch, o.batch, o.batch);
    if (J) {
        char data[1024];
        snprintf(data, sizeof data, "fashion-mnist train from %s: %d examples of %dx%dx%d, %d "
                 "classes (%d held out by validation seed %llu, as the hgbench command); "
                 "normalised per channel by their mean %.4f and std %.4f (channel 0); "
                 "repetition r uses examples [%d r, %d r + %d)",
                 dir ? dir : "?", d->n, d->c, d->h, d->w, d->classes, pb.val.n,
                 (unsigned long long)pb.val_seed, pb.mean[0], pb.std[0], o.batch, o.batch,
                 o.batch);
        json_field_string(J, "data", data);
        json_key(J, "models");
        json_array_begin(J, 0);
    }

    int failed = 0;
    /* the ops read the backend's copy of the data (the uploaded one on a device) */
    const Dataset *dd = o.be->device_memory ? &pb.dev_train : d;
    for (int i = 0; i < o.nmodels; i++) failed += bench_model(o.models[i], dd, &o, f) > 0;
    problem_free(&pb);
    if (J) {
        json_array_end(J);
        json_field_int(J, "failed_models", failed);
    }
    if (failed) {
        fprintf(f, "# %d of %d models had errors\n", failed, o.nmodels);
        fprintf(stderr, "hgbench-models: %d of %d models had errors\n", failed, o.nmodels);
    }
    finish_out(&af, &o);
    return failed ? 1 : 0;
}
