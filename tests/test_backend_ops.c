/* test_backend_ops.c — every op of backend.h's table x several shapes, on
 * every backend built and usable here, against the CPU backend (ggml's
 * test-backend-ops, for hgbench). Each case makes its inputs from a fixed
 * seed, uploads them through the backend, runs the op and downloads every
 * output; outputs sit between guard words that must come back untouched.
 * Every backend (the CPU too) runs each case twice: the two runs must give
 * the same bytes. A backend that is not built or not usable here prints one
 * loud line ("cuda: skipped: <why>") and the CPU part still runs, which
 * covers the per-entry bodies both backends share (elementwise.h,
 * fixed_point.h, infobuf.h).
 *
 * Tolerances against the CPU, as a normalised error max|a - b| / max|ref|:
 *   exact (0): data movement (gather, maxpool, flatten, relu, clamp, masks),
 *     argmaxes, counts, kink clearances (one IEEE division, then a minimum);
 *   TOL_ELEM: one-entry arithmetic that fused and unfused forms round
 *     differently (a few units of rounding of `real`), tanh and exp (CUDA's
 *     are within 2 ulp);
 *   TOL_GEMM: GEMMs and convolutions, whose sums run in another order (the
 *     error grows with the number of terms: up to ~10^4 here);
 *   TOL_DOT: dots and sums in double;
 *   fixed point: W and V within FIX_ULPS units of 2^-44 after a step (g +
 *     l flt(W) may be fused on one backend only), and on each backend the
 *     reverse steps must restore w_0 and v_0 = 0 bit for bit.
 * A backend with several conv paths (the CUDA backend's cuDNN and im2col +
 * cuBLAS) runs every conv case on each, and on "auto". So does the CPU
 * where oneDNN is built in (float32), and the fake device on the CPU's
 * kernels, which shares their path: the CPU's reference runs on "ours", then
 * every conv case runs on "dnnl" and "auto" against it, at TOL_GEMM (the
 * largest error seen is printed per path: measured 6.7e-7 on these cases,
 * so TOL_GEMM = 2e-5 leaves ~30x); without oneDNN
 * that test is a SKIP line. test_cpu_conv_names: HG_CPU_CONV and
 * conv_path refuse unknown names (and dnnl where it is not built), naming
 * them; conv_picks lists auto's picks.
 * The strict fake device runs every case too: the CPU's kernels, but its
 * memory closed to the host outside ops (backend/fake_device.h).
 * Measured here: the CPU against itself only (no GPU has run this yet).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../backend/backend.h"
#include "../backend/fake_device.h"
#include "../backend/fixed_point.h"
#include "../common/rng.h"
#include "support_device.h"
#include "test.h"

#ifdef HG_F64
#define TOL_ELEM 1e-15
#define TOL_GEMM 1e-12
#else
#define TOL_ELEM 5e-7
#define TOL_GEMM 2e-5
#endif
#define TOL_DOT 1e-12
#define FIX_ULPS 2

typedef enum Kind { K_REAL, K_I32, K_I64, K_U64, K_F64 } Kind;

static size_t kind_size(Kind k)
{
    return k == K_REAL ? sizeof(real) : k == K_I32 ? 4 : 8;
}

enum { GUARD = 64, MAX_OUT = 16, MAX_DEV = 48 };
static const unsigned char GUARD_BYTE = 0xA5;

typedef struct Out {
    char name[48];
    Kind kind;
    long count;
    double tol;   /* against the CPU: normalised (real, f64) or in units (ints) */
    void *host;   /* the downloaded values */
    char *base;   /* device allocation (guard, values, guard); NULL: a scalar */
} Out;

typedef struct Run {
    const Backend *be;
    Rng rng;
    int nout, ndev, guard_bad;
    Out out[MAX_OUT];
    void *dev[MAX_DEV];
} Run;

static void run_init(Run *r, const Backend *be, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->be = be;
    r->rng = rng_seed(seed);
}

static void *keep(Run *r, void *p)
{
    HG_CHECK(r->ndev < MAX_DEV, "too many device buffers in one case");
    r->dev[r->ndev++] = p;
    return p;
}

/* host data of count reals: normal(scale), the same for every backend */
static real *host_reals(Run *r, long count, double scale)
{
    real *h = mem_alloc(MEM_OTHER, sizeof(real) * (count ? count : 1));
    for (long i = 0; i < count; i++)
        h[i] = (real)(scale * rng_normal(&r->rng));
    return h;
}

static void *in_copy(Run *r, const void *host, size_t bytes)
{
    void *d = keep(r, r->be->mem.alloc(MEM_OTHER, bytes ? bytes : 1));
    if (bytes)
        r->be->mem.upload(d, host, bytes);
    return d;
}

static real *in_reals(Run *r, long count, double scale)
{
    real *h = host_reals(r, count, scale);
    real *d = in_copy(r, h, sizeof(real) * count);
    mem_free(h);
    return d;
}

/* An output of count entries between guards, starting as init (NULL: a
 * pattern of guard bytes, so that an entry the op forgets shows). */
static void *out_buf(Run *r, const char *name, Kind kind, long count, double tol, const void *init)
{
    HG_CHECK(r->nout < MAX_OUT, "too many outputs in one case");
    Out *o = &r->out[r->nout++];
    snprintf(o->name, sizeof o->name, "%s", name);
    o->kind = kind;
    o->count = count;
    o->tol = tol;
    const size_t bytes = kind_size(kind) * count, total = bytes + 2 * GUARD;
    unsigned char *h = mem_alloc(MEM_OTHER, total);
    memset(h, GUARD_BYTE, total);
    if (init)
        memcpy(h + GUARD, init, bytes);
    o->base = r->be->mem.alloc(MEM_OTHER, total);
    r->be->mem.upload(o->base, h, total);
    mem_free(h);
    return o->base + GUARD;
}

static real *out_reals(Run *r, const char *name, long count, double tol, const real *init)
{
    return out_buf(r, name, K_REAL, count, tol, init);
}

static void out_scalar(Run *r, const char *name, double v, double tol)
{
    HG_CHECK(r->nout < MAX_OUT, "too many outputs in one case");
    Out *o = &r->out[r->nout++];
    snprintf(o->name, sizeof o->name, "%s", name);
    o->kind = K_F64;
    o->count = 1;
    o->tol = tol;
    o->host = mem_alloc(MEM_OTHER, sizeof(double));
    *(double *)o->host = v;
}

