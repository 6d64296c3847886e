/* cli_hypergrad.c — `hgbench hypergrad` (cli_hypergrad.h): flags, the run,
 * the summary and the JSON record.
 *
 * Order of work: every flag and combination is checked first (exit 2, no
 * work done); then the outputs are checked writable (--json's folder,
 * --export's folder made); then the engine's memory estimate is printed on
 * stderr and a run that cannot fit is refused (exit 1); only then are data
 * loaded, split and normalised, the weights initialised and the engine run.
 *
 * Seeds: --seed initialises the weights; the batch order's seed is derived
 * from it (hypergrad_batch_seed) unless --batch-seed is given; the
 * validation split, and synthetic data, use --val-seed (default 1 whatever
 * --seed is, so runs over seeds share one validation set). Every seed used
 * is recorded in the JSON.
 * Leaves out: outer optimisation of the hyperparameters (beyond greedy's
 * online mode: that is `hgbench hpo`, cli_hpo.c, which reuses this file's
 * flags, data loading and JSON members), repeated timings.
 */
#include "cli_hypergrad.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/mem.h"
#include "../common/real.h"
#include "../datasets/dataset.h"
#include "../engines/engine.h"
#include "../harness/problem.h"
#include "../io/atomic_file.h"
#include "../io/export.h"
#include "../io/json_writer.h"
#include "../io/machine.h"
#include "../common/flags.h"
#include "interrupt.h"

#define MAX_STEPS 10000000
#define MAX_BATCH 1000000
#define MAX_VAL 10000000
#define MAX_THREADS 1024
#define DEFAULT_VAL_SEED PROBLEM_DEFAULT_VAL_SEED
#define DEFAULT_NORMAL_SIGMA PROBLEM_DEFAULT_NORMAL_SIGMA

/* ------------------------------------------------------------ flags */

typedef enum FlagId {
    F_ENGINE, F_MODEL, F_DATA, F_DATA_DIR, F_DEVICE, F_STEPS, F_BATCH, F_VAL, F_LEARN,
    F_LR, F_MOM, F_WD, F_SCHEDULE, F_CLAMP, F_PRECISION, F_SEED, F_BATCH_SEED,
    F_VAL_SEED, F_INIT, F_KAHAN, F_PERTURB_W0, F_THREADS, F_TRUNCATE, F_GREEDY_TARGET, F_GREEDY_ONLINE_LR,
    F_CHECKPOINTS, F_CHECKPOINT_SCHEDULE, F_JSON, F_EXPORT, F_HELP, F_COUNT
} FlagId;

static int set_schedule(const char *flag, const char *v, void *target, HgErr *err)
{
    HypergradOptions *o = target;
    if (schedule_shape_parse(v, &o->schedule))
        return hg_fail(err, "%s '%s': unknown (valid: constant, cosine, step)", flag, v);
    o->schedule_name = v;
    return 0;
}

static int set_precision(const char *flag, const char *v, void *target, HgErr *err)
{
    if (strcmp(v, "32") && strcmp(v, "64"))
        return hg_fail(err, "%s '%s': must be 32 or 64", flag, v);
    *(int *)target = atoi(v);
    return 0;
}

static int parse_init(HypergradOptions *o, const char *v, HgErr *err);

static int set_init(const char *flag, const char *v, void *target, HgErr *err)
{
    return parse_init(target, v, err);
}

static const char *const GREEDY_TARGETS[] = {"val", "train", NULL};

/* The flags over o; given[id] is set for each flag on the command line. */
static const char *const CHECKPOINT_SCHEDULES[] = {"binomial", "uniform", NULL};

