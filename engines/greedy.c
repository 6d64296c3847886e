/* greedy.c — one-step look-ahead hypergradients (Baydin et al. 2018; FDS's
 * greedy baseline; DESIGN.md engine 3).
 *
 * At each step, with w_t and v_t held fixed, differentiate the loss after the
 * step, f_t = L(w_{t+1}) on the validation set (FDS) or on the next training
 * batch (HD, cfg->greedy_on_train):
 *   df_t/da_t = -grad f_t . v_{t+1}
 *   df_t/dm_t = -a_t grad f_t . v_t
 *   df_t/dl_t = -a_t grad f_t . w_t
 * Cheap and biased (short-horizon bias, Wu et al. 2018): it equals the true
 * hypergradient only when T = 1. With cfg->greedy_online_lr > 0 the learned
 * values are updated after every step by that outer learning rate, as HD
 * does; the run then uses and reports the updated schedule.
 * Kinds per layer or weight (kinds.h): the same products summed over each
 * value's range of w, times that range's a_t (online updates refused).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "kinds.h"

static int greedy_run(const EngineConfig *cfg, EngineResult *out, HgErr *err)
{
    const InnerProblem *p = cfg->prob;
    const HyperLayout *h = cfg->layout;
    const int T = cfg->sched->T;
    const Backend *be = inner_backend(p);
    const long P = p->model->nparams, dim = dataset_dim(p->train);
    const size_t bytes = sizeof(real) * P;
    BatchOrder bo;
    if (inner_batches(p, &bo, err))
        return -1;
    /* a private copy: the online mode changes it as it goes */
    Schedule s = *cfg->sched;
    for (int k = 0; k < HYPER_KINDS; k++) {
        s.v[k] = mem_alloc(MEM_PARAMS, sizeof(double) * T);
        memcpy(s.v[k], cfg->sched->v[k], sizeof(double) * T);
    }
    const long fails = mem_failures(); /* the buffers below: out of memory is an error */
    real *w = be->mem.alloc(MEM_PARAMS, bytes), *v = be->mem.alloc(MEM_PARAMS, bytes);
    real *w_old = be->mem.alloc(MEM_PARAMS, bytes), *v_old = be->mem.alloc(MEM_PARAMS, bytes);
    real *g = be->mem.alloc(MEM_PARAMS, bytes), *gf = be->mem.alloc(MEM_PARAMS, bytes);
    const int ex = cfg->layout->E > 0; /* example weights: M_t and an HVP per step */
    real *mask = ex ? be->mem.alloc(MEM_PARAMS, bytes) : NULL;
    real *tan = ex ? be->mem.alloc(MEM_PARAMS, bytes) : NULL;
    real *htan = ex ? be->mem.alloc(MEM_PARAMS, bytes) : NULL;
    real *x = be->mem.alloc(MEM_DATA, sizeof(real) * p->batch * dim);
    int32_t *y = be->mem.alloc(MEM_DATA, sizeof(int32_t) * p->batch);
    double *per[HYPER_KINDS] = {0};
    const int kv = hyper_layout_vector(h); /* the per-parameter path */
    for (int k = 0; k < HYPER_KINDS && !kv; k++)
        if (h->K[k])
            per[k] = out->per_step[k] = mem_alloc(MEM_OTHER, sizeof(double) * T);
    real *comp = inner_comp_alloc(p);
    int rc = mem_failures() != fails ? mem_oom_error(err, "greedy") : 0;
    Kinds kd = {0};
    if (rc == 0 && kv)
        rc = kinds_init(&kd, cfg, out->hypergrad, err);
    if (rc == 0)
        be->mem.copy(w, p->w0, bytes);

    for (int t = 0; t < T && rc == 0; t++) {
        if ((rc = engine_interrupted(cfg, "greedy", t, err)))
            break;
        const double a = s.v[HYPER_LR][t], m = s.v[HYPER_MOM][t], l = s.v[HYPER_WD][t];
        engine_phase(out, ENGINE_PHASE_INNER);
        inner_batch(p, &bo, t, x, y);
        kinds_weigh(&kd, batch_order_step(&bo, t)); /* example weights (kv only) */
        model_loss_grad(p->model, w, x, y, p->batch, g);
        kinds_unweigh(&kd);
        if (!be->vec.all_finite(g, P)) {
            rc = hg_fail(err, "greedy: inner run diverged: non-finite gradient at step %d", t);
            break;
        }
        be->vec.clamp(g, P, s.clamp, kd.model ? mask : NULL);
        be->mem.copy(w_old, w, bytes);
        be->mem.copy(v_old, v, bytes);
        if (kv)
            kinds_sgd_step(&kd, t, w, v, comp, g);
        else
            be->vec.sgd_step(w, v, comp, g, P, a, m, l);
        inner_round(p, t, w, v); /* --round-noise */
        engine_phase(out, ENGINE_PHASE_HYPERGRAD); /* the look-ahead */
        if (cfg->opt.greedy_on_train) {
            inner_batch(p, &bo, t + 1, x, y);
            model_loss_grad(p->model, w, x, y, p->batch, gf);
        } else {
            model_set_grad(p->model, w, p->val->x, p->val->y, p->val->n, gf, NULL, NULL);
        }
        if (!be->vec.all_finite(gf, P)) {
            rc = hg_fail(err, "greedy: inner run diverged: non-finite look-ahead gradient at step %d", t);
            break;
        }
        if (kv) {
            kinds_accumulate(&kd, HYPER_LR, t, gf, v, -1, 0);
            kinds_accumulate(&kd, HYPER_MOM, t, gf, v_old, -1, 1);
            kinds_accumulate(&kd, HYPER_WD, t, gf, w_old, -1, 1);
            if (kd.model) { /* tan = a_t (.) M_t gf, batch t at w_t: -tan . grad l_i / B */
                be->vec.mul(tan, mask, gf, P);
                kinds_scale_lr(&kd, t, tan);
                kinds_weigh(&kd, batch_order_step(&bo, t));
                model_hvp(p->model, w_old, x, y, p->batch, tan, htan);
                kinds_example_grads(&kd, batch_order_step(&bo, t), y, -1);
                kinds_unweigh(&kd);
            }
            continue;
        }
        double hg[HYPER_KINDS];
        hg[HYPER_LR] = -be->vec.dot(gf, v, P);
        hg[HYPER_MOM] = -a * be->vec.dot(gf, v_old, P);
        hg[HYPER_WD] = -a * be->vec.dot(gf, w_old, P);
        for (int k = 0; k < HYPER_KINDS; k++) {
            if (!per[k])
                continue;
            per[k][t] = hg[k];
            /* online (HD): the shared value that the next step uses moves */
            if (cfg->opt.greedy_online_lr > 0 && t + 1 < T) {
                const int col = hyper_column(h, k, t + 1);
                for (int u = t + 1; u < T && hyper_column(h, k, u) == col; u++)
                    s.v[k][u] -= cfg->opt.greedy_online_lr * hg[k];
            }
        }
    }
    engine_phase(out, ENGINE_PHASE_NONE);
    if (rc == 0 && !be->vec.all_finite(w, P))
        rc = hg_fail(err, "greedy: inner run diverged: non-finite weights at step %d", T);
    if (rc == 0) {
        engine_phase(out, ENGINE_PHASE_VALIDATION);
        engine_keep_wT(cfg, w);
        model_evaluate(p->model, w, p->val->x, p->val->y, p->val->n, &out->val_loss,
                       &out->val_acc);
        engine_phase(out, ENGINE_PHASE_NONE);
        if (kv)
            kinds_finish(&kd);
        else
            hyper_sum_windows(h, per, out->hypergrad);
    }
    kinds_free(&kd);
    for (int k = 0; k < HYPER_KINDS; k++)
        mem_free(s.v[k]);
    real *const bufs[] = {w, v, comp, w_old, v_old, g, gf, x, mask, tan, htan};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        be->mem.free(bufs[i]);
    be->mem.free(y);
    batch_order_free(&bo);
    return rc;
}

