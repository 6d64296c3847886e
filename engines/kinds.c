/* kinds.c — the engines' per-parameter path (kinds.h): per-layer values as
 * one backend op per block, per-weight decay as one mul over w. */
#include "kinds.h"

#include <math.h>
#include <string.h>

/* The window of kind at step t. */
static int window_of(const Kinds *k, HyperKind kind, int t)
{
    return (int)((long)t * k->h->K[kind] / k->h->T);
}

int kinds_init(Kinds *k, const EngineConfig *cfg, double *hypergrad, HgErr *err)
{
    memset(k, 0, sizeof *k);
    const HyperLayout *h = cfg->layout;
    k->be = inner_backend(cfg->prob);
    k->h = h;
    k->s = cfg->sched;
    k->P = cfg->prob->model->nparams;
    k->hg = hypergrad;
    memset(hypergrad, 0, sizeof(double) * h->N);
    int layered = 0;
    for (int q = 0; q < HYPER_KINDS; q++)
        layered |= h->K[q] && h->per[q] == HYPER_PER_LAYER;
    if (layered) {
        if (h->blocks.start[h->blocks.L] != k->P)
            return hg_fail(err, "per-layer values: the layout's layers cover %ld parameters, "
                           "the model has %ld", h->blocks.start[h->blocks.L], k->P);
        k->L = h->blocks.L;
        memcpy(k->start, h->blocks.start, sizeof k->start);
    } else {
        k->L = 1;
        k->start[1] = k->P;
    }
    const Backend *be = k->be;
    const long fails = mem_failures();
    const size_t bytes = sizeof(real) * k->P;
    k->tmp = be->mem.alloc(MEM_PARAMS, bytes);
    for (int i = 0; i < 3; i++)
        k->host[i] = mem_alloc(MEM_OTHER, bytes);
    if (h->K[HYPER_WD] && h->per[HYPER_WD] == HYPER_PER_WEIGHT) {
        const long n = (long)h->K[HYPER_WD] * k->P;
        if (h->width[HYPER_WD] != k->P)
            return hg_fail(err, "wd/weight: the layout has %ld weights, the model %ld",
                           h->width[HYPER_WD], k->P);
        k->lw = be->mem.alloc(MEM_PARAMS, sizeof(real) * n);
        k->gw = be->mem.alloc(MEM_OTHER, sizeof(double) * n);
        real *stage = mem_alloc(MEM_OTHER, sizeof(real) * n);
        for (long i = 0; stage && i < n; i++)
            stage[i] = (real)k->s->vec[HYPER_WD][i];
        if (stage && k->lw)
            be->mem.upload(k->lw, stage, sizeof(real) * n);
        mem_free(stage);
    }
    if (h->E) {
        k->model = cfg->prob->model;
        k->B = cfg->prob->batch;
        if (h->E > cfg->prob->train->n)
            return hg_fail(err, "example weights: %d examples, the training part has %d",
                           h->E, cfg->prob->train->n);
        if (!(be->layer.xent_weigh_rows && be->layer.xent_rdot))
            return hg_fail(err, "example weights: the %s backend has no per-example loss ops "
                           "(xent_weigh_rows, xent_rdot)", be->name);
        k->cb = be->mem.alloc(MEM_PARAMS, sizeof(real) * k->B);
        k->rd = be->mem.alloc(MEM_PARAMS, sizeof(real) * k->B);
        k->hcb = mem_alloc(MEM_OTHER, sizeof(real) * k->B);
        k->hrd = mem_alloc(MEM_OTHER, sizeof(real) * k->B);
    }
    return mem_failures() != fails ? mem_oom_error(err, "per-parameter hyperparameters") : 0;
}

static double sigmoid(double g)
{
    return g >= 0 ? 1 / (1 + exp(-g)) : exp(g) / (1 + exp(g));
}

static double gamma_of(const Kinds *k, int i)
{
    return k->s->gamma ? k->s->gamma[i] : 0;
}

