/* bptt.c — reverse mode through the stored trajectory (DESIGN.md, engine 1).
 *
 * Forward: the inner run, storing w_t (t < T) and v_{t+1} (memory 2 T P
 * reals, tagged "trajectory"; with a clamp also the masks M_t, one bit per
 * parameter per step). Reverse, with wb = df/dw, vb = df/dv:
 *   vb -= a_t wb;  df/da_t = -wb.v_{t+1};  df/dm_t = vb.v_t;  df/dl_t = vb.w_t
 *   wb += H_t (M_t vb) + l_t vb;  vb = m_t vb
 * (--hvp-clamp C: each entry of H_t (M_t vb) clamped to [-C, C] first.)
 * One HVP per step, whatever the number of hyperparameters. With truncation
 * only the last `truncate` steps are differentiated (earlier per-step
 * hypergradients are 0): biased, as Shaban et al. 2019. cfg->trajectory
 * hands the forward pass out (record) or replaces it (replay): a float32
 * run's trajectory differentiated in float64 separates the rounding of the
 * run from that of the reverse pass. The hook sees host memory: on a device
 * backend the trajectory is staged through host copies (below).
 * Kinds learned per layer or per weight take the per-parameter path of
 * kinds.h (its header: the same recursion with a_t, m_t, l_t vectors).
 */
#include <stddef.h>
#include <stdio.h>

#include "engine.h"
#include "kinds.h"

size_t bptt_trajectory_bytes(long P, int T, int clamp)
{
    return (size_t)2 * T * P * sizeof(real) + (clamp ? (size_t)T * ((P + 63) / 64) * 8 : 0);
}

static void bptt_state(long P, const EngineOptions *o, int clamp, EngineState *st)
{
    const int T = o->T;
    st->bytes = (double)bptt_trajectory_bytes(P, T, clamp);
    snprintf(st->what, sizeof st->what, "the trajectory (2 T P = 2 x %d x %ld reals of %zu "
             "bytes%s)", T, P, sizeof(real), clamp ? ", plus clamp masks" : "");
    snprintf(st->remedy, sizeof st->remedy, "use fewer steps, or the reversible or forward "
             "engine");
}

static int bptt_check(const EngineOptions *o, HgErr *err)
{
    if (o->opt.truncate > o->T)
        return hg_fail(err, "--truncate %d: more than the %d steps (--steps)", o->opt.truncate,
                       o->T);
    return engine_refuse_foreign(&BPTT_OPS, o, err);
}

/* Host copies of the trajectory for a hook on a device backend (tagged
 * "other": the trajectory counted is the device's). */
typedef struct Staged {
    real *W, *V, *wT;
    uint64_t *M;
} Staged;

static void staged_free(Staged *h)
{
    mem_free(h->W);
    mem_free(h->V);
    mem_free(h->wT);
    mem_free(h->M);
}

static int staged_alloc(int T, long P, int clamp, Staged *h, HgErr *err)
{
    const long fails = mem_failures();
    h->W = mem_try_alloc(MEM_OTHER, sizeof(real) * T * P);
    h->V = mem_try_alloc(MEM_OTHER, sizeof(real) * T * P);
    h->wT = mem_try_alloc(MEM_OTHER, sizeof(real) * P);
    h->M = clamp ? mem_try_alloc(MEM_OTHER, sizeof(uint64_t) * T * ((P + 63) / 64)) : NULL;
    if (mem_failures() == fails)
        return 0;
    staged_free(h);
    return mem_oom_error(err, "bptt: the host copy of the trajectory");
}

/* hook->record on bptt's buffers: as they are on the CPU, downloaded first
 * on a device. */
static int trajectory_record(const TrajectoryHook *hook, const Backend *be, int T, long P,
                             const real *W, const real *V, const uint64_t *M, const real *wT,
                             HgErr *err)
{
    if (!be->device_memory)
        return hook->record(hook->ctx, T, P, W, V, M, wT, err);
    Staged h;
    if (staged_alloc(T, P, M != NULL, &h, err))
        return -1;
    const size_t row = sizeof(real) * P;
    be->mem.download(h.W, W, row * T);
    be->mem.download(h.V, V, row * T);
    be->mem.download(h.wT, wT, row);
    if (M)
        be->mem.download(h.M, M, sizeof(uint64_t) * T * ((P + 63) / 64));
    const int rc = hook->record(hook->ctx, T, P, h.W, h.V, h.M, h.wT, err);
    staged_free(&h);
    return rc;
}

/* hook->replay into bptt's buffers: directly on the CPU, uploaded after on
 * a device. */
