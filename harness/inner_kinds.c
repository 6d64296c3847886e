/* inner_kinds.c — training under per-layer, per-weight and example-weight
 * layouts (inner_kinds.h). */
#include "inner_kinds.h"

#include <math.h>
#include <string.h>

#include "../common/mem.h"

/* Kind k's value at step t on block b (per run: the schedule's step value). */
static double value_at(const HyperLayout *h, const Schedule *s, HyperKind k, int t, int b)
{
    if (!h->K[k] || h->per[k] != HYPER_PER_LAYER)
        return h->K[k] && h->per[k] == HYPER_PER_WEIGHT ? 0 : s->v[k][t];
    return s->vec[k][(long)t * h->K[k] / h->T * h->width[k] + b];
}

static double sigmoid(double g)
{
    return g >= 0 ? 1 / (1 + exp(-g)) : exp(g) / (1 + exp(g));
}

int inner_train_layout(const InnerProblem *p, const HyperLayout *h, const Schedule *s, real *w,
                       double *val_loss, double *val_acc, HgErr *err)
{
    if (!hyper_layout_vector(h))
        return inner_train(p, s, w, val_loss, val_acc, err);
    const Backend *be = inner_backend(p);
    const long P = p->model->nparams, dim = dataset_dim(p->train);
    int layered = 0;
    for (int k = 0; k < HYPER_KINDS; k++)
        layered |= h->K[k] && h->per[k] == HYPER_PER_LAYER;
    const int L = layered ? h->blocks.L : 1;
    const long one[2] = {0, P};
    const long *start = layered ? h->blocks.start : one;
    const int per_weight = h->K[HYPER_WD] && h->per[HYPER_WD] == HYPER_PER_WEIGHT;
    if (h->E && !be->layer.xent_weigh_rows)
        return hg_fail(err, "example weights: the %s backend has no per-example loss op "
                       "(xent_weigh_rows)", be->name);
    BatchOrder bo;
    if (inner_batches(p, &bo, err))
        return -1;
    const long fails = mem_failures();
    real *v = be->mem.alloc(MEM_PARAMS, sizeof(real) * P);
    real *g = be->mem.alloc(MEM_PARAMS, sizeof(real) * P);
    real *lw = per_weight ? be->mem.alloc(MEM_PARAMS, sizeof(real) * P) : NULL;
    real *tmp = per_weight ? be->mem.alloc(MEM_PARAMS, sizeof(real) * P) : NULL;
    real *host = per_weight ? mem_alloc(MEM_OTHER, sizeof(real) * P) : NULL;
    real *cb = h->E ? be->mem.alloc(MEM_PARAMS, sizeof(real) * p->batch) : NULL;
    real *hcb = h->E ? mem_alloc(MEM_OTHER, sizeof(real) * p->batch) : NULL;
    real *x = be->mem.alloc(MEM_DATA, sizeof(real) * p->batch * dim);
    int32_t *y = be->mem.alloc(MEM_DATA, sizeof(int32_t) * p->batch);
    real *comp = inner_comp_alloc(p);
    int rc = mem_failures() != fails ? mem_oom_error(err, "training") : 0;
    int window = -1; /* the per-weight decay's window on the backend */
    for (int t = 0; t < s->T && rc == 0; t++) {
        if (inner_stopped(p)) {
            rc = hg_fail(err, "interrupted at step %d", t);
            break;
        }
        const int *idx = batch_order_step(&bo, t);
        inner_batch(p, &bo, t, x, y);
        if (cb) {
            for (int b = 0; b < p->batch; b++)
                hcb[b] = idx[b] < h->E ? (real)sigmoid(s->gamma ? s->gamma[idx[b]] : 0) : 1;
            be->mem.upload(cb, hcb, sizeof(real) * p->batch);
            model_set_example_weights(p->model, cb);
        }
        model_loss_grad(p->model, w, x, y, p->batch, g);
        if (cb)
            model_set_example_weights(p->model, NULL);
        if (!be->vec.all_finite(g, P)) {
            rc = hg_fail(err, "inner run diverged: non-finite gradient at step %d", t);
            break;
        }
        be->vec.clamp(g, P, s->clamp, NULL);
        if (per_weight) { /* g += l_w (.) w, as kinds_sgd_step */
            const int win = (int)((long)t * h->K[HYPER_WD] / h->T);
            if (win != window) {
                for (long i = 0; i < P; i++)
                    host[i] = (real)s->vec[HYPER_WD][(long)win * P + i];
                be->mem.upload(lw, host, sizeof(real) * P);
                window = win;
            }
            be->vec.mul(tmp, lw, w, P);
            be->vec.axpy(tmp, 1, g, P);
        }
        const real *gs = per_weight ? tmp : g;
        for (int b = 0; b < L; b++) {
            const long o = start[b], n = start[b + 1] - o;
            be->vec.sgd_step(w + o, v + o, comp ? comp + o : NULL, gs + o, n,
                             value_at(h, s, HYPER_LR, t, b), value_at(h, s, HYPER_MOM, t, b),
                             value_at(h, s, HYPER_WD, t, b));
        }
        inner_round(p, t, w, v); /* --round-noise, as the engines */
    }
    if (rc == 0 && !be->vec.all_finite(w, P))
        rc = hg_fail(err, "inner run diverged: non-finite weights after step %d", s->T - 1);
    if (rc == 0)
        model_evaluate(p->model, w, p->val->x, p->val->y, p->val->n, val_loss, val_acc);
    be->mem.free(v);
    be->mem.free(g);
    be->mem.free(lw);
    be->mem.free(tmp);
    mem_free(host);
    be->mem.free(cb);
    mem_free(hcb);
    be->mem.free(comp);
    be->mem.free(x);
    be->mem.free(y);
    batch_order_free(&bo);
    return rc;
}
