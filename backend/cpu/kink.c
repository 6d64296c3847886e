/* kink.c — the CPU backend's kink clearances (model_kink_clearance): how far
 * a relu input or a pool window's winner can move along a tangent before
 * the piece of the loss changes, to first order. */
#include <math.h>

#include "../elementwise.h"
#include "cpu.h"

double cpu_relu_kink(const real *x, const real *rx, long count)
{
    double best = INFINITY;
    for (long i = 0; i < count; i++)
        best = fmin(best, hg_relu_kink(x[i], rx[i]));
    return best;
}

double cpu_maxpool_kink(const LayerGeom *L, const int32_t *arg, const real *x, const real *rx, int n)
{
    double best = INFINITY;
    const long count = (long)n * shape_size(L->out);
    const long plane = (long)L->in.h * L->in.w;
    for (long o = 0; o < count; o++)
        best = fmin(best, hg_pool_kink(x, rx, arg[o], plane, L->in.w));
    return best;
}

/* The same windows over relu(x) (hg_pool_kink_of with relu). */
double cpu_maxpool_relu_kink(const LayerGeom *L, const int32_t *arg, const real *x, const real *rx,
                             int n)
{
    double best = INFINITY;
    const long count = (long)n * shape_size(L->out);
    const long plane = (long)L->in.h * L->in.w;
    for (long o = 0; o < count; o++)
        best = fmin(best, hg_pool_kink_of(x, rx, arg[o], plane, L->in.w, 1));
    return best;
}