/* Downloads every output, checks its guards, frees the device buffers. */
static void run_finish(Run *r)
{
    for (int i = 0; i < r->nout; i++) {
        Out *o = &r->out[i];
        if (!o->base)
            continue;
        const size_t bytes = kind_size(o->kind) * o->count, total = bytes + 2 * GUARD;
        unsigned char *h = mem_alloc(MEM_OTHER, total);
        r->be->mem.download(h, o->base, total);
        for (size_t b = 0; b < GUARD; b++)
            r->guard_bad += (h[b] != GUARD_BYTE) + (h[GUARD + bytes + b] != GUARD_BYTE);
        o->host = mem_alloc(MEM_OTHER, bytes ? bytes : 1);
        memcpy(o->host, h + GUARD, bytes);
        mem_free(h);
        r->be->mem.free(o->base);
        o->base = NULL;
    }
    for (int i = 0; i < r->ndev; i++)
        r->be->mem.free(r->dev[i]);
    r->ndev = 0;
}

static void run_free(Run *r)
{
    for (int i = 0; i < r->nout; i++)
        mem_free(r->out[i].host);
    r->nout = 0;
}

static double value(const Out *o, long i)
{
    switch (o->kind) {
    case K_REAL: return ((const real *)o->host)[i];
    case K_I32: return ((const int32_t *)o->host)[i];
    case K_I64: return (double)((const int64_t *)o->host)[i];
    case K_U64: return (double)((const uint64_t *)o->host)[i];
    case K_F64: return ((const double *)o->host)[i];
    }
    return 0;
}

/* The error of o against ref: normalised for reals, in units for ints. */
static double out_error(const Out *o, const Out *ref)
{
    const int ints = o->kind == K_I32 || o->kind == K_I64 || o->kind == K_U64;
    double worst = 0, scale = 0;
    for (long i = 0; i < o->count; i++) {
        const double a = value(o, i), b = value(ref, i);
        if (isnan(a) && isnan(b))
            continue;
        if (isnan(a) || isnan(b) || (isinf(a) || isinf(b) ? a != b : 0))
            return INFINITY;
        if (!isinf(a))
            worst = fmax(worst, fabs(a - b)), scale = fmax(scale, fabs(b));
    }
    if (o->kind == K_U64) /* bit words: exact */
        return memcmp(o->host, ref->host, 8 * o->count) ? INFINITY : 0;
    return ints ? worst : worst / fmax(scale, 1e-300);
}

typedef void (*CaseFn)(Run *r, const int *p);

typedef struct Case {
    const char *op;
    CaseFn fn;
    int params[8];
} Case;

static long cases_run, cases_compared;

/* One case on one backend, twice: guards intact, the same bytes; against
 * ref (the CPU's run) when given. Returns the largest error against ref. */
static double check_case(const Backend *be, const Case *c, Run *ref)
{
    double worst = 0;
    Run a, b;
    run_init(&a, be, 1234);
    c->fn(&a, c->params);
    run_finish(&a);
    run_init(&b, be, 1234);
    c->fn(&b, c->params);
    run_finish(&b);
    char what[160];
    snprintf(what, sizeof what, "%s %s(%d,%d,%d,%d,%d,%d,%d,%d)", be->name, c->op, c->params[0],
             c->params[1], c->params[2], c->params[3], c->params[4], c->params[5], c->params[6],
             c->params[7]);
    EXPECT(a.guard_bad == 0 && b.guard_bad == 0, "%s: %d guard bytes overwritten", what,
           a.guard_bad + b.guard_bad);
    for (int i = 0; i < a.nout; i++) {
        const Out *x = &a.out[i], *y = &b.out[i];
        EXPECT(!memcmp(x->host, y->host, kind_size(x->kind) * x->count),
               "%s: %s differs between two runs", what, x->name);
        if (!ref)
            continue;
        const double e = out_error(x, &ref->out[i]);
        worst = e > worst ? e : worst;
        EXPECT(e <= x->tol, "%s: %s error %.3g against the CPU > tol %.3g", what, x->name, e,
               x->tol);
    }
    cases_run++;
    cases_compared += ref != NULL;
    run_free(&a);
    run_free(&b);
    return worst;
}

/* ---- layers ---- */
static LayerGeom linear_layer(int in, int out, long w_off)
{
    return (LayerGeom){{in, 1, 1}, {out, 1, 1}, 0, 0, w_off, w_off + (long)in * out};
}

static LayerGeom conv_layer(int C, int H, int W, int OC, int K, int pad, long w_off)
{
    const Shape out = {OC, H + 2 * pad - K + 1, W + 2 * pad - K + 1};
    return (LayerGeom){{C, H, W}, out, K, pad, w_off, w_off + (long)OC * C * K * K};
}

static LayerGeom pool_layer(int C, int H, int W)
{
    return (LayerGeom){{C, H, W}, {C, H / 2, W / 2}, 0, 0, -1, -1};
}

static long params_of(const LayerGeom *L) { return L->b_off + L->out.c + 2; }

/* p: in, out, n, acc, bias */
static void case_linear(Run *r, const int *p)
{
    const LayerGeom L = linear_layer(p[0], p[1], 3);
    const long P = params_of(&L), n = p[2];
    const real *w = in_reals(r, P, 0.3), *x = in_reals(r, n * p[0], 1);
    const real *dy = in_reals(r, n * p[1], 1);
    real *iy = host_reals(r, n * p[1], 1), *idx = host_reals(r, n * p[0], 1);
    real *ig = host_reals(r, P, 1);
    real *y = out_reals(r, "y", n * p[1], TOL_GEMM, iy);
    real *dx = out_reals(r, "dx", n * p[0], TOL_GEMM, idx);
    real *g = out_reals(r, "g", P, TOL_GEMM, ig);
    r->be->layer.linear_forward(&L, w, x, (int)n, y, p[3], p[4]);
    r->be->layer.linear_backward_data(&L, w, dy, (int)n, dx, p[3]);
    r->be->layer.linear_backward_params(&L, x, dy, (int)n, g, p[3], p[4]);
    mem_free(iy);
    mem_free(idx);
    mem_free(ig);
}

/* p: in, out, n, kc, with rx, with rdx */
static void case_linear_rop(Run *r, const int *p)
{
    const LayerGeom L = linear_layer(p[0], p[1], 3);
    const long P = params_of(&L), n = p[2], kc = p[3];
    const real *w = in_reals(r, P, 0.3), *V = in_reals(r, kc * P, 0.3);
    const real *x = in_reals(r, n * p[0], 1), *dy = in_reals(r, n * p[1], 1);
    const real *rx = p[4] ? in_reals(r, kc * n * p[0], 1) : NULL;
    const real *rdy = in_reals(r, kc * n * p[1], 1);
    real *ry = out_reals(r, "ry", kc * n * p[1], TOL_GEMM, NULL);
    real *HV = out_reals(r, "HV", kc * P, TOL_GEMM, NULL);
    real *rdx = p[5] ? out_reals(r, "rdx", kc * n * p[0], TOL_GEMM, NULL) : NULL;
    r->be->layer.linear_rforward(&L, w, V, P, (int)kc, x, rx, (int)n, ry);
    r->be->layer.linear_rbackward(&L, w, V, P, (int)kc, x, rx, dy, rdy, (int)n, HV, rdx);
}

