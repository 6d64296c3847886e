/* elementwise.h — the per-entry bodies of the backends' vector ops and layer
 * kernels, written once for host and device: the CPU backend runs them in its
 * loops (backend/cpu/) and the CUDA backend in its kernels (backend/cuda/),
 * so the CPU tests cover their arithmetic. No -ffast-math anywhere: the
 * compiler keeps these operations as written (fused multiply-adds aside,
 * which one binary always fuses the same way).
 */
#ifndef HG_ELEMENTWISE_H
#define HG_ELEMENTWISE_H

#include <math.h>
#include <stdint.h>

#include "../common/real.h"
#include "hd.h"

/* Clamps *g to [-c, c]; returns 1 where it was inside (|g| < c), 0 where
 * clamped (an entry exactly at c counts as clamped). c = 0: no clamp. */
static inline HG_HD int hg_clamp(real *g, double c)
{
    const int inside = c == 0 || fabs((double)*g) < c;
    if (!inside)
        *g = *g > 0 ? (real)c : -(real)c;
    return inside;
}

/* v = m v + g + l w;  w -= a v */
static inline HG_HD void hg_sgd(real *w, real *v, real g, real a, real m, real l)
{
    *v = m * *v + g + l * *w;
    *w -= a * *v;
}

/* The same with w -= a v as a Kahan sum: (s - w) - y is what the rounding of
 * s = w + y kept of y, so comp = that minus y is minus what it dropped, fed
 * into the next step. */
static inline HG_HD void hg_sgd_kahan(real *w, real *v, real *comp, real g, real a, real m,
                                      real l)
{
    *v = m * *v + g + l * *w;
    const real y = -a * *v - *comp;
    const real s = *w + y;
    *comp = (s - *w) - y;
    *w = s;
}

/* The adjoint of the step after vb -= a wb: wb += hu + l vb;  vb = m vb */
static inline HG_HD void hg_sgd_adjoint(real *wb, real *vb, real hu, real l, real m)
{
    *wb += hu + l * *vb;
    *vb *= m;
}

/* Forward mode's tangent update for one entry of a column, before the
 * column's own v_t or w_t term: U = m U + mask HZ + l Z */
static inline HG_HD real hg_tangent_u(real u, real mask, real hz, real z, real m, real l)
{
    return m * u + mask * hz + l * z;
}

/* a > b without raising the invalid flag on NaN (false for NaN, as >):
 * GCC will not if-convert a plain > under the default -ftrapping-math, so a
 * loop of selects on them would not vectorise. */
#ifdef __CUDA_ARCH__
#define HG_GREATER(a, b) ((a) > (b))
#else
#define HG_GREATER(a, b) __builtin_isgreater(a, b)
#endif
/* ---- activations (relu's derivative is 0 at 0, PyTorch's convention) ---- */
static inline HG_HD real hg_relu(real x) { return x > 0 ? x : 0; }
/* d [x > 0] */
static inline HG_HD real hg_relu_mask(real x, real d) { return HG_GREATER(x, 0) ? d : 0; }
static inline HG_HD real hg_tanh(real x) { return (real)tanh((double)x); }
/* d (1 - y^2) */
static inline HG_HD real hg_tanh_scale(real y, real d) { return d * (1 - y * y); }
/* out - 2 dy y ry: the second-order term of tanh's R-backward */
static inline HG_HD real hg_tanh_rop(real out, real y, real dy, real ry)
{
    return out - 2 * dy * y * ry;
}

/* Bit i of a packed mask (bit i % 64 of word i / 64) selects x, else 0. */
static inline HG_HD real hg_mask_bit(const uint64_t *bits, long i, real x)
{
    return bits[i / 64] >> (i % 64) & 1 ? x : 0;
}

/* ---- 2x2 max pooling ---- */
/* A window's max and where it is: 0, 1, W or W + 1 from its top-left cell. */
typedef struct HgPoolPick {
    real max;
    int at; /* int, not long: the CPU's float32 vectors keep 32-bit lanes */
} HgPoolPick;
/* The window x00 x01 / x10 x11 (row stride W): the first max in row-major
 * order (strict >). Selects, not branches, so that the CPU's loop over a row
 * of windows vectorises (a branch per cell mispredicts on half the windows). */
