/* bench_engines.c — hgbench-engines: the engines on one inner problem (by
 * default LeNet on Fashion-MNIST, batch 128, lr learned in K = 10 windows)
 * over lists of horizons T and of learned-value counts K, each against a
 * plain training step measured in the same process.
 *
 * Method: the plain step (gradient, update: one inner step of training) is
 * timed as --plain-repeats loops of 20 steps before the engines and as many
 * after; the median of all of them is the baseline (min and max printed).
 * Each engine then runs once per (T, K): a run's own T steps are its
 * repetitions. Time per inner step = run time / T, and its ratio to the
 * baseline. Memory: engine-state bytes by kind (allocator peaks during the
 * run) beside DESIGN.md's formulas, and the process peak RSS (it only grows:
 * runs go in the order printed); on a device (--device cuda) also the
 * device's peak use, which only grows too. A run whose state exceeds
 * engine_memory_limit(), or 90% of the device's free memory, is skipped
 * with that reason; a failed run is an error row with its message, never a
 * number.
 *
 * Each run's time is split into engine.h's phases (inner steps, validation
 * gradient, the rest of the hypergradient): a "# phases" line per run and
 * <phase>_time_s in the JSON, by CUDA events on a device.
 *
 * Output: whitespace columns with '#' context lines (--out, atomically) and
 * the same rows as JSON (--json, opened by the shared envelope of
 * io/envelope.h; hgbench-report renders the engines section from it). Exit
 * 1 if a run failed (skips are not failures).
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/flags.h"
#include "../common/check.h"
#include "../common/mem.h"
#include "../common/real.h"
#include "../common/timer.h"
#include "../engines/engine.h"
#include "../harness/problem.h"
#include "../harness/runner.h"
#include "../io/atomic_file.h"
#include "../io/envelope.h"
#include "../io/json_writer.h"
#include "../io/machine.h"
#include "../io/progress.h"

#define MAX_LIST 16
#define PLAIN_STEPS 20

typedef struct Options {
    const char *model, *data, *data_dir, *out, *json, *commit, *label;
    const char *engines[MAX_LIST];
    int nengines, steps[MAX_LIST], nsteps, windows[MAX_LIST], nwindows;
    const char *device;
    int batch, val, plain_repeats, threads, greedy_on_train, checkpoints;
    uint64_t seed;
    double lr, mom, wd;
} Options;

/* --engines: a comma list of registered names (they point into a static copy;
 * after an error the program exits). */
static int parse_engines(const char *flag, const char *list, void *target, HgErr *err)
{
    static char buf[256];
    Options *o = target;
    char *save = NULL;
    if (strlen(list) >= sizeof buf)
        return hg_fail(err, "%s: list too long", flag);
    snprintf(buf, sizeof buf, "%s", list);
    int n = 0;
    const char *names[MAX_LIST];
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!engine_find(tok))
            return hg_fail(err, "%s: unknown engine '%s' (engines: %s)", flag, tok,
                           engine_names());
        if (n == MAX_LIST)
            return hg_fail(err, "%s: more than %d engines", flag, MAX_LIST);
        names[n++] = tok;
    }
    if (n == 0)
        return hg_fail(err, "%s: no engine named", flag);
    memcpy(o->engines, names, sizeof names);
    o->nengines = n;
    return 0;
}

static const char *const GREEDY_TARGETS[] = {"val", "train", NULL};