/* p: C, H, W, OC, K, pad, n, with dx */
static void case_conv(Run *r, const int *p)
{
    const LayerGeom L = conv_layer(p[0], p[1], p[2], p[3], p[4], p[5], 3);
    const long P = params_of(&L), n = p[6];
    const long isz = n * shape_size(L.in), osz = n * shape_size(L.out);
    Scratch *sc = r->be->mem.scratch_new();
    const real *w = in_reals(r, P, 0.3), *x = in_reals(r, isz, 1), *dy = in_reals(r, osz, 1);
    real *g0 = host_reals(r, P, 1);
    real *y = out_reals(r, "y", osz, TOL_GEMM, NULL);
    real *g = out_reals(r, "g", P, TOL_GEMM, g0); /* only the layer's slice is written */
    real *dx = p[7] ? out_reals(r, "dx", isz, TOL_GEMM, NULL) : NULL;
    real *dx2 = out_reals(r, "dx alone", isz, TOL_GEMM, NULL);
    r->be->layer.conv_forward(&L, w, x, (int)n, y, sc);
    r->be->layer.conv_backward(&L, w, x, dy, (int)n, g, dx, sc);
    r->be->layer.conv_backward_data(&L, w, dy, (int)n, dx2, sc);
    r->be->mem.scratch_free(sc);
    mem_free(g0);
}

/* p: C, H, W, OC, K, pad, n, kc * 4 + with rx * 2 + with rdx */
static void case_conv_rop(Run *r, const int *p)
{
    const LayerGeom L = conv_layer(p[0], p[1], p[2], p[3], p[4], p[5], 3);
    const long P = params_of(&L), n = p[6], kc = p[7] / 4;
    const int with_rx = p[7] / 2 % 2, with_rdx = p[7] % 2;
    const long isz = n * shape_size(L.in), osz = n * shape_size(L.out);
    Scratch *sc = r->be->mem.scratch_new();
    const real *w = in_reals(r, P, 0.3), *V = in_reals(r, kc * P, 0.3);
    const real *x = in_reals(r, isz, 1), *dy = in_reals(r, osz, 1);
    const real *rx = with_rx ? in_reals(r, kc * isz, 1) : NULL, *rdy = in_reals(r, kc * osz, 1);
    real *h0 = host_reals(r, kc * P, 1);
    real *ry = out_reals(r, "ry", kc * osz, TOL_GEMM, NULL);
    real *HV = out_reals(r, "HV", kc * P, TOL_GEMM, h0);
    real *rdx = with_rdx ? out_reals(r, "rdx", kc * isz, TOL_GEMM, NULL) : NULL;
    r->be->layer.conv_rforward(&L, w, V, P, (int)kc, x, rx, (int)n, ry, sc);
    r->be->layer.conv_rbackward(&L, w, V, P, (int)kc, x, rx, dy, rdy, (int)n, HV, rdx, sc);
    r->be->mem.scratch_free(sc);
    mem_free(h0);
}

/* p: C, H, W, OC, K, pad, n: the first layer's direct kernel, where a
 * backend has one (the CUDA backend runs cuDNN for every conv) */
static void case_conv_direct(Run *r, const int *p)
{
    if (!r->be->layer.conv_direct_forward)
        return;
    const LayerGeom L = conv_layer(p[0], p[1], p[2], p[3], p[4], p[5], 3);
    const long P = params_of(&L), n = p[6];
    const long isz = n * shape_size(L.in), osz = n * shape_size(L.out);
    Scratch *sc = r->be->mem.scratch_new();
    const real *w = in_reals(r, P, 0.3), *x = in_reals(r, isz, 1), *dy = in_reals(r, osz, 1);
    real *g0 = host_reals(r, P, 1);
    real *y = out_reals(r, "y", osz, TOL_GEMM, NULL);
    real *g = out_reals(r, "g", P, TOL_GEMM, g0);
    r->be->layer.conv_direct_forward(&L, w, x, (int)n, y, sc);
    r->be->layer.conv_direct_backward_params(&L, x, dy, (int)n, g, sc);
    r->be->mem.scratch_free(sc);
    mem_free(g0);
}

/* p: C, H, W, n */
static void case_pool(Run *r, const int *p)
{
    const LayerGeom L = pool_layer(p[0], p[1], p[2]);
    const long n = p[3], isz = n * shape_size(L.in), osz = n * shape_size(L.out);
    real *hx = host_reals(r, isz, 1);
    for (long i = 0; i < isz; i += 7) /* ties: the first max wins */
        hx[i] = hx[i + 1 < isz ? i + 1 : i];
    const real *x = in_copy(r, hx, sizeof(real) * isz), *rx = in_reals(r, isz, 1);
    const real *dy = in_reals(r, osz, 1);
    real *y = out_reals(r, "y", osz, 0, NULL);
    int32_t *arg = out_buf(r, "arg", K_I32, osz, 0, NULL);
    real *ry = out_reals(r, "gather", osz, 0, NULL), *dx = out_reals(r, "dx", isz, 0, NULL);
    r->be->layer.maxpool_forward(&L, x, (int)n, y, arg);
    r->be->layer.maxpool_gather(&L, arg, rx, (int)n, ry);
    r->be->layer.maxpool_backward(&L, arg, dy, (int)n, dx);
    /* through a relu below (x as its input): fused where the backend has it */
    real *rdx = out_reals(r, "relu_dx", isz, 0, NULL);
    if (r->be->layer.maxpool_relu_backward)
        r->be->layer.maxpool_relu_backward(&L, arg, x, dy, (int)n, rdx);
    else
        r->be->layer.relu_mask(x, dx, isz, rdx);
    out_scalar(r, "kink", r->be->layer.maxpool_kink(&L, arg, x, rx, (int)n), 0);
    mem_free(hx);
}

/* p: count */
static void case_activation(Run *r, const int *p)
{
    const long n = p[0];
    real *hx = host_reals(r, n, 1);
    if (n > 2)
        hx[0] = 0, hx[1] = -0.0f; /* relu's derivative at 0 is 0 */
    const real *x = in_copy(r, hx, sizeof(real) * n);
    const real *d = in_reals(r, n, 1), *ry = in_reals(r, n, 1), *rx = in_reals(r, n, 1);
    real *o0 = host_reals(r, n, 1);
    real *relu = out_reals(r, "relu", n, 0, NULL), *mask = out_reals(r, "relu_mask", n, 0, NULL);
    real *th = out_reals(r, "tanh", n, TOL_ELEM, NULL);
    real *sc = out_reals(r, "tanh_scale", n, TOL_ELEM, NULL);
    real *cor = out_reals(r, "tanh_rop_correction", n, TOL_ELEM, o0);
    r->be->layer.relu_forward(x, n, relu);
    r->be->layer.relu_mask(x, d, n, mask);
    r->be->layer.tanh_forward(x, n, th);
    r->be->layer.tanh_scale(th, d, n, sc);
    r->be->layer.tanh_rop_correction(th, d, ry, n, cor);
    out_scalar(r, "relu_kink", r->be->layer.relu_kink(x, rx, n), 0);
    mem_free(hx);
    mem_free(o0);
}