void kinds_weigh(Kinds *k, const int *idx)
{
    if (!k->model)
        return;
    for (int b = 0; b < k->B; b++)
        k->hcb[b] = idx[b] < k->h->E ? (real)sigmoid(gamma_of(k, idx[b])) : 1;
    k->be->mem.upload(k->cb, k->hcb, sizeof(real) * k->B);
    model_set_example_weights(k->model, k->cb); /* kinds_init checked the ops */
}

void kinds_unweigh(Kinds *k)
{
    if (k->model)
        model_set_example_weights(k->model, NULL);
}

double kinds_example_scale(const Kinds *k, int i)
{
    const double c = sigmoid(gamma_of(k, i));
    return c * (1 - c) / k->B;
}

void kinds_example_grads(Kinds *k, const int *idx, const int32_t *y, double sign)
{
    if (!k->model)
        return;
    model_example_rdots(k->model, y, k->B, 0, k->rd);
    k->be->mem.download(k->hrd, k->rd, sizeof(real) * k->B);
    for (int b = 0; b < k->B; b++)
        if (idx[b] < k->h->E)
            k->hg[k->h->ex_offset + idx[b]] += sign * kinds_example_scale(k, idx[b]) * k->hrd[b];
}

void kinds_scale_lr(Kinds *k, int t, real *u)
{
    for (int b = 0; b < k->L; b++) {
        const long o = k->start[b];
        k->be->vec.axpy(u + o, kinds_value(k, HYPER_LR, t, b) - 1, u + o, k->start[b + 1] - o);
    }
}

void kinds_free(Kinds *k)
{
    if (!k->be)
        return;
    k->be->mem.free(k->tmp);
    k->be->mem.free(k->lw);
    k->be->mem.free(k->gw);
    for (int i = 0; i < 3; i++)
        mem_free(k->host[i]);
    kinds_unweigh(k);
    k->be->mem.free(k->cb);
    k->be->mem.free(k->rd);
    mem_free(k->hcb);
    mem_free(k->hrd);
    memset(k, 0, sizeof *k);
}

double kinds_value(const Kinds *k, HyperKind kind, int t, int b)
{
    const HyperLayout *h = k->h;
    if (!h->K[kind] || h->per[kind] == HYPER_PER_RUN)
        return k->s->v[kind][t];
    if (h->per[kind] == HYPER_PER_WEIGHT)
        return 0;
    return k->s->vec[kind][(long)window_of(k, kind, t) * h->width[kind] + b];
}

const real *kinds_decay(const Kinds *k, int t)
{
    return k->lw ? k->lw + (long)window_of(k, HYPER_WD, t) * k->P : NULL;
}

void kinds_sgd_step(Kinds *k, int t, real *w, real *v, real *comp, const real *g)
{
    const Backend *be = k->be;
    const real *lw = kinds_decay(k, t);
    if (lw) { /* g' = g + l_w (.) w */
        be->vec.mul(k->tmp, lw, w, k->P);
        be->vec.axpy(k->tmp, 1, g, k->P);
        g = k->tmp;
    }
    for (int b = 0; b < k->L; b++) {
        const long o = k->start[b], n = k->start[b + 1] - o;
        be->vec.sgd_step(w + o, v + o, comp ? comp + o : NULL, g + o, n,
                         kinds_value(k, HYPER_LR, t, b), kinds_value(k, HYPER_MOM, t, b),
                         kinds_value(k, HYPER_WD, t, b));
    }
}

void kinds_adjoint_lr(Kinds *k, int t, real *wb, real *vb)
{
    for (int b = 0; b < k->L; b++) {
        const long o = k->start[b];
        k->be->vec.axpy(vb + o, -kinds_value(k, HYPER_LR, t, b), wb + o, k->start[b + 1] - o);
    }
}

