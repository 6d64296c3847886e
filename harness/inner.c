/* inner.c — batches, clamp and the SGD-with-momentum update (inner.h). */
#include "inner.h"

#include <math.h>

#include "../common/mem.h"
#include "../common/rng.h"

uint64_t inner_batch_seed(uint64_t seed)
{
    Rng r = rng_seed(seed ^ 0x6261746368000000ULL); /* "batch" */
    return rng_next(&r);
}

int inner_batches(const InnerProblem *p, BatchOrder *bo, HgErr *err)
{
    return batch_order_init(bo, p->train->n, p->batch, p->batch_seed, err);
}

void inner_batch(const InnerProblem *p, BatchOrder *bo, long t, real *x, int32_t *y)
{
    dataset_gather(p->train, batch_order_step(bo, t), p->batch, x, y);
}

void inner_clamp(real *g, long P, double clamp, real *mask)
{
    const real c = (real)clamp;
    for (long i = 0; i < P; i++) {
        const int inside = clamp == 0 || fabs((double)g[i]) < clamp;
        if (!inside)
            g[i] = g[i] > 0 ? c : -c;
        if (mask)
            mask[i] = (real)inside;
    }
}

void inner_update(real *w, real *v, real *comp, const real *g, long P, double a, double m,
                  double l)
{
    const real ra = (real)a, rm = (real)m, rl = (real)l;
    if (!comp) {
#pragma omp parallel for simd schedule(static)
        for (long i = 0; i < P; i++) {
            v[i] = rm * v[i] + g[i] + rl * w[i];
            w[i] -= ra * v[i];
        }
        return;
    }
    /* Kahan: (s - w) - y is what the rounding of s = w + y kept of y, so
     * comp = that minus y is minus what it dropped. No -ffast-math anywhere,
     * so the compiler keeps these operations as written. */
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < P; i++) {
        v[i] = rm * v[i] + g[i] + rl * w[i];
        const real y = -ra * v[i] - comp[i];
        const real s = w[i] + y;
        comp[i] = (s - w[i]) - y;
        w[i] = s;
    }
}

real *inner_comp_alloc(const InnerProblem *p)
{
    if (!p->kahan)
        return NULL;
    return mem_alloc(MEM_PARAMS, sizeof(real) * p->model->nparams); /* zeroed */
}

int all_finite(const real *x, long n)
{
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

int inner_train(const InnerProblem *p, const Schedule *s, real *w, double *val_loss,
                double *val_acc, HgErr *err)
{
    const long P = p->model->nparams, dim = dataset_dim(p->train);
    BatchOrder bo;
    if (inner_batches(p, &bo, err))
        return -1;
    real *v = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *g = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *x = mem_alloc(MEM_DATA, sizeof(real) * p->batch * dim);
    int32_t *y = mem_alloc(MEM_DATA, sizeof(int32_t) * p->batch);
    real *comp = inner_comp_alloc(p);
    int rc = 0;
    for (int t = 0; t < s->T && rc == 0; t++) {
        inner_batch(p, &bo, t, x, y);
        model_loss_grad(p->model, w, x, y, p->batch, g);
        if (!all_finite(g, P))
            rc = hg_fail(err, "inner run diverged: non-finite gradient at step %d", t);
        inner_clamp(g, P, s->clamp, NULL);
        inner_update(w, v, comp, g, P, s->v[HYPER_LR][t], s->v[HYPER_MOM][t],
                     s->v[HYPER_WD][t]);
    }
    if (rc == 0 && !all_finite(w, P))
        rc = hg_fail(err, "inner run diverged: non-finite weights after step %d", s->T - 1);
    if (rc == 0)
        model_evaluate(p->model, w, p->val->x, p->val->y, p->val->n, val_loss, val_acc);
    mem_free(v);
    mem_free(comp);
    mem_free(g);
    mem_free(x);
    mem_free(y);
    batch_order_free(&bo);
    return rc;
}

double dot_real(const real *a, const real *b, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}