static FlagTable hypergrad_flags(HypergradOptions *o, int given[F_COUNT])
{
    static char engine_help[256]; /* the names first, so that they share one line */
    snprintf(engine_help, sizeof engine_help, "%s: the registered hypergradient engines",
             engine_names());
    return (FlagTable){{
        {"--engine", "NAME", "bptt", engine_help, FLAG_STRING, .target = &o->engine},
        {"--model", "SPEC", "lenet",
         "logreg, mlp (one hidden layer of 256, tanh), lenet, or an mlp spec such as "
         "mlp:256,128:relu; built for the data's shape", FLAG_STRING, .target = &o->model},
        {"--data", "NAME", "fashion-mnist",
         "fashion-mnist, mnist, svhn, cifar10, or synthetic[:CxHxW|:D] (seeded Gaussian "
         "classes, 10 of them, 1x28x28 unless given; sized to the run)", FLAG_STRING,
         .target = &o->data},
        {"--data-dir", "DIR", "the loader's; fashion-mnist: /usr/share/datasets/fashion-mnist",
         "folder with the data set's files", FLAG_STRING, .target = &o->data_dir},
        {"--device", "NAME", "cpu", "cpu, cuda (CUDA builds only) or auto (the GPU if one "
         "works, else the CPU)", FLAG_STRING, .target = &o->device},
        {"--steps", "T", "100", "inner SGD steps, 1..10000000", FLAG_INT, .target = &o->steps,
         .lo = 1, .hi = MAX_STEPS},
        {"--batch", "B", "128", "examples per step", FLAG_INT, .target = &o->batch, .lo = 1,
         .hi = MAX_BATCH},
        {"--val", "N", "10000",
         "validation examples, held out of the train split by --val-seed; must leave at least "
         "--batch for training", FLAG_INT, .target = &o->val, .lo = 1, .hi = MAX_VAL},
        {"--learn", "LIST", "lr:1",
         "what is learned: kind:K, comma-separated, kinds lr, mom, wd; K shared values per "
         "kind, an integer in 1..T or the letter T (one per step); or none", FLAG_STRING,
         .target = &o->learn},
        {"--lr", "X", "0.1", "initial learning rate, >= 0", FLAG_REAL, .target = &o->lr,
         .lo = 0, .hi = INFINITY},
        {"--mom", "X", "0.9", "initial momentum, in [0, 1]", FLAG_REAL, .target = &o->mom,
         .lo = 0, .hi = 1},
        {"--wd", "X", "0.0005", "initial weight decay, >= 0", FLAG_REAL, .target = &o->wd,
         .lo = 0, .hi = INFINITY},
        {"--schedule", "SHAPE", "constant",
         "learning-rate shape over the steps: constant, cosine, step; a learned kind runs "
         "each window's mean", FLAG_FUNC, .target = o, .parse = set_schedule},
        {"--clamp", "C", "0", "clamp gradient entries to [-C, C]; 0 = off", FLAG_REAL,
         .target = &o->clamp, .lo = 0, .hi = INFINITY},
        {"--precision", "32|64", "32",
         "float32 or float64; build/hgbench runs build/f32/hgbench or build/f64/hgbench, "
         "which check it", FLAG_FUNC, .target = &o->precision, .parse = set_precision},
        {"--seed", "S", "0",
         "seed of the initialisation; the batch order's seed is derived from it", FLAG_SEED,
         .target = &o->seed},
        {"--batch-seed", "S", "derived from --seed", "seed of the batch order", FLAG_SEED,
         .target = &o->batch_seed, .given = &given[F_BATCH_SEED]},
        {"--val-seed", "S", "1, for every --seed",
         "seed of the validation split and of synthetic data", FLAG_SEED,
         .target = &o->val_seed},
        {"--init", "KIND", "xavier; normal's sigma 0.01",
         "weight initialisation: xavier, kaiming, normal[:SIGMA]; biases 0", FLAG_FUNC,
         .target = o, .parse = set_init},
        {"--kahan", NULL, "off",
         "compensated (Kahan) summation of the weight update w -= a v, so that small late "
         "updates are not rounded away in float32; not for reversible (exact fixed point)",
         FLAG_SWITCH, .target = &o->kahan},
        {"--perturb-w0", "EPS", "0",
         "move w0 by EPS relative (|dw0| = EPS |w0|) along a direction seeded by --seed: how "
         "much the hypergradient depends on its start; 0 = off, at most 1", FLAG_REAL,
         .target = &o->perturb_w0, .lo = 0, .hi = 1},
        {"--threads", "N", "2", "OpenMP and OpenBLAS threads, 1..1024", FLAG_INT,
         .target = &o->threads, .lo = 1, .hi = MAX_THREADS},
        {"--truncate", "K", "0",
         "bptt only: differentiate through the last K steps (biased); 0 = all", FLAG_INT,
         .target = &o->truncate, .lo = 0, .hi = MAX_STEPS, .given = &given[F_TRUNCATE]},
        {"--greedy-target", "val|train", "val",
         "greedy only: look ahead on the validation set or on the next training batch",
         FLAG_CHOICE, .target = &o->greedy_on_train, .choices = GREEDY_TARGETS,
         .given = &given[F_GREEDY_TARGET]},
        {"--greedy-online-lr", "X", "0",
         "greedy only: update the learned values after every step with this outer learning "
         "rate; 0 = off", FLAG_REAL, .target = &o->greedy_online_lr, .lo = 0, .hi = INFINITY,
         .given = &given[F_GREEDY_ONLINE_LR]},
        {"--checkpoints", "C", "none",
         "checkpoint only: states stored, 1 <= C < T; the segments between them are "
         "recomputed", FLAG_INT, .target = &o->checkpoints, .lo = 0, .hi = MAX_STEPS,
         .given = &given[F_CHECKPOINTS]},
        {"--checkpoint-schedule", "binomial|uniform", "binomial",
         "checkpoint only: binomial (revolve: the fewest recomputed steps for C) or uniform "
         "(every ceil(T / (C + 1)) steps, each segment stored while reversed)", FLAG_CHOICE,
         .target = &o->checkpoint_uniform, .choices = CHECKPOINT_SCHEDULES,
         .given = &given[F_CHECKPOINT_SCHEDULE]},
        {"--json", "FILE", "none",
         "write the result as JSON to FILE, atomically (a device or FIFO is written through, "
         "a symlink's target replaced; - : stdout, the summary then on stderr)", FLAG_STRING,
         .target = &o->json},
        {"--export", "DIR", "none",
         "write the whole problem (problem.json and .npy arrays) to DIR, made if needed, for "
         "other frameworks to recompute the hypergradient", FLAG_STRING,
         .target = &o->export_dir},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &o->help},
    }};
}