static int trajectory_replay(const TrajectoryHook *hook, const Backend *be, int T, long P,
                             real *W, real *V, uint64_t *M, real *wT, HgErr *err)
{
    if (!be->device_memory)
        return hook->replay(hook->ctx, T, P, W, V, M, wT, err);
    Staged h;
    if (staged_alloc(T, P, M != NULL, &h, err))
        return -1;
    const int rc = hook->replay(hook->ctx, T, P, h.W, h.V, h.M, h.wT, err);
    if (rc == 0) {
        const size_t row = sizeof(real) * P;
        be->mem.upload(W, h.W, row * T);
        be->mem.upload(V, h.V, row * T);
        be->mem.upload(wT, h.wT, row);
        if (M)
            be->mem.upload(M, h.M, sizeof(uint64_t) * T * ((P + 63) / 64));
    }
    staged_free(&h);
    return rc;
}

static int bptt_run(const EngineConfig *cfg, EngineResult *out, HgErr *err)
{
    const InnerProblem *p = cfg->prob;
    const Backend *be = inner_backend(p);
    const Schedule *s = cfg->sched;
    const int T = s->T, clamp = s->clamp > 0;
    const long P = p->model->nparams, dim = dataset_dim(p->train), words = (P + 63) / 64;
    const size_t bytes = sizeof(real) * P;
    EngineState st;
    const EngineOptions opts = engine_options(cfg);
    if (engine_check_state(&BPTT_OPS, P, &opts, clamp, &st, err) ||
        engine_check_device(&BPTT_OPS, be, &st, err))
        return -1;
    BatchOrder bo;
    if (inner_batches(p, &bo, err))
        return -1;
    const long fails = mem_failures(); /* the buffers below: out of memory is an error */
    real *W = be->mem.alloc(MEM_TRAJECTORY, bytes * T);   /* w_t */
    real *V = be->mem.alloc(MEM_TRAJECTORY, bytes * T);   /* v_{t+1} */
    uint64_t *M = clamp ? be->mem.alloc(MEM_TRAJECTORY, sizeof(uint64_t) * T * words) : NULL;
    real *w = be->mem.alloc(MEM_PARAMS, bytes), *v = be->mem.alloc(MEM_PARAMS, bytes);
    real *g = be->mem.alloc(MEM_PARAMS, bytes), *mask = be->mem.alloc(MEM_PARAMS, bytes);
    real *wb = be->mem.alloc(MEM_PARAMS, bytes), *vb = be->mem.alloc(MEM_PARAMS, bytes);
    real *u = be->mem.alloc(MEM_PARAMS, bytes), *hu = be->mem.alloc(MEM_PARAMS, bytes);
    real *x = be->mem.alloc(MEM_DATA, sizeof(real) * p->batch * dim);
    int32_t *y = be->mem.alloc(MEM_DATA, sizeof(int32_t) * p->batch);
    real *comp = inner_comp_alloc(p);
    double *per[HYPER_KINDS] = {0};
    const TrajectoryHook *hook = cfg->trajectory;
    int rc = mem_failures() != fails ? mem_oom_error(err, "bptt") : 0;
    const int kv = hyper_layout_vector(cfg->layout); /* the per-parameter path */
    Kinds kd = {0};
    if (rc == 0 && kv)
        rc = kinds_init(&kd, cfg, out->hypergrad, err);
    if (rc == 0)
        be->mem.copy(w, p->w0, bytes);

    if (rc == 0 && hook && hook->replay) {
        rc = trajectory_replay(hook, be, T, P, W, V, M, w, err);
        if (rc == 0 && !(be->vec.all_finite(W, (long)T * P) && be->vec.all_finite(V, (long)T * P)))
            rc = hg_fail(err, "bptt: the replayed trajectory holds non-finite values");
    }
    engine_phase(out, ENGINE_PHASE_INNER);
    for (int t = 0; t < T && rc == 0 && !(hook && hook->replay); t++) {
        if ((rc = engine_interrupted(cfg, "bptt", t, err)))
            break;
        be->mem.copy(W + (long)t * P, w, bytes);
        inner_batch(p, &bo, t, x, y);
        kinds_weigh(&kd, batch_order_step(&bo, t)); /* example weights (kv only) */
        model_loss_grad(p->model, w, x, y, p->batch, g);
        kinds_unweigh(&kd);
        if (!be->vec.all_finite(g, P)) {
            rc = hg_fail(err, "bptt: inner run diverged: non-finite gradient at step %d", t);
            break;
        }
        be->vec.clamp(g, P, s->clamp, mask);
        if (clamp) /* mask bits, for the reverse pass */
            be->vec.mask_pack(mask, P, M + t * words);
        if (kv)
            kinds_sgd_step(&kd, t, w, v, comp, g);
        else
            be->vec.sgd_step(w, v, comp, g, P, s->v[HYPER_LR][t], s->v[HYPER_MOM][t], s->v[HYPER_WD][t]);
        inner_round(p, t, w, v); /* --round-noise: stored rounded, identity in reverse */
        be->mem.copy(V + (long)t * P, v, bytes);
    }
    engine_phase(out, ENGINE_PHASE_NONE);
    if (rc == 0 && !be->vec.all_finite(w, P))
        rc = hg_fail(err, "bptt: inner run diverged: non-finite weights at step %d", T);
    if (rc == 0 && hook && hook->record)
        rc = trajectory_record(hook, be, T, P, W, V, M, w, err);
    engine_phase(out, ENGINE_PHASE_VALIDATION);
    if (rc == 0) {
        engine_keep_wT(cfg, w);
        model_set_grad(p->model, w, p->val->x, p->val->y, p->val->n, wb, &out->val_loss,
                       &out->val_acc);
    }

    for (int k = 0; k < HYPER_KINDS && !kv; k++)
        if (cfg->layout->K[k])
            per[k] = out->per_step[k] = mem_alloc(MEM_OTHER, sizeof(double) * T);
    const int stop = cfg->opt.truncate > 0 && cfg->opt.truncate < T ? T - cfg->opt.truncate : 0;
    engine_phase(out, ENGINE_PHASE_HYPERGRAD);
    for (int t = T - 1; t >= stop && rc == 0; t--) {
        if ((rc = engine_interrupted(cfg, "bptt", t, err)))
            break;
        const double a = s->v[HYPER_LR][t], m = s->v[HYPER_MOM][t], l = s->v[HYPER_WD][t];
        const real *wt = W + (long)t * P, *vt1 = V + (long)t * P;
        if (kv) {
            kinds_adjoint_lr(&kd, t, wb, vb);
            kinds_accumulate(&kd, HYPER_LR, t, wb, vt1, -1, 0);
            if (t > 0) /* v_0 = 0 */
                kinds_accumulate(&kd, HYPER_MOM, t, vb, V + (long)(t - 1) * P, 1, 0);
            kinds_accumulate(&kd, HYPER_WD, t, vb, wt, 1, 0);
        } else {
            be->vec.axpy(vb, -a, wb, P);
        }
        if (per[HYPER_LR])
            per[HYPER_LR][t] = -be->vec.dot(wb, vt1, P);
        if (per[HYPER_MOM]) /* v_0 = 0 */
            per[HYPER_MOM][t] = t > 0 ? be->vec.dot(vb, V + (long)(t - 1) * P, P) : 0;
        if (per[HYPER_WD])
            per[HYPER_WD][t] = be->vec.dot(vb, wt, P);
        if (clamp) /* u = M_t vb */
            be->vec.mask_select(M + t * words, vb, P, u);
        else
            be->mem.copy(u, vb, bytes);
        inner_batch(p, &bo, t, x, y);
        kinds_weigh(&kd, batch_order_step(&bo, t));
        model_hvp(p->model, wt, x, y, p->batch, u, hu);
        kinds_example_grads(&kd, batch_order_step(&bo, t), y, 1); /* u . grad l_i */
        kinds_unweigh(&kd);
        engine_clamp_hvp(be, cfg->opt.hvp_clamp, hu, P);
        if (kv)
            kinds_adjoint(&kd, t, wb, vb, hu);
        else
            be->vec.sgd_adjoint(wb, vb, hu, P, l, m);
        if (!be->vec.all_finite(wb, P))
            rc = hg_fail(err, "bptt: reverse pass diverged at step %d", t);
    }
    engine_phase(out, ENGINE_PHASE_NONE);
    if (rc == 0 && kv)
        kinds_finish(&kd);
    else if (rc == 0)
        hyper_sum_windows(cfg->layout, per, out->hypergrad);
    kinds_free(&kd);

    real *const bufs[] = {W, V, w, v, g, mask, wb, vb, u, hu, comp, x};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        be->mem.free(bufs[i]);
    be->mem.free(M);
    be->mem.free(y);
    batch_order_free(&bo);
    return rc;
}

