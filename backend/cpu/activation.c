/* activation.c — elementwise relu and tanh and their derivative products.
 * relu's derivative is taken as 0 at 0 (PyTorch's convention). */
#include <math.h>

#include "kernels.h"

void relu_forward(const real *x, long count, real *y)
{
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < count; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

void relu_mask(const real *x, const real *d, long count, real *out)
{
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < count; i++)
        out[i] = x[i] > 0 ? d[i] : 0;
}

void tanh_forward(const real *x, long count, real *y)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < count; i++)
        y[i] = (real)tanh(x[i]);
}

void tanh_scale(const real *y, const real *d, long count, real *out)
{
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < count; i++)
        out[i] = d[i] * (1 - y[i] * y[i]);
}

void tanh_rop_correction(const real *y, const real *dy, const real *ry, long count,
                         real *out)
{
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < count; i++)
        out[i] -= 2 * dy[i] * y[i] * ry[i];
}