void hypergrad_usage(FILE *f)
{
    fputs("usage: hgbench hypergrad [flags]\n"
          "The hypergradient of the mean validation loss after T steps of SGD with momentum\n"
          "and weight decay, with respect to the learned hyperparameters, by one engine, at\n"
          "the precision of this binary (" HG_REAL_NAME "). Flags take a value as --flag V or\n"
          "--flag=V; the last of a repeated flag wins.\n\n",
          f);
    hypergrad_print_flags(f, NULL);
    fputs("\nOutputs: a summary on stdout; the memory estimate and notes on stderr.\n"
          "Exit status: 0 done; 1 the engine failed or refused (divergence, memory);\n"
          "2 a usage error, refused before any work; 3 data not loaded or output not written.\n",
          f);
}

void hypergrad_print_flags(FILE *f, const char *const *omit)
{
    HypergradOptions scratch;
    int given[F_COUNT];
    const FlagTable t = hypergrad_flags(&scratch, given);
    flags_usage_omit(f, t.f, omit);
}

uint64_t hypergrad_batch_seed(uint64_t seed)
{
    const ProblemSpec s = {.seed = seed};
    return problem_batch_seed(&s);
}

ProblemSpec hypergrad_problem_spec(const HypergradOptions *o)
{
    ProblemSpec s = problem_spec_defaults();
    s.model = o->model;
    s.data = o->data;
    s.data_dir = o->data_dir;
    s.device = o->device;
    s.steps = o->steps;
    s.batch = o->batch;
    s.val = o->val;
    s.seed = o->seed;
    s.batch_seed_given = 1; /* check_options derived it (problem_batch_seed) */
    s.batch_seed = o->batch_seed;
    s.val_seed = o->val_seed;
    s.init = o->init;
    s.init_sigma = o->init_sigma;
    s.kahan = o->kahan;
    s.perturb_w0 = o->perturb_w0;
    return s;
}

int hypergrad_parse_learn(const char *spec, int T, int K[HYPER_KINDS], HgErr *err)
{
    for (int k = 0; k < HYPER_KINDS; k++)
        K[k] = 0;
    if (!strcmp(spec, "none"))
        return 0;
    if (!*spec)
        return hg_fail(err, "--learn '': empty (write --learn none to learn nothing)");
    const char *p = spec;
    for (;;) {
        const size_t len = strcspn(p, ","), klen = strcspn(p, ":,");
        if (klen == len)
            return hg_fail(err, "--learn '%s': '%.*s' needs a count, as lr:1 or lr:T", spec,
                           (int)len, p);
        int kind = -1;
        for (int k = 0; k < HYPER_KINDS; k++)
            if (strlen(hyper_kind_name(k)) == klen && !strncmp(p, hyper_kind_name(k), klen))
                kind = k;
        if (kind < 0)
            return hg_fail(err, "--learn '%s': unknown kind '%.*s' (valid: lr, mom, wd)", spec,
                           (int)klen, p);
        if (K[kind])
            return hg_fail(err, "--learn '%s': %s is given twice", spec, hyper_kind_name(kind));
        char count[32];
        const size_t clen = len - klen - 1;
        if (clen == 0 || clen >= sizeof count)
            return hg_fail(err, "--learn '%s': %s needs a count, as %s:1 or %s:T", spec,
                           hyper_kind_name(kind), hyper_kind_name(kind), hyper_kind_name(kind));
        memcpy(count, p + klen + 1, clen);
        count[clen] = '\0';
        if (!strcmp(count, "T")) {
            K[kind] = T;
        } else {
            char *end;
            errno = 0;
            const long v = isdigit((unsigned char)count[0]) ? strtol(count, &end, 10) : -1;
            if (v < 0 || *end)
                return hg_fail(err, "--learn '%s': %s:%s: the count must be an integer in "
                               "1..T or the letter T", spec, hyper_kind_name(kind), count);
            if (errno == ERANGE || v > T)
                return hg_fail(err, "--learn '%s': %s:%s: K > T (%s shared values for T = %d "
                               "steps, --steps); K must be in 1..T", spec,
                               hyper_kind_name(kind), count, count, T);
            if (v < 1)
                return hg_fail(err, "--learn '%s': %s:%s: K must be in 1..T (leave the kind "
                               "out to not learn it)", spec, hyper_kind_name(kind), count);
            K[kind] = (int)v;
        }
        p += len;
        if (!*p)
            return 0;
        p++;
    }
}

