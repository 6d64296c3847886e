/* activation.c — elementwise relu and tanh and their derivative products,
 * on the bodies of elementwise.h (relu's derivative is 0 at 0). */
#include <math.h>

#include "../elementwise.h"
#include "kernels.h"

void relu_forward(const real *x, long count, real *y)
{
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < count; i++)
        y[i] = hg_relu(x[i]);
}

void relu_mask(const real *x, const real *d, long count, real *out)
{
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < count; i++)
        out[i] = hg_relu_mask(x[i], d[i]);
}

void tanh_forward(const real *x, long count, real *y)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < count; i++)
        y[i] = hg_tanh(x[i]);
}

void tanh_scale(const real *y, const real *d, long count, real *out)
{
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < count; i++)
        out[i] = hg_tanh_scale(y[i], d[i]);
}

void tanh_rop_correction(const real *y, const real *dy, const real *ry, long count,
                         real *out)
{
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < count; i++)
        out[i] = hg_tanh_rop(out[i], y[i], dy[i], ry[i]);
}
