/* conv2d_direct.c — direct convolution for layers with few input taps
 * (C*K*K small, e.g. LeNet's first conv: 1x5x5). There im2col + GEMM is a
 * poor GEMM shape (M = 6, K = 25: 34 GFLOP/s measured) behind a 10 MB col
 * buffer; here each image is padded into a small L1-resident buffer and every
 * output row is computed in VL-wide chunks whose accumulator stays in a
 * vector register across all taps.
 *
 * Only what the first parameterised layer needs: forward (also the R-op
 * forward with tangent weights) and the weight/bias gradient (also the R-op
 * backward); no input gradient. Parallel over images; the weight gradient
 * is reduced from per-thread partial sums in thread order, so the result is
 * the same bytes for a given thread count. */
#include <omp.h>
#include <string.h>

#include "scratch.h"
#include "../elementwise.h"
#include "kernels.h"
#include "vec64.h"

/* Forward output rows are computed OCB channels at a time, each row in NCH
 * vector chunks: OCB * NCH independent accumulators hide the add latency
 * and share every input load. */
#define OCB 6 /* LeNet's first conv has 6 output channels */
#define NCH 2

typedef struct Geometry {
    int C, K, OC, OH, OW;
    int OWr;      /* OW rounded up to NCH * VL */
    int PH, PWs;  /* padded image rows, and row stride (room for a full last chunk) */
} Geometry;

static Geometry geometry(const LayerGeom *L)
{
    Geometry g = {L->in.c, L->ksize, L->out.c, L->out.h, L->out.w, 0, 0, 0};
    g.OWr = (g.OW + NCH * VL - 1) / (NCH * VL) * (NCH * VL);
    g.PH = L->in.h + 2 * L->pad;
    g.PWs = g.OWr + g.K - 1;
    return g;
}

/* Image i of x [C][n][H][W] into pad [C][PH][PWs], zeros around. */
static void pad_image(const LayerGeom *L, const Geometry *g, const real *x, int n, int i,
                      real *pad)
{
    const int H = L->in.h, W = L->in.w, p = L->pad;
    memset(pad, 0, sizeof(real) * g->C * g->PH * g->PWs);
    for (int c = 0; c < g->C; c++)
        for (int h = 0; h < H; h++) {
            real *dst = pad + ((long)c * g->PH + h + p) * g->PWs + p;
            const real *src = x + (((long)c * n + i) * H + h) * W;
#pragma omp simd /* rows are short: a vector loop beats memcpy */
            for (int j = 0; j < W; j++)
                dst[j] = src[j];
        }
}

void conv_direct_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                         Scratch *sc)
{
    const Geometry g = geometry(L);
    const int K = g.K, C = g.C;
    const real *wt = w + L->w_off, *b = w + L->b_off;
#pragma omp parallel
    {
        real *pad = scratch_thread(sc, 0, sizeof(real) * C * g.PH * g.PWs);
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            pad_image(L, &g, x, n, i, pad);
            for (int oc0 = 0; oc0 < g.OC; oc0 += OCB)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow0 = 0; ow0 < g.OW; ow0 += NCH * VL) {
                        /* weights of channels past OC read as 0 via the clamp below */
                        vec a[OCB][NCH];
#pragma GCC unroll 8
                        for (int o = 0; o < OCB; o++)
#pragma GCC unroll 8
                            for (int q = 0; q < NCH; q++)
                                a[o][q] = (vec){0} + (oc0 + o < g.OC ? b[oc0 + o] : 0);
                        for (int c = 0; c < C; c++)
                            for (int ki = 0; ki < K; ki++) {
                                const real *src = pad + ((long)c * g.PH + oh + ki) * g.PWs + ow0;
                                for (int kj = 0; kj < K; kj++) {
                                    vec in[NCH];
#pragma GCC unroll 8
                                    for (int q = 0; q < NCH; q++)
                                        in[q] = load_vec(src + kj + q * VL);
#pragma GCC unroll 8
                                    for (int o = 0; o < OCB; o++) {
                                        const int oc = oc0 + o < g.OC ? oc0 + o : g.OC - 1;
                                        const real wv = wt[(((long)oc * C + c) * K + ki) * K + kj];
#pragma GCC unroll 8
                                        for (int q = 0; q < NCH; q++)
                                            a[o][q] += wv * in[q];
                                    }
                                }
                            }
                        for (int o = 0; o < OCB && oc0 + o < g.OC; o++) {
                            real *dst = y + (((long)(oc0 + o) * n + i) * g.OH + oh) * g.OW;
                            for (int q = 0; q < NCH && ow0 + q * VL < g.OW; q++) {
                                const int len = g.OW - ow0 - q * VL < VL ? g.OW - ow0 - q * VL : VL;
                                store_first(dst + ow0 + q * VL, a[o][q], len);
                            }
                        }
                    }
        }
    }
}

/* Where dy comes from: the layer's own output delta, or a relu + maxpool
 * above it (pool != NULL): dy = scatter of the pool's output delta dyp to
 * the argmax cells, through the relu's mask on xr (the conv's output). */
typedef struct DySource {
    const real *dy;
    const LayerGeom *pool;
    const int32_t *arg;
    const real *xr, *dyp;
} DySource;