static int parse_init(HypergradOptions *o, const char *v, HgErr *err)
{
    o->init_sigma = DEFAULT_NORMAL_SIGMA;
    if (!strncmp(v, "normal:", 7)) {
        o->init = INIT_NORMAL;
        o->init_name = "normal";
        if (flags_parse_real("--init normal:SIGMA", v + 7, 0, INFINITY, 0, &o->init_sigma, err))
            return -1;
        if (!(o->init_sigma > 0))
            return hg_fail(err, "--init %s: sigma must be > 0", v);
        return 0;
    }
    if (init_kind_parse(v, &o->init))
        return hg_fail(err, "--init '%s': unknown (valid: xavier, kaiming, normal[:SIGMA])", v);
    o->init_name = v;
    return 0;
}

static void defaults(HypergradOptions *o)
{
    *o = (HypergradOptions){
        .engine = "bptt", .model = "lenet", .data = "fashion-mnist", .device = "cpu",
        .steps = 100,
        .batch = 128, .val = 10000, .learn = "lr:1", .lr = 0.1, .mom = 0.9, .wd = 5e-4,
        .schedule_name = "constant", .schedule = SCHEDULE_CONSTANT, .precision = HG_PRECISION,
        .seed = 0, .val_seed = DEFAULT_VAL_SEED, .init_name = "xavier", .init = INIT_XAVIER,
        .init_sigma = DEFAULT_NORMAL_SIGMA, .threads = 2};
}

/* Combinations, and what needs the data's shape but not the data. */
static int check_options(HypergradOptions *o, const int given[F_COUNT], HgErr *err)
{
    if (o->precision != HG_PRECISION)
        return hg_fail(err, "--precision %d: this binary is built for " HG_REAL_NAME "; run "
                       "build/hgbench, which starts build/f%d/hgbench for --precision %d",
                       o->precision, o->precision, o->precision);
    if (!engine_find(o->engine))
        return hg_fail(err, "--engine '%s': unknown engine (registered: %s)", o->engine,
                       engine_names());
    ProblemSpec spec = hypergrad_problem_spec(o);
    ProblemData pd;
    if (problem_check(&spec, &pd, err))
        return -1;
    o->input = pd.input;
    o->classes = pd.classes;
    o->synthetic = pd.synthetic;
    if (hypergrad_parse_learn(o->learn, o->steps, o->K, err))
        return -1;
    const int N = o->K[HYPER_LR] + o->K[HYPER_MOM] + o->K[HYPER_WD];
    /* what the engine cannot do, in its own words (engine.h) */
    const EngineOptions eo = {.T = o->steps, .N = N,
                              .truncate = given[F_TRUNCATE] ? o->truncate : -1,
                              .greedy_target = given[F_GREEDY_TARGET],
                              .greedy_online = given[F_GREEDY_ONLINE_LR], .kahan = o->kahan,
                              .checkpoints = given[F_CHECKPOINTS] ? o->checkpoints : 0,
                              .checkpoint_uniform = given[F_CHECKPOINT_SCHEDULE] &&
                                                    o->checkpoint_uniform};
    const EngineOps *ops = engine_find(o->engine);
    if (ops->check && ops->check(&eo, err))
        return -1;
    if (o->export_dir && o->greedy_online_lr > 0)
        return hg_fail(err, "--export with --greedy-online-lr: the online updates change the "
                       "schedule while it runs, so the exported one would not be the one run");
    if (o->kahan && o->export_dir)
        return hg_fail(err, "--export with --kahan: the exported update rule is the plain one, "
                       "so another framework would recompute a different run");
    spec.batch_seed_given = given[F_BATCH_SEED];
    spec.batch_seed = o->batch_seed;
    o->batch_seed = problem_batch_seed(&spec);
    return 0;
}

int hypergrad_parse(int argc, char **argv, HypergradOptions *o, HgErr *err)
{
    int given[F_COUNT] = {0};
    defaults(o);
    const FlagTable t = hypergrad_flags(o, given);
    if (flags_parse(t.f, argc, argv, err))
        return -1;
    if (o->help)
        return 0;
    return check_options(o, given, err);
}

/* ------------------------------------------------------------ the run */

static double gib(double b) { return b / (1024.0 * 1024.0 * 1024.0); }

static void human_bytes(char *buf, size_t cap, double b)
{
    if (b >= 1024.0 * 1024 * 1024)
        snprintf(buf, cap, "%.2f GiB", gib(b));
    else if (b >= 1024.0 * 1024)
        snprintf(buf, cap, "%.2f MiB", b / (1024.0 * 1024));
    else if (b >= 1024.0)
        snprintf(buf, cap, "%.2f KiB", b / 1024.0);
    else
        snprintf(buf, cap, "%.0f B", b);
}

