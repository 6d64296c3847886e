/* reversible.c — exact reversal of SGD with momentum (Maclaurin et al. 2015;
 * DESIGN.md engine 2).
 *
 * w and v live in int64 fixed point (radix 2^-FIX_BITS). Each step is
 *   V = V * n_t/d_t        (m_t as an exact rational; the bits it destroys
 *                           go to an information buffer, bits it needs come
 *                           back out of it)
 *   V = V + fix(g_t + l_t float(W));   W = W - fix(a_t float(V))
 * and the reverse pass undoes it bit for bit, recomputing g_t on the rebuilt
 * w_t, while running BPTT's adjoint recursion. After the reverse pass W and V
 * must equal fix(w_0) and 0 exactly and the buffer must be empty: checked on
 * every run, a mismatch is an error.
 *
 * The information buffer (backend/infobuf.h) holds the bits the momentum
 * multiply destroys, in the backend's independent streams (one per slice of
 * w), so the update runs in parallel. The fixed-point steps are the
 * backend's fix_* ops; this file is the recursion.
 *
 * Weight decay per layer or per weight (kinds.h) is folded into the
 * gradient, g' = g + l_t (.) float(W), and the fixed-point step runs with
 * l = 0: g' is recomputed bit for bit from the rebuilt W on the way back,
 * so the reversal stays exact (checked as always). Its hypergradient is
 * vb (.) w_t summed over each value's range, and wb gets l_t (.) vb through
 * the HVP's output.
 *
 * A learning rate per layer: V's half of the step runs over all of w in
 * the buffer's stream order with a = 0, then W's half once per block b:
 *   W[b] -= fix(a_{t,b} float(V[b]))
 * and on the way back fix_unstep_w runs per block with a_{t,b}:
 *   vb[b] -= a_{t,b} wb[b];  W[b] += fix(a_{t,b} float(V[b]))
 *   dF/da_{t,b} = - sum_{i in b} wb_i float(V_i)     (V = v_{t+1})
 * W's update is entrywise, so the split changes no bit of the run. Momentum
 * per layer is refused: the fixed-point step takes one exact rational m_t
 * per step, whose remainders the buffer's streams pop in a fixed order; a
 * per-layer momentum would need a rational per block in every stream.
 */
#include <math.h>

#include "../backend/fixed_point.h"
#include "engine.h"
#include "kinds.h"

int reversible_test_flip = -1;

static int overflow(HgErr *err, const char *where, int t, double bad)
{
    return hg_fail(err, "reversible: fixed-point overflow in %s at step %d: |value| = %.6g "
                   "exceeds the range +-%.6g (int64, radix 2^-%d); the run is diverging "
                   "or needs smaller steps", where, t, bad, ldexp(1, FIX_LIMIT_BITS - FIX_BITS),
                   FIX_BITS);
}

/* Momentum as rationals; refuses m outside (0, 1) before any work. */
static int rationals(const Schedule *s, InfoRational *q, uint64_t *sentinel, double *floor_bits,
                     HgErr *err)
{
    uint64_t S = 1;
    double bits = 0;
    for (int t = 0; t < s->T; t++) {
        const double m = s->v[HYPER_MOM][t];
        if (!(m > 0 && m < 1))
            return hg_fail(err, "reversible: momentum %g at step %d: exact reversal needs "
                           "0 < momentum < 1 (momentum 0 destroys v and cannot be undone; "
                           "use --engine bptt or forward)", m, t);
        if (info_rational(m, &q[t]))
            return hg_fail(err, "reversible: momentum %.17g at step %d is within 1/%d of 0 "
                           "or 1: no exact rational for it", m, t, INFO_DEN_MAX);
        S = q[t].need > S ? q[t].need : S;
        bits += log2(1 / m);
    }
    *sentinel = S;
    *floor_bits = bits;
    return 0;
}

/* fix_unstep_w per block with its a_{t,b}: each block's lr derivative
 * into hypergrad's column; returns the wd derivative summed over blocks. */
