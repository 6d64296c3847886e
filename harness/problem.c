/* problem.c — spec -> data, model, w_0, seeds (problem.h). */
#include "problem.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../common/rng.h"

ProblemSpec problem_spec_defaults(void)
{
    return (ProblemSpec){.model = "lenet", .data = "fashion-mnist", .device = "cpu",
                         .steps = 100, .batch = 128, .val = 10000, .seed = 0,
                         .val_seed = PROBLEM_DEFAULT_VAL_SEED, .init = INIT_XAVIER,
                         .init_sigma = PROBLEM_DEFAULT_NORMAL_SIGMA};
}

uint64_t problem_batch_seed(const ProblemSpec *s)
{
    return s->batch_seed_given ? s->batch_seed : inner_batch_seed(s->seed);
}

uint64_t problem_data_seed(const ProblemSpec *s)
{
    return s->val_seed + 1;
}

uint64_t problem_round_seed(const ProblemSpec *s)
{
    Rng r = rng_seed(s->seed ^ 0x726f756e64000000ULL); /* "round" */
    return rng_next(&r);
}

uint64_t problem_perturb_seed(const ProblemSpec *s)
{
    Rng r = rng_seed(s->seed ^ 0x7065727475726200ULL); /* "perturb" */
    return rng_next(&r);
}

uint64_t problem_subset_seed(const ProblemSpec *s)
{
    Rng r = rng_seed(s->val_seed ^ 0x7375627365740000ULL); /* "subset" */
    return rng_next(&r);
}

uint64_t problem_label_noise_seed(const ProblemSpec *s)
{
    Rng r = rng_seed(s->val_seed ^ 0x6c6162656c730000ULL); /* "labels" */
    return rng_next(&r);
}

/* spec.train_clean_only: the training part without the examples whose
 * label the noise changed, in their order (the oracle of data
 * hyper-cleaning); the noise itself drawn as without it. */
static int keep_clean(const ProblemSpec *s, Problem *p, HgErr *err)
{
    if (!(s->label_noise > 0)) {
        hg_fail(err, "--train-clean-only: needs --label-noise (no labels are changed without it)");
        return PROBLEM_BAD_SPEC;
    }
    const Dataset *t = &p->train;
    const int n = t->n - p->labels_changed;
    if (n < s->batch) {
        hg_fail(err, "--train-clean-only: %d clean examples, fewer than --batch %d", n, s->batch);
        return PROBLEM_BAD_SPEC;
    }
    Dataset kept;
    if (dataset_alloc(&kept, n, t->c, t->h, t->w, t->classes, err))
        return -1;
    const long dim = dataset_dim(t);
    for (int i = 0, k = 0; i < t->n; i++) {
        if (p->label_changed[i])
            continue;
        memcpy(kept.x + (size_t)k * (size_t)dim, t->x + (size_t)i * (size_t)dim,
               sizeof(real) * (size_t)dim);
        kept.y[k++] = t->y[i];
    }
    dataset_free(&p->train);
    p->train = kept;
    mem_free(p->label_changed);
    p->label_changed = mem_alloc(MEM_DATA, (size_t)n); /* zeroed: none changed among them */
    p->labels_dropped = p->labels_changed;
    p->labels_changed = 0;
    return 0;
}

/* The training part cut to spec.train_size examples, then its labels
 * corrupted (problem.h): 0, or PROBLEM_BAD_SPEC naming --train-size. */
static int shape_train(const ProblemSpec *s, Problem *p, HgErr *err)
{
    if (s->train_size > 0 && s->train_size < p->train.n) {
        if (s->train_size < s->batch) {
            hg_fail(err, "--train-size %d: fewer than --batch %d examples", s->train_size,
                    s->batch);
            return PROBLEM_BAD_SPEC;
        }
        Dataset kept, rest;
        if (dataset_split(&p->train, s->train_size, problem_subset_seed(s), &rest, &kept, err))
            return -1;
        dataset_free(&rest);
        dataset_free(&p->train);
        p->train = kept;
    } else if (s->train_size > p->train.n) {
        hg_fail(err, "--train-size %d: --data %s has %d training examples after holding "
                "out --val %d", s->train_size, s->data, p->train.n, s->val);
        return PROBLEM_BAD_SPEC;
    }
    if (s->label_noise > 0) {
        p->label_changed = mem_alloc(MEM_DATA, (size_t)p->train.n);
        p->labels_changed = label_noise_apply(&p->train, s->label_noise, s->label_noise_mode,
                                              problem_label_noise_seed(s), p->label_changed);
    }
    if (s->train_clean_only)
        return keep_clean(s, p, err);
    return 0;
}