int hypergrad_check_json_path(const char *path, HgErr *err)
{
    char copy[4096];
    struct stat st;
    if (!*path || strlen(path) >= sizeof copy)
        return hg_fail(err, "--json '%s': not a usable file name", path);
    if (!strcmp(path, "-"))
        return 0; /* standard output */
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return hg_fail(err, "--json %s: is a folder", path);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return 0; /* a device, FIFO or socket: written through (atomic_file.h) */
    memcpy(copy, path, strlen(path) + 1);
    const char *dir = dirname(copy);
    if (access(dir, W_OK) != 0)
        return hg_fail(err, "--json %s: cannot write in folder %s: %s", path, dir,
                       strerror(errno));
    return 0;
}

int hypergrad_memory_estimate(const char *cmd, const HypergradOptions *o, long P, int N,
                              double *estimate, HgErr *err)
{
    const EngineOps *ops = engine_find(o->engine);
    EngineState st;
    EngineOptions eo = engine_options_plain(o->steps, N);
    eo.checkpoints = o->checkpoints;
    eo.checkpoint_uniform = o->checkpoint_uniform;
    eo.kahan = o->kahan;
    const int rc = engine_check_state(ops, P, &eo, o->clamp > 0, &st, err);
    *estimate = st.bytes;
    if (st.bytes > 0) {
        const MemLimit m = mem_limit();
        fprintf(stderr, "hgbench %s: %s memory estimate: %.4g GiB for %s; %s\n", cmd, ops->name,
                gib(st.bytes), st.what, m.bytes >= 0 ? m.what : "no memory limit is known");
    }
    return rc;
}

int hypergrad_load_problem(const HypergradOptions *o, Problem *p, int *status, HgErr *err)
{
    const ProblemSpec spec = hypergrad_problem_spec(o);
    const int rc = problem_load(&spec, p, err);
    *status = rc == 0 ? 0 : rc == PROBLEM_BAD_SPEC ? 2 : 3;
    return rc ? -1 : 0;
}

static int per_step_kinds(const HyperLayout *h, const EngineResult *r)
{
    int n = 0;
    for (int k = 0; k < HYPER_KINDS; k++)
        n += h->K[k] && r->per_step[k];
    return n;
}

static void learn_string(const HyperLayout *h, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k] && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s:%d", len ? "," : "",
                                    hyper_kind_name(k), h->K[k]);
    if (!len)
        snprintf(buf, cap, "none");
}

/* To stdout, or to stderr when the JSON goes to stdout (--json -). */
static void print_summary(FILE *out, const HypergradOptions *o, const Model *m,
                          const Dataset *train, const Dataset *val, const HyperLayout *h,
                          const EngineResult *r)
{
    char learn[64], b[32];
    learn_string(h, learn, sizeof learn);
    fprintf(out, "engine      %s", o->engine);
    if (o->truncate > 0)
        fprintf(out, " (truncated to the last %d steps)", o->truncate);
    if (o->checkpoints > 0)
        fprintf(out, " (%d checkpoints, %s schedule: %ld steps recomputed; binomial minimum %ld)",
               o->checkpoints, o->checkpoint_uniform ? "uniform" : "binomial",
               r->recomputed_steps, r->recomputed_min);
    if (o->greedy_on_train || o->greedy_online_lr > 0)
        fprintf(out, " (look-ahead on the %s%s)", o->greedy_on_train ? "next batch" : "validation set",
               o->greedy_online_lr > 0 ? ", online updates" : "");
    fprintf(out, "\n");
    fprintf(out, "model       %s: %ld parameters, input %dx%dx%d, %d classes, init %s", o->model,
           m->nparams, m->input.c, m->input.h, m->input.w, m->classes, o->init_name);
    if (o->perturb_w0 > 0)
        fprintf(out, ", w0 perturbed by %g relative", o->perturb_w0);
    fprintf(out, "\n");
    fprintf(out, "data        %s: %d train, %d val examples, " HG_REAL_NAME ", %d threads\n",
           o->data, train->n, val->n, o->threads);
    fprintf(out, "steps       %d, batch %d, schedule %s (lr %g, mom %g, wd %g), clamp ", o->steps,
           o->batch, o->schedule_name, o->lr, o->mom, o->wd);
    if (o->clamp > 0)
        fprintf(out, "%g\n", o->clamp);
    else
        fprintf(out, "off\n");
    fprintf(out, "learned     %s\n", learn);
    fprintf(out, "val loss    %.6g (accuracy %.4f)\n", r->val_loss, r->val_acc);
    const char *lead = "hypergrad   ";
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (!h->K[k])
            continue;
        fprintf(out, "%s%s [%d]:", lead, hyper_kind_name(k), h->K[k]);
        const int show = h->K[k] <= 8 ? h->K[k] : 6;
        for (int i = 0; i < show; i++)
            fprintf(out, " %.6g", r->hypergrad[h->offset[k] + i]);
        if (show < h->K[k])
            fprintf(out, " ... (all %d in --json)", h->K[k]);
        fprintf(out, "\n");
        lead = "            ";
    }
    if (!h->N)
        fprintf(out, "hypergrad   (nothing learned)\n");
    fprintf(out, "time        %.3f s (%.3f ms per step)\n", r->time_s, 1e3 * r->time_s / o->steps);
    fprintf(out, "phases     ");
    for (int p = 0; p < ENGINE_PHASES; p++)
        fprintf(out, " %s %.3f s%s", engine_phase_name((EnginePhase)p), r->phase_s[p],
                p + 1 < ENGINE_PHASES ? "," : "");
    fprintf(out, " (%s)\n", r->phase_device ? "device time by CUDA events" : "wall time");
    fprintf(out, "memory      ");
    int first = 1;
    for (int t = 0; t < MEM_NTAGS; t++) {
        if (!r->mem_peak[t])
            continue;
        human_bytes(b, sizeof b, (double)r->mem_peak[t]);
        fprintf(out, "%s%s %s", first ? "" : ", ", mem_tag_name(t), b);
        first = 0;
    }
    human_bytes(b, sizeof b, (double)r->peak_rss);
    fprintf(out, "%speak RSS %s", first ? "" : "; ", b);
    if (r->device_peak) {
        human_bytes(b, sizeof b, (double)r->device_peak);
        fprintf(out, ", device in use at its peak %s", b);
    }
    fprintf(out, " (peaks during the run)\n");
    if (engine_find(o->engine)->infobuf) {
        char f[32];
        human_bytes(b, sizeof b, (double)r->infobuf_bytes);
        human_bytes(f, sizeof f, r->infobuf_floor_bytes);
        fprintf(out, "infobuf     %s, floor %s (%.3fx)\n", b, f,
               r->infobuf_floor_bytes > 0 ? (double)r->infobuf_bytes / r->infobuf_floor_bytes
                                          : 0.0);
    }
    fflush(stdout);
}

