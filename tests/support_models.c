/* support_models.c — see support_models.h. */
#include "support_models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../common/rng.h"
#include "test.h"

ModelCase model_case_make(Model *m, int n, uint64_t seed)
{
    ModelCase p = {.m = m, .n = n};
    const long dim = shape_size(m->input);
    p.w = mem_alloc(MEM_PARAMS, sizeof(real) * m->nparams);
    p.x = mem_alloc(MEM_DATA, sizeof(real) * n * dim);
    p.y = mem_alloc(MEM_DATA, sizeof(int32_t) * n);
    model_init(m, p.w, INIT_XAVIER, 0, seed);
    Rng r = rng_seed(seed + 1000);
    for (int l = 0; l < m->nlayers; l++) {
        const Layer *L = &m->layers[l];
        if (L->type == LAYER_LINEAR || L->type == LAYER_CONV2D)
            for (int o = 0; o < L->geom.out.c; o++)
                p.w[L->geom.b_off + o] = (real)(0.1 * rng_normal(&r));
    }
    for (long i = 0; i < n * dim; i++)
        p.x[i] = (real)rng_normal(&r);
    for (int i = 0; i < n; i++)
        p.y[i] = (int32_t)rng_below(&r, (uint64_t)m->classes);
    return p;
}

void model_case_free(ModelCase *p)
{
    model_free(p->m);
    mem_free(p->w);
    mem_free(p->x);
    mem_free(p->y);
    memset(p, 0, sizeof *p);
}

void random_unit(real *v, long count, uint64_t seed)
{
    Rng r = rng_seed(seed);
    double s = 0;
    double *tmp = malloc(sizeof(double) * count);
    for (long i = 0; i < count; i++) {
        tmp[i] = rng_normal(&r);
        s += tmp[i] * tmp[i];
    }
    for (long i = 0; i < count; i++)
        v[i] = (real)(tmp[i] / sqrt(s));
    free(tmp);
}

double dot_r(const real *a, const real *b, long count)
{
    double s = 0;
    for (long i = 0; i < count; i++)
        s += (double)a[i] * b[i];
    return s;
}

double fd_step(ModelCase *p, const real *u)
{
    double clearance = model_kink_clearance(p->m, p->w, p->x, p->n, u);
    double h = fmin(FD_H0, clearance / 8);
    return h >= FD_HMIN ? h : 0;
}

/* w + s u into a scratch copy */
static real *shifted(const ModelCase *p, const real *u, double s)
{
    real *w = mem_alloc(MEM_PARAMS, sizeof(real) * p->m->nparams);
    for (long i = 0; i < p->m->nparams; i++)
        w[i] = (real)(p->w[i] + s * u[i]);
    return w;
}

double fd_loss(ModelCase *p, const real *u, double h)
{
    real *wp = shifted(p, u, h), *wm = shifted(p, u, -h);
    double lp = model_loss(p->m, wp, p->x, p->y, p->n);
    double lm = model_loss(p->m, wm, p->x, p->y, p->n);
    mem_free(wp);
    mem_free(wm);
    return (lp - lm) / (2 * h);
}

void fd_grad(ModelCase *p, const real *u, double h, double *out)
{
    const long P = p->m->nparams;
    real *wp = shifted(p, u, h), *wm = shifted(p, u, -h);
    real *gp = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *gm = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    model_loss_grad(p->m, wp, p->x, p->y, p->n, gp);
    model_loss_grad(p->m, wm, p->x, p->y, p->n, gm);
    for (long i = 0; i < P; i++)
        out[i] = ((double)gp[i] - gm[i]) / (2 * h);
    mem_free(wp);
    mem_free(wm);
    mem_free(gp);
    mem_free(gm);
}

Model *test_model(const char *name)
{
    HgErr err;
    Model *m = NULL;
    if (!strcmp(name, "logreg"))
        m = model_logreg((Shape){1, 6, 6}, 4, &err);
    else if (!strcmp(name, "logreg-full"))
        m = model_logreg((Shape){1, 28, 28}, 10, &err);
    else if (!strcmp(name, "mlp-tanh"))
        m = model_mlp((Shape){12, 1, 1}, (int[]){9, 7}, 2, LAYER_TANH, 5, &err);
    else if (!strcmp(name, "mlp-relu"))
        m = model_mlp((Shape){12, 1, 1}, (int[]){9, 7}, 2, LAYER_RELU, 5, &err);
    else if (!strcmp(name, "lenet"))
        m = model_lenet((Shape){1, 28, 28}, 10, &err);
    else if (!strcmp(name, "lenet-rgb"))
        m = model_lenet((Shape){3, 32, 32}, 10, &err);
    if (!m) {
        fprintf(stderr, "test_model(%s): %s\n", name, m ? "" : err.msg);
        abort();
    }
    return m;
}

void engine_case_make(EngineCase *c, const char *model, int n, int val, int T,
                      const int K[HYPER_KINDS], double clamp, int batch, int kahan)
{
    HgErr err;
    memset(c, 0, sizeof *c);
    c->model = test_model(model);
    const Shape in = c->model->input;
    Dataset full;
    HG_CHECK(synthetic_make(n, in.c, in.h, in.w, c->model->classes, 1.0, 11, &full, &err) == 0 &&
                 dataset_split(&full, val, 3, &c->train, &c->val, &err) == 0 &&
                 hyper_layout_init(&c->layout, T, K, &err) == 0 &&
                 schedule_init(&c->sched, T, SCHEDULE_COSINE, 0.05, 0.9, 1e-3, clamp, &err) == 0,
             "engine case %s: %s", model, err.msg);
    dataset_free(&full);
    c->w0 = mem_alloc(MEM_PARAMS, sizeof(real) * c->model->nparams);
    model_init(c->model, c->w0, INIT_XAVIER, 0, 5);
    c->prob = (InnerProblem){c->model, &c->train, &c->val, batch, 17, c->w0, kahan, NULL,
                             ROUND_NOISE_OFF, 0};
}

void engine_case_free(EngineCase *c)
{
    model_free(c->model);
    dataset_free(&c->train);
    dataset_free(&c->val);
    mem_free(c->w0);
    schedule_free(&c->sched);
}

size_t kinds_run_name(char *buf, size_t cap, const char *model, int T, const int K[HYPER_KINDS],
                      const HyperPer per[HYPER_KINDS], int E, double clamp)
{
    size_t at = (size_t)snprintf(buf, cap, "%s T=%d", model, T);
    for (int k = 0; k < HYPER_KINDS && at < cap; k++)
        if (K[k])
            at += (size_t)snprintf(buf + at, cap - at, " %s:%d/%s", hyper_kind_name(k), K[k],
                                   hyper_per_name(per[k]));
    if (E && at < cap)
        at += (size_t)snprintf(buf + at, cap - at, " ex:%d", E);
    if (clamp > 0 && at < cap)
        at += (size_t)snprintf(buf + at, cap - at, " clamp %g", clamp);
    return at;
}