const char *problem_resample_name(int i)
{
    static const char *const names[PROBLEM_RESAMPLE_KINDS] = {"batches", "val", "init"};
    return i >= 0 && i < PROBLEM_RESAMPLE_KINDS ? names[i] : NULL;
}

uint64_t problem_outer_seed(const ProblemSpec *s, ProblemResample what, int outer)
{
    static const uint64_t tag[PROBLEM_RESAMPLE_KINDS] = {
        0x6261746368657300ULL, 0x76616c0000000000ULL, 0x696e697400000000ULL}; /* the names */
    int k = 0;
    while (k < PROBLEM_RESAMPLE_KINDS - 1 && what != 1u << k)
        k++;
    HG_CHECK(what == 1u << k, "problem_outer_seed: one kind, not 0x%x", (unsigned)what);
    const uint64_t base = what == PROBLEM_RESAMPLE_BATCHES ? problem_batch_seed(s)
                          : what == PROBLEM_RESAMPLE_VAL  ? s->val_seed
                                                          : s->seed;
    if (outer == 0)
        return base;
    Rng r = rng_seed(base ^ tag[k]); /* splitmix64 seeding mixes the bits */
    const uint64_t kind_seed = rng_next(&r);
    r = rng_seed(kind_seed + (uint64_t)outer);
    return rng_next(&r);
}

/* w_0 += eps |w_0| d / |d| (problem.h). The direction is drawn twice from one
 * seed (once for |d|, once to apply it) rather than stored: P doubles saved. */
static void perturb_w0(const ProblemSpec *s, real *w0, long P)
{
    if (!(s->perturb_w0 > 0))
        return;
    const uint64_t seed = problem_perturb_seed(s);
    Rng r = rng_seed(seed);
    double w2 = 0, d2 = 0;
    for (long i = 0; i < P; i++) {
        const double d = rng_normal(&r);
        d2 += d * d;
        w2 += (double)w0[i] * (double)w0[i];
    }
    const double scale = d2 > 0 ? s->perturb_w0 * sqrt(w2 / d2) : 0;
    r = rng_seed(seed);
    for (long i = 0; i < P; i++)
        w0[i] = (real)((double)w0[i] + scale * rng_normal(&r));
}

/* "fashion-mnist", ..., "synthetic", "synthetic:3x32x32", "synthetic:64". */
int problem_parse_data(const char *data, ProblemData *out, HgErr *err)
{
    static const struct { const char *name; int c, h, w; } sets[] = {
        {"fashion-mnist", 1, 28, 28}, {"mnist", 1, 28, 28}, {"svhn", 3, 32, 32},
        {"cifar10", 3, 32, 32}};
    out->synthetic = 0;
    out->classes = 10;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (!strcmp(data, sets[i].name)) {
            out->input = (Shape){sets[i].c, sets[i].h, sets[i].w};
            return 0;
        }
    if (strncmp(data, "synthetic", 9) || (data[9] && data[9] != ':'))
        return hg_fail(err, "--data '%s': unknown data set (valid: fashion-mnist, mnist, "
                       "svhn, cifar10, synthetic[:CxHxW|:D])", data);
    out->synthetic = 1;
    out->classes = PROBLEM_SYNTHETIC_CLASSES;
    out->input = (Shape){1, 28, 28};
    if (!data[9])
        return 0;
    long d[3];
    int n = 0, bad = 0;
    const char *p = data + 10;
    for (;;) { /* a number, then 'x' and another, at most three */
        char *end;
        if (!isdigit((unsigned char)*p) || n == 3) {
            bad = 1;
            break;
        }
        d[n++] = strtol(p, &end, 10);
        p = end;
        if (*p != 'x')
            break;
        p++;
    }
    if (bad || *p || (n != 1 && n != 3))
        return hg_fail(err, "--data '%s': a synthetic shape is CxHxW or D, e.g. "
                       "synthetic:3x32x32 or synthetic:64", data);
    long size = 1;
    for (int i = 0; i < n; i++) {
        if (d[i] < 1 || d[i] > 4096)
            return hg_fail(err, "--data '%s': each dimension must be in [1, 4096]", data);
        size *= d[i];
    }
    if (size > 1L << 22)
        return hg_fail(err, "--data '%s': %ld values per example, at most %ld", data, size,
                       1L << 22);
    out->input = n == 1 ? (Shape){(int)d[0], 1, 1} : (Shape){(int)d[0], (int)d[1], (int)d[2]};
    return 0;
}

