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
 * The information buffer (infobuf.h) holds the bits the momentum multiply
 * destroys, in up to NSTREAMS independent streams (slices of w), so the
 * update runs in parallel.
 */
#include <math.h>
#include <string.h>

#include "engine.h"
#include "infobuf.h"

enum {
    FIX_BITS = 44,         /* radix 2^-44: resolution 5.7e-14 */
    FIX_LIMIT_BITS = 62,   /* |fixed| < 2^62 (+-2^18 = 262144 in value) */
    NSTREAMS = 16,         /* independent buffers, one slice of w each, */
    STREAM_MIN = 2048,     /* of at least this many parameters */
};

int reversible_test_flip = -1;

static inline double flt(int64_t X)
{
    return ldexp((double)X, -FIX_BITS);
}

/* fix(x), or sets *bad to |x| when x is out of the fixed-point range. */
static inline int64_t fix(double x, double *bad)
{
    const double y = ldexp(x, FIX_BITS);
    if (!(fabs(y) < ldexp(1, FIX_LIMIT_BITS))) {
        if (!(fabs(x) <= *bad))
            *bad = fabs(x);
        return 0;
    }
    return (int64_t)llrint(y);
}

static inline int64_t checked(int64_t X, double *bad)
{
    if (X >= (INT64_C(1) << FIX_LIMIT_BITS) || X <= -(INT64_C(1) << FIX_LIMIT_BITS))
        if (!(fabs(flt(X)) <= *bad))
            *bad = fabs(flt(X));
    return X;
}

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

