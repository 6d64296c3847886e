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

/* The layout's step (inner.h's InnerStep): example weights, per-weight
 * decay, per-layer values. */
typedef struct LayoutStep {
    const Backend *be;
    const InnerProblem *p;
    const HyperLayout *h;
    const Schedule *s;
    long P;
    int L;
    const long *start;
    real *lw, *tmp, *host; /* per-weight decay: window's values, scratch, staging */
    int window;            /* the window lw holds (-1: none yet) */
    real *cb, *hcb;        /* example weights of the batch (backend, host) */
} LayoutStep;

static void layout_weigh(void *ctx, int t, const int *idx)
{
    LayoutStep *k = ctx;
    if (!k->cb)
        return;
    for (int b = 0; b < k->p->batch; b++)
        k->hcb[b] = idx[b] < k->h->E ? (real)sigmoid(k->s->gamma ? k->s->gamma[idx[b]] : 0) : 1;
    k->be->mem.upload(k->cb, k->hcb, sizeof(real) * k->p->batch);
    model_set_example_weights(k->p->model, k->cb);
}

static void layout_unweigh(void *ctx)
{
    LayoutStep *k = ctx;
    if (k->cb)
        model_set_example_weights(k->p->model, NULL);
}

static void layout_update(void *ctx, int t, real *w, real *v, real *comp, real *g)
{
    LayoutStep *k = ctx;
    const Backend *be = k->be;
    const HyperLayout *h = k->h;
    if (k->lw) { /* g += l_w (.) w, as kinds_sgd_step */
        const int win = (int)((long)t * h->K[HYPER_WD] / h->T);
        if (win != k->window) {
            for (long i = 0; i < k->P; i++)
                k->host[i] = (real)k->s->vec[HYPER_WD][(long)win * k->P + i];
            be->mem.upload(k->lw, k->host, sizeof(real) * k->P);
            k->window = win;
        }
        be->vec.mul(k->tmp, k->lw, w, k->P);
        be->vec.axpy(k->tmp, 1, g, k->P);
    }
    const real *gs = k->lw ? k->tmp : g;
    for (int b = 0; b < k->L; b++) {
        const long o = k->start[b], n = k->start[b + 1] - o;
        be->vec.sgd_step(w + o, v + o, comp ? comp + o : NULL, gs + o, n,
                         value_at(h, k->s, HYPER_LR, t, b), value_at(h, k->s, HYPER_MOM, t, b),
                         value_at(h, k->s, HYPER_WD, t, b));
    }
}

int inner_train_layout(const InnerProblem *p, const HyperLayout *h, const Schedule *s, real *w,
                       double *val_loss, double *val_acc, HgErr *err)
{
    if (!hyper_layout_vector(h))
        return inner_train(p, s, w, val_loss, val_acc, err);
    const Backend *be = inner_backend(p);
    const long P = p->model->nparams;
    int layered = 0;
    for (int k = 0; k < HYPER_KINDS; k++)
        layered |= h->K[k] && h->per[k] == HYPER_PER_LAYER;
    const long one[2] = {0, P};
    const int per_weight = h->K[HYPER_WD] && h->per[HYPER_WD] == HYPER_PER_WEIGHT;
    if (h->E && !be->layer.xent_weigh_rows)
        return hg_fail(err, "example weights: the %s backend has no per-example loss op "
                       "(xent_weigh_rows)", be->name);
    LayoutStep k = {be, p, h, s, P, layered ? h->blocks.L : 1, layered ? h->blocks.start : one,
                    .window = -1};
    const long fails = mem_failures();
    if (per_weight) {
        k.lw = be->mem.alloc(MEM_PARAMS, sizeof(real) * P);
        k.tmp = be->mem.alloc(MEM_PARAMS, sizeof(real) * P);
        k.host = mem_alloc(MEM_OTHER, sizeof(real) * P);
    }
    if (h->E) {
        k.cb = be->mem.alloc(MEM_PARAMS, sizeof(real) * p->batch);
        k.hcb = mem_alloc(MEM_OTHER, sizeof(real) * p->batch);
    }
    int rc = mem_failures() != fails ? mem_oom_error(err, "training") : 0;
    const InnerStep step = {&k, layout_weigh, layout_unweigh, layout_update};
    if (rc == 0)
        rc = inner_train_steps(p, s, &step, w, val_loss, val_acc, err);
    be->mem.free(k.lw);
    be->mem.free(k.tmp);
    mem_free(k.host);
    be->mem.free(k.cb);
    mem_free(k.hcb);
    return rc;
}