/* The backend --device names (backend.h's registry: cuda in CUDA builds
 * with a working device, auto the best one here). */
static int check_device(const char *device, const Backend **be, HgErr *err)
{
    const Backend *found = backend_find(device ? device : "cpu", err);
    if (be)
        *be = found;
    return found ? 0 : -1;
}

/* --round-noise sr32 rounds a float64 run on the host (inner_round). */
static int check_round_noise(const ProblemSpec *s, const Backend *be, HgErr *err)
{
    if (s->round_noise == ROUND_NOISE_OFF)
        return 0;
    if (sizeof(real) != sizeof(double))
        return hg_fail(err, "--round-noise %s: rounds a float64 run to float32's grid; this "
                       "is a float32 build (use --precision 64)", round_noise_name(s->round_noise));
    if (be->device_memory)
        return hg_fail(err, "--round-noise %s: implemented on the cpu backend only, not on "
                       "--device %s", round_noise_name(s->round_noise), be->name);
    if (s->kahan)
        return hg_fail(err, "--round-noise %s with --kahan: the compensation would carry the "
                       "rounded-off part to the next step", round_noise_name(s->round_noise));
    return 0;
}

static Model *build_model(const ProblemSpec *s, const ProblemData *d, HgErr *err)
{
    HgErr merr = {{0}};
    Model *m = model_by_name(s->model, d->input, d->classes, &merr);
    if (!m)
        hg_fail(err, "--model '%s' for %dx%dx%d inputs (--data %s): %s", s->model, d->input.c,
                d->input.h, d->input.w, s->data, merr.msg);
    return m;
}

int problem_check(const ProblemSpec *s, ProblemData *d, HgErr *err)
{
    ProblemData own;
    if (!d)
        d = &own;
    const Backend *be = NULL;
    if (check_device(s->device, &be, err) || problem_parse_data(s->data, d, err))
        return -1;
    if (check_round_noise(s, be, err))
        return -1;
    if (d->synthetic && s->data_dir)
        return hg_fail(err, "--data-dir %s: --data %s is generated, it has no folder",
                       s->data_dir, s->data);
    if (!s->model)
        return 0; /* the data only */
    Model *m = build_model(s, d, err);
    if (!m)
        return -1;
    model_free(m);
    return 0;
}

Model *problem_model(const ProblemSpec *s, HgErr *err)
{
    ProblemData d;
    if (check_device(s->device, NULL, err) || problem_parse_data(s->data, &d, err))
        return NULL;
    return build_model(s, &d, err);
}

/* The full set (train split of the files, or generated), before the split. */
static int load_full(const ProblemSpec *s, const ProblemData *d, uint64_t data_seed,
                     Dataset *full, HgErr *err)
{
    if (d->synthetic) {
        long n_train = (long)s->steps * s->batch;
        n_train = n_train > PROBLEM_SYNTHETIC_TRAIN_MAX ? PROBLEM_SYNTHETIC_TRAIN_MAX : n_train;
        n_train = n_train < s->batch ? s->batch : n_train;
        if (n_train + s->val > INT_MAX) {
            hg_fail(err, "--data synthetic: %ld + %d examples are too many", n_train, s->val);
            return PROBLEM_BAD_SPEC;
        }
        return synthetic_make((int)n_train + s->val, d->input.c, d->input.h, d->input.w,
                              d->classes, PROBLEM_SYNTHETIC_NOISE, data_seed, full, err);
    }
    HgErr e = {{0}};
    if (dataset_load(s->data, s->data_dir, 0, full, &e))
        return hg_fail(err, "--data %s: %s", s->data, e.msg);
    if (full->c != d->input.c || full->h != d->input.h || full->w != d->input.w ||
        full->classes != d->classes) {
        hg_fail(err, "--data %s: loaded %dx%dx%d examples of %d classes, expected "
                "%dx%dx%d of %d", s->data, full->c, full->h, full->w, full->classes,
                d->input.c, d->input.h, d->input.w, d->classes);
        dataset_free(full);
        return -1;
    }
    return 0;
}

