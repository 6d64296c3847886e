/* maxpool.c — 2x2 max pooling, stride 2, on [C][n][H][W] (odd trailing
 * rows/columns are dropped, as PyTorch's floor mode). The forward pass records
 * each window's argmax; gather and scatter through it give the R-op and the
 * backward pass, since max pooling is linear on each smooth piece. */
#include <string.h>

#include "layers.h"

void maxpool_forward(const Layer *L, const real *x, int n, real *y, int32_t *arg)
{
    const int H = L->in.h, W = L->in.w, OH = L->out.h, OW = L->out.w;
    const long planes = (long)L->in.c * n;
#pragma omp parallel for schedule(static)
    for (long pl = 0; pl < planes; pl++)
        for (int oh = 0; oh < OH; oh++) {
            const long r0 = (pl * H + 2 * oh) * W, r1 = r0 + W; /* the two input rows */
            real *yo = y + (pl * OH + oh) * OW;
            int32_t *ao = arg + (pl * OH + oh) * OW;
            /* A tournament with strict > keeping the left entry picks the
             * first max in row-major order, and compiles to selects, not
             * branches (which mispredict on data like this). */
            for (int ow = 0; ow < OW; ow++) {
                const long a0 = r0 + 2 * ow, a1 = r1 + 2 * ow;
                const int top = x[a0 + 1] > x[a0], bot = x[a1 + 1] > x[a1];
                const real vt = top ? x[a0 + 1] : x[a0], vb = bot ? x[a1 + 1] : x[a1];
                const int pick_bot = vb > vt;
                yo[ow] = pick_bot ? vb : vt;
                ao[ow] = (int32_t)(pick_bot ? a1 + bot : a0 + top);
            }
        }
}

void maxpool_gather(const Layer *L, const int32_t *arg, const real *x, int n, real *y)
{
    const long count = (long)L->out.c * n * L->out.h * L->out.w;
#pragma omp parallel for schedule(static)
    for (long o = 0; o < count; o++)
        y[o] = x[arg[o]];
}

void maxpool_backward(const Layer *L, const int32_t *arg, const real *dy, int n,
                      real *dx)
{
    const long count = (long)L->out.c * n * L->out.h * L->out.w;
    memset(dx, 0, sizeof(real) * shape_size(L->in) * n);
    /* Windows do not overlap: each dx entry receives at most one dy. */
#pragma omp parallel for schedule(static)
    for (long o = 0; o < count; o++)
        dx[arg[o]] = dy[o];
}
