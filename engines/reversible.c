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
 * The buffer. Multiplying x by n/d: push x mod d (radix d), x = (x div d) n,
 * then pop a digit of radix n into x's low part. Net growth log2(d/n) =
 * log2(1/m) bits, the floor. Push and pop act on one big number per stream
 * (a slice of the parameters), kept as a 64-bit word `acc` plus a stack of
 * full words. A pair (push d, pop n) is acc' = (acc d + r) div n with the
 * 128-bit intermediate, so a word fills to within log2(d/n) bits of 2^64.
 * A word that is full is pushed to the stack and acc restarts at the
 * sentinel S = max_t ceil(n_t / (d_t - n_t)): from S upward every pair
 * strictly increases acc, so in reverse acc == S (with a word on the stack)
 * says exactly where a word was started. Cost: log2(S) bits per 64-bit word
 * (3.2 bits at m = 0.9), so the buffer stays within ~6% of its floor.
 */
#include <math.h>
#include <string.h>

#include "engine.h"

enum {
    FIX_BITS = 44,         /* radix 2^-44: resolution 5.7e-14 */
    FIX_LIMIT_BITS = 62,   /* |fixed| < 2^62 (+-2^18 = 262144 in value) */
    MOM_DEN_MAX = 1 << 16, /* m_t ~ n/d with d <= 2^16: |m - n/d| < 1e-9 */
    NSTREAMS = 16,         /* independent buffers, one slice of w each, */
    STREAM_MIN = 2048,     /* of at least this many parameters */
};

typedef unsigned __int128 u128;

int reversible_test_flip = -1;

typedef struct Rational {
    int64_t n, d;
    uint64_t spill; /* a stream's acc above this is full: pushed before the pair */
} Rational;

typedef struct Stream {
    long lo, hi;         /* its parameters */
    uint64_t acc;        /* the open word */
    uint64_t *words;     /* full words, a stack */
    long count, cap, peak;
} Stream;

/* The best rational approximation n/d of m in (0, 1) with d <= dmax
 * (continued fractions, with the last semiconvergent considered). */
static void best_rational(double m, int64_t dmax, int64_t *n_out, int64_t *d_out)
{
    int64_t p0 = 0, q0 = 1, p1 = 1, q1 = 0; /* convergents p/q */
    double x = m;
    for (int it = 0; it < 64; it++) {
        const double a_f = floor(x);
        const int64_t a = (int64_t)a_f;
        if (q1 && a > (dmax - q0) / q1) { /* the next convergent is too big */
            const int64_t k = (dmax - q0) / q1; /* semiconvergent */
            const int64_t ps = p0 + k * p1, qs = q0 + k * q1;
            if (fabs((double)ps / qs - m) < fabs((double)p1 / q1 - m))
                p1 = ps, q1 = qs;
            break;
        }
        const int64_t p2 = a * p1 + p0, q2 = a * q1 + q0;
        p0 = p1, q0 = q1, p1 = p2, q1 = q2;
        if (x == a_f || fabs((double)p1 / q1 - m) == 0)
            break;
        x = 1.0 / (x - a_f);
    }
    *n_out = p1;
    *d_out = q1;
}

static int64_t floor_div(int64_t x, int64_t d)
{
    const int64_t q = x / d;
    return q - (x % d < 0);
}

static void stream_push_word(Stream *s)
{
    if (s->count == s->cap) { /* rarely: the initial estimate was short */
        const long cap = s->cap + s->cap / 4 + 8;
        uint64_t *w = mem_alloc(MEM_INFOBUF, sizeof(uint64_t) * cap);
        memcpy(w, s->words, sizeof(uint64_t) * s->count);
        mem_free(s->words);
        s->words = w;
        s->cap = cap;
    }
    s->words[s->count++] = s->acc;
    if (s->count > s->peak)
        s->peak = s->count;
}