/* p: C, H, W, n */
static void case_flatten(Run *r, const int *p)
{
    const Shape in = {p[0], p[1], p[2]};
    const long count = (long)p[3] * shape_size(in);
    const real *x = in_reals(r, count, 1);
    real *y = out_reals(r, "forward", count, 0, NULL), *dx = out_reals(r, "backward", count, 0, NULL);
    r->be->layer.flatten_forward(in, x, p[3], y);
    r->be->layer.flatten_backward(in, x, p[3], dx);
}

/* p: n, K */
static void case_xent(Run *r, const int *p)
{
    const int n = p[0], K = p[1];
    real *hz = host_reals(r, (long)n * K, 3);
    if (n * K > 3)
        hz[0] = 80, hz[1] = 80; /* large logits, and a tie for the argmax */
    int32_t *hy = mem_alloc(MEM_OTHER, sizeof(int32_t) * n);
    for (int i = 0; i < n; i++)
        hy[i] = (int32_t)(rng_next(&r->rng) % (uint64_t)K);
    const real *z = in_copy(r, hz, sizeof(real) * n * K), *rz = in_reals(r, (long)n * K, 1);
    const int32_t *y = in_copy(r, hy, sizeof(int32_t) * n);
    real *prob = out_reals(r, "p", (long)n * K, TOL_ELEM, NULL);
    real *dz = out_reals(r, "dz", (long)n * K, TOL_ELEM, NULL);
    real *rdz = out_reals(r, "rdz", (long)n * K, 4 * TOL_ELEM, NULL);
    out_scalar(r, "loss", r->be->layer.xent_forward(z, y, n, K, prob), 1e3 * TOL_ELEM);
    r->be->layer.xent_backward(prob, y, n, K, dz);
    r->be->layer.xent_rop(prob, rz, n, K, rdz);
    out_scalar(r, "correct", r->be->layer.xent_correct(z, y, n, K), 0);
    mem_free(hz);
    mem_free(hy);
}

/* p: examples, dim, batch */
static void case_gather(Run *r, const int *p)
{
    real *hx = host_reals(r, (long)p[0] * p[1], 1);
    int32_t *hy = mem_alloc(MEM_OTHER, sizeof(int32_t) * p[0]);
    int *idx = mem_alloc(MEM_OTHER, sizeof(int) * p[2]);
    for (int i = 0; i < p[0]; i++)
        hy[i] = i % 10;
    for (int j = 0; j < p[2]; j++)
        idx[j] = (int)(rng_next(&r->rng) % (uint64_t)p[0]);
    const real *xs = in_copy(r, hx, sizeof(real) * p[0] * p[1]);
    const int32_t *ys = in_copy(r, hy, sizeof(int32_t) * p[0]);
    real *x = out_reals(r, "x", (long)p[2] * p[1], 0, NULL);
    int32_t *y = out_buf(r, "y", K_I32, p[2], 0, NULL);
    r->be->mem.gather(xs, ys, p[0], p[1], idx, p[2], x, y);
    mem_free(hx);
    mem_free(hy);
    mem_free(idx);
}

/* p: n, with a non-finite entry */
static void case_vector(Run *r, const int *p)
{
    const long n = p[0];
    const Backend *be = r->be;
    real *ha = host_reals(r, n, 1);
    const real *a = in_copy(r, ha, sizeof(real) * n), *b = in_reals(r, n, 2);
    out_scalar(r, "dot", be->vec.dot(a, b, n), TOL_DOT);
    if (p[1])
        ha[n / 2] = NAN;
    const real *bad = in_copy(r, ha, sizeof(real) * n);
    out_scalar(r, "all_finite", be->vec.all_finite(bad, n), 0);
    real *y0 = host_reals(r, n, 1);
    real *y = out_reals(r, "axpy", n, TOL_ELEM, y0);
    be->vec.axpy(y, -0.3, a, n);
    real *m = out_reals(r, "mul", n, TOL_ELEM, NULL);
    be->vec.mul(m, a, b, n);
    real *g = out_reals(r, "clamp g", n, 0, y0), *mask = out_reals(r, "clamp mask", n, 0, NULL);
    be->vec.clamp(g, n, 0.8, mask);
    uint64_t *bits = out_buf(r, "mask_pack", K_U64, (n + 63) / 64, 0, NULL);
    uint64_t *zero = mem_alloc(MEM_OTHER, 8 * ((n + 63) / 64));
    be->mem.upload(bits, zero, 8 * ((n + 63) / 64)); /* mask_pack ors into the words */
    be->vec.mask_pack(mask, n, bits);
    real *sel = out_reals(r, "mask_select", n, 0, NULL);
    be->vec.mask_select(bits, a, n, sel);
    mem_free(zero);
    mem_free(ha);
    mem_free(y0);
}

/* p: n, columns, kc, cv, cw, with Kahan */
static void case_update(Run *r, const int *p)
{
    const long n = p[0];
    const int cols = p[1], kc = p[2];
    const Backend *be = r->be;
    real *hw = host_reals(r, n, 1), *hv = host_reals(r, n, 0.1), *hc = host_reals(r, n, 1e-8);
    const real *g = in_reals(r, n, 0.5), *hu = in_reals(r, n, 0.5);
    real *w = out_reals(r, "sgd w", n, TOL_ELEM, hw), *v = out_reals(r, "sgd v", n, TOL_ELEM, hv);
    real *comp = p[5] ? out_reals(r, "sgd comp", n, 1e3 * TOL_ELEM, hc) : NULL;
    be->vec.sgd_step(w, v, comp, g, n, 0.07, 0.9, 1e-3);
    real *wb = out_reals(r, "adjoint wb", n, TOL_ELEM, hw);
    real *vb = out_reals(r, "adjoint vb", n, TOL_ELEM, hv);
    be->vec.sgd_adjoint(wb, vb, hu, n, 1e-3, 0.9);
    real *hZ = host_reals(r, cols * n, 1), *hU = host_reals(r, cols * n, 1);
    real *Z = out_reals(r, "fold Z", cols * n, TOL_ELEM, hZ);
    real *U = out_reals(r, "fold U", cols * n, TOL_ELEM, hU);
    const real *HZ = in_reals(r, kc * n, 1), *mk = in_reals(r, n, 1);
    be->vec.tangent_fold(Z, U, HZ, mk, hu, g, n, 1, kc, p[3], p[4], 0.07, 0.9, 1e-3);
    double *sum = keep(r, be->mem.alloc(MEM_OTHER, sizeof(double) * n));
    real *avg = out_reals(r, "grad_average", n, TOL_ELEM, NULL);
    be->vec.grad_accumulate(sum, g, 3, n);
    be->vec.grad_accumulate(sum, hu, 5, n);
    be->vec.grad_average(avg, sum, 8, n);
    mem_free(hw);
    mem_free(hv);
    mem_free(hc);
    mem_free(hZ);
    mem_free(hU);
}

