/* synthetic.c — a seeded classification set to test and time models without
 * files: class k has a mean pattern mu_k with N(0, 1) entries, and an example
 * of class k is mu_k + noise * N(0, 1) per entry.
 *
 * Draw order (fixed, so a seed means the same bytes everywhere): the class
 * means, class by class; then the shuffle of the labels i mod classes; then
 * the noise, example by example. Leaves out any structure beyond the means.
 */
#include "dataset.h"

#include <math.h>
#include <string.h>

#include "../common/mem.h"
#include "../common/rng.h"

int synthetic_make(int n, int c, int h, int w, int classes, double noise,
                   uint64_t seed, Dataset *out, HgErr *err)
{
    memset(out, 0, sizeof *out);
    if (n <= 0)
        return hg_fail(err, "synthetic: n = %d examples, must be > 0", n);
    if (classes < 2)
        return hg_fail(err, "synthetic: %d classes, must be >= 2", classes);
    if (c <= 0 || h <= 0 || w <= 0)
        return hg_fail(err, "synthetic: shape %dx%dx%d, each dim must be > 0",
                       c, h, w);
    if (!(noise >= 0) || !isfinite(noise))
        return hg_fail(err, "synthetic: noise %g, must be finite and >= 0",
                       noise);
    if (dataset_alloc(out, n, c, h, w, classes, err))
        return -1;
    long dim = dataset_dim(out);
    if ((size_t)dim > (size_t)-1 / sizeof(double) / (size_t)classes) {
        dataset_free(out);
        return hg_fail(err, "synthetic: %d class means of %ld values are too "
                       "many", classes, dim);
    }
    double *mean = mem_try_alloc(MEM_DATA, (size_t)classes * (size_t)dim * sizeof(double));
    if (!mean) {
        dataset_free(out);
        return hg_fail(err, "synthetic: out of memory for the class means");
    }
    Rng r = rng_seed(seed);
    for (long k = 0; k < (long)classes * dim; k++)
        mean[k] = rng_normal(&r);
    for (int i = 0; i < n; i++)
        out->y[i] = i % classes;
    rng_shuffle_int(&r, out->y, n);
    for (long i = 0; i < n; i++) {
        const double *mu = mean + (long)out->y[i] * dim;
        real *x = out->x + i * dim;
        for (long k = 0; k < dim; k++)
            x[k] = (real)(mu[k] + noise * rng_normal(&r));
    }
    mem_free(mean);
    return 0;
}