void hypergrad_json_problem(JsonWriter *j, const HypergradOptions *o, const Model *m,
                            const Dataset *train, const Dataset *val, const HyperLayout *h)
{
    json_field_string(j, "model", o->model);
    json_field_int(j, "model_params", m->nparams);
    json_field_string(j, "data", o->data);
    json_key(j, "data_dir");
    json_string(j, o->synthetic ? NULL
                                : o->data_dir ? o->data_dir : dataset_default_dir(o->data));
    json_key(j, "input_shape"); /* [C, H, W], or [D] for flat inputs, as --export */
    if (m->input.h == 1 && m->input.w == 1)
        json_longs(j, (long[]){m->input.c}, 1);
    else
        json_longs(j, (long[]){m->input.c, m->input.h, m->input.w}, 3);
    json_field_int(j, "classes", m->classes);
    json_field_int(j, "train_examples", train->n);
    json_field_int(j, "val_examples", val->n);
    json_field_int(j, "steps", o->steps);
    json_field_int(j, "batch", o->batch);
    json_field_string(j, "precision", HG_REAL_NAME);
    json_field_uint(j, "seed", o->seed);
    json_field_uint(j, "batch_seed", o->batch_seed);
    json_field_uint(j, "val_seed", o->val_seed);
    json_field_string(j, "init", o->init_name);
    if (o->init == INIT_NORMAL) {
        json_field_double(j, "init_sigma", o->init_sigma);
    }
    json_field_int(j, "threads", o->threads);
    json_field_string(j, "schedule", o->schedule_name);
    json_field_double(j, "lr", o->lr);
    json_field_double(j, "mom", o->mom);
    json_field_double(j, "wd", o->wd);
    json_key(j, "clamp");
    if (o->clamp > 0)
        json_double(j, o->clamp);
    else
        json_null(j);
    json_field_bool(j, "kahan", o->kahan);
    if (o->perturb_w0 > 0) { /* only when asked: other records keep their bytes */
        const ProblemSpec spec = hypergrad_problem_spec(o);
        json_field_double(j, "perturb_w0", o->perturb_w0);
        json_field_uint(j, "perturb_seed", problem_perturb_seed(&spec));
    }
    json_key(j, "learn");
    json_object_begin(j, 1);
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k]) {
            json_field_int(j, hyper_kind_name(k), h->K[k]);
        }
    json_object_end(j);
    const EngineOps *ops = engine_find(o->engine);
    if (engine_takes(ops, "truncate")) {
        json_field_int(j, "truncate", o->truncate);
    }
    if (engine_takes(ops, "checkpoint")) {
        json_field_int(j, "checkpoints", o->checkpoints);
        json_field_string(j, "checkpoint_schedule", o->checkpoint_uniform ? "uniform" : "binomial");
    }
    if (engine_takes(ops, "look-ahead")) {
        json_field_string(j, "greedy_target", o->greedy_on_train ? "train" : "val");
        json_field_double(j, "greedy_online_lr", o->greedy_online_lr);
    }
}