static int reversible_run(const EngineConfig *cfg, EngineResult *out, HgErr *err)
{
    const InnerProblem *p = cfg->prob;
    const Schedule *s = cfg->sched;
    const int T = s->T, clamp = s->clamp > 0;
    const long P = p->model->nparams, dim = dataset_dim(p->train);
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
    const long slices = P / STREAM_MIN;
    const int ns = slices < 1 ? 1 : slices > NSTREAMS ? NSTREAMS : (int)slices;
    InfoStream st[NSTREAMS];
    long lo[NSTREAMS + 1]; /* stream k holds parameters [lo[k], lo[k + 1]) */
    for (int k = 0; k <= ns; k++)
        lo[k] = P * k / ns;
    for (int k = 0; k < ns; k++) {
        /* words the floor asks for, at the bits a word holds, plus slack */
        const double bits = floor_bits * (double)(lo[k + 1] - lo[k]);
        info_stream_init(&st[k], S, (long)(bits / (63.0 - log2((double)S)) * 1.01) + 2);
    }
    int64_t *W = mem_alloc(MEM_PARAMS, sizeof(int64_t) * P);
    int64_t *V = mem_alloc(MEM_PARAMS, sizeof(int64_t) * P);
    real *w = mem_alloc(MEM_PARAMS, sizeof(real) * P), *g = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *mask = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *wb = mem_alloc(MEM_PARAMS, sizeof(real) * P), *vb = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *u = mem_alloc(MEM_PARAMS, sizeof(real) * P), *hu = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *x = mem_alloc(MEM_DATA, sizeof(real) * p->batch * dim);
    int32_t *y = mem_alloc(MEM_DATA, sizeof(int32_t) * p->batch);
    double *per[HYPER_KINDS] = {0};
    int rc = 0;
    double bad = 0;

    for (long i = 0; i < P; i++)
        W[i] = checked(fix((double)p->w0[i], &bad), &bad);
    if (bad != 0)
        rc = overflow(err, "w_0", 0, bad);

    for (int t = 0; t < T && rc == 0; t++) {
        const double a = s->v[HYPER_LR][t], l = s->v[HYPER_WD][t];
        for (long i = 0; i < P; i++)
            w[i] = (real)flt(W[i]);
        inner_batch(p, &bo, t, x, y);
        model_loss_grad(p->model, w, x, y, p->batch, g);
        if (!all_finite(g, P)) {
            rc = hg_fail(err, "reversible: inner run diverged: non-finite gradient at step %d", t);
            break;
        }
        inner_clamp(g, P, s->clamp, NULL);
#pragma omp parallel for schedule(static) reduction(max : bad)
        for (int k = 0; k < ns; k++)
            for (long i = lo[k]; i < lo[k + 1]; i++) {
                const int64_t v = info_mul(&st[k], V[i], &q[t]);
                V[i] = checked(v + fix((double)g[i] + l * flt(W[i]), &bad), &bad);
                W[i] = checked(W[i] - fix(a * flt(V[i]), &bad), &bad);
            }
        if (bad != 0)
            rc = overflow(err, "the forward pass", t, bad);
    }
    if (rc == 0) {
        for (long i = 0; i < P; i++)
            w[i] = (real)flt(W[i]);
        if (!all_finite(w, P))
            rc = hg_fail(err, "reversible: inner run diverged: non-finite weights at step %d", T);
    }
    if (rc == 0)
        model_set_grad(p->model, w, p->val->x, p->val->y, p->val->n, wb, &out->val_loss,
                       &out->val_acc);
    for (int k = 0; k < ns; k++)
        out->infobuf_bytes += (size_t)info_stream_peak_bytes(&st[k]);
    out->infobuf_floor_bytes = floor_bits * (double)P / 8;

    for (int k = 0; k < HYPER_KINDS; k++)
        if (cfg->layout->K[k])
            per[k] = out->per_step[k] = mem_alloc(MEM_OTHER, sizeof(double) * T);
    for (int t = T - 1; t >= 0 && rc == 0; t--) {
        const double a = s->v[HYPER_LR][t], l = s->v[HYPER_WD][t];
        const double m = (double)q[t].n / (double)q[t].d; /* the momentum actually run */
        double d_lr = 0, d_wd = 0, d_mom = 0;
        for (long i = 0; i < P; i++) {
            vb[i] -= (real)a * wb[i];
            d_lr -= (double)wb[i] * flt(V[i]);              /* v_{t+1} */
            W[i] += fix(a * flt(V[i]), &bad);               /* -> w_t */
            w[i] = (real)flt(W[i]);
            d_wd += (double)vb[i] * flt(W[i]);
        }
        inner_batch(p, &bo, t, x, y);
        if (clamp) { /* the tangent M_t vb needs the gradient first */
            model_loss_grad(p->model, w, x, y, p->batch, g);
            inner_clamp(g, P, s->clamp, mask);
            for (long i = 0; i < P; i++)
                u[i] = mask[i] * vb[i];
            model_hvp(p->model, w, x, y, p->batch, u, hu);
        } else { /* gradient and H vb from one pass */
            model_hvp_block(p->model, w, x, y, p->batch, 1, vb, hu, g);
        }
        if (t == reversible_test_flip)
            g[P / 2] += (real)1e-3;
#pragma omp parallel for schedule(static) reduction(max : bad)
        for (int k = 0; k < ns; k++)
            for (long i = lo[k + 1] - 1; i >= lo[k]; i--) { /* the buffer is a stack */
                const int64_t v = V[i] - fix((double)g[i] + l * flt(W[i]), &bad);
                V[i] = info_div(&st[k], v, &q[t]);          /* -> v_t */
            }
        for (long i = 0; i < P; i++) {
            d_mom += (double)vb[i] * flt(V[i]);
            wb[i] += hu[i] + (real)l * vb[i];
            vb[i] *= (real)m;
        }
        if (per[HYPER_LR])
            per[HYPER_LR][t] = d_lr;
        if (per[HYPER_MOM])
            per[HYPER_MOM][t] = d_mom;
        if (per[HYPER_WD])
            per[HYPER_WD][t] = d_wd;
        if (!all_finite(wb, P))
            rc = hg_fail(err, "reversible: reverse pass diverged at step %d", t);
    }

    /* The reversal must be exact: w_0, v_0 = 0 and an empty buffer. */
    if (rc == 0) {
        double none = 0;
        long wrong = 0, first = -1, open = 0;
        for (long i = 0; i < P; i++)
            if (W[i] != fix((double)p->w0[i], &none) || V[i] != 0)
                wrong++, first = first < 0 ? i : first;
        for (int k = 0; k < ns; k++)
            open += !info_stream_empty(&st[k]);
        if (wrong || open)
            rc = hg_fail(err, "reversible: the reverse pass did not restore w_0 and v_0 bit for "
                         "bit (%ld parameters differ, first at index %ld; %ld of %d buffer "
                         "streams not empty): the recomputed gradients are not bitwise "
                         "reproducible or the buffer is corrupt", wrong, first, open, ns);
    }
    if (rc == 0)
        hyper_sum_windows(cfg->layout, per, out->hypergrad);

    for (int k = 0; k < ns; k++)
        info_stream_free(&st[k]);
    mem_free(q);
    mem_free(W);
    mem_free(V);
    mem_free(w);
    mem_free(g);
    mem_free(mask);
    mem_free(wb);
    mem_free(vb);
    mem_free(u);
    mem_free(hu);
    mem_free(x);
    mem_free(y);
    batch_order_free(&bo);
    return rc;
}

static int reversible_check(const EngineOptions *o, HgErr *err)
{
    if (o->kahan)
        return hg_fail(err, "--kahan: the reversible engine's weight update is exact fixed-point "
                       "arithmetic; nothing is rounded away to compensate");
    return engine_refuse_foreign("reversible", o, "", err);
}

/* DESIGN.md: the information buffer's floor, sum_t P log2(1/m_t) / 8 bytes
 * (measured by the run); its w and v (2 P int64) are counted under params. */
static double reversible_formula_bytes(long P, int T, int N, const EngineResult *r)
{
    return r ? r->infobuf_floor_bytes : 0;
}

const EngineOps REVERSIBLE_OPS = {"reversible", reversible_run, reversible_check, NULL,
                                  .takes = "", .exact = 1, .reverse = 1, .infobuf = 1,
                                  .formula_bytes = reversible_formula_bytes};
