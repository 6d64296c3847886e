/* fixed_point.h — the reversible engine's number format: int64 with radix
 * 2^-FIX_BITS, for host and device (HG_HD). Out-of-range values are not
 * wrapped: fix() returns 0 and records |x| in *bad, checked() records a
 * value that has left the range, and the caller reports the largest. */
#ifndef HG_FIXED_POINT_H
#define HG_FIXED_POINT_H

#include <math.h>
#include <stdint.h>

#include "elementwise.h"

enum {
    FIX_BITS = 44,       /* radix 2^-44: resolution 5.7e-14 */
    FIX_LIMIT_BITS = 62, /* |fixed| < 2^62 (+-2^18 = 262144 in value) */
};

static inline HG_HD double flt(int64_t X)
{
    return ldexp((double)X, -FIX_BITS);
}

/* fix(x), or sets *bad to |x| when x is out of the fixed-point range. */
static inline HG_HD int64_t fix(double x, double *bad)
{
    const double y = ldexp(x, FIX_BITS);
    if (!(fabs(y) < ldexp(1.0, FIX_LIMIT_BITS))) {
        if (!(fabs(x) <= *bad))
            *bad = fabs(x);
        return 0;
    }
    return (int64_t)llrint(y);
}

static inline HG_HD int64_t checked(int64_t X, double *bad)
{
    if (X >= (INT64_C(1) << FIX_LIMIT_BITS) || X <= -(INT64_C(1) << FIX_LIMIT_BITS))
        if (!(fabs(flt(X)) <= *bad))
            *bad = fabs(flt(X));
    return X;
}

/* ---- one entry of the reversible engine's steps (backend.h's fix_*) ---- */

/* W's half of the forward step: W -= fix(a flt(V)). Alone, with a per
 * block of w, after a step whose a is 0 (fix(0) = 0: W unchanged). */
static inline HG_HD void hg_fix_step_w(int64_t *W, int64_t V, double a, double *bad)
{
    *W = checked(*W - fix(a * flt(V), bad), bad);
}

/* The forward step after V's momentum multiply gave v = V q:
 * V = v + fix(g + l flt(W));  W -= fix(a flt(V)) */
static inline HG_HD void hg_fix_step(int64_t *W, int64_t *V, int64_t v, real g, double a,
                                     double l, double *bad)
{
    *V = checked(v + fix((double)g + l * flt(*W), bad), bad);
    hg_fix_step_w(W, *V, a, bad);
}

/* The reverse of W's half with the adjoint's first part: vb -= a wb;
 * W += fix(a flt(V)) -> w_t; w = flt(W); and the sums *lr -= wb flt(V)
 * (V = v_{t+1}), *wd += vb flt(W) (W = w_t). */
static inline HG_HD void hg_fix_unstep_w(int64_t *W, int64_t V, real *w, real wb, real *vb,
                                         double a, double *lr, double *wd, double *bad)
{
    *vb -= (real)a * wb;
    *lr -= (double)wb * flt(V);
    *W += fix(a * flt(V), bad);
    *w = (real)flt(*W);
    *wd += (double)*vb * flt(*W);
}

/* V - fix(g + l flt(W)): what V's momentum multiply gave (before the divide) */
static inline HG_HD int64_t hg_fix_unstep_v(int64_t V, int64_t W, real g, double l, double *bad)
{
    return V - fix((double)g + l * flt(W), bad);
}

#endif
