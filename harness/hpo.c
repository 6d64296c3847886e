/* hpo.c — the HPO outer loop (hpo.h). */
#include "hpo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../common/timer.h"

static double norm2(const double *a, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * a[i];
    return sqrt(s);
}

int hpo_init(Hpo *h, const HpoConfig *c, const double *theta0, Schedule *sched, HgErr *err)
{
    memset(h, 0, sizeof *h);
    h->best = -1;
    h->cfg = *c;
    h->sched = sched;
    if (outer_init(&h->opt, &c->outer, c->layout, err))
        return -1;
    const int N = c->layout->N;
    h->theta = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(N ? N : 1));
    memcpy(h->theta, theta0, sizeof(double) * (size_t)N);
    h->w = mem_alloc(MEM_PARAMS, sizeof(real) * (size_t)c->prob->model->nparams);
    h->log = calloc((size_t)c->outer_steps + 1, sizeof *h->log);
    HG_CHECK(h->log, "out of memory");
    return 0;
}

void hpo_free(Hpo *h)
{
    for (int i = 0; h->log && i < h->nlog; i++) {
        mem_free(h->log[i].theta);
        mem_free(h->log[i].grad);
    }
    free(h->log);
    mem_free(h->theta);
    mem_free(h->w);
    outer_free(&h->opt);
    memset(h, 0, sizeof *h);
}

/* Trains the schedule from w0; val (want_val) and test numbers into e. */
static int retrain(Hpo *h, HpoStep *e, int want_val, HgErr *err)
{
    const InnerProblem *p = h->cfg.prob;
    double vl, va;
    memcpy(h->w, p->w0, sizeof(real) * (size_t)p->model->nparams);
    if (inner_train(p, h->sched, h->w, &vl, &va, err))
        return -1;
    e->retrain_val_acc = va;
    if (want_val) {
        e->val_loss = vl;
        e->val_acc = va;
    }
    if (h->cfg.test) {
        model_evaluate(p->model, h->w, h->cfg.test->x, h->cfg.test->y, h->cfg.test->n,
                       &e->test_loss, &e->test_acc);
        e->has_test = 1;
    }
    return 0;
}

static HpoStep *new_entry(Hpo *h, int outer)
{
    HpoStep *e = &h->log[h->nlog++];
    const int N = h->cfg.layout->N;
    memset(e, 0, sizeof *e);
    e->outer = outer;
    e->theta = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(N ? N : 1));
    memcpy(e->theta, h->theta, sizeof(double) * (size_t)N);
    return e;
}

static void drop_last(Hpo *h)
{
    HpoStep *e = &h->log[--h->nlog];
    mem_free(e->theta);
    mem_free(e->grad);
    memset(e, 0, sizeof *e);
}

static void emit(Hpo *h, const HpoStep *e)
{
    if (h->cfg.on_step)
        h->cfg.on_step(h->cfg.ctx, e);
}

static void fail(Hpo *h, int outer, const char *msg)
{
    h->stop = HPO_FAILED;
    h->fail_outer = outer;
    snprintf(h->fail_msg, sizeof h->fail_msg, "%s", msg);
    snprintf(h->fail_status, sizeof h->fail_status, "%s",
             strstr(msg, "diverged") || strstr(msg, "not finite") ? "diverged" : "failed");
    const HpoStep e = {.outer = outer, .status = HPO_STEP_FAILED, .theta = h->theta,
                       .msg = h->fail_msg};
    emit(h, &e);
}

static void update_best(Hpo *h)
{
    const HpoStep *e = &h->log[h->nlog - 1];
    if (h->best < 0 || e->val_acc > h->log[h->best].val_acc)
        h->best = h->nlog - 1;
}

void hpo_run(Hpo *h)
{
    const HpoConfig *c = &h->cfg;
    const int N = c->layout->N, S = c->outer_steps;
    const double t_start = now_s();
    h->stop = HPO_COMPLETED;
    for (int s = 0; s < S; s++) {
        HgErr err = {{0}};
        const double t0 = now_s();
        hyper_unpack(c->layout, h->theta, h->sched);
        HpoStep *e = new_entry(h, s);
        e->grad = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(N ? N : 1));
        if (c->hypergrad(c->hypergrad_ctx, h->sched, e->grad, &e->val_loss, &e->val_acc,
                         &e->engine_time_s, &err)) {
            drop_last(h);
            fail(h, s, err.msg);
            break;
        }
        e->status = HPO_STEP_OK;
        e->hg_norm = norm2(e->grad, N);
        if (c->test && retrain(h, e, 0, &err)) {
            drop_last(h); /* not evaluated completely */
            fail(h, s, err.msg);
            break;
        }
        OuterStepInfo info;
        HG_CHECK(outer_step(&h->opt, h->theta, e->grad, &info, &err) == 0,
                 "the hypergradient must be finite: %s", err.msg);
        e->flips = info.flips;
        e->clamped = info.clamped;
        e->time_s = now_s() - t0;
        update_best(h);
        emit(h, e);
        if (c->patience > 0 && h->nlog - 1 - h->best >= c->patience) {
            h->stop = HPO_PATIENCE;
            break;
        }
    }
    if (h->stop == HPO_COMPLETED) { /* the final theta: a plain training run */
        HgErr err = {{0}};
        const double t0 = now_s();
        HpoStep *e = new_entry(h, S);
        e->status = HPO_STEP_FINAL;
        hyper_unpack(c->layout, h->theta, h->sched);
        if (retrain(h, e, 1, &err)) {
            drop_last(h);
            fail(h, S, err.msg);
        } else {
            e->time_s = now_s() - t0;
            update_best(h);
            emit(h, e);
        }
    }
    h->total_s = now_s() - t_start;
}