/* DESIGN.md: the trajectory, 2 T P reals. */
static double bptt_formula_bytes(long P, int T, int N, const EngineResult *r)
{
    return 2.0 * T * P * sizeof(real);
}

static const char *bptt_definition(const EngineConfig *cfg)
{
    if (cfg->opt.truncate <= 0)
        return NULL; /* the exact derivative */
    return "truncated back-propagation: each value is the derivative of the mean "
           "validation loss at w_T with respect to that shared value, through the last "
           "`truncate` steps only (per-step derivatives of earlier steps are taken as 0; "
           "biased), summed over its window's steps";
}

static void bptt_describe(const EngineSettings *o, const EngineResult *r, char *buf, size_t cap)
{
    if (o->truncate > 0)
        snprintf(buf, cap, " (truncated to the last %d steps)", o->truncate);
}

static const EngineOption BPTT_OPTIONS[] = {
    {"--truncate", "K", "0", "differentiate through the last K steps (biased); 0 = all",
     ENGINE_OPTION_INT, offsetof(EngineSettings, truncate), "truncate", .lo = 0, .hi = 10000000},
    ENGINE_OPTION_HVP_CLAMP,
    {0}};

const EngineOps BPTT_OPS = {"bptt", bptt_run, bptt_check, bptt_state, .options = BPTT_OPTIONS,
                            .trajectory = 1, .exact = 1, .reverse = 1, .plain_wT = 1,
                            .formula_bytes = bptt_formula_bytes,
                            .definition = bptt_definition, .describe = bptt_describe};