/* p: n, steps, overflow, blocks: forward fixed-point steps, then the
 * reverse ones, which must restore w_0 and v_0 = 0 exactly on every
 * backend. blocks > 1: a learning rate per block (the reversible engine's
 * lr per layer), W's half by fix_step_w and its reverse per block. */
static void case_fixed(Run *r, const int *p)
{
    const long n = p[0];
    const int T = p[1];
    const Backend *be = r->be;
    InfoRational q;
    HG_CHECK(info_rational(0.9, &q) == 0, "a rational for 0.9");
    real *hw0 = host_reals(r, n, 1);
    if (p[2])
        hw0[n - 1] = (real)1e6; /* out of the +-2^18 range */
    const real *w0 = in_copy(r, hw0, sizeof(real) * n);
    real *grads[8];
    HG_CHECK(T <= 8, "steps");
    for (int t = 0; t < T; t++)
        grads[t] = in_reals(r, n, 0.5);
    FixStreams *st = be->fix.fix_streams_new(n, q.need > 1 ? q.need : 1, T * log2(1 / 0.9));
    int64_t *W = out_buf(r, "W", K_I64, n, 0, NULL), *V = out_buf(r, "V", K_I64, n, 0, NULL);
    int64_t *Z = keep(r, be->mem.alloc(MEM_OTHER, sizeof(int64_t) * n));
    be->mem.copy(V, Z, sizeof(int64_t) * n);
    out_scalar(r, "fix_load bad", be->fix.fix_load(W, w0, n), 0);
    real *w = out_reals(r, "fix_to_real", n, 0, NULL);
    be->fix.fix_to_real(w, W, n);
    int64_t *Wt = out_buf(r, "W after the steps", K_I64, n, FIX_ULPS * T, NULL);
    const int nb = p[3] > 1 ? p[3] : 1;
    long lo[9];
    double a[8];
    HG_CHECK(nb <= 8, "blocks");
    for (int b = 0; b <= nb; b++)
        lo[b] = n * b / nb;
    for (int b = 0; b < nb; b++)
        a[b] = 0.05 / (1 + b); /* nb = 1: the one-step path, a = 0.05 */
    double bad = 0;
    for (int t = 0; t < T; t++) {
        bad = fmax(bad, be->fix.fix_step(st, W, V, grads[t], &q, nb > 1 ? 0 : a[0], 1e-3));
        for (int b = 0; nb > 1 && b < nb; b++)
            bad = fmax(bad, be->fix.fix_step_w(W + lo[b], V + lo[b], lo[b + 1] - lo[b], a[b]));
    }
    out_scalar(r, "fix_step bad", bad > 0, 0);
    be->mem.copy(Wt, W, sizeof(int64_t) * n);
    real *wb = in_reals(r, n, 1), *vb = in_reals(r, n, 1);
    const real *hu = in_reals(r, n, 0.1);
    double lr = 0, wd = 0, mom = 0;
    for (int t = T - 1; t >= 0 && !p[2]; t--) {
        for (int b = 0; b < nb; b++) {
            double d_lr, d_wd;
            be->fix.fix_unstep_w(W + lo[b], V + lo[b], w + lo[b], wb + lo[b], vb + lo[b],
                                 lo[b + 1] - lo[b], a[b], &d_lr, &d_wd);
            lr += d_lr;
            wd += d_wd;
        }
        be->fix.fix_unstep_v(st, W, V, grads[t], &q, 1e-3);
        mom += be->fix.fix_adjoint(wb, vb, hu, V, n, 1e-3, (double)q.n / q.d);
    }
    out_scalar(r, "d_lr", lr, TOL_DOT * 1e3);
    out_scalar(r, "d_wd", wd, TOL_DOT * 1e3);
    out_scalar(r, "d_mom", mom, TOL_DOT * 1e3);
    long first = -2;
    const long wrong = p[2] ? 0 : be->fix.fix_mismatch(W, V, w0, n, &first);
    out_scalar(r, "entries not restored", (double)wrong, 0);
    out_scalar(r, "streams left open", p[2] ? 0 : be->fix.fix_streams_open(st), 0);
    EXPECT(p[2] || (wrong == 0 && first == -1), "%s: the reverse steps left %ld of %ld entries "
           "of w0 / v0 wrong (first %ld)", be->name, wrong, n, first);
    be->fix.fix_streams_free(st);
    mem_free(hw0);
}

static const Case CASES[] = {
    {"gather", case_gather, {20, 7, 5}},
    {"gather", case_gather, {300, 784, 128}},
    {"linear", case_linear, {5, 3, 1, 0, 1}},
    {"linear", case_linear, {64, 10, 7, 1, 1}},
    {"linear", case_linear, {400, 120, 33, 0, 0}},
    {"linear", case_linear, {784, 256, 128, 1, 0}},
    {"linear_rop", case_linear_rop, {5, 3, 2, 1, 0, 1}},
    {"linear_rop", case_linear_rop, {64, 10, 7, 3, 1, 1}},
    {"linear_rop", case_linear_rop, {120, 84, 33, 16, 1, 0}},
    {"conv", case_conv, {1, 8, 8, 2, 3, 1, 2, 0}},
    {"conv", case_conv, {3, 12, 12, 4, 5, 0, 3, 1}},
    {"conv", case_conv, {6, 14, 14, 16, 5, 0, 5, 1}},
    {"conv", case_conv, {1, 28, 28, 6, 5, 2, 9, 0}},
    {"conv_rop", case_conv_rop, {1, 8, 8, 2, 3, 1, 2, 1 * 4 + 0}},
    {"conv_rop", case_conv_rop, {3, 9, 9, 4, 3, 1, 3, 3 * 4 + 3}},
    {"conv_rop", case_conv_rop, {6, 14, 14, 16, 5, 0, 4, 4 * 4 + 3}},
    {"conv_rop", case_conv_rop, {6, 14, 14, 16, 5, 0, 2, 2 * 4 + 1}},
    {"conv_direct", case_conv_direct, {1, 28, 28, 6, 5, 2, 3}},
    {"conv_direct", case_conv_direct, {3, 32, 32, 6, 5, 0, 2}},
    {"maxpool", case_pool, {2, 4, 4, 1}},
    {"maxpool", case_pool, {3, 7, 5, 2}},
    {"maxpool", case_pool, {6, 28, 28, 4}},
    {"activations", case_activation, {1}},
    {"activations", case_activation, {1000}},
    {"activations", case_activation, {100003}},
    {"flatten", case_flatten, {1, 1, 5, 3}},
    {"flatten", case_flatten, {16, 5, 5, 7}},
    {"xent", case_xent, {1, 2}},
    {"xent", case_xent, {7, 10}},
    {"xent", case_xent, {128, 10}},
    {"vector", case_vector, {1, 0}},
    {"vector", case_vector, {130, 1}},
    {"vector", case_vector, {61706, 1}},
    {"update", case_update, {1, 2, 1, 1, -1, 0}},
    {"update", case_update, {777, 5, 3, 2, 3, 1}},
    {"update", case_update, {61706, 5, 4, -1, 2, 0}},
    {"fixed_point", case_fixed, {1, 1, 0}},
    {"fixed_point", case_fixed, {300, 3, 0}},
    {"fixed_point", case_fixed, {70000, 4, 0}},
    {"fixed_point", case_fixed, {5000, 2, 1}},
    {"fixed_point", case_fixed, {300, 3, 0, 3}},
    {"fixed_point", case_fixed, {70000, 4, 0, 5}},
};