static double unstep_w_blocks(const Backend *be, Kinds *kd, int t, int64_t *W, const int64_t *V,
                              real *w, const real *wb, real *vb, double *hypergrad)
{
    const long col = hyper_column(kd->h, HYPER_LR, t);
    double d_wd = 0;
    for (int b = 0; b < kd->L; b++) {
        const long o = kd->start[b];
        double lr, wd;
        be->fix.fix_unstep_w(W + o, V + o, w + o, wb + o, vb + o, kd->start[b + 1] - o,
                             kinds_value(kd, HYPER_LR, t, b), &lr, &wd);
        hypergrad[col + b] += lr;
        d_wd += wd;
    }
    return d_wd;
}

static int reversible_run(const EngineConfig *cfg, EngineResult *out, HgErr *err)
{
    const InnerProblem *p = cfg->prob;
    const Backend *be = inner_backend(p);
    const Schedule *s = cfg->sched;
    const int T = s->T, clamp = s->clamp > 0;
    const long P = p->model->nparams, dim = dataset_dim(p->train);
    const size_t bytes = sizeof(real) * P;
    if (p->round_noise != ROUND_NOISE_OFF) /* no stored run to round: it replays exactly */
        return hg_fail(err, "--round-noise %s: the reversible engine's run is exact fixed-point "
                       "arithmetic, replayed backwards; it has no rounded update to perturb",
                       round_noise_name(p->round_noise));
    InfoRational *q = mem_alloc(MEM_OTHER, sizeof(InfoRational) * T);
    uint64_t S = 1;
    double floor_bits = 0;
    if (rationals(s, q, &S, &floor_bits, err)) {
        mem_free(q);
        return -1;
    }
    BatchOrder bo;
    if (inner_batches(p, &bo, err)) {
        mem_free(q);
        return -1;
    }
    const long fails = mem_failures(); /* the buffers below: out of memory is an error */
    FixStreams *st = be->fix.fix_streams_new(P, S, floor_bits);
    int64_t *W = be->mem.alloc(MEM_PARAMS, sizeof(int64_t) * P);
    int64_t *V = be->mem.alloc(MEM_PARAMS, sizeof(int64_t) * P);
    real *w = be->mem.alloc(MEM_PARAMS, bytes), *g = be->mem.alloc(MEM_PARAMS, bytes);
    real *mask = be->mem.alloc(MEM_PARAMS, bytes);
    real *wb = be->mem.alloc(MEM_PARAMS, bytes), *vb = be->mem.alloc(MEM_PARAMS, bytes);
    real *u = be->mem.alloc(MEM_PARAMS, bytes), *hu = be->mem.alloc(MEM_PARAMS, bytes);
    real *x = be->mem.alloc(MEM_DATA, sizeof(real) * p->batch * dim);
    int32_t *y = be->mem.alloc(MEM_DATA, sizeof(int32_t) * p->batch);
    double *per[HYPER_KINDS] = {0};
    int rc = mem_failures() != fails ? mem_oom_error(err, "reversible") : 0;
    const int kv = hyper_layout_vector(cfg->layout); /* kinds.h's path */
    const HyperLayout *h = cfg->layout; /* weight decay per layer or weight: folded into g */
    const int wv = h->K[HYPER_WD] && h->per[HYPER_WD] != HYPER_PER_RUN;
    const int lv = h->K[HYPER_LR] && h->per[HYPER_LR] == HYPER_PER_LAYER; /* W's half per block */
    Kinds kd = {0};
    if (rc == 0 && kv)
        rc = kinds_init(&kd, cfg, out->hypergrad, err);
    double bad = rc ? 0 : be->fix.fix_load(W, p->w0, P);
    if (bad != 0)
        rc = overflow(err, "w_0", 0, bad);

    engine_phase(out, ENGINE_PHASE_INNER);
    for (int t = 0; t < T && rc == 0; t++) {
        if ((rc = engine_interrupted(cfg, "reversible", t, err)))
            break;
        const double a = s->v[HYPER_LR][t], l = s->v[HYPER_WD][t];
        be->fix.fix_to_real(w, W, P);
        inner_batch(p, &bo, t, x, y);
        kinds_weigh(&kd, batch_order_step(&bo, t)); /* example weights (kv only) */
        model_loss_grad(p->model, w, x, y, p->batch, g);
        kinds_unweigh(&kd);
        if (!be->vec.all_finite(g, P)) {
            rc = hg_fail(err, "reversible: inner run diverged: non-finite gradient at step %d", t);
            break;
        }
        be->vec.clamp(g, P, s->clamp, NULL);
        if (wv)
            kinds_decay_add(&kd, t, g, w); /* g' = g + l_t (.) w_t; l below is 0 */
        bad = be->fix.fix_step(st, W, V, g, &q[t], lv ? 0 : a, wv ? 0 : l);
        for (int b = 0; lv && b < kd.L; b++) {
            const long o = kd.start[b];
            bad = fmax(bad, be->fix.fix_step_w(W + o, V + o, kd.start[b + 1] - o,
                                               kinds_value(&kd, HYPER_LR, t, b)));
        }
        if (bad != 0)
            rc = overflow(err, "the forward pass", t, bad);
    }
    if (rc == 0) {
        be->fix.fix_to_real(w, W, P);
        if (!be->vec.all_finite(w, P))
            rc = hg_fail(err, "reversible: inner run diverged: non-finite weights at step %d", T);
    }
    engine_phase(out, ENGINE_PHASE_VALIDATION);
    if (rc == 0) {
        engine_keep_wT(cfg, w);
        model_set_grad(p->model, w, p->val->x, p->val->y, p->val->n, wb, &out->val_loss,
                       &out->val_acc);
    }
    engine_phase(out, ENGINE_PHASE_NONE);
    out->infobuf_bytes = be->fix.fix_streams_peak_bytes(st);
    out->infobuf_floor_bytes = floor_bits * (double)P / 8;

    for (int k = 0; k < HYPER_KINDS; k++)
        if (cfg->layout->K[k] && !(wv && k == HYPER_WD) && !(lv && k == HYPER_LR))
            per[k] = out->per_step[k] = mem_alloc(MEM_OTHER, sizeof(double) * T);
    engine_phase(out, ENGINE_PHASE_HYPERGRAD);
    for (int t = T - 1; t >= 0 && rc == 0; t--) {
        if ((rc = engine_interrupted(cfg, "reversible", t, err)))
            break;
        const double a = s->v[HYPER_LR][t], l = wv ? 0 : s->v[HYPER_WD][t];
        const double m = (double)q[t].n / (double)q[t].d; /* the momentum actually run */
        double d_lr = 0, d_wd = 0;
        /* vb -= a wb; W -> w_t (rebuilding w); the lr and wd derivatives */
        if (lv)
            d_wd = unstep_w_blocks(be, &kd, t, W, V, w, wb, vb, out->hypergrad);
        else
            be->fix.fix_unstep_w(W, V, w, wb, vb, P, a, &d_lr, &d_wd);
        if (wv)
            kinds_accumulate(&kd, HYPER_WD, t, vb, w, 1, 0);
        inner_batch(p, &bo, t, x, y);
        kinds_weigh(&kd, batch_order_step(&bo, t));
        if (clamp) { /* the tangent M_t vb needs the gradient first */
            model_loss_grad(p->model, w, x, y, p->batch, g);
            be->vec.clamp(g, P, s->clamp, mask);
            be->vec.mul(u, mask, vb, P);
            model_hvp(p->model, w, x, y, p->batch, u, hu);
        } else { /* gradient and H vb from one pass */
            model_hvp_block(p->model, w, x, y, p->batch, 1, vb, hu, g);
        }
        kinds_example_grads(&kd, batch_order_step(&bo, t), y, 1); /* (M vb) . grad l_i */
        kinds_unweigh(&kd);
        engine_clamp_hvp(be, cfg->opt.hvp_clamp, hu, P);
        if (t == reversible_test_flip) { /* g is device memory: through the backend */
            real gi;
            be->mem.download(&gi, g + P / 2, sizeof gi);
            gi += (real)1e-3;
            be->mem.upload(g + P / 2, &gi, sizeof gi);
        }
        if (wv) { /* g' as the forward pass made it; hu += l_t (.) vb */
            kinds_decay_add(&kd, t, g, w);
            kinds_decay_add(&kd, t, hu, vb);
        }
        be->fix.fix_unstep_v(st, W, V, g, &q[t], l); /* V -> v_t */
        const double d_mom = be->fix.fix_adjoint(wb, vb, hu, V, P, l, m);
        if (per[HYPER_LR])
            per[HYPER_LR][t] = d_lr;
        if (per[HYPER_MOM])
            per[HYPER_MOM][t] = d_mom;
        if (per[HYPER_WD])
            per[HYPER_WD][t] = d_wd;
        if (!be->vec.all_finite(wb, P))
            rc = hg_fail(err, "reversible: reverse pass diverged at step %d", t);
    }

    engine_phase(out, ENGINE_PHASE_NONE);
    /* The reversal must be exact: w_0, v_0 = 0 and an empty buffer. */
    if (rc == 0) {
        long first;
        const long wrong = be->fix.fix_mismatch(W, V, p->w0, P, &first);
        const int open = be->fix.fix_streams_open(st);
        if (wrong || open)
            rc = hg_fail(err, "reversible: the reverse pass did not restore w_0 and v_0 bit for "
                         "bit (%ld parameters differ, first at index %ld; %d of %d buffer "
                         "streams not empty): the recomputed gradients are not bitwise "
                         "reproducible or the buffer is corrupt", wrong, first, open,
                         be->fix.fix_streams_count(st));
    }
    if (rc == 0 && kv) { /* lr and mom per run (wd too unless kinds summed it) */
        for (int k = 0; k < HYPER_KINDS; k++)
            for (int t = 0; per[k] && t < T; t++)
                out->hypergrad[hyper_column(cfg->layout, k, t)] += per[k][t];
        kinds_finish(&kd);
    } else if (rc == 0) {
        hyper_sum_windows(cfg->layout, per, out->hypergrad);
    }
    kinds_free(&kd);
    be->fix.fix_streams_free(st);
    mem_free(q);
    real *const bufs[] = {w, g, mask, wb, vb, u, hu, x};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        be->mem.free(bufs[i]);
    be->mem.free(W);
    be->mem.free(V);
    be->mem.free(y);
    batch_order_free(&bo);
    return rc;
}

