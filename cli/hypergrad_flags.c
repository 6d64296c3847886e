/* hypergrad_flags.c — `hgbench hypergrad`'s flags (cli_hypergrad.h): the
 * table, the defaults, the checks of every value and combination that need
 * no data, the usage. The engines' own options (--truncate, --greedy-*,
 * --checkpoint*, ...) are not written here: their flag entries are made
 * from the engines' declarations (engine_flags, engines/engine.h).
 *
 * Seeds: --seed initialises the weights; the batch order's seed is derived
 * from it (hypergrad_batch_seed) unless --batch-seed is given; the
 * validation split, and synthetic data, use --val-seed (default 1 whatever
 * --seed is, so runs over seeds share one validation set).
 */
#include "cli_hypergrad.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/flags.h"
#include "../common/real.h"
#include "../engines/engine.h"
#include "../harness/problem.h"

#define MAX_STEPS 10000000
#define MAX_BATCH 1000000
#define MAX_VAL 10000000
#define MAX_THREADS 1024
#define DEFAULT_VAL_SEED PROBLEM_DEFAULT_VAL_SEED
#define DEFAULT_NORMAL_SIGMA PROBLEM_DEFAULT_NORMAL_SIGMA

typedef enum FlagId {
    F_ENGINE, F_MODEL, F_DATA, F_DATA_DIR, F_DEVICE, F_STEPS, F_BATCH, F_VAL, F_LEARN,
    F_LR, F_MOM, F_WD, F_SCHEDULE, F_CLAMP, F_PRECISION, F_SEED, F_BATCH_SEED,
    F_VAL_SEED, F_INIT, F_KAHAN, F_PERTURB_W0, F_THREADS, F_JSON, F_EXPORT, F_HELP, F_COUNT
} FlagId;
/* given[F_COUNT + i]: engine option i (engine_option_at) is on the command line */
#define GIVEN_COUNT (F_COUNT + ENGINE_OPTIONS_MAX)

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

static int set_round_noise(const char *flag, const char *v, void *target, HgErr *err)
{
    if (round_noise_parse(v, target))
        return hg_fail(err, "%s '%s': must be off or sr32", flag, v);
    return 0;
}

static int parse_init(HypergradOptions *o, const char *v, HgErr *err);

static int set_init(const char *flag, const char *v, void *target, HgErr *err)
{
    return parse_init(target, v, err);
}

static int set_label_noise(const char *flag, const char *v, void *target, HgErr *err)
{
    HypergradOptions *o = target;
    return label_noise_parse(flag, v, &o->label_noise, &o->label_noise_mode, err);
}

/* The flags over o; given[id] is set for each flag on the command line. The
 * engines' options go after --threads, made from their declarations. */
static FlagTable hypergrad_flags(HypergradOptions *o, int given[GIVEN_COUNT])
{
    static char engine_help[256]; /* the names first, so that they share one line */
    snprintf(engine_help, sizeof engine_help, "%s: the registered hypergradient engines",
             engine_names());
    const Flag head[] = {
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
         "what is learned: kind:K[/layer|/weight], comma-separated, kinds lr, mom, wd; K "
         "shared values per kind, an integer in 1..T or the letter T (one per step); /layer: "
         "K values for each parameterised layer, /weight (wd only): K values for each weight "
         "(N = K P); or none", FLAG_STRING,
         .target = &o->learn},
        {"--example-weights", "E", "0",
         "learn a weight sigmoid(gamma_i) on the loss of each of training examples 0..E-1 "
         "(the batch loss is (1/B) sum c_i l_i; others weigh 1), gamma starting at 0 (weight "
         "1/2) unless --theta says; 0 = none", FLAG_INT, .target = &o->examples, .lo = 0,
         .hi = 100000000},
        {"--theta", "FILE", "none",
         "start every learned value from FILE: a --json record of hgbench hypergrad (its "
         "theta: layout and values; the layout must be this run's) or a .npy of N values in "
         "that layout; the schedule's values are then not used for learned kinds",
         FLAG_STRING, .target = &o->theta_file},
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
        {"--train-size", "N", "0: all",
         "train on N of the training examples left after --val, a choice seeded by "
         "--val-seed (kept in their order)", FLAG_INT, .target = &o->train_size, .lo = 0,
         .hi = INT_MAX},
        {"--label-noise", "P[:other|:uniform]", "0",
         "corrupt training labels, seeded by --val-seed: other (default) gives exactly "
         "round(P n) examples a different class, as Franceschi et al.; uniform gives each "
         "example with probability P a class drawn among all, as benchopt's data cleaning",
         FLAG_FUNC, .target = o, .parse = set_label_noise},
        {"--train-clean-only", NULL, "off",
         "with --label-noise: train only on the examples whose label it left unchanged (the "
         "oracle of data hyper-cleaning; the noise drawn as without this flag)", FLAG_SWITCH,
         .target = &o->train_clean_only},
        {"--round-noise", "off|sr32", "off",
         "sr32: after every inner update round w and v stochastically (unbiased, seeded by "
         "--seed) to float32's grid: float32-sized noise at each step of a float64 run, "
         "differentiated as if unrounded; float64 builds, cpu, not for reversible",
         FLAG_FUNC, .target = &o->round_noise, .parse = set_round_noise},
        {"--threads", "N", "2", "OpenMP and OpenBLAS threads, 1..1024", FLAG_INT,
         .target = &o->threads, .lo = 1, .hi = MAX_THREADS},
    }, tail[] = {
        {"--json", "FILE", "none",
         "write the result as JSON to FILE, atomically (a device or FIFO is written through, "
         "a symlink's target replaced; - : stdout, the summary then on stderr)", FLAG_STRING,
         .target = &o->json},
        {"--export", "DIR", "none",
         "write the whole problem (problem.json and .npy arrays) to DIR, made if needed, for "
         "other frameworks to recompute the hypergradient", FLAG_STRING,
         .target = &o->export_dir},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &o->help},
    };
    FlagTable t;
    memset(&t, 0, sizeof t);
    int n = 0;
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        t.f[n++] = head[i];
    n += engine_flags(t.f + n, FLAGS_MAX - n, &o->opt, given + F_COUNT);
    HG_CHECK(n + (int)(sizeof tail / sizeof tail[0]) <= FLAGS_MAX, "FLAGS_MAX: too many flags");
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
        t.f[n++] = tail[i];
    return t;
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
    int given[GIVEN_COUNT];
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
    s.train_size = o->train_size;
    s.label_noise = o->label_noise;
    s.label_noise_mode = o->label_noise_mode;
    s.train_clean_only = o->train_clean_only;
    s.round_noise = o->round_noise;
    return s;
}