/* "fake-device": the strict fake device (backend/fake_device.h), whose
 * memory the host cannot touch outside an op: the CPU's kernels through
 * upload and download, as a GPU runs them. */
static const char *const OTHERS[] = {"cuda", "fake-device"};

/* The conv paths a backend has besides its default, then "auto" (the CPU's
 * default, "ours", makes the reference) */
static const char *const CUDA_PATHS[] = {"cudnn", "gemm", "auto", NULL};
static const char *const CPU_PATHS[] = {"dnnl", "auto", NULL};
static double path_err[3]; /* the largest conv error against the CPU, per path */

/* A conv case on a backend with several conv paths (conv_path): each path
 * against the CPU, then "auto" (which leaves the backend as it found it);
 * a path that is not available says so once, loudly. Other cases: once. */
static void check_conv_paths(const Backend *be, const char *name, const Case *c, Run *ref)
{
    if (!be->layer.conv_path || (c->fn != case_conv && c->fn != case_conv_rop)) {
        check_case(be, c, ref);
        return;
    }
    static int said;
    /* the CPU's kernels (the CPU, the fake device) take "ours": the CPU's paths */
    const int cpu_paths = be->layer.conv_path("ours", NULL) == 0;
    const char *const *paths = cpu_paths ? CPU_PATHS : CUDA_PATHS;
    for (int p = 0; paths[p]; p++) {
        HgErr err = {{0}};
        if (be->layer.conv_path(paths[p], &err)) {
            if (!(said & 1 << p))
                printf("%s: conv path %s: skipped: %s\n", name, paths[p], err.msg);
            said |= 1 << p;
            continue;
        }
        const double e = check_case(be, c, ref);
        path_err[p] = e > path_err[p] ? e : path_err[p];
    }
    if (cpu_paths) /* back to the default, which the CPU's references run on */
        be->layer.conv_path("ours", NULL);
}

static void test_every_op(void)
{
    const Backend *cpu = backend_find("cpu", NULL);
    const Backend *other[ARRAY_LEN(OTHERS)];
    for (int b = 0; b < ARRAY_LEN(OTHERS); b++) {
        HgErr err = {{0}};
        other[b] = strcmp(OTHERS[b], "fake-device") ? backend_find(OTHERS[b], &err)
                                                     : fake_device_strict();
        if (other[b] == cpu) /* a registry that maps it to the CPU: nothing else to test */
            other[b] = NULL;
        if (!other[b])
            printf("%s: skipped: %s\n", OTHERS[b], err.msg);
    }
    int no_direct[ARRAY_LEN(OTHERS)] = {0};
    for (int c = 0; c < ARRAY_LEN(CASES); c++) {
        Run ref;
        run_init(&ref, cpu, 1234);
        CASES[c].fn(&ref, CASES[c].params);
        run_finish(&ref);
        check_case(cpu, &CASES[c], NULL);
        for (int b = 0; b < ARRAY_LEN(OTHERS); b++) {
            if (!other[b])
                continue;
            if (CASES[c].fn == case_conv_direct && !other[b]->layer.conv_direct_forward) {
                no_direct[b] = 1;
                continue;
            }
            check_conv_paths(other[b], OTHERS[b], &CASES[c], &ref);
        }
        run_free(&ref);
    }
    for (int b = 0; b < ARRAY_LEN(OTHERS); b++)
        if (no_direct[b])
            printf("# %s: conv_direct_* not provided (optional: it runs every conv through "
                   "conv_forward)\n", OTHERS[b]);
    printf("# %ld case runs (each twice), %ld compared against the CPU\n", cases_run,
           cases_compared);
}

/* Why the CPU has no conv paths here, in cpu_conv_env's words */
static void no_paths_why(char *buf, size_t cap)
{
    HgErr err = {{0}};
    setenv("HG_CPU_CONV", "dnnl", 1);
    cpu_conv_env(&err);
    unsetenv("HG_CPU_CONV");
    snprintf(buf, cap, "%s", err.msg);
}

/* The CPU's conv paths (oneDNN, float32 builds): every conv case on "dnnl"
 * and on "auto" against "ours" (the table's default, and conv2d.c's bytes) */
static void test_cpu_conv_paths(void)
{
    const Backend *cpu = backend_find("cpu", NULL);
    if (!cpu->layer.conv_path) {
        char why[256];
        no_paths_why(why, sizeof why);
        test_skip("the CPU's conv paths dnnl and auto against ours: %s", why);
        return;
    }
    memset(path_err, 0, sizeof path_err);
    HgErr err = {{0}};
    for (int c = 0; c < ARRAY_LEN(CASES); c++) {
        if (CASES[c].fn != case_conv && CASES[c].fn != case_conv_rop)
            continue;
        EXPECT(cpu->layer.conv_path("ours", &err) == 0, "conv path ours: %s", err.msg);
        Run ref;
        run_init(&ref, cpu, 1234);
        CASES[c].fn(&ref, CASES[c].params);
        run_finish(&ref);
        check_conv_paths(cpu, "cpu", &CASES[c], &ref);
        run_free(&ref);
    }
    for (int p = 0; CPU_PATHS[p]; p++)
        printf("# cpu: conv path %s: largest error against ours %.3g (tol %.3g)\n",
               CPU_PATHS[p], path_err[p], TOL_GEMM);
    EXPECT(cpu->layer.conv_path("ours", &err) == 0, "back to ours: %s", err.msg);
}

/* HG_CPU_CONV and conv_path: unknown names refused, naming them; dnnl
 * refused where it is not built; conv_picks lists auto's picks with both
 * medians, and none after the path is set again. */
