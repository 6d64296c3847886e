/* dataset.c — what every data set shares: allocation, the seeded train/val
 * split, per-channel statistics and normalisation, the
 * per-epoch batch order, and dataset_load's table of names and file names.
 *
 * Leaves out the file formats (idx.c, svhn.c, cifar10.c) and generated data
 * (synthetic.c).
 */
#include "dataset.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/mem.h"
#include "../common/rng.h"

void dataset_free(Dataset *d)
{
    if (!d)
        return;
    mem_free(d->x);
    mem_free(d->y);
    memset(d, 0, sizeof *d);
}

int dataset_alloc(Dataset *d, int n, int c, int h, int w, int classes,
                  HgErr *err)
{
    memset(d, 0, sizeof *d);
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || classes <= 0)
        return hg_fail(err, "dataset: bad size n=%d c=%d h=%d w=%d classes=%d",
                       n, c, h, w, classes);
    size_t dim = (size_t)c * (size_t)h * (size_t)w; /* < 2^93: fits no check */
    if (dim > (size_t)LONG_MAX / sizeof(real) / (size_t)n)
        return hg_fail(err, "dataset: %d examples of %dx%dx%d are too many to "
                       "hold in memory", n, c, h, w);
    real *x = mem_try_alloc(MEM_DATA, (size_t)n * dim * sizeof(real));
    int32_t *y = x ? mem_try_alloc(MEM_DATA, (size_t)n * sizeof(int32_t)) : NULL;
    if (!y) {
        mem_free(x);
        return hg_fail(err, "dataset: out of memory: %d examples of %dx%dx%d "
                       "(%zu bytes)", n, c, h, w, (size_t)n * (dim * sizeof(real) + 4));
    }
    *d = (Dataset){ .n = n, .c = c, .h = h, .w = w, .classes = classes,
                    .x = x, .y = y };
    return 0;
}

/* ---- split ------------------------------------------------------------ */

/* The split is a pure choice of subset: val holds perm[0..n_val) and train
 * the rest, both in their original index order, so a set sorted by class or
 * source stays sorted and the two parts do not depend on each other's order. */
/* in_val [n]: 1 for the n_val examples the seed's permutation puts first. */
static int split_members(int n, int n_val, uint64_t seed, unsigned char *in_val, HgErr *err)
{
    int *perm = mem_try_alloc(MEM_DATA, (size_t)n * sizeof(int));
    if (!perm)
        return hg_fail(err, "dataset split: out of memory");
    for (int i = 0; i < n; i++)
        perm[i] = i;
    Rng r = rng_seed(seed);
    rng_shuffle_int(&r, perm, n);
    memset(in_val, 0, (size_t)n);
    for (int i = 0; i < n_val; i++)
        in_val[perm[i]] = 1;
    mem_free(perm);
    return 0;
}

int dataset_split(const Dataset *full, int n_val, uint64_t seed,
                  Dataset *train, Dataset *val, HgErr *err)
{
    HG_CHECK(train != val && train != full && val != full,
             "split outputs must be distinct from each other and from full");
    memset(train, 0, sizeof *train);
    memset(val, 0, sizeof *val);
    int n = full->n;
    if (n_val <= 0 || n_val >= n)
        return hg_fail(err, "dataset split: n_val = %d must be in [1, %d) "
                       "for a set of %d examples", n_val, n, n);
    unsigned char *in_val = mem_try_alloc(MEM_DATA, (size_t)n);
    if (!in_val)
        return hg_fail(err, "dataset split: out of memory");
    int rc = split_members(n, n_val, seed, in_val, err);
    if (rc == 0)
        rc = dataset_alloc(train, n - n_val, full->c, full->h, full->w,
                           full->classes, err);
    if (rc == 0)
        rc = dataset_alloc(val, n_val, full->c, full->h, full->w,
                           full->classes, err);
    if (rc == 0) {
        size_t dim = (size_t)dataset_dim(full);
        int nt = 0, nv = 0;
        for (int i = 0; i < n; i++) {
            Dataset *to = in_val[i] ? val : train;
            int k = in_val[i] ? nv++ : nt++;
            memcpy(to->x + (size_t)k * dim, full->x + (size_t)i * dim,
                   dim * sizeof(real));
            to->y[k] = full->y[i];
        }
    } else {
        dataset_free(train);
        dataset_free(val);
    }
    mem_free(in_val);
    return rc;
}