void kinds_accumulate(Kinds *k, HyperKind kind, int t, const real *x, const real *y,
                      double sign, int by_lr)
{
    const HyperLayout *h = k->h;
    if (!h->K[kind])
        return;
    const Backend *be = k->be;
    const long col = hyper_column(h, kind, t);
    if (h->per[kind] == HYPER_PER_WEIGHT) {
        be->vec.mul(k->tmp, x, y, k->P);
        double *sum = k->gw + (long)window_of(k, kind, t) * k->P;
        for (int b = 0; b < k->L; b++) {
            const long o = k->start[b];
            const double c = sign * (by_lr ? kinds_value(k, HYPER_LR, t, b) : 1);
            be->vec.grad_accumulate(sum + o, k->tmp + o, c, k->start[b + 1] - o);
        }
        return;
    }
    for (int b = 0; b < k->L; b++) {
        const long o = k->start[b];
        const double c = sign * (by_lr ? kinds_value(k, HYPER_LR, t, b) : 1);
        k->hg[col + (h->per[kind] == HYPER_PER_LAYER ? b : 0)] +=
            c * be->vec.dot(x + o, y + o, k->start[b + 1] - o);
    }
}

void kinds_adjoint(Kinds *k, int t, real *wb, real *vb, real *hu)
{
    const Backend *be = k->be;
    const real *lw = kinds_decay(k, t);
    if (lw) { /* hu += l_w (.) vb */
        be->vec.mul(k->tmp, lw, vb, k->P);
        be->vec.axpy(hu, 1, k->tmp, k->P);
    }
    for (int b = 0; b < k->L; b++) {
        const long o = k->start[b];
        be->vec.sgd_adjoint(wb + o, vb + o, hu + o, k->start[b + 1] - o,
                            kinds_value(k, HYPER_WD, t, b), kinds_value(k, HYPER_MOM, t, b));
    }
}

void kinds_decay_add(Kinds *k, int t, real *x, const real *y)
{
    const Backend *be = k->be;
    const real *lw = kinds_decay(k, t);
    if (lw) {
        be->vec.mul(k->tmp, lw, y, k->P);
        be->vec.axpy(x, 1, k->tmp, k->P);
    }
    if (!k->h->K[HYPER_WD] || k->h->per[HYPER_WD] != HYPER_PER_LAYER)
        return;
    for (int b = 0; b < k->L; b++) {
        const long o = k->start[b];
        be->vec.axpy(x + o, kinds_value(k, HYPER_WD, t, b), y + o, k->start[b + 1] - o);
    }
}

void kinds_finish(Kinds *k)
{
    if (!k->gw)
        return;
    const long n = (long)k->h->K[HYPER_WD] * k->P;
    double *sum = mem_alloc(MEM_OTHER, sizeof(double) * n);
    k->be->mem.download(sum, k->gw, sizeof(double) * n);
    double *hg = k->hg + k->h->offset[HYPER_WD];
    for (long i = 0; i < n; i++)
        hg[i] += sum[i];
    mem_free(sum);
}

void kinds_expand(Kinds *k, int t, real *a, real *m, real *l)
{
    real *out[3] = {a, m, l};
    const HyperKind kind[3] = {HYPER_LR, HYPER_MOM, HYPER_WD};
    for (int q = 0; q < 3; q++) {
        real *host = k->host[q];
        if (kind[q] == HYPER_WD && k->lw) {
            const double *lw = k->s->vec[HYPER_WD] + (long)window_of(k, HYPER_WD, t) * k->P;
            for (long i = 0; i < k->P; i++)
                host[i] = (real)lw[i];
        } else {
            for (int b = 0; b < k->L; b++) {
                const real x = (real)kinds_value(k, kind[q], t, b);
                for (long i = k->start[b]; i < k->start[b + 1]; i++)
                    host[i] = x;
            }
        }
        k->be->mem.upload(out[q], host, sizeof(real) * k->P);
    }
}

HyperKind kinds_of_column(const Kinds *k, long q, int *window, long *o, long *n)
{
    const HyperLayout *h = k->h;
    int kind = 0;
    for (int c = 0; c < HYPER_KINDS; c++)
        if (h->K[c] && q >= h->offset[c])
            kind = c;
    const long W = h->width[kind], r = q - h->offset[kind], i = r % W;
    *window = (int)(r / W);
    if (h->per[kind] == HYPER_PER_LAYER) {
        *o = h->blocks.start[i];
        *n = h->blocks.start[i + 1] - *o;
    } else if (h->per[kind] == HYPER_PER_WEIGHT) {
        *o = i;
        *n = 1;
    } else {
        *o = 0;
        *n = k->P;
    }
    return kind;
}