static void test_cpu_conv_names(void)
{
    HgErr err = {{0}};
    setenv("HG_CPU_CONV", "bogus", 1);
    EXPECT(backend_find("cpu", &err) == NULL, "HG_CPU_CONV=bogus accepted");
    EXPECT(strstr(err.msg, "HG_CPU_CONV=bogus") && strstr(err.msg, "unknown conv path 'bogus'") &&
               strstr(err.msg, "ours, dnnl or auto"),
           "the error names neither the variable nor the value: %s", err.msg);
    err.msg[0] = 0;
    EXPECT(backend_find("auto", &err) == NULL && strstr(err.msg, "'bogus'"),
           "--device auto: HG_CPU_CONV=bogus accepted: %s", err.msg);
    setenv("HG_CPU_CONV", "ours", 1);
    const Backend *cpu = backend_find("cpu", &err);
    EXPECT(cpu != NULL, "HG_CPU_CONV=ours refused: %s", err.msg);
    cpu = &BACKEND_CPU;
    setenv("HG_CPU_CONV", "dnnl", 1);
    err.msg[0] = 0;
    const Backend *d = backend_find("cpu", &err);
    if (cpu->layer.conv_path)
        EXPECT(d == cpu, "HG_CPU_CONV=dnnl refused where oneDNN is built in: %s", err.msg);
    else
        EXPECT(!d && strstr(err.msg, "HG_CPU_CONV=dnnl") && strstr(err.msg, "not available"),
               "HG_CPU_CONV=dnnl without oneDNN: %s", err.msg);
    unsetenv("HG_CPU_CONV");
    if (!cpu->layer.conv_path) {
        char why[256];
        no_paths_why(why, sizeof why);
        test_skip_part("conv_path and conv_picks (the CPU has one conv path here): %s", why);
        return;
    }
    EXPECT(cpu->layer.conv_path("gemm", &err) == -1 && strstr(err.msg, "'gemm'"),
           "conv_path(gemm) on the CPU: %s", err.msg);
    EXPECT(cpu->layer.conv_path("auto", &err) == 0, "conv_path(auto): %s", err.msg);
    const LayerGeom L = conv_layer(6, 14, 14, 16, 5, 0, 3);
    const long P = params_of(&L), n = 4, kc = 2;
    const long isz = n * shape_size(L.in), osz = n * shape_size(L.out);
    real *w = mem_alloc(MEM_OTHER, sizeof(real) * P), *V = mem_alloc(MEM_OTHER, sizeof(real) * kc * P);
    real *x = mem_alloc(MEM_OTHER, sizeof(real) * isz);
    real *rx = mem_alloc(MEM_OTHER, sizeof(real) * kc * isz);
    real *y = mem_alloc(MEM_OTHER, sizeof(real) * kc * osz);
    Scratch *sc = cpu->mem.scratch_new();
    cpu->layer.conv_forward(&L, w, x, (int)n, y, sc);
    cpu->layer.conv_forward(&L, w, x, (int)n, y, sc); /* the same shape: no new pick */
    cpu->layer.conv_rforward(&L, w, V, P, (int)kc, x, rx, (int)n, y, sc);
    char buf[4096];
    const int np = cpu->layer.conv_picks(buf, sizeof buf);
    EXPECT(np == 2, "%d picks after two shapes ran on auto:\n%s", np, buf);
    EXPECT(strstr(buf, "# conv path: auto\n") &&
               strstr(buf, "# conv pick: forward 6x14x14 -> 16 k5 p0 n=4 kc=1 flags=0: ours ") &&
               strstr(buf, "# conv pick: rforward 6x14x14 -> 16 k5 p0 n=4 kc=2 flags=1: ours ") &&
               strstr(buf, " ms, dnnl "),
           "conv_picks:\n%s", buf);
    EXPECT(cpu->layer.conv_path("ours", &err) == 0, "conv_path(ours): %s", err.msg);
    EXPECT(cpu->layer.conv_picks(buf, sizeof buf) == 0 && !strcmp(buf, "# conv path: ours\n"),
           "conv_picks after conv_path(ours): %s", buf);
    cpu->mem.scratch_free(sc);
    mem_free(w);
    mem_free(V);
    mem_free(x);
    mem_free(rx);
    mem_free(y);
}

/* The CPU's vectorised fast paths against their plain reference forms, bit
 * for bit: maxpool_forward against a branchy first-max search written out
 * here, maxpool_relu_backward against maxpool_backward then relu_mask, the
 * fused relu + pool forward, R-forward and kink against the unfused ops.
 * Odd sizes, ties, zeros and negative zeros included. */
