/* maxpool.c — 2x2 max pooling, stride 2, on [C][n][H][W] (odd trailing
 * rows/columns are dropped, as PyTorch's floor mode). The forward pass records
 * each window's argmax; gather and scatter through it give the R-op and the
 * backward pass, since max pooling is linear on each smooth piece. */
#include "../elementwise.h"
#include "kernels.h"

void maxpool_forward(const Layer *L, const real *x, int n, real *y, int32_t *arg)
{
    const int H = L->in.h, W = L->in.w, OH = L->out.h, OW = L->out.w;
    const long planes = (long)L->in.c * n;
#pragma omp parallel for schedule(static)
    for (long pl = 0; pl < planes; pl++) {
        const long base = pl * H * W;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                /* strict > keeps the first max in row-major order (measured
                 * faster here than a branch-free tournament) */
                const long best = hg_pool_argmax(x, base + (long)(2 * oh) * W + 2 * ow, W);
                const long o = (pl * OH + oh) * OW + ow;
                y[o] = x[best];
                arg[o] = (int32_t)best;
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
    /* Every input cell is written once: the window's argmax gets dy, the
     * others 0 (no separate clearing pass over dx: this op is bound by
     * memory traffic). Rows and columns that no window covers are cleared. */
    const int H = L->in.h, W = L->in.w, OH = L->out.h, OW = L->out.w;
    const long planes = (long)L->in.c * n;
#pragma omp parallel for schedule(static)
    for (long pl = 0; pl < planes; pl++) {
        real *plane = dx + pl * H * W;
        for (int oh = 0; oh < OH; oh++) {
            real *r0 = plane + (long)(2 * oh) * W, *r1 = r0 + W;
            const long o0 = (pl * OH + oh) * OW;
            for (int ow = 0; ow < OW; ow++) {
                r0[2 * ow] = r0[2 * ow + 1] = r1[2 * ow] = r1[2 * ow + 1] = 0;
                dx[arg[o0 + ow]] = dy[o0 + ow];
            }
            for (int w = 2 * OW; w < W; w++) /* odd width: the uncovered column */
                r0[w] = r1[w] = 0;
        }
        for (long i = (long)(2 * OH) * W; i < (long)H * W; i++) /* odd height */
            plane[i] = 0;
    }
}