static int reversible_check(const EngineOptions *o, HgErr *err)
{
    if (o->per[HYPER_MOM] != HYPER_PER_RUN)
        return hg_fail(err, "reversible: mom per %s: its exact fixed-point step takes one "
                       "rational momentum per step (the information buffer's remainders are "
                       "those of one m_t); the learning rate may be per layer, weight decay per "
                       "layer or per weight. Use bptt or checkpoint",
                       hyper_per_name(o->per[HYPER_MOM]));
    if (o->kahan)
        return hg_fail(err, "--kahan: the reversible engine's weight update is exact fixed-point "
                       "arithmetic; nothing is rounded away to compensate");
    return engine_refuse_foreign(&REVERSIBLE_OPS, o, err);
}

/* DESIGN.md: the information buffer's floor, sum_t P log2(1/m_t) / 8 bytes
 * (measured by the run); its w and v (2 P int64) are counted under params. */
static double reversible_formula_bytes(long P, int T, int N, const EngineResult *r)
{
    return r ? r->infobuf_floor_bytes : 0;
}

static const EngineOption REVERSIBLE_OPTIONS[] = {ENGINE_OPTION_HVP_CLAMP, {0}};

const EngineOps REVERSIBLE_OPS = {"reversible", reversible_run, reversible_check, NULL,
                                  .options = REVERSIBLE_OPTIONS, .exact = 1, .reverse = 1, .infobuf = 1,
                                  .formula_bytes = reversible_formula_bytes};