int dataset_resplit(Dataset *train, Dataset *val, uint64_t from_seed, uint64_t to_seed,
                    HgErr *err)
{
    const int n = train->n + val->n, n_val = val->n;
    const size_t dim = (size_t)dataset_dim(train);
    unsigned char *from = mem_try_alloc(MEM_DATA, (size_t)n), *to = mem_try_alloc(MEM_DATA, (size_t)n);
    Dataset nt = {0}, nv = {0};
    int rc = from && to ? 0 : hg_fail(err, "dataset split: out of memory");
    if (rc == 0)
        rc = split_members(n, n_val, from_seed, from, err);
    if (rc == 0)
        rc = split_members(n, n_val, to_seed, to, err);
    if (rc == 0)
        rc = dataset_alloc(&nt, train->n, train->c, train->h, train->w, train->classes, err);
    if (rc == 0)
        rc = dataset_alloc(&nv, n_val, train->c, train->h, train->w, train->classes, err);
    if (rc == 0) { /* example i of the full set: the k-th of its part in each split */
        int ft = 0, fv = 0, tt = 0, tv = 0;
        for (int i = 0; i < n; i++) {
            const Dataset *src = from[i] ? val : train;
            Dataset *dst = to[i] ? &nv : &nt;
            const int a = from[i] ? fv++ : ft++, b = to[i] ? tv++ : tt++;
            memcpy(dst->x + (size_t)b * dim, src->x + (size_t)a * dim, dim * sizeof(real));
            dst->y[b] = src->y[a];
        }
        dataset_free(train);
        dataset_free(val);
        *train = nt;
        *val = nv;
    } else {
        dataset_free(&nt);
        dataset_free(&nv);
    }
    mem_free(from);
    mem_free(to);
    return rc;
}

/* ---- statistics --------------------------------------------------------- */

void dataset_channel_stats(const Dataset *d, double *mean, double *std)
{
    long plane = (long)d->h * d->w, dim = dataset_dim(d);
    double count = (double)d->n * (double)plane;
    /* Two passes (mean, then squared deviations): no cancellation for data
     * far from 0, like raw pixels. */
    for (int c = 0; c < d->c; c++) {
        double s = 0;
        for (long i = 0; i < d->n; i++) {
            const real *p = d->x + i * dim + c * plane;
            for (long k = 0; k < plane; k++)
                s += p[k];
        }
        double m = count > 0 ? s / count : 0.0, ss = 0;
        for (long i = 0; i < d->n; i++) {
            const real *p = d->x + i * dim + c * plane;
            for (long k = 0; k < plane; k++)
                ss += ((double)p[k] - m) * ((double)p[k] - m);
        }
        mean[c] = m;
        std[c] = count > 0 ? sqrt(ss / count) : 0.0;
    }
}

void dataset_normalize(Dataset *d, const double *mean, const double *std)
{
    long plane = (long)d->h * d->w, dim = dataset_dim(d);
    for (int c = 0; c < d->c; c++) {
        double m = mean[c], s = std[c] != 0 ? std[c] : 1.0;
        for (long i = 0; i < d->n; i++) {
            real *p = d->x + i * dim + c * plane;
            for (long k = 0; k < plane; k++)
                p[k] = (real)(((double)p[k] - m) / s);
        }
    }
}

/* ---- batch order -------------------------------------------------------- */

int batch_order_init(BatchOrder *bo, int n, int batch, uint64_t seed, HgErr *err)
{
    memset(bo, 0, sizeof *bo);
    if (n <= 0 || batch <= 0 || batch > n)
        return hg_fail(err, "batch order: batch size %d must be in [1, %d] "
                       "(the number of examples)", batch, n);
    bo->perm = mem_try_alloc(MEM_DATA, (size_t)n * sizeof(int));
    if (!bo->perm)
        return hg_fail(err, "batch order: out of memory: %d indices (%zu bytes)", n,
                       (size_t)n * sizeof(int));
    bo->n = n;
    bo->batch = batch;
    bo->per_epoch = n / batch;
    bo->seed = seed;
    bo->epoch = -1;
    return 0;
}

const int *batch_order_step(BatchOrder *bo, long t)
{
    HG_CHECK(t >= 0 && bo->perm, "step %ld", t);
    long e = t / bo->per_epoch;
    if (e != bo->epoch) {
        /* Rebuilt from the identity, not from the last epoch's order: step t
         * stays a function of (n, batch, seed, t) whatever came before. */
        for (int i = 0; i < bo->n; i++)
            bo->perm[i] = i;
        Rng r = rng_seed(bo->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(e + 1)));
        rng_shuffle_int(&r, bo->perm, bo->n);
        bo->epoch = e;
    }
    return bo->perm + (t % bo->per_epoch) * bo->batch;
}

void batch_order_free(BatchOrder *bo)
{
    if (!bo)
        return;
    mem_free(bo->perm);
    memset(bo, 0, sizeof *bo);
}

/* ---- named sets ------------------------------------------------------- */

#define DS_NAMES "fashion-mnist, mnist, svhn, cifar10"
#define DS_PATH_MAX 4096

const char *dataset_default_dir(const char *name)
{
    if (name && strcmp(name, "fashion-mnist") == 0)
        return "/usr/share/datasets/fashion-mnist";
    return NULL;
}