static FlagTable engines_flags(Options *o, int *help)
{
    return (FlagTable){{
        {"--engines", "LIST", "every registered engine", "comma list of engines",
         FLAG_FUNC, .target = o, .parse = parse_engines},
        {"--steps", "LIST", "1000", "horizons T, comma list", FLAG_INTS, .target = o->steps,
         .lo = 1, .hi = 10000000, .count = &o->nsteps, .max = MAX_LIST},
        {"--lr-windows", "LIST", "10",
         "learned learning-rate values K, comma list; K > T is skipped for that T",
         FLAG_INTS, .target = o->windows, .lo = 1, .hi = 10000000, .count = &o->nwindows,
         .max = MAX_LIST},
        {"--model", "NAME", "lenet", "logreg, mlp, lenet or a model spec", FLAG_STRING,
         .target = &o->model},
        {"--data", "NAME", "fashion-mnist",
         "fashion-mnist, mnist, svhn, cifar10, synthetic[:CxHxW|:D]", FLAG_STRING,
         .target = &o->data},
        {"--data-dir", "DIR", "the loader's", "the data set's folder", FLAG_STRING,
         .target = &o->data_dir},
        {"--device", "NAME", "cpu", "cpu, cuda (CUDA builds only), auto", FLAG_STRING,
         .target = &o->device},
        {"--seed", "S", "0",
         "initialisation seed; the batch order's is derived from it as by hgbench hypergrad "
         "--seed S, whose command line each run's row is printed with",
         FLAG_SEED, .target = &o->seed},
        {"--batch", "B", "128", "examples per step", FLAG_INT, .target = &o->batch, .lo = 1,
         .hi = 100000},
        {"--val", "N", "1000", "validation examples split off the training set", FLAG_INT,
         .target = &o->val, .lo = 1, .hi = 1000000},
        {"--greedy-target", "val|train", "train",
         "greedy looks ahead on the validation set or the next training batch (HD)",
         FLAG_CHOICE, .target = &o->greedy_on_train, .choices = GREEDY_TARGETS},
        {"--lr", "X", "0.05", "learning rate (constant schedule)", FLAG_REAL,
         .target = &o->lr, .lo = 0, .hi = 1e6},
        {"--mom", "X", "0.9", "momentum", FLAG_REAL, .target = &o->mom, .lo = 0, .hi = 1},
        {"--wd", "X", "5e-4", "weight decay", FLAG_REAL, .target = &o->wd, .lo = 0, .hi = 1e6},
        {"--checkpoints", "C", "round(sqrt(T))",
         "states the checkpoint engine stores (clipped to T - 1); 0: the default",
         FLAG_INT, .target = &o->checkpoints, .lo = 0, .hi = 10000000},
        {"--plain-repeats", "N", "9", "loops of 20 plain steps, before and after", FLAG_INT,
         .target = &o->plain_repeats, .lo = 1, .hi = 1000},
        {"--threads", "N", "2", "OpenMP and OpenBLAS threads", FLAG_INT,
         .target = &o->threads, .lo = 1, .hi = 4096},
        {"--out", "FILE", "stdout", "results as columns (atomically)", FLAG_STRING,
         .target = &o->out},
        {"--json", "FILE", "none", "the same rows as JSON (atomically)", FLAG_STRING,
         .target = &o->json},
        {"--label", "NAME", "engines", "the experiment's name in the output", FLAG_STRING,
         .target = &o->label},
        {"--commit", "ID", "unknown", "commit to record", FLAG_STRING, .target = &o->commit,
         .empty_ok = 1},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = help},
    }};
}

static void usage(FILE *f)
{
    Options scratch;
    int help;
    const FlagTable t = engines_flags(&scratch, &help);
    fputs("usage: hgbench-engines [flags]\n"
          "Runs the engines once per (T, K) on one inner problem and reports time per inner\n"
          "step, its ratio to a plain training step timed in the same run, and engine\n"
          "memory by kind, at the precision of this build (" HG_REAL_NAME ").\n"
          "\n",
          f);
    flags_usage(f, t.f);
    fputs("\n"
          "Exit status: 0 every run ran or was skipped for memory, 1 a run failed (see\n"
          "its error row), 2 bad flags, 3 the data could not be loaded.\n",
          f);
}

