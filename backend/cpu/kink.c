/* kink.c — the CPU backend's kink clearances (model_kink_clearance): how far
 * a relu input or a pool window's winner can move along a tangent before
 * the piece of the loss changes, to first order. */
#include <math.h>

#include "cpu.h"

double cpu_relu_kink(const real *x, const real *rx, long count)
{
    double best = INFINITY;
    for (long i = 0; i < count; i++)
        if (rx[i] != 0) /* a zero that does not move is no crossing */
            best = fmin(best, fabs((double)x[i]) / fabs((double)rx[i]));
    return best;
}

double cpu_maxpool_kink(const Layer *L, const int32_t *arg, const real *x, const real *rx, int n)
{
    double best = INFINITY;
    const long count = (long)n * shape_size(L->out);
    const int W = L->in.w;
    for (long o = 0; o < count; o++) {
        const long a = arg[o];
        /* the window's top-left corner, from the argmax position */
        const long plane = (long)L->in.h * W, in_plane = a % plane;
        const long corner = a - in_plane + (in_plane / W) / 2 * 2 * W + (in_plane % W) / 2 * 2;
        const long cells[4] = {corner, corner + 1, corner + W, corner + W + 1};
        for (int q = 0; q < 4; q++) {
            if (cells[q] == a)
                continue;
            const double gap = (double)x[a] - x[cells[q]];
            const double rate = fabs((double)rx[a] - rx[cells[q]]);
            if (rate != 0)
                best = fmin(best, gap / rate);
        }
    }
    return best;
}