static inline HG_HD HgPoolPick hg_pool_pick(real x00, real x01, real x10, real x11, int W)
{
    HgPoolPick p = {x00, 0};
    const int g01 = HG_GREATER(x01, p.max);
    p.at = g01 ? 1 : p.at;
    p.max = g01 ? x01 : p.max;
    const int g10 = HG_GREATER(x10, p.max);
    p.at = g10 ? W : p.at;
    p.max = g10 ? x10 : p.max;
    const int g11 = HG_GREATER(x11, p.max);
    p.at = g11 ? W + 1 : p.at;
    p.max = g11 ? x11 : p.max;
    return p;
}
/* The flat index of the max of the window with top-left corner x[c]. */
static inline HG_HD long hg_pool_argmax(const real *x, long c, int W)
{
    return c + hg_pool_pick(x[c], x[c + 1], x[c + W], x[c + W + 1], W).at;
}

/* Kink clearance of one window whose winner is x[a] (plane H*W of row
 * stride W, planes back to back): the smallest gap to another cell over the
 * rate at which it closes along rx; +inf if none closes. With relu, of the
 * window of relu(x) moving at rx [x > 0] (a relu below the pool, read
 * through on the fly: the fused relu + pool never stores relu(x)). */
static inline HG_HD double hg_pool_kink_of(const real *x, const real *rx, long a, long plane,
                                           int W, int relu)
{
    double best = INFINITY;
    /* the window's top-left corner, from the argmax position */
    const long in_plane = a % plane;
    const long corner = a - in_plane + (in_plane / W) / 2 * 2 * W + (in_plane % W) / 2 * 2;
    const long cells[4] = {corner, corner + 1, corner + W, corner + W + 1};
    const real xa = relu ? hg_relu(x[a]) : x[a], ra = relu ? hg_relu_mask(x[a], rx[a]) : rx[a];
    for (int q = 0; q < 4; q++) {
        if (cells[q] == a)
            continue;
        const long c = cells[q];
        const real xc = relu ? hg_relu(x[c]) : x[c], rc = relu ? hg_relu_mask(x[c], rx[c]) : rx[c];
        const double gap = (double)xa - xc;
        const double rate = fabs((double)ra - rc);
        if (rate != 0)
            best = fmin(best, gap / rate);
    }
    return best;
}

static inline HG_HD double hg_pool_kink(const real *x, const real *rx, long a, long plane, int W)
{
    return hg_pool_kink_of(x, rx, a, plane, W, 0);
}

/* Kink clearance of one relu input x moving at rx: |x| / |rx|, +inf if it
 * does not move (a zero that does not move is no crossing). */
static inline HG_HD double hg_relu_kink(real x, real rx)
{
    return rx != 0 ? fabs((double)x) / fabs((double)rx) : INFINITY;
}

/* ---- softmax cross-entropy, one example's row of K logits ---- */
/* p = softmax(z) by the max-shifted log-sum-exp; returns the example's loss
 * logsumexp(z) - z[y], in double. */
static inline HG_HD double hg_xent_row(const real *z, int K, int y, real *p)
{
    double mx = z[0];
    for (int k = 1; k < K; k++)
        mx = fmax(mx, (double)z[k]);
    double s = 0;
    for (int k = 0; k < K; k++)
        s += exp(z[k] - mx);
    const double lse = mx + log(s);
    for (int k = 0; k < K; k++)
        p[k] = (real)exp(z[k] - lse);
    return lse - z[y];
}

/* Rdz = p (rz - <p, rz>) inv for one row (inv = 1 / batch) */
static inline HG_HD void hg_xent_rop_row(const real *p, const real *rz, int K, double inv,
                                         real *rdz)
{
    double dot = 0;
    for (int k = 0; k < K; k++)
        dot += (double)p[k] * rz[k];
    for (int k = 0; k < K; k++)
        rdz[k] = (real)(p[k] * (rz[k] - dot) * inv);
}

/* One row of per-example loss weights: row *= c (the weighted loss's
 * delta or R-delta, c the example's weight) */
static inline HG_HD void hg_scale_row(real *row, int K, real c)
{
    for (int k = 0; k < K; k++)
        row[k] *= c;
}

/* d l / d z . rz for one row: <p, rz> - rz[y] (the example's loss along
 * the tangent whose logits' tangent is rz) */
static inline HG_HD real hg_xent_rdot_row(const real *p, const real *rz, int K, int y)
{
    double dot = 0;
    for (int k = 0; k < K; k++)
        dot += (double)p[k] * rz[k];
    return (real)(dot - rz[y]);
}

/* argmax of a row (ties: the lowest index) */
static inline HG_HD int hg_argmax_row(const real *z, int K)
{
    int best = 0;
    for (int k = 1; k < K; k++)
        if (z[k] > z[best])
            best = k;
    return best;
}

#endif
