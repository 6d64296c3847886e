/* hpo.c — the HPO outer loop (hpo.h). */
#include "hpo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../common/timer.h"
#include "inner_kinds.h"

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
    /* where the problem's w0 and data live (a device's memory) */
    h->w = inner_backend(c->prob)->mem.alloc(MEM_PARAMS,
                                             sizeof(real) * (size_t)c->prob->model->nparams);
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
    if (h->cfg.prob)
        inner_backend(h->cfg.prob)->mem.free(h->w);
    outer_free(&h->opt);
    memset(h, 0, sizeof *h);
}

/* The test numbers of w_T in h->w into e. */
static void evaluate_test(Hpo *h, HpoStep *e)
{
    const Dataset *test = h->cfg.test;
    model_evaluate(h->cfg.prob->model, h->w, test->x, test->y, test->n, &e->test_loss,
                   &e->test_acc);
    e->has_test = 1;
}

/* Trains the schedule from w0; val (want_val) and test numbers into e. */
static int retrain(Hpo *h, HpoStep *e, int want_val, HgErr *err)
{
    const InnerProblem *p = h->cfg.prob;
    double vl, va;
    inner_backend(p)->mem.copy(h->w, p->w0, sizeof(real) * (size_t)p->model->nparams);
    if (inner_train_layout(p, h->cfg.layout, h->sched, h->w, &vl, &va, err))
        return -1;
    e->retrain_val_acc = va;
    if (want_val) {
        e->val_loss = vl;
        e->val_acc = va;
    }
    if (h->cfg.test)
        evaluate_test(h, e);
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
             inner_stopped(h->cfg.prob) ? "interrupted"
             : strstr(msg, "diverged") || strstr(msg, "not finite") ? "diverged" : "failed");
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

static int out_of_patience(const Hpo *h)
{
    return h->cfg.patience > 0 && h->nlog - 1 - h->best >= h->cfg.patience;
}

static int same_bits(double a, double b) { return !memcmp(&a, &b, sizeof a); }

/* The first entry where a and b [N] differ bit for bit, -1 if none. */
static int first_difference(const double *a, const double *b, int N)
{
    for (int i = 0; i < N; i++)
        if (!same_bits(a[i], b[i]))
            return i;
    return -1;
}

int hpo_restore(Hpo *h, const HpoStep *done, int n, HgErr *err)
{
    const HpoConfig *c = &h->cfg;
    const int N = c->layout->N;
    if (h->nlog)
        return hg_fail(err, "hpo_restore: the loop has run already");
    if (n < 0 || n > c->outer_steps)
        return hg_fail(err, "%d finished outer steps, but this run has %d", n, c->outer_steps);
    for (int s = 0; s < n; s++) {
        const HpoStep *d = &done[s];
        if (d->outer != s || d->status != HPO_STEP_OK || !d->grad)
            return hg_fail(err, "entry %d: not outer step %d with a hypergradient", s, s);
        const int i = first_difference(d->theta, h->theta, N);
        if (i >= 0)
            return hg_fail(err, "entry %d: theta[%d] = %.17g, but the outer optimiser from "
                           "the previous entries gives %.17g (a log of another run?)", s, i,
                           d->theta[i], h->theta[i]);
        HpoStep *e = new_entry(h, s);
        HgErr step_err = {{0}};
        OuterStepInfo info;
        *e = (HpoStep){.outer = s, .status = HPO_STEP_OK, .theta = e->theta,
                       .grad = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(N ? N : 1)),
                       .val_loss = d->val_loss, .val_acc = d->val_acc, .has_test = d->has_test,
                       .test_loss = d->test_loss, .test_acc = d->test_acc,
                       .retrain_val_acc = d->retrain_val_acc, .time_s = d->time_s,
                       .engine_time_s = d->engine_time_s};
        memcpy(e->grad, d->grad, sizeof(double) * (size_t)N);
        e->hg_norm = norm2(e->grad, N);
        if (!same_bits(e->hg_norm, d->hg_norm))
            return hg_fail(err, "entry %d: hypergrad_norm %.17g, but its hypergradient's norm "
                           "is %.17g (an edited log?)", s, d->hg_norm, e->hg_norm);
        if (outer_step(&h->opt, h->theta, e->grad, &info, &step_err))
            return hg_fail(err, "entry %d: %s", s, step_err.msg);
        if (info.flips != d->flips || info.clamped != d->clamped)
            return hg_fail(err, "entry %d: %d flips and %d clamped, but its update gives %d and "
                           "%d (a log of another run?)", s, d->flips, d->clamped, info.flips,
                           info.clamped);
        e->flips = info.flips;
        e->clamped = info.clamped;
        update_best(h);
        if (out_of_patience(h) && s < n - 1)
            return hg_fail(err, "entry %d: patience %d ran out at it, yet the log goes on",
                           s, c->patience);
    }
    return 0;
}

void hpo_run(Hpo *h)
{
    const HpoConfig *c = &h->cfg;
    const int N = c->layout->N, S = c->outer_steps;
    const double t_start = now_s();
    h->stop = HPO_COMPLETED;
    for (int i = 0; i < h->nlog; i++) /* restored by hpo_restore */
        emit(h, &h->log[i]);
    if (h->nlog && out_of_patience(h))
        h->stop = HPO_PATIENCE;
    for (int s = h->nlog; s < S && h->stop == HPO_COMPLETED; s++) {
        HgErr err = {{0}};
        const double t0 = now_s();
        if (c->resample && c->resample(c->resample_ctx, s, &err)) {
            fail(h, s, err.msg);
            break;
        }
        hyper_unpack(c->layout, h->theta, h->sched);
        HpoStep *e = new_entry(h, s);
        e->grad = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(N ? N : 1));
        const int keep_wT = c->test && c->run_wT;
        if (c->hypergrad(c->hypergrad_ctx, h->sched, e->grad, &e->val_loss, &e->val_acc,
                         &e->engine_time_s, keep_wT ? h->w : NULL, &err)) {
            drop_last(h);
            fail(h, s, err.msg);
            break;
        }
        e->status = HPO_STEP_OK;
        e->hg_norm = norm2(e->grad, N);
        if (keep_wT) { /* the plain run's w_T, bit for bit: no retraining */
            e->retrain_val_acc = e->val_acc;
            evaluate_test(h, e);
        } else if (c->test && retrain(h, e, 0, &err)) {
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
        if (out_of_patience(h)) {
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
        if ((c->resample && c->resample(c->resample_ctx, S, &err)) || retrain(h, e, 1, &err)) {
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