/* Exits 0 after --help, 2 on a usage error. */
static Options parse_flags(int argc, char **argv)
{
    Options o = {.model = "lenet", .data = "fashion-mnist", .device = "cpu", .commit = "unknown",
                 .label = "engines", .steps = {1000}, .nsteps = 1, .windows = {10},
                 .nwindows = 1, .batch = 128, .val = 1000, .plain_repeats = 9, .threads = 2,
                 .greedy_on_train = 1, .lr = 0.05, .mom = 0.9, .wd = 5e-4};
    HgErr err = {{0}};
    int help = 0;
    for (int e = 0; engine_at(e) && e < MAX_LIST; e++) /* default: every registered engine */
        o.engines[o.nengines++] = engine_at(e)->name;
    const FlagTable t = engines_flags(&o, &help);
    if (flags_parse(t.f, argc, argv, &err)) {
        fprintf(stderr, "hgbench-engines: %s\n", err.msg);
        exit(2);
    }
    if (help) {
        usage(stdout);
        exit(0);
    }
    return o;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds per plain step (gradient, update), one loop of PLAIN_STEPS. */
static double plain_step_s(const InnerProblem *p, double lr, double mom, double wd,
                           long first_step)
{
    const long P = p->model->nparams, dim = dataset_dim(p->train);
    BatchOrder bo;
    HgErr err;
    if (inner_batches(p, &bo, &err))
        hg_die("%s", err.msg);
    const Backend *be = p->model->be; /* its memory: the device's on CUDA */
    real *w = be->mem.alloc(MEM_OTHER, sizeof(real) * P), *v = be->mem.alloc(MEM_OTHER, sizeof(real) * P);
    real *g = be->mem.alloc(MEM_OTHER, sizeof(real) * P);
    real *x = be->mem.alloc(MEM_OTHER, sizeof(real) * p->batch * dim);
    int32_t *y = be->mem.alloc(MEM_OTHER, sizeof(int32_t) * p->batch);
    be->mem.copy(w, p->w0, sizeof(real) * P);
    const double t0 = now_s();
    for (long t = first_step; t < first_step + PLAIN_STEPS; t++) {
        inner_batch(p, &bo, t, x, y);
        model_loss_grad(p->model, w, x, y, p->batch, g);
        p->model->be->vec.sgd_step(w, v, NULL, g, P, lr, mom, wd);
    }
    const double dt = (now_s() - t0) / PLAIN_STEPS;
    if (!p->model->be->vec.all_finite(w, P))
        hg_die("plain steps diverged (lr %g): the baseline cannot be timed", lr);
    be->mem.free(w);
    be->mem.free(v);
    be->mem.free(g);
    be->mem.free(x);
    be->mem.free(y);
    batch_order_free(&bo);
    return dt;
}

typedef enum RowStatus { ROW_OK, ROW_SKIPPED, ROW_FAILED } RowStatus;

typedef struct Row {
    const char *engine;
    int T, K;
    RowStatus status;
    char msg[512];
    double time_s, val_loss, hg_norm, formula, mem[MEM_NTAGS], rss;
    double device_peak; /* the device's peak use so far (0: host memory) */
    double infobuf, infobuf_floor;
    long recomputed;
    double phase[ENGINE_PHASES]; /* seconds per phase (EngineResult.phase_s) */
    int phase_device;            /* 1: the device's stream time by CUDA events */
    char reproduce[1024]; /* the hgbench hypergrad command of the same run */
} Row;

static const char *status_name(RowStatus s)
{
    return s == ROW_OK ? "ok" : s == ROW_SKIPPED ? "skipped" : "failed";
}

/* The shortest %g that reads back as x. */
static void fmt_num(char *buf, size_t cap, double x)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* The run of row (engine, T, K): the problem's constant schedule, lr learned
 * in K windows, the engine's options from this bench's flags (the checkpoint
 * count: sqrt T by default, the classic balance of stored states and
 * recomputation; greedy's look-ahead target). */
static RunSpec row_spec(const Options *o, const EngineOps *ops, int T, int K)
{
    RunSpec spec = runner_spec(ops, T, (int[]){K, 0, 0}, o->lr, o->mom, o->wd);
    if (engine_takes(ops, "--checkpoints"))
        spec.opt.checkpoints = checkpoint_count(o->checkpoints, T);
    if (engine_takes(ops, "--greedy-target"))
        spec.opt.greedy_on_train = o->greedy_on_train;
    return spec;
}

/* The `hgbench hypergrad` command that runs what row (engine, T, K) ran: the
 * same problem spec and seeds (harness/problem.h), so the same val loss and
 * hypergradient, bit for bit, on the same machine and threads. The engine's
 * options are written as it declares them, those not at their default. */
static void reproduce_command(const Options *o, const RunSpec *spec, char *buf, size_t cap)
{
    char lr[32], mom[32], wd[32], dir[512] = "", dev[64] = "", opts[256] = "";
    fmt_num(lr, sizeof lr, o->lr);
    fmt_num(mom, sizeof mom, o->mom);
    fmt_num(wd, sizeof wd, o->wd);
    if (o->data_dir)
        snprintf(dir, sizeof dir, " --data-dir %s", o->data_dir);
    if (strcmp(o->device, "cpu"))
        snprintf(dev, sizeof dev, " --device %s", o->device);
    for (const EngineOption *x = spec->engine->options; x && x->flag; x++)
        if (engine_option_value(x, &spec->opt) != x->def) {
            char v[64];
            engine_option_text(x, &spec->opt, v, sizeof v);
            snprintf(opts + strlen(opts), sizeof opts - strlen(opts), " %s %s", x->flag, v);
        }
    /* build/hgbench picks a CPU build; the CUDA ones are run by path */
    char bin[64] = "build/hgbench";
    if (strcmp(o->device, "cpu"))
        snprintf(bin, sizeof bin, "build/cuda-f%d/hgbench", HG_PRECISION);
    snprintf(buf, cap, "%s hypergrad --precision %d --engine %s --model %s --data %s"
             "%s%s --steps %d --batch %d --val %d --learn lr:%d --lr %s --mom %s --wd %s "
             "--seed %llu%s --threads %d", bin, HG_PRECISION, spec->engine->name, o->model,
             o->data, dir, dev, spec->T, o->batch, o->val, spec->K[HYPER_LR], lr, mom, wd,
             (unsigned long long)o->seed, opts, o->threads);
}

static void run_one(const Options *o, const InnerProblem *prob, const char *engine, int T, int K,
                    Row *row)
{
    HgErr err;
    const long P = prob->model->nparams;
    const EngineOps *ops = engine_find(engine);
    const RunSpec spec = row_spec(o, ops, T, K);
    *row = (Row){.engine = engine, .T = T, .K = K};
    reproduce_command(o, &spec, row->reproduce, sizeof row->reproduce);
    EngineState st;
    const EngineOptions eo = runner_options(&spec, 0);
    if (engine_takes(ops, "--checkpoints") && T < 2) {
        row->status = ROW_SKIPPED;
        snprintf(row->msg, sizeof row->msg, "T = %d: no step to checkpoint", T);
        return;
    }
    if (engine_check_state(ops, P, &eo, 0, &st, &err)) {
        row->status = ROW_SKIPPED;
        snprintf(row->msg, sizeof row->msg, "%.400s (the limit is 80%% of memory)", err.msg);
        return;
    }
    if (engine_check_device(ops, prob->model->be, &st, &err)) {
        row->status = ROW_SKIPPED; /* the engine's own refusal, made before any work */
        snprintf(row->msg, sizeof row->msg, "%.400s (the limit is 90%% of the free device "
                 "memory)", err.msg);
        return;
    }
    EngineResult r;
    if (runner_once(prob, &spec, &r, &err)) {
        row->status = ROW_FAILED;
        snprintf(row->msg, sizeof row->msg, "%s", err.msg);
        return;
    }
    row->time_s = r.time_s;
    row->val_loss = r.val_loss;
    for (int q = 0; q < r.N; q++)
        row->hg_norm += r.hypergrad[q] * r.hypergrad[q];
    row->hg_norm = sqrt(row->hg_norm);
    for (int k = 0; k < MEM_NTAGS; k++)
        row->mem[k] = (double)r.mem_peak[k];
    row->rss = (double)r.peak_rss;
    row->device_peak = (double)r.device_peak;
    row->infobuf = (double)r.infobuf_bytes;
    row->infobuf_floor = r.infobuf_floor_bytes;
    row->formula = engine_formula_bytes(ops, P, T, r.N, &r);
    row->recomputed = r.recomputed_steps;
    memcpy(row->phase, r.phase_s, sizeof row->phase);
    row->phase_device = r.phase_device;
    engine_result_free(&r);
}

/* "# phases bptt T=100 K=10: inner 1.2 s, validation 0.1 s, hypergrad 2.3 s,
 * other 0.01 s (host wall clock)" */
static void write_phases(FILE *f, const Row *r)
{
    double sum = 0;
    fprintf(f, "# phases %s T=%d K=%d:", r->engine, r->T, r->K);
    for (int p = 0; p < ENGINE_PHASES; p++) {
        fprintf(f, " %s %.6g s,", engine_phase_name((EnginePhase)p), r->phase[p]);
        sum += r->phase[p];
    }
    fprintf(f, " other %.6g s (%s)\n", r->time_s - sum,
            r->phase_device ? "device stream time by CUDA events; other: the rest of the host "
                              "wall time" : "host wall clock");
}

static void write_table(FILE *f, const Options *o, const Row *rows, int nrows, double base,
                        const double *plain, int nplain, long P, const Problem *pb)
{
    const Dataset *train = &pb->train, *val = &pb->val;
    Machine mach;
    machine_probe(&mach);
    char date[32];
    const time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(f, "# hgbench-engines (%s): %s, %s, commit %s, %d threads\n", o->label,
            HG_REAL_NAME, date, o->commit, o->threads);
    machine_print(&mach, f, "# ");
    const int dev = pb->be->device_memory;
    fprintf(f, "# device: %s%s\n", pb->be->name,
            dev ? " (device_peak: the device's peak use in MiB since the program started, "
                  "cudaMemGetInfo at each allocation; it only grows)" : " (host memory)");
    fprintf(f, "# problem: %s (%ld params) on %s, %d train / %d val, batch %d, lr %g mom %g "
            "wd %g constant, lr learned in K windows; greedy looks ahead on %s\n", o->model, P,
            o->data, train->n, val->n, o->batch, o->lr, o->mom, o->wd,
            o->greedy_on_train ? "the next training batch (HD)" : "the validation set");
    fprintf(f, "# seeds: init %llu, batch order %llu (derived from it, as hgbench hypergrad "
            "--seed %llu), validation split %llu%s; each run's hgbench hypergrad command, "
            "which gives the same val_loss and |hypergrad| bit for bit, is listed after the "
            "table\n", (unsigned long long)o->seed, (unsigned long long)pb->batch_seed,
            (unsigned long long)o->seed, (unsigned long long)pb->val_seed,
            pb->data.synthetic ? " (synthetic data: sized by T, as hgbench hypergrad's; the "
                                 "counts above are the last T's)" : "");
    fprintf(f, "# plain step (gradient + update): median %.3f ms, min %.3f, max %.3f over %d "
            "loops of %d steps (half before the runs, half after)\n", 1e3 * base,
            1e3 * plain[0], 1e3 * plain[nplain - 1], nplain, PLAIN_STEPS);
    fprintf(f, "# time_s: the whole run, including the final validation gradient over the %d "
            "validation examples (it dominates small T)\n", val->n);
    fprintf(f, "# memory in MiB: engine state by kind (allocator peaks during the run); "
            "formula: bptt 2TP reals (trajectory), reversible the buffer floor T P log2(1/m)/8 "
            "bytes (infobuf; its 2P int64 w, v are under params), forward 2PN reals "
            "(tangents; plus H Z for one block of 4 columns), checkpoint its C stored states of "
            "2P reals (checkpoints, C = round(sqrt(T)) unless --checkpoints; recomputed: the "
            "steps it recomputed)\n");
    fprintf(f, "# %-10s %6s %5s %8s %9s %9s %8s %10s %9s %9s %9s %9s %9s %9s %10s %11s %11s "
            "%10s %11s\n", "engine", "T", "K", "status", "time_s", "ms/step", "x_plain",
            "trajectory", "infobuf", "tangents", "params", "activ", "formula", "peak_rss",
            "val_loss", "|hypergrad|", "checkpoints", "recomputed", "device_peak");
    const double MiB = 1 << 20;
    for (int i = 0; i < nrows; i++) {
        const Row *r = &rows[i];
        if (r->status != ROW_OK) {
            fprintf(f, "  %-10s %6d %5d %8s  %s\n", r->engine, r->T, r->K,
                    status_name(r->status), r->msg);
            continue;
        }
        char dpeak[32] = "-"; /* host memory: no device peak */
        if (dev)
            snprintf(dpeak, sizeof dpeak, "%.1f", r->device_peak / MiB);
        fprintf(f, "  %-10s %6d %5d %8s %9.3f %9.3f %8.2f %10.2f %9.4f %9.2f %9.2f %9.2f "
                "%9.3f %9.1f %10.5f %11.5g %11.2f %10ld %11s\n", r->engine, r->T, r->K, "ok",
                r->time_s, 1e3 * r->time_s / r->T, r->time_s / r->T / base,
                r->mem[MEM_TRAJECTORY] / MiB, r->mem[MEM_INFOBUF] / MiB,
                r->mem[MEM_TANGENTS] / MiB, r->mem[MEM_PARAMS] / MiB,
                r->mem[MEM_ACTIVATIONS] / MiB, r->formula / MiB, r->rss / MiB, r->val_loss,
                r->hg_norm, r->mem[MEM_CHECKPOINTS] / MiB, r->recomputed, dpeak);
    }
    for (int i = 0; i < nrows; i++)
        if (rows[i].status == ROW_OK)
            write_phases(f, &rows[i]);
    for (int i = 0; i < nrows; i++)
        if (rows[i].status == ROW_OK && engine_find(rows[i].engine)->infobuf)
            fprintf(f, "# reversible T=%d K=%d: information buffer %.0f bytes = %.3f x its "
                    "floor %.0f bytes\n", rows[i].T, rows[i].K, rows[i].infobuf,
                    rows[i].infobuf / rows[i].infobuf_floor, rows[i].infobuf_floor);
    for (int i = 0; i < nrows; i++)
        fprintf(f, "# reproduce %s T=%d K=%d: %s\n", rows[i].engine, rows[i].T, rows[i].K,
                rows[i].reproduce);
}

/* The results as JSON: the shared envelope (io/envelope.h), the problem and
 * the plain-step baseline, then one row per (engine, T, K) with every number
 * the engines section of RESULTS.md renders, by name (bench/report_engines.c). */
static void write_json(FILE *f, const Options *o, int argc, char **argv, const Row *rows,
                       int nrows, double base, const double *plain, int nplain, long P,
                       const Problem *pb)
{
    JsonWriter j;
    json_init(&j, f);
    const Envelope env = {.program = "hgbench-engines", .commit = o->commit, .argc = argc,
                          .argv = argv, .threads = o->threads, .precision = HG_REAL_NAME,
                          .device = pb->be->name};
    envelope_begin(&j, &env);
    json_field_string(&j, "label", o->label);
    json_field_string(&j, "model", o->model);
    json_field_int(&j, "params", P);
    json_field_string(&j, "data", o->data);
    json_field_int(&j, "train_examples", pb->train.n);
    json_field_int(&j, "val_examples", pb->val.n);
    json_field_int(&j, "batch", o->batch);
    json_field_double(&j, "lr", o->lr);
    json_field_double(&j, "mom", o->mom);
    json_field_double(&j, "wd", o->wd);
    json_field_string(&j, "greedy_target", o->greedy_on_train ? "train" : "val");
    /* seeds as decimal strings: a derived one may pass 2^63, past what JSON
     * readers (jansson) take as an integer */
    char seed[3][24];
    snprintf(seed[0], sizeof seed[0], "%llu", (unsigned long long)o->seed);
    snprintf(seed[1], sizeof seed[1], "%llu", (unsigned long long)pb->batch_seed);
    snprintf(seed[2], sizeof seed[2], "%llu", (unsigned long long)pb->val_seed);
    json_field_string(&j, "seed", seed[0]);
    json_field_string(&j, "batch_seed", seed[1]);
    json_field_string(&j, "val_seed", seed[2]);
    /* the baseline: median of nplain loops of PLAIN_STEPS steps, half before the runs */
    json_field_double(&j, "plain_step_s", base);
    json_field_double(&j, "plain_step_min_s", plain[0]);
    json_field_double(&j, "plain_step_max_s", plain[nplain - 1]);
    json_field_int(&j, "plain_loops", nplain);
    json_field_int(&j, "plain_loop_steps", PLAIN_STEPS);
    json_key(&j, "rows");
    json_array_begin(&j, 0);
    for (int i = 0; i < nrows; i++) {
        const Row *r = &rows[i];
        json_object_begin(&j, 1);
        json_field_string(&j, "engine", r->engine);
        json_field_int(&j, "T", r->T);
        json_field_int(&j, "K", r->K);
        json_field_string(&j, "status", status_name(r->status));
        json_field_string(&j, "reproduce", r->reproduce);
        if (r->status != ROW_OK) {
            json_field_string(&j, "message", r->msg);
        } else {
            json_field_double(&j, "time_s", r->time_s);
            json_field_double(&j, "step_ratio_to_plain", r->time_s / r->T / base);
            for (int k = 0; k < MEM_NTAGS; k++) { /* bytes, allocator peaks by tag */
                json_field_double(&j, mem_tag_name((MemTag)k), r->mem[k]);
            }
            json_field_double(&j, "formula_bytes", r->formula);
            json_field_double(&j, "peak_rss", r->rss);
            json_field_double(&j, "infobuf_bytes", r->infobuf);
            json_field_double(&j, "infobuf_floor_bytes", r->infobuf_floor);
            json_field_int(&j, "recomputed", r->recomputed);
            json_field_double(&j, "val_loss", r->val_loss);
            json_field_double(&j, "hypergrad_norm", r->hg_norm);
            if (pb->be->device_memory) /* the device's peak use so far (it only grows) */
                json_field_double(&j, "device_peak", r->device_peak);
            for (int p = 0; p < ENGINE_PHASES; p++) {
                char key[48];
                snprintf(key, sizeof key, "%s_time_s", engine_phase_name((EnginePhase)p));
                json_field_double(&j, key, r->phase[p]);
            }
            json_field_string(&j, "phase_clock", r->phase_device ? "cuda events" : "host");
        }
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    fputc('\n', f);
}

static void write_outputs(const Options *o, int argc, char **argv, const Row *rows, int nrows,
                          double base, const double *plain, int nplain, long P, const Problem *pb)
{
    HgErr err;
    AtomicFile a;
    if (!o->out) {
        write_table(stdout, o, rows, nrows, base, plain, nplain, P, pb);
    } else if (atomic_open(&a, o->out, &err) == 0) {
        write_table(a.f, o, rows, nrows, base, plain, nplain, P, pb);
        if (atomic_commit(&a, &err))
            hg_die("--out: %s", err.msg);
    } else {
        hg_die("--out: %s", err.msg);
    }
    if (o->json) {
        if (atomic_open(&a, o->json, &err))
            hg_die("--json: %s", err.msg);
        write_json(a.f, o, argc, argv, rows, nrows, base, plain, nplain, P, pb);
        if (atomic_commit(&a, &err))
            hg_die("--json: %s", err.msg);
    }
}

/* Exits 3 if the data cannot be loaded, 2 for a spec it cannot give. */
static void load_problem(const ProblemSpec *spec, Problem *pb)
{
    HgErr err;
    const int rc = problem_load(spec, pb, &err);
    if (rc) {
        fprintf(stderr, "hgbench-engines: %s\n", err.msg);
        exit(rc == PROBLEM_BAD_SPEC ? 2 : 3);
    }
}

int main(int argc, char **argv)
{
    const Options o = parse_flags(argc, argv);
    BACKEND_CPU.mem.set_threads(o.threads); /* OpenMP and OpenBLAS */

    /* the problem as hgbench hypergrad builds it (harness/problem.h) */
    ProblemSpec spec = problem_spec_defaults();
    spec.model = o.model;
    spec.data = o.data;
    spec.data_dir = o.data_dir;
    spec.device = o.device;
    spec.steps = o.steps[0];
    spec.batch = o.batch;
    spec.val = o.val;
    spec.seed = o.seed;
    Problem pb;
    load_problem(&spec, &pb);
    const long P = pb.model->nparams;
    const InnerProblem *prob = &pb.inner;

    const int R = o.plain_repeats;
    double *plain = mem_alloc(MEM_OTHER, sizeof(double) * 2 * R);
    plain_step_s(prob, o.lr, o.mom, o.wd, 0); /* warm-up */
    for (int r = 0; r < R; r++)
        plain[r] = plain_step_s(prob, o.lr, o.mom, o.wd, (long)r * PLAIN_STEPS);

    /* untracked (calloc): the bench's own rows are no engine's memory ("other") */
    Row *rows = calloc((size_t)MAX_LIST * MAX_LIST * MAX_LIST, sizeof(Row));
    HG_CHECK(rows, "out of memory");
    int nrows = 0, failed = 0;
    long work = 0, done = 0; /* progress in inner steps */
    for (int a = 0; a < o.nsteps; a++)
        for (int b = 0; b < o.nwindows; b++)
            work += o.windows[b] <= o.steps[a] ? (long)o.nengines * o.steps[a] : 0;
    Progress bar;
    progress_start(&bar, o.label, work);
    for (int a = 0; a < o.nsteps; a++)
        for (int b = 0; b < o.nwindows; b++) {
            if (o.windows[b] > o.steps[a])
                continue;
            if (pb.data.synthetic && pb.spec.steps != o.steps[a]) {
                /* synthetic data is sized by T (problem.h): hypergrad's for this T */
                spec.steps = o.steps[a];
                problem_free(&pb);
                load_problem(&spec, &pb);
            }
            for (int e = 0; e < o.nengines; e++) {
                Row *row = &rows[nrows++];
                run_one(&o, prob, o.engines[e], o.steps[a], o.windows[b], row);
                failed |= row->status == ROW_FAILED;
                done += o.steps[a];
                progress_update(&bar, done);
            }
        }
    progress_end(&bar);
    for (int r = 0; r < R; r++)
        plain[R + r] = plain_step_s(prob, o.lr, o.mom, o.wd, (long)(R + r) * PLAIN_STEPS);
    qsort(plain, 2 * R, sizeof *plain, cmp_double);
    const double base = 0.5 * (plain[R - 1] + plain[R]); /* median of 2R */
    write_outputs(&o, argc, argv, rows, nrows, base, plain, 2 * R, P, &pb);

    free(rows);
    mem_free(plain);
    problem_free(&pb);
    return failed;
}
