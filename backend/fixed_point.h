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

#endif