static int greedy_check(const EngineOptions *o, HgErr *err)
{
    if (o->E && (o->opt.greedy_on_train || o->opt.greedy_online_lr > 0))
        return hg_fail(err, "%s: example weights enter the training loss that the look-ahead "
                       "on the next batch would differentiate, and online updates move values "
                       "per run only; use --greedy-target val without online updates",
                       o->opt.greedy_on_train ? "--greedy-target train" : "--greedy-online-lr");
    for (int k = 0; k < HYPER_KINDS; k++)
        if (o->per[k] != HYPER_PER_RUN && o->opt.greedy_online_lr > 0)
            return hg_fail(err, "--greedy-online-lr: the online updates move values learned "
                           "per run only, and %s is learned per %s", hyper_kind_name(k),
                           hyper_per_name(o->per[k]));
    return engine_refuse_foreign(&GREEDY_OPS, o, err);
}

static const char *greedy_definition(const EngineConfig *cfg)
{
    return cfg->opt.greedy_on_train
               ? "greedy one-step look-ahead (the derivative of the final validation loss "
                 "only when steps = 1): per-step value t is the derivative, with w_t and "
                 "v_t held fixed, of the mean loss on the next training batch (batches "
                 "row t + 1) at w_{t+1} with respect to step t's value; each learned "
                 "value's hypergradient is the sum of the per-step values over its "
                 "window's steps"
               : "greedy one-step look-ahead (the derivative of the final validation loss "
                 "only when steps = 1): per-step value t is the derivative, with w_t and "
                 "v_t held fixed, of the mean validation loss at w_{t+1} with respect to "
                 "step t's value; each learned value's hypergradient is the sum of the "
                 "per-step values over its window's steps";
}

/* exact 0: a biased estimate of the hypergradient; no state grows with T or N. */
static void greedy_describe(const EngineSettings *o, const EngineResult *r, char *buf,
                            size_t cap)
{
    if (o->greedy_on_train || o->greedy_online_lr > 0)
        snprintf(buf, cap, " (look-ahead on the %s%s)",
                 o->greedy_on_train ? "next batch" : "validation set",
                 o->greedy_online_lr > 0 ? ", online updates" : "");
}

static const char *const GREEDY_TARGETS[] = {"val", "train", NULL};

static const EngineOption GREEDY_OPTIONS[] = {
    {"--greedy-target", "val|train", "val",
     "look ahead on the validation set or on the next training batch", ENGINE_OPTION_CHOICE,
     offsetof(EngineSettings, greedy_on_train), "greedy_target", .choices = GREEDY_TARGETS},
    {"--greedy-online-lr", "X", "0",
     "update the learned values after every step with this outer learning rate; 0 = off",
     ENGINE_OPTION_REAL, offsetof(EngineSettings, greedy_online_lr), "greedy_online_lr",
     .lo = 0, .hi = INFINITY, .moves_schedule = 1},
    {0}};

const EngineOps GREEDY_OPS = {"greedy", greedy_run, greedy_check, NULL, .options = GREEDY_OPTIONS,
                              .exact = 0, .definition = greedy_definition, .plain_wT = 1,
                              .describe = greedy_describe};