void hypergrad_json_machine(JsonWriter *j)
{
    Machine mc;
    machine_probe(&mc);
    json_key(j, "machine");
    json_object_begin(j, 0);
    json_field_string(j, "host", mc.host);
    json_field_string(j, "cpu", mc.cpu);
    json_field_int(j, "cores", mc.cores);
    json_field_int(j, "pus", mc.pus);
    json_field_double(j, "memory_bytes", mc.memory_bytes);
    json_object_end(j);
}

static int write_json(const HypergradOptions *o, const Model *m, const Dataset *train,
                      const Dataset *val, const HyperLayout *h, const EngineResult *r,
                      double estimate, HgErr *err)
{
    AtomicFile af;
    if (atomic_open(&af, o->json, err))
        return -1;
    JsonWriter jw, *j = &jw;
    json_init(j, af.f);
    json_object_begin(j, 0);
    json_field_string(j, "command", "hypergrad");
    json_field_string(j, "engine", o->engine);
    json_field_string(j, "device", m->be->name); /* what --device auto resolved to */
    if (m->be->conv_picks) { /* the conv path of each shape: the bytes depend on it */
        char picks[16384];
        m->be->conv_picks(picks, sizeof picks);
        json_field_string(j, "conv_picks", picks);
    }
    hypergrad_json_problem(j, o, m, train, val, h);
    json_field_double(j, "val_loss", r->val_loss);
    json_field_double(j, "val_acc", r->val_acc);
    json_key(j, "hypergrad");
    json_object_begin(j, 0);
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k]) {
            json_field_doubles(j, hyper_kind_name(k), r->hypergrad + h->offset[k], h->K[k]);
        }
    json_object_end(j);
    json_key(j, "per_step");
    if (per_step_kinds(h, r)) {
        json_object_begin(j, 0);
        for (int k = 0; k < HYPER_KINDS; k++)
            if (h->K[k] && r->per_step[k]) {
                json_field_doubles(j, hyper_kind_name(k), r->per_step[k], o->steps);
            }
        json_object_end(j);
    } else {
        json_null(j);
    }
    if (engine_takes(engine_find(o->engine), "checkpoint")) {
        json_field_int(j, "recomputed_steps", (int)r->recomputed_steps);
        json_field_int(j, "recomputed_min", (int)r->recomputed_min);
    }
    json_field_double(j, "time_s", r->time_s);
    json_field_double(j, "time_per_step_s", r->time_s / o->steps);
    for (int p = 0; p < ENGINE_PHASES; p++) { /* engine.h's phases */
        char key[48];
        snprintf(key, sizeof key, "%s_time_s", engine_phase_name((EnginePhase)p));
        json_field_double(j, key, r->phase_s[p]);
    }
    json_field_string(j, "phase_clock", r->phase_device ? "cuda events" : "host");
    json_key(j, "mem");
    json_object_begin(j, 0);
    for (int t = 0; t < MEM_NTAGS; t++) {
        json_field_uint(j, mem_tag_name(t), r->mem_peak[t]);
    }
    json_field_uint(j, "peak_rss", r->peak_rss);
    if (r->device_peak) /* a device backend: its use by cudaMemGetInfo */
        json_field_uint(j, "device_peak", r->device_peak);
    if (estimate > 0) {
        json_field_double(j, "estimate", estimate);
    }
    if (engine_find(o->engine)->infobuf) {
        json_field_uint(j, "infobuf_bytes", r->infobuf_bytes);
        json_field_double(j, "infobuf_floor_bytes", r->infobuf_floor_bytes);
    }
    json_object_end(j);
    hypergrad_json_machine(j);
    json_object_end(j);
    return atomic_commit(&af, err);
}

