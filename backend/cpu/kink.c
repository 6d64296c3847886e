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

double cpu_maxpool_kink(const Layer *L, const int32_t *arg, const real *x, const real *rx, int n)
{
    double best = INFINITY;
    const long count = (long)n * shape_size(L->out);
    const long plane = (long)L->in.h * L->in.w;
    for (long o = 0; o < count; o++)
        best = fmin(best, hg_pool_kink(x, rx, arg[o], plane, L->in.w));
    return best;
}

/* hg_pool_kink on relu(x) and its tangent rx [x > 0], read through the
 * relu on the fly (the fused relu + pool never stores relu(x)). */
double cpu_maxpool_relu_kink(const Layer *L, const int32_t *arg, const real *x, const real *rx,
                             int n)
{
    double best = INFINITY;
    const long count = (long)n * shape_size(L->out);
    const long plane = (long)L->in.h * L->in.w;
    const int W = L->in.w;
    for (long o = 0; o < count; o++) {
        const long a = arg[o], in_plane = a % plane;
        const long corner = a - in_plane + (in_plane / W) / 2 * 2 * W + (in_plane % W) / 2 * 2;
        const long cells[4] = {corner, corner + 1, corner + W, corner + W + 1};
        real wx[4], wr[4];
        int at = 0;
        for (int q = 0; q < 4; q++) {
            wx[q] = hg_relu(x[cells[q]]);
            wr[q] = hg_relu_mask(x[cells[q]], rx[cells[q]]);
            at = cells[q] == a ? q : at;
        }
        /* the window alone, as a 2x2 plane, winner at `at` */
        best = fmin(best, hg_pool_kink(wx, wr, at, 4, 2));
    }
    return best;
}