int hypergrad_parse_learn(const char *spec, int T, int K[HYPER_KINDS], HgErr *err)
{
    return hypergrad_parse_learn_per(spec, T, K, NULL, err);
}

/* "layer" or "weight" after a '/' of an item of --learn: per into *per. */
static int parse_per(const char *spec, HyperKind kind, const char *s, size_t len, HyperPer *per,
                     HgErr *err)
{
    for (int q = 0; q < HYPER_PERS; q++)
        if (strlen(hyper_per_name(q)) == len && !strncmp(s, hyper_per_name(q), len)) {
            *per = q;
            if (q == HYPER_PER_WEIGHT && kind != HYPER_WD)
                return hg_fail(err, "--learn '%s': %s/weight: only wd is learned per weight "
                               "(lr and mom per layer at most)", spec, hyper_kind_name(kind));
            return 0;
        }
    return hg_fail(err, "--learn '%s': %s/%.*s: unknown granularity (valid: run, layer, weight)",
                   spec, hyper_kind_name(kind), (int)len, s);
}

int hypergrad_parse_learn_per(const char *spec, int T, int K[HYPER_KINDS],
                              HyperPer per[HYPER_KINDS], HgErr *err)
{
    for (int k = 0; k < HYPER_KINDS; k++) {
        K[k] = 0;
        if (per)
            per[k] = HYPER_PER_RUN;
    }
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
        /* kind:K or kind:K/per */
        const char *cnt = p + klen + 1;
        size_t clen = len - klen - 1;
        const char *slash = memchr(cnt, '/', clen);
        if (slash) {
            HyperPer q = HYPER_PER_RUN;
            if (!per)
                return hg_fail(err, "--learn '%s': %s: values per layer or weight are not "
                               "taken here (per run only)", spec, hyper_kind_name(kind));
            if (parse_per(spec, kind, slash + 1, clen - (size_t)(slash + 1 - cnt), &q, err))
                return -1;
            per[kind] = q;
            clen = (size_t)(slash - cnt);
        }
        char count[32];
        if (clen == 0 || clen >= sizeof count)
            return hg_fail(err, "--learn '%s': %s needs a count, as %s:1 or %s:T", spec,
                           hyper_kind_name(kind), hyper_kind_name(kind), hyper_kind_name(kind));
        memcpy(count, cnt, clen);
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
        .init_sigma = DEFAULT_NORMAL_SIGMA, .threads = 2, .opt = engine_settings_defaults()};
}

/* Combinations, and what needs the data's shape but not the data. */
static int check_options(HypergradOptions *o, const int given[GIVEN_COUNT], HgErr *err)
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
    if (hypergrad_parse_learn_per(o->learn, o->steps, o->K, o->per, err))
        return -1;
    const int N = o->K[HYPER_LR] + o->K[HYPER_MOM] + o->K[HYPER_WD];
    /* what the engine cannot do, in its own words (engine.h) */
    EngineOptions eo = {.T = o->steps, .N = N, .kahan = o->kahan, .opt = o->opt,
                        .asked = engine_options_given(given + F_COUNT)};
    for (int k = 0; k < HYPER_KINDS; k++)
        eo.per[k] = o->K[k] ? o->per[k] : HYPER_PER_RUN;
    eo.E = o->examples;
    eo.N += o->examples;
    if (o->examples && o->export_dir)
        return hg_fail(err, "--export with --example-weights: the exported problem does not "
                       "hold the example weights yet");
    const EngineOps *ops = engine_find(o->engine);
    if (ops->check && ops->check(&eo, err))
        return -1;
    const char *moving = engine_moving_option(ops, &o->opt);
    if (o->export_dir && moving)
        return hg_fail(err, "--export with %s: the run changes its schedule while it runs, so "
                       "the exported one would not be the one run", moving);
    if (o->opt.hvp_clamp > 0 && o->export_dir)
        return hg_fail(err, "--export with --hvp-clamp: the exported problem defines the exact "
                       "hypergradient, so another framework would recompute the unclamped one");
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
    int given[GIVEN_COUNT] = {0};
    defaults(o);
    const FlagTable t = hypergrad_flags(o, given);
    if (flags_parse(t.f, argc, argv, err))
        return -1;
    if (o->help)
        return 0;
    return check_options(o, given, err);
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