static int hypergrad_run(const HypergradOptions *o)
{
    HgErr err = {{0}};
    int status = 0;
    BACKEND_CPU.set_threads(o->threads); /* OpenMP and OpenBLAS */
    interrupt_install(); /* Ctrl-C: the engine stops at its next step */

    /* outputs first: a long run must not end unable to write its result */
    if (o->json && hypergrad_check_json_path(o->json, &err)) {
        fprintf(stderr, "hgbench hypergrad: %s\n", err.msg);
        return 2;
    }
    if (o->export_dir && export_make_dir(o->export_dir, &err)) {
        fprintf(stderr, "hgbench hypergrad: --export %s\n", err.msg);
        return 2;
    }

    const EngineOps *ops = engine_find(o->engine);
    const ProblemSpec spec = hypergrad_problem_spec(o);
    Model *sized = problem_model(&spec, &err); /* to size the run before loading */
    HG_CHECK(ops && sized, "checked by hypergrad_parse: %s", err.msg);
    Problem pb = {0};
    const int N = o->K[HYPER_LR] + o->K[HYPER_MOM] + o->K[HYPER_WD];
    double estimate;
    double *theta = NULL;
    Schedule sched = {0};
    EngineResult res = {0};
    int have_res = 0;
    const int est_rc = hypergrad_memory_estimate("hypergrad", o, sized->nparams, N, &estimate,
                                                 &err);
    model_free(sized);
    if (est_rc) {
        fprintf(stderr, "hgbench hypergrad: refused: %s\n", err.msg);
        status = 1;
        goto done;
    }

    if (hypergrad_load_problem(o, &pb, &status, &err)) {
        fprintf(stderr, "hgbench hypergrad: %s\n", err.msg);
        goto done;
    }
    Model *const m = pb.model;

    HyperLayout layout;
    if (hyper_layout_init(&layout, o->steps, o->K, &err) ||
        schedule_init(&sched, o->steps, o->schedule, o->lr, o->mom, o->wd, o->clamp, &err)) {
        fprintf(stderr, "hgbench hypergrad: %s\n", err.msg);
        status = 2;
        goto done;
    }
    /* Run the schedule that theta describes: a learned kind's steps take their
     * window's mean, so the hypergradient is the derivative at this run. */
    theta = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(N ? N : 1));
    hyper_pack(&layout, &sched, theta);
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (!layout.K[k])
            continue;
        int changed = 0;
        for (int t = 0; t < o->steps; t++)
            changed |= fabs(theta[hyper_column(&layout, k, t)] - sched.v[k][t]) >
                       1e-12 * fabs(sched.v[k][t]);
        if (changed)
            fprintf(stderr, "hgbench hypergrad: note: %s is learned with %d shared values: "
                    "each window runs the mean of the %s schedule over it\n",
                    hyper_kind_name(k), layout.K[k], o->schedule_name);
    }
    hyper_unpack(&layout, theta, &sched);

    InnerProblem prob = pb.inner;
    prob.stop = &interrupt_signal;
    const EngineConfig cfg = {.prob = &prob, .layout = &layout, .sched = &sched,
                              .truncate = o->truncate, .greedy_on_train = o->greedy_on_train,
                              .greedy_online_lr = o->greedy_online_lr,
                              .checkpoints = o->checkpoints,
                              .checkpoint_uniform = o->checkpoint_uniform};
    if (engine_run(ops, &cfg, &res, &err)) {
        fprintf(stderr, "hgbench hypergrad: %s\n", err.msg);
        status = 1;
        goto done;
    }
    if (interrupt_signal) /* after the last step: no result to write either */
        goto done;
    have_res = 1;
    print_summary(o->json && !strcmp(o->json, "-") ? stderr : stdout, o, m, &pb.train, &pb.val,
                  &layout, &res);
    if (o->json && write_json(o, m, &pb.train, &pb.val, &layout, &res, estimate, &err)) {
        fprintf(stderr, "hgbench hypergrad: --json %s\n", err.msg);
        status = 3;
    }
    if (o->export_dir) {
        const ExportInfo info = {
            .engine = o->engine, .model_spec = o->model, .data = o->data,
            .init = o->init_name, .init_sigma = o->init_sigma, .init_seed = o->seed,
            .batch_seed = o->batch_seed, .val_seed = o->val_seed, .truncate = o->truncate,
            .greedy_on_train = o->greedy_on_train, .greedy_online_lr = o->greedy_online_lr,
            .mean = pb.mean, .std = pb.std};
        /* the files come from the host copies: on a device backend prob's
         * data and w0 are the uploaded ones */
        InnerProblem host = prob;
        host.train = &pb.train;
        host.val = &pb.val;
        host.w0 = pb.w0;
        if (export_problem(o->export_dir, &info, &host, &layout, &sched, &res, &err)) {
            fprintf(stderr, "hgbench hypergrad: --export %s\n", err.msg);
            status = 3;
        }
    }

done:
    if (have_res)
        engine_result_free(&res);
    schedule_free(&sched);
    mem_free(theta);
    problem_free(&pb);
    if (interrupt_signal) {
        fprintf(stderr, "hgbench hypergrad: interrupted (%s): nothing written\n",
                interrupt_name());
        return interrupt_exit_status();
    }
    return status;
}

int hypergrad_main(int argc, char **argv)
{
    HypergradOptions o;
    HgErr err = {{0}};
    if (hypergrad_parse(argc, argv, &o, &err)) {
        fprintf(stderr, "hgbench hypergrad: %s\n", err.msg);
        return 2;
    }
    if (o.help) {
        hypergrad_usage(stdout);
        return 0;
    }
    return hypergrad_run(&o);
}
