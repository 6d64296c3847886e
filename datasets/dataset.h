/* dataset.h — labelled image/feature sets in one in-memory form, and the
 * loaders that fill it.
 *
 * x is [n][c][h][w] row-major (NCHW, as PyTorch), values of 8-bit sources
 * scaled to [0, 1] before any normalisation; y holds class indices in
 * [0, classes). A loader either fills *out completely and returns 0, or
 * returns -1 with err naming the file and what is wrong, leaving *out empty
 * (nothing to free): no partial loads. Sizes read from a file are checked
 * against the file's real length before anything is allocated.
 */
#ifndef HG_DATASET_H
#define HG_DATASET_H

#include <stdint.h>

#include "../common/check.h"
#include "../common/real.h"

typedef struct Dataset {
    int n;          /* examples */
    int c, h, w;    /* shape of one example; feature vectors use c=D, h=w=1 */
    int classes;
    real *x;        /* [n][c][h][w] */
    int32_t *y;     /* [n] */
} Dataset;

static inline long dataset_dim(const Dataset *d) { return (long)d->c * d->h * d->w; }

void dataset_free(Dataset *d); /* frees and zeroes; a zeroed Dataset is a no-op */
/* Allocates d's x and y (zero-filled, MEM_DATA) for n examples of c x h x w
 * and sets its fields; -1 with a message on a nonpositive or overflowing size
 * or a failed allocation, d then zeroed. For loaders and synthetic sets. */
int dataset_alloc(Dataset *d, int n, int c, int h, int w, int classes,
                  HgErr *err);

/* IDX files (MNIST, Fashion-MNIST): images magic 0x00000803 [n][rows][cols]
 * uint8, labels magic 0x00000801 [n] uint8 < 10. Plain or gzip (detected by
 * content, not by name). */
int idx_load(const char *images_path, const char *labels_path, Dataset *out,
             HgErr *err);

/* SVHN cropped digits, a MATLAB level-5 .mat (train_32x32.mat,
 * test_32x32.mat): X uint8 [32][32][3][n] (MATLAB column-major), y [n][1]
 * with labels 1..10, 10 meaning digit 0. Elements may be zlib-compressed
 * (miCOMPRESSED). Output is 3x32x32 NCHW. */
int svhn_load(const char *mat_path, Dataset *out, HgErr *err);

/* CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes
 * (3x32x32, channel-major). Several files are concatenated in order. */
int cifar10_load(const char *const *paths, int npaths, Dataset *out, HgErr *err);

/* Seeded synthetic classification: each class has a random mean pattern;
 * an example is its class mean plus unit Gaussian noise scaled by `noise`.
 * Labels are balanced (i mod classes, then shuffled). */
int synthetic_make(int n, int c, int h, int w, int classes, double noise,
                   uint64_t seed, Dataset *out, HgErr *err);

/* Loads a named data set's train or test part from dir (NULL: the default
 * directory for that name). Names: "fashion-mnist" (default dir
 * /usr/share/datasets/fashion-mnist, from Debian's dataset-fashion-mnist),
 * "mnist", "svhn", "cifar10". File names are the official ones; for IDX both
 * NAME and NAME.gz are tried. */
int dataset_load(const char *name, const char *dir, int test_split,
                 Dataset *out, HgErr *err);
const char *dataset_default_dir(const char *name); /* NULL if none */

/* Seeded split of `full` into train (n - n_val) and val (n_val) examples:
 * a permutation by `seed`, val takes its first n_val. Both parts keep the
 * examples' original order: the split only chooses a subset. Copies; full is
 * kept. n_val must be in [1, n). */
int dataset_split(const Dataset *full, int n_val, uint64_t seed,
                  Dataset *train, Dataset *val, HgErr *err);
/* Another split of the same full set without it: train and val, the parts
 * dataset_split gave with from_seed, become (in place, the same sizes) the
 * parts it gives with to_seed, the same examples in the same order, bit for
 * bit. Needs both parts' memory once more while it copies; on failure (-1,
 * out of memory) train and val are left as they were. */
int dataset_resplit(Dataset *train, Dataset *val, uint64_t from_seed, uint64_t to_seed,
                    HgErr *err);

/* Per-channel mean and standard deviation (population) over all examples;
 * mean and std have d->c entries. Accumulated in double. */
void dataset_channel_stats(const Dataset *d, double *mean, double *std);
/* x = (x - mean[c]) / std[c] in place; a std of 0 is treated as 1. */
void dataset_normalize(Dataset *d, const double *mean, const double *std);

/* Gathering a batch is the backend's (Backend.gather: arrays on its
 * device), so that kernels need no Dataset. */

/* Batch order: epochs of a seeded permutation of n examples, reshuffled at
 * every epoch; the last partial batch of an epoch is dropped. Step t's batch
 * is a pure function of (n, batch, seed, t). */
typedef struct BatchOrder {
    int n, batch, per_epoch; /* per_epoch = n / batch full batches */
    uint64_t seed;
    long epoch;              /* epoch whose permutation is in perm, -1 none */
    int *perm;               /* [n] */
} BatchOrder;

int batch_order_init(BatchOrder *bo, int n, int batch, uint64_t seed, HgErr *err);
/* Row indices of step t's batch (valid until the next call). */
const int *batch_order_step(BatchOrder *bo, long t);
void batch_order_free(BatchOrder *bo);

#endif