/* dev = host's examples in be's memory */
static void upload_set(const Backend *be, const Dataset *host, Dataset *dev)
{
    const size_t xb = sizeof(real) * (size_t)host->n * (size_t)dataset_dim(host);
    const size_t yb = sizeof(int32_t) * (size_t)host->n;
    *dev = *host;
    dev->x = be->mem.alloc(MEM_DATA, xb);
    dev->y = be->mem.alloc(MEM_DATA, yb);
    be->mem.upload(dev->x, host->x, xb);
    be->mem.upload(dev->y, host->y, yb);
}

/* The data on a device with memory of its own: uploaded once, by every
 * problem_load, the data-only one too (hgbench-models reads dev_train). */
static void place_data(Problem *p)
{
    if (p->be->device_memory && !p->dev_train.x) {
        upload_set(p->be, &p->train, &p->dev_train);
        upload_set(p->be, &p->val, &p->dev_val);
    }
}

/* The inner problem on the backend's memory: the host's on the CPU, else
 * copies uploaded once (and w0 again after each reseed). */
static void place_inner(Problem *p)
{
    const Backend *be = p->be;
    const ProblemSpec *s = &p->spec;
    const Dataset *train = &p->train, *val = &p->val;
    const real *w0 = p->w0;
    if (be->device_memory) {
        const size_t wb = sizeof(real) * (size_t)p->model->nparams;
        if (!p->dev_w0)
            p->dev_w0 = be->mem.alloc(MEM_PARAMS, wb);
        be->mem.upload(p->dev_w0, p->w0, wb);
        train = &p->dev_train;
        val = &p->dev_val;
        w0 = p->dev_w0;
    }
    p->inner = (InnerProblem){p->model, train, val, s->batch, p->batch_seed, w0, s->kahan, NULL,
                              s->round_noise, problem_round_seed(s)};
}

int problem_load(const ProblemSpec *s, Problem *p, HgErr *err)
{
    memset(p, 0, sizeof *p);
    p->spec = *s;
    if (problem_check(s, &p->data, err) || check_device(s->device, &p->be, err))
        return PROBLEM_BAD_SPEC;
    p->batch_seed = problem_batch_seed(s);
    p->val_seed = s->val_seed;
    p->data_seed = problem_data_seed(s);
    p->init_seed = s->seed;
    Dataset full;
    int rc = load_full(s, &p->data, p->data_seed, &full, err);
    if (rc)
        return rc;
    if (s->val >= full.n || full.n - s->val < s->batch) {
        const int most = full.n - s->batch;
        if (most >= 1)
            hg_fail(err, "--val %d: --data %s has %d training examples; holding out %d would "
                    "leave fewer than --batch %d; use --val %d or less", s->val, s->data,
                    full.n, s->val, s->batch, most);
        else
            hg_fail(err, "--batch %d: --data %s has only %d training examples, too few for "
                    "a batch and a validation set", s->batch, s->data, full.n);
        dataset_free(&full);
        return PROBLEM_BAD_SPEC;
    }
    rc = dataset_split(&full, s->val, p->val_seed, &p->train, &p->val, err);
    dataset_free(&full);
    if (rc)
        return -1;
    if ((rc = shape_train(s, p, err))) { /* a refusal leaves nothing allocated, as above */
        mem_free(p->label_changed);
        p->label_changed = NULL;
        dataset_free(&p->train);
        dataset_free(&p->val);
        return rc;
    }
    p->mean = mem_alloc(MEM_DATA, sizeof(double) * (size_t)p->train.c);
    p->std = mem_alloc(MEM_DATA, sizeof(double) * (size_t)p->train.c);
    dataset_channel_stats(&p->train, p->mean, p->std);
    dataset_normalize(&p->train, p->mean, p->std);
    dataset_normalize(&p->val, p->mean, p->std);
    place_data(p);
    if (!s->model)
        return 0;
    p->model = build_model(s, &p->data, err);
    HG_CHECK(p->model, "checked by problem_check: %s", err->msg);
    model_set_backend(p->model, p->be);
    p->w0 = mem_alloc(MEM_PARAMS, sizeof(real) * (size_t)p->model->nparams);
    model_init(p->model, p->w0, s->init, s->init_sigma, s->seed);
    perturb_w0(s, p->w0, p->model->nparams);
    place_inner(p);
    return 0;
}