/* dy of image i into dpad [OC][OH][OWr] (rows zero past OW) */
static void fill_dpad(const Geometry *g, const DySource *d, int n, int i, real *dpad)
{
    const int OC = g->OC;
    if (!d->pool) {
        for (int oc = 0; oc < OC; oc++)
            for (int oh = 0; oh < g->OH; oh++) {
                real *dst = dpad + ((long)oc * g->OH + oh) * g->OWr;
                const real *src = d->dy + (((long)oc * n + i) * g->OH + oh) * g->OW;
#pragma omp simd
                for (int j = 0; j < g->OW; j++)
                    dst[j] = src[j];
            }
        return;
    }
    /* the same values as maxpool_relu_backward's plane: zeros, then the
     * masked pool deltas at the argmax cells */
    memset(dpad, 0, sizeof(real) * OC * g->OH * g->OWr);
    const long plane = (long)g->OH * g->OW;
    const int PH = d->pool->out.h, PW = d->pool->out.w, W = g->OW;
    for (int oc = 0; oc < OC; oc++) {
        const long pl = (long)oc * n + i;
        const int32_t *arg = d->arg + pl * PH * PW;
        const real *dyp = d->dyp + pl * PH * PW;
        real *dst = dpad + (long)oc * g->OH * g->OWr;
        for (int ph = 0; ph < PH; ph++)
            for (int pw = 0; pw < PW; pw++) {
                /* the argmax as an offset in its 2x2 window: 0, 1, W or W + 1 */
                const long a = arg[ph * PW + pw];
                const long off = a - pl * plane - (2L * ph * W + 2 * pw);
                const int dh = off >= W, dw = (int)(off - dh * W);
                dst[(long)(2 * ph + dh) * g->OWr + 2 * pw + dw] =
                    hg_relu_mask(d->xr[a], dyp[ph * PW + pw]);
            }
    }
}

static void backward_params(const LayerGeom *L, const real *x, const DySource *dsrc, int n,
                            real *g_out, Scratch *sc)
{
    const Geometry g = geometry(L);
    const int K = g.K, C = g.C, OC = g.OC;
    const long taps = (long)OC * C * K * K, stride = (taps + OC) * VL; /* lanes */
    const int nt = omp_get_max_threads();
    real *part = scratch_shared(sc, 0, sizeof(real) * stride * nt);
    memset(part, 0, sizeof(real) * stride * nt);
#pragma omp parallel num_threads(nt)
    {
        real *pad = scratch_thread(sc, 0, sizeof(real) * C * g.PH * g.PWs);
        /* dy of one image with rows padded to OWr by zeros */
        real *dpad = scratch_thread(sc, 1, sizeof(real) * OC * g.OH * g.OWr);
        memset(dpad, 0, sizeof(real) * OC * g.OH * g.OWr);
        real *lanes = part + stride * omp_get_thread_num();
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            pad_image(L, &g, x, n, i, pad);
            fill_dpad(&g, dsrc, n, i, dpad);
            for (int oc = 0; oc < OC; oc++) {
                const real *d = dpad + (long)oc * g.OH * g.OWr;
                real *lb = lanes + (taps + oc) * VL;
                for (int j = 0; j < g.OH * g.OWr; j += VL)
#pragma omp simd
                    for (int v = 0; v < VL; v++)
                        lb[v] += d[j + v];
            }
            /* OCB output channels at a time: each input load feeds OCB
             * multiply-adds into OCB independent accumulators. Channels past
             * OC repeat the last one and are not stored. */
            for (int oc0 = 0; oc0 < OC; oc0 += OCB)
                for (int c = 0; c < C; c++)
                    for (int ki = 0; ki < K; ki++)
                        for (int kj = 0; kj < K; kj++) {
                            const real *src0 = pad + ((long)c * g.PH + ki) * g.PWs + kj;
                            const real *d[OCB];
                            vec a[OCB];
#pragma GCC unroll 8
                            for (int o = 0; o < OCB; o++) {
                                const int oc = oc0 + o < OC ? oc0 + o : OC - 1;
                                d[o] = dpad + (long)oc * g.OH * g.OWr;
                                a[o] = (vec){0};
                            }
                            for (int oh = 0; oh < g.OH; oh++)
                                for (int q = 0; q < g.OWr; q += VL) {
                                    const vec sv = load_vec(src0 + (long)oh * g.PWs + q);
#pragma GCC unroll 8
                                    for (int o = 0; o < OCB; o++)
                                        a[o] += load_vec(d[o] + (long)oh * g.OWr + q) * sv;
                                }
                            for (int o = 0; o < OCB && oc0 + o < OC; o++) {
                                real *lt = lanes +
                                           ((((long)(oc0 + o) * C + c) * K + ki) * K + kj) * VL;
                                vec t = load_vec(lt) + a[o];
                                memcpy(lt, &t, sizeof t);
                            }
                        }
        }
    }
    /* Lanes, then threads, summed in a fixed order: deterministic. */
    for (long t = 0; t < taps + OC; t++) {
        real *out = t < taps ? g_out + L->w_off + t : g_out + L->b_off + (t - taps);
        double s = 0;
        for (int q = 0; q < nt; q++)
            for (int v = 0; v < VL; v++)
                s += part[q * stride + t * VL + v];
        *out = (real)s;
    }
}

void conv_direct_backward_params(const LayerGeom *L, const real *x, const real *dy, int n,
                                 real *g_out, Scratch *sc)
{
    const DySource d = {dy, NULL, NULL, NULL, NULL};
    backward_params(L, x, &d, n, g_out, sc);
}

void conv_direct_backward_params_pooled(const LayerGeom *L, const LayerGeom *pool,
                                        const int32_t *arg, const real *xr, const real *x,
                                        const real *dyp, int n, real *g_out, Scratch *sc)
{
    const DySource d = {NULL, pool, arg, xr, dyp};
    backward_params(L, x, &d, n, g_out, sc);
}