/* V = V n/d exactly, trading digits with the stream. */
static inline int64_t mul_push(Stream *s, int64_t V, const Rational *q, uint64_t sentinel)
{
    const int64_t hi = floor_div(V, q->d), r = V - hi * q->d;
    if (s->acc > q->spill) {
        stream_push_word(s);
        s->acc = sentinel;
    }
    const u128 X = (u128)s->acc * (uint64_t)q->d + (uint64_t)r;
    s->acc = (uint64_t)(X / (uint64_t)q->n);
    return hi * q->n + (int64_t)(X % (uint64_t)q->n);
}

/* The exact inverse of mul_push. */
static inline int64_t div_pop(Stream *s, int64_t V, const Rational *q, uint64_t sentinel)
{
    const int64_t hi = floor_div(V, q->n), r = V - hi * q->n;
    const u128 X = (u128)s->acc * (uint64_t)q->n + (uint64_t)r;
    s->acc = (uint64_t)(X / (uint64_t)q->d);
    const int64_t V0 = hi * q->d + (int64_t)(X % (uint64_t)q->d);
    if (s->acc == sentinel && s->count > 0)
        s->acc = s->words[--s->count];
    return V0;
}

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
static int rationals(const Schedule *s, Rational *q, uint64_t *sentinel, double *floor_bits,
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
        best_rational(m, MOM_DEN_MAX, &q[t].n, &q[t].d);
        if (q[t].n <= 0 || q[t].n >= q[t].d)
            return hg_fail(err, "reversible: momentum %.17g at step %d is within 1/%d of 0 "
                           "or 1: no exact rational for it", m, t, MOM_DEN_MAX);
        const int64_t n = q[t].n, d = q[t].d;
        q[t].spill = (uint64_t)((((u128)(uint64_t)n << 64) - (uint64_t)d) / (uint64_t)d);
        const uint64_t need = (uint64_t)((n + (d - n) - 1) / (d - n)); /* ceil(n/(d-n)) */
        if (need > S)
            S = need;
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
    if (cfg->truncate > 0)
        return hg_fail(err, "reversible: truncation is a bptt option (--truncate)");
    Rational *q = mem_alloc(MEM_OTHER, sizeof(Rational) * T);
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
    Stream st[NSTREAMS];
    for (int k = 0; k < ns; k++) {
        st[k] = (Stream){.lo = P * k / ns, .hi = P * (k + 1) / ns, .acc = S};
        /* words the floor asks for, at the bits a word holds, plus slack */
        const double bits = floor_bits * (double)(st[k].hi - st[k].lo);
        st[k].cap = (long)(bits / (63.0 - log2((double)S)) * 1.01) + 2;
        st[k].words = mem_alloc(MEM_INFOBUF, sizeof(uint64_t) * st[k].cap);
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
            for (long i = st[k].lo; i < st[k].hi; i++) {
                const int64_t v = mul_push(&st[k], V[i], &q[t], S);
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
        out->infobuf_bytes += sizeof(uint64_t) * (size_t)(st[k].peak + 1);
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
            for (long i = st[k].hi - 1; i >= st[k].lo; i--) { /* the buffer is a stack */
                const int64_t v = V[i] - fix((double)g[i] + l * flt(W[i]), &bad);
                V[i] = div_pop(&st[k], v, &q[t], S);        /* -> v_t */
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
            open += st[k].count != 0 || st[k].acc != S;
        if (wrong || open)
            rc = hg_fail(err, "reversible: the reverse pass did not restore w_0 and v_0 bit for "
                         "bit (%ld parameters differ, first at index %ld; %ld of %d buffer "
                         "streams not empty): the recomputed gradients are not bitwise "
                         "reproducible or the buffer is corrupt", wrong, first, open, ns);
    }
    if (rc == 0)
        hyper_sum_windows(cfg->layout, per, out->hypergrad);

    for (int k = 0; k < ns; k++)
        mem_free(st[k].words);
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

const EngineOps REVERSIBLE_OPS = {"reversible", reversible_run};
