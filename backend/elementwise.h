/* elementwise.h — the per-entry bodies of the backends' vector ops, written
 * once for host and device: the CPU backend runs them in its loops
 * (backend/cpu/vector.c, fixed_point.c) and a CUDA backend in its kernels,
 * so the CPU tests cover their arithmetic. No -ffast-math anywhere: the
 * compiler keeps these operations as written (fused multiply-adds aside,
 * which one binary always fuses the same way).
 */
#ifndef HG_ELEMENTWISE_H
#define HG_ELEMENTWISE_H

#include <math.h>
#include <stdint.h>

#include "../common/real.h"

#if defined(__CUDACC__)
#define HG_HD __host__ __device__
#else
#define HG_HD
#endif

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

#endif