static int ds_path(char *buf, const char *dir, const char *sub,
                   const char *file, const char *suffix, HgErr *err)
{
    int len = sub ? snprintf(buf, DS_PATH_MAX, "%s/%s/%s%s", dir, sub, file, suffix)
                  : snprintf(buf, DS_PATH_MAX, "%s/%s%s", dir, file, suffix);
    if (len < 0 || len >= DS_PATH_MAX)
        return hg_fail(err, "%s/%s: path too long", dir, file);
    return 0;
}

static int ds_exists(const char *path) { return access(path, F_OK) == 0; }

/* IDX: NAME.gz first (how the sets are shipped), then NAME. */
static int ds_idx_file(const char *set, const char *dir, const char *file,
                       char *path, HgErr *err)
{
    char plain[DS_PATH_MAX];
    if (ds_path(path, dir, NULL, file, ".gz", err) ||
        ds_path(plain, dir, NULL, file, "", err))
        return -1;
    if (ds_exists(path))
        return 0;
    if (ds_exists(plain)) {
        memcpy(path, plain, strlen(plain) + 1);
        return 0;
    }
    if (strcmp(set, "fashion-mnist") == 0)
        return hg_fail(err, "%s: cannot find %s or %s; install Debian's "
                       "package (apt-get install dataset-fashion-mnist) or "
                       "point --data-dir at the folder with the IDX files",
                       set, path, plain);
    return hg_fail(err, "%s: cannot find %s or %s; point --data-dir at the "
                   "folder with the IDX files", set, path, plain);
}

static int ds_load_idx(const char *set, const char *dir, int test_split,
                       Dataset *out, HgErr *err)
{
    const char *pre = test_split ? "t10k" : "train";
    char file[64], images[DS_PATH_MAX], labels[DS_PATH_MAX];
    snprintf(file, sizeof file, "%s-images-idx3-ubyte", pre);
    if (ds_idx_file(set, dir, file, images, err))
        return -1;
    snprintf(file, sizeof file, "%s-labels-idx1-ubyte", pre);
    if (ds_idx_file(set, dir, file, labels, err))
        return -1;
    return idx_load(images, labels, out, err);
}

static int ds_load_svhn(const char *dir, int test_split, Dataset *out,
                        HgErr *err)
{
    char path[DS_PATH_MAX];
    if (ds_path(path, dir, NULL, test_split ? "test_32x32.mat" : "train_32x32.mat",
                "", err))
        return -1;
    if (!ds_exists(path))
        return hg_fail(err, "svhn: cannot find %s; point --data-dir at the "
                       "folder with train_32x32.mat and test_32x32.mat", path);
    return svhn_load(path, out, err);
}

/* The batches either lie in dir or in the cifar-10-batches-bin folder that
 * the official archive unpacks to. */
static int ds_load_cifar10(const char *dir, int test_split, Dataset *out,
                           HgErr *err)
{
    static const char *const train_files[] = {
        "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
        "data_batch_4.bin", "data_batch_5.bin",
    };
    static const char *const test_files[] = { "test_batch.bin" };
    const char *const *files = test_split ? test_files : train_files;
    int nfiles = test_split ? 1 : 5;
    const char *sub = NULL;
    char in_dir[DS_PATH_MAX], in_sub[DS_PATH_MAX];
    if (ds_path(in_dir, dir, NULL, files[0], "", err) ||
        ds_path(in_sub, dir, "cifar-10-batches-bin", files[0], "", err))
        return -1;
    if (!ds_exists(in_dir)) {
        if (!ds_exists(in_sub))
            return hg_fail(err, "cifar10: cannot find %s or %s; point "
                           "--data-dir at the folder with the binary batches",
                           in_dir, in_sub);
        sub = "cifar-10-batches-bin";
    }
    char paths[5][DS_PATH_MAX];
    const char *ptrs[5];
    for (int i = 0; i < nfiles; i++) {
        if (ds_path(paths[i], dir, sub, files[i], "", err))
            return -1;
        ptrs[i] = paths[i];
    }
    return cifar10_load(ptrs, nfiles, out, err);
}

int dataset_load(const char *name, const char *dir, int test_split,
                 Dataset *out, HgErr *err)
{
    memset(out, 0, sizeof *out);
    int known = name && (strcmp(name, "fashion-mnist") == 0 ||
                         strcmp(name, "mnist") == 0 ||
                         strcmp(name, "svhn") == 0 ||
                         strcmp(name, "cifar10") == 0);
    if (!known)
        return hg_fail(err, "unknown data set '%s' (valid: " DS_NAMES ")",
                       name ? name : "(null)");
    if (!dir)
        dir = dataset_default_dir(name);
    if (!dir)
        return hg_fail(err, "%s: no default directory; pass the folder that "
                       "holds its files (--data-dir)", name);
    if (strcmp(name, "svhn") == 0)
        return ds_load_svhn(dir, test_split, out, err);
    if (strcmp(name, "cifar10") == 0)
        return ds_load_cifar10(dir, test_split, out, err);
    return ds_load_idx(name, dir, test_split, out, err);
}