void problem_reseed(Problem *p, uint64_t seed)
{
    p->spec.seed = seed;
    p->init_seed = seed;
    p->spec.batch_seed_given = 0;
    p->batch_seed = problem_batch_seed(&p->spec);
    if (p->model) {
        model_init(p->model, p->w0, p->spec.init, p->spec.init_sigma, seed);
        perturb_w0(&p->spec, p->w0, p->model->nparams);
        if (p->dev_w0)
            p->be->mem.upload(p->dev_w0, p->w0, sizeof(real) * (size_t)p->model->nparams);
    }
    p->inner.batch_seed = p->batch_seed;
    p->inner.round_seed = problem_round_seed(&p->spec);
}

/* w_0 from an init seed (and the spec's nudge, drawn from that seed as
 * problem_reseed does), uploaded where the run reads it. */
static void init_w0(Problem *p, uint64_t seed)
{
    ProblemSpec s = p->spec;
    s.seed = seed;
    model_init(p->model, p->w0, s.init, s.init_sigma, seed);
    perturb_w0(&s, p->w0, p->model->nparams);
    if (p->dev_w0)
        p->be->mem.upload(p->dev_w0, p->w0, sizeof(real) * (size_t)p->model->nparams);
    p->init_seed = seed;
}

/* dev = host's examples again, into the buffers place_data made */
static void reupload_set(const Backend *be, const Dataset *host, const Dataset *dev)
{
    be->mem.upload(dev->x, host->x, sizeof(real) * (size_t)host->n * (size_t)dataset_dim(host));
    be->mem.upload(dev->y, host->y, sizeof(int32_t) * (size_t)host->n);
}

int problem_resample(Problem *p, unsigned what, int outer, HgErr *err)
{
    const ProblemSpec *s = &p->spec;
    if (what & PROBLEM_RESAMPLE_BATCHES) {
        p->batch_seed = problem_outer_seed(s, PROBLEM_RESAMPLE_BATCHES, outer);
        p->inner.batch_seed = p->batch_seed;
    }
    const uint64_t val_seed = problem_outer_seed(s, PROBLEM_RESAMPLE_VAL, outer);
    if ((what & PROBLEM_RESAMPLE_VAL) && val_seed != p->val_seed) {
        if (s->train_size > 0 || s->label_noise > 0) /* drawn with the split */
            return hg_fail(err, "a new split with --train-size or --label-noise: not made");
        if (dataset_resplit(&p->train, &p->val, p->val_seed, val_seed, err))
            return -1;
        p->val_seed = val_seed;
        if (p->dev_train.x) {
            reupload_set(p->be, &p->train, &p->dev_train);
            reupload_set(p->be, &p->val, &p->dev_val);
        }
    }
    const uint64_t init_seed = problem_outer_seed(s, PROBLEM_RESAMPLE_INIT, outer);
    if ((what & PROBLEM_RESAMPLE_INIT) && p->model && init_seed != p->init_seed)
        init_w0(p, init_seed);
    return 0;
}

void problem_place_set(const Problem *p, const Dataset *host, Dataset *dev)
{
    if (p->be->device_memory)
        upload_set(p->be, host, dev);
    else
        *dev = *host;
}

void problem_free_set(const Problem *p, Dataset *dev)
{
    if (p->be && p->be->device_memory) {
        p->be->mem.free(dev->x);
        p->be->mem.free(dev->y);
    }
    memset(dev, 0, sizeof *dev);
}

void problem_free(Problem *p)
{
    if (p->dev_w0)
        p->be->mem.free(p->dev_w0);
    if (p->dev_train.x) {
        p->be->mem.free(p->dev_train.x);
        p->be->mem.free(p->dev_train.y);
        p->be->mem.free(p->dev_val.x);
        p->be->mem.free(p->dev_val.y);
    }
    mem_free(p->w0);
    mem_free(p->label_changed);
    mem_free(p->mean);
    mem_free(p->std);
    dataset_free(&p->train);
    dataset_free(&p->val);
    model_free(p->model);
    memset(p, 0, sizeof *p);
}