static void test_fast_paths_equal_reference(void)
{
    const Backend *cpu = backend_find("cpu", NULL);
    static const int shapes[][4] = {{1, 2, 2, 1}, {6, 28, 28, 5}, {16, 10, 10, 3},
                                    {3, 7, 9, 2}, {2, 33, 31, 1}};
    Rng rng = rng_seed(99);
    for (int s = 0; s < ARRAY_LEN(shapes); s++) {
        const LayerGeom L = pool_layer(shapes[s][0], shapes[s][1], shapes[s][2]);
        const int n = shapes[s][3];
        const long isz = n * shape_size(L.in), osz = n * shape_size(L.out);
        real *x = mem_alloc(MEM_OTHER, sizeof(real) * isz);
        real *dy = mem_alloc(MEM_OTHER, sizeof(real) * osz);
        for (long i = 0; i < isz; i++) {
            const uint64_t u = rng_below(&rng, 8);
            x[i] = u == 0 ? 0 : u == 1 ? -(real)0 : u == 2 && i > 0 ? x[i - 1]
                                                                   : (real)rng_normal(&rng);
        }
        for (long i = 0; i < osz; i++)
            dy[i] = (real)rng_normal(&rng);
        real *y = mem_alloc(MEM_OTHER, sizeof(real) * osz);
        int32_t *arg = mem_alloc(MEM_OTHER, sizeof(int32_t) * osz);
        cpu->layer.maxpool_forward(&L, x, n, y, arg);
        long bad = 0;
        const int H = L.in.h, W = L.in.w, OH = L.out.h, OW = L.out.w;
        for (long pl = 0; pl < (long)L.in.c * n; pl++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    const long o = (pl * OH + oh) * OW + ow;
                    const long c = pl * H * W + (long)(2 * oh) * W + 2 * ow;
                    long best = c; /* the first max in row-major order, by branches */
                    const long cells[3] = {c + 1, c + W, c + W + 1};
                    for (int q = 0; q < 3; q++)
                        if (x[cells[q]] > x[best])
                            best = cells[q];
                    bad += arg[o] != best || memcmp(&y[o], &x[best], sizeof(real));
                }
        EXPECT(bad == 0, "pool %dx%dx%d n=%d: %ld windows differ from the first max", L.in.c, H,
               W, n, bad);
        real *fused = mem_alloc(MEM_OTHER, sizeof(real) * isz);
        real *plain = mem_alloc(MEM_OTHER, sizeof(real) * isz);
        cpu->layer.maxpool_relu_backward(&L, arg, x, dy, n, fused);
        cpu->layer.maxpool_backward(&L, arg, dy, n, plain);
        cpu->layer.relu_mask(x, plain, isz, plain);
        EXPECT(!memcmp(fused, plain, sizeof(real) * isz),
               "pool %dx%dx%d n=%d: maxpool_relu_backward differs from maxpool_backward + "
               "relu_mask", L.in.c, H, W, n);
        /* relu + pool fused forward, R-forward and kink against relu_forward,
         * maxpool_forward, relu_mask, maxpool_gather and maxpool_kink */
        real *xr = mem_alloc(MEM_OTHER, sizeof(real) * isz);
        real *rx = mem_alloc(MEM_OTHER, sizeof(real) * isz);
        real *rxr = mem_alloc(MEM_OTHER, sizeof(real) * isz);
        for (long i = 0; i < isz; i++)
            rx[i] = (real)rng_normal(&rng);
        cpu->layer.relu_forward(x, isz, xr);
        cpu->layer.relu_mask(x, rx, isz, rxr);
        cpu->layer.maxpool_forward(&L, xr, n, y, arg);
        real *fy = mem_alloc(MEM_OTHER, sizeof(real) * osz);
        real *ry = mem_alloc(MEM_OTHER, sizeof(real) * osz);
        real *fry = mem_alloc(MEM_OTHER, sizeof(real) * osz);
        int32_t *farg = mem_alloc(MEM_OTHER, sizeof(int32_t) * osz);
        cpu->layer.maxpool_relu_forward(&L, x, n, fy, farg);
        cpu->layer.maxpool_gather(&L, arg, rxr, n, ry);
        cpu->layer.maxpool_relu_gather(&L, farg, x, rx, n, fry);
        long moved = 0, moved_bad = 0;
        for (long o = 0; o < osz; o++)
            if (farg[o] != arg[o]) { /* allowed only where no entry is positive */
                moved++;
                moved_bad += y[o] != 0 || x[farg[o]] > 0;
            }
        EXPECT(!memcmp(fy, y, sizeof(real) * osz) && !memcmp(fry, ry, sizeof(real) * osz),
               "pool %dx%dx%d n=%d: maxpool_relu_forward/gather differ from relu then pool",
               L.in.c, H, W, n);
        EXPECT(moved_bad == 0, "pool %dx%dx%d n=%d: %ld of %ld moved argmaxes in windows with "
               "a positive entry", L.in.c, H, W, n, moved_bad, moved);
        const double k_plain = cpu->layer.maxpool_kink(&L, arg, xr, rxr, n);
        const double k_fused = cpu->layer.maxpool_relu_kink(&L, farg, x, rx, n);
        EXPECT(!memcmp(&k_plain, &k_fused, sizeof k_plain),
               "pool %dx%dx%d n=%d: fused kink %.17g, relu then pool %.17g", L.in.c, H, W, n,
               k_fused, k_plain);
        mem_free(xr);
        mem_free(rx);
        mem_free(rxr);
        mem_free(fy);
        mem_free(ry);
        mem_free(fry);
        mem_free(farg);
        mem_free(x);
        mem_free(dy);
        mem_free(y);
        mem_free(arg);
        mem_free(fused);
        mem_free(plain);
    }
}

/* conv_direct_backward_params_pooled against maxpool_relu_backward then
 * conv_direct_backward_params, bit for bit: LeNet's conv1 + relu + pool, and
 * an odd-sized one (pool windows drop the last row and column). */
static void test_pooled_weight_gradient(void)
{
    const Backend *cpu = backend_find("cpu", NULL);
    static const int shapes[][5] = {{1, 28, 6, 2, 3}, {2, 13, 5, 1, 2}}; /* C, H, OC, pad, n */
    Rng rng = rng_seed(5);
    Scratch *sc = cpu->mem.scratch_new();
    for (int s = 0; s < ARRAY_LEN(shapes); s++) {
        const int *q = shapes[s], n = q[4];
        const LayerGeom conv = conv_layer(q[0], q[1], q[1], q[2], 5, q[3], 1);
        const LayerGeom pool = pool_layer(conv.out.c, conv.out.h, conv.out.w);
        const long P = params_of(&conv), isz = n * shape_size(conv.in);
        const long csz = n * shape_size(conv.out), psz = n * shape_size(pool.out);
        real *x = mem_alloc(MEM_OTHER, sizeof(real) * isz);
        real *y = mem_alloc(MEM_OTHER, sizeof(real) * csz);
        real *dy = mem_alloc(MEM_OTHER, sizeof(real) * csz);
        real *pooled = mem_alloc(MEM_OTHER, sizeof(real) * psz);
        real *dyp = mem_alloc(MEM_OTHER, sizeof(real) * psz);
        real *w = mem_alloc(MEM_OTHER, sizeof(real) * P);
        real *ga = mem_alloc(MEM_OTHER, sizeof(real) * P), *gb = mem_alloc(MEM_OTHER, sizeof(real) * P);
        int32_t *arg = mem_alloc(MEM_OTHER, sizeof(int32_t) * psz);
        for (long i = 0; i < isz; i++)
            x[i] = (real)rng_normal(&rng);
        for (long i = 0; i < P; i++)
            w[i] = (real)(0.3 * rng_normal(&rng));
        for (long i = 0; i < psz; i++)
            dyp[i] = (real)rng_normal(&rng);
        memset(ga, 0, sizeof(real) * P);
        memset(gb, 0, sizeof(real) * P);
        cpu->layer.conv_direct_forward(&conv, w, x, n, y, sc);
        cpu->layer.maxpool_relu_forward(&pool, y, n, pooled, arg);
        cpu->layer.maxpool_relu_backward(&pool, arg, y, dyp, n, dy);
        cpu->layer.conv_direct_backward_params(&conv, x, dy, n, ga, sc);
        cpu->layer.conv_direct_backward_params_pooled(&conv, &pool, arg, y, x, dyp, n, gb, sc);
        EXPECT(!memcmp(ga, gb, sizeof(real) * P),
               "conv %dx%d -> %d p%d n=%d: pooled weight gradient differs from "
               "maxpool_relu_backward + conv_direct_backward_params", q[0], q[1], q[2], q[3], n);
        mem_free(x);
        mem_free(y);
        mem_free(dy);
        mem_free(pooled);
        mem_free(dyp);
        mem_free(w);
        mem_free(ga);
        mem_free(gb);
        mem_free(arg);
    }
    cpu->mem.scratch_free(sc);
}

int main(int argc, char **argv)
{
    fake_device_passive_omp(argv);
    static const TestCase tests[] = {TEST(test_every_op), TEST(test_cpu_conv_paths),
                                     TEST(test_cpu_conv_names), TEST(test_fast_paths_equal_reference),
                                     TEST(test_pooled_weight_gradient)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
