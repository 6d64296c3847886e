/* inner.c — batches and the training run of the inner problem (inner.h); the
 * clamp and the SGD-with-momentum update are the backend's ops. */
#include "inner.h"

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
    const Dataset *d = p->train;
    inner_backend(p)->mem.gather(d->x, d->y, d->n, dataset_dim(d), batch_order_step(bo, t), p->batch,
                             x, y);
}

real *inner_comp_alloc(const InnerProblem *p)
{
    if (!p->kahan)
        return NULL;
    return inner_backend(p)->mem.alloc(MEM_PARAMS, sizeof(real) * p->model->nparams); /* zeroed */
}

void inner_round(const InnerProblem *p, long t, real *w, real *v)
{
    if (p->round_noise != ROUND_NOISE_SR32)
        return;
    const long P = p->model->nparams;
    round_noise_apply(w, P, p->round_seed, t, 0);
    round_noise_apply(v, P, p->round_seed, t, 1);
}

int inner_train(const InnerProblem *p, const Schedule *s, real *w, double *val_loss,
                double *val_acc, HgErr *err)
{
    return inner_train_steps(p, s, NULL, w, val_loss, val_acc, err);
}

int inner_train_steps(const InnerProblem *p, const Schedule *s, const InnerStep *step, real *w,
                      double *val_loss, double *val_acc, HgErr *err)
{
    const Backend *be = inner_backend(p);
    const long P = p->model->nparams, dim = dataset_dim(p->train);
    BatchOrder bo;
    if (inner_batches(p, &bo, err))
        return -1;
    const long fails = mem_failures(); /* out of memory is an error */
    real *v = be->mem.alloc(MEM_PARAMS, sizeof(real) * P);
    real *g = be->mem.alloc(MEM_PARAMS, sizeof(real) * P);
    real *x = be->mem.alloc(MEM_DATA, sizeof(real) * p->batch * dim);
    int32_t *y = be->mem.alloc(MEM_DATA, sizeof(int32_t) * p->batch);
    real *comp = inner_comp_alloc(p);
    int rc = mem_failures() != fails ? mem_oom_error(err, "training") : 0;
    for (int t = 0; t < s->T && rc == 0; t++) {
        if (inner_stopped(p)) {
            rc = hg_fail(err, "interrupted at step %d", t);
            break;
        }
        inner_batch(p, &bo, t, x, y);
        if (step && step->weigh)
            step->weigh(step->ctx, t, batch_order_step(&bo, t));
        model_loss_grad(p->model, w, x, y, p->batch, g);
        if (step && step->unweigh)
            step->unweigh(step->ctx);
        if (!be->vec.all_finite(g, P)) {
            rc = hg_fail(err, "inner run diverged: non-finite gradient at step %d", t);
            break;
        }
        be->vec.clamp(g, P, s->clamp, NULL);
        if (step && step->update)
            step->update(step->ctx, t, w, v, comp, g);
        else
            be->vec.sgd_step(w, v, comp, g, P, s->v[HYPER_LR][t], s->v[HYPER_MOM][t],
                             s->v[HYPER_WD][t]);
        inner_round(p, t, w, v); /* --round-noise, as the engines */
    }
    if (rc == 0 && !be->vec.all_finite(w, P))
        rc = hg_fail(err, "inner run diverged: non-finite weights after step %d", s->T - 1);
    if (rc == 0)
        model_evaluate(p->model, w, p->val->x, p->val->y, p->val->n, val_loss, val_acc);
    be->mem.free(v);
    be->mem.free(comp);
    be->mem.free(g);
    be->mem.free(x);
    be->mem.free(y);
    batch_order_free(&bo);
    return rc;
}
