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
    for (long pl = 0; pl < planes; pl++)
        for (int oh = 0; oh < OH; oh++) {
            const long c = pl * H * W + (long)(2 * oh) * W; /* the row pair's first cell */
            const real *r0 = x + c, *r1 = r0 + W;
            real *yo = y + (pl * OH + oh) * OW;
            int32_t *ao = arg + (pl * OH + oh) * OW;
#pragma omp simd
            for (int ow = 0; ow < OW; ow++) {
                const HgPoolPick p =
                    hg_pool_pick(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], W);
                yo[ow] = p.max;
                ao[ow] = (int32_t)(c + 2 * ow + p.at);
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
    /* Every input cell is written once, by rows: the window's argmax gets
     * dy, the others 0 (selects in a vector loop, not a scatter after a
     * clearing pass: this op is bound by memory traffic). Rows and columns
     * that no window covers are cleared. */
    const int H = L->in.h, W = L->in.w, OH = L->out.h, OW = L->out.w;
    const long planes = (long)L->in.c * n;
#pragma omp parallel for schedule(static)
    for (long pl = 0; pl < planes; pl++) {
        real *plane = dx + pl * H * W;
        for (int oh = 0; oh < OH; oh++) {
            const long c = pl * H * W + (long)(2 * oh) * W;
            real *r0 = dx + c, *r1 = r0 + W;
            const long o0 = (pl * OH + oh) * OW;
            const int32_t *ao = arg + o0;
            const real *d = dy + o0;
#pragma omp simd
            for (int ow = 0; ow < OW; ow++) {
                const int at = (int)(ao[ow] - c) - 2 * ow; /* 0, 1, W or W + 1 */
                r0[2 * ow] = at == 0 ? d[ow] : 0;
                r0[2 * ow + 1] = at == 1 ? d[ow] : 0;
                r1[2 * ow] = at == W ? d[ow] : 0;
                r1[2 * ow + 1] = at == W + 1 ? d[ow] : 0;
            }
            for (int w = 2 * OW; w < W; w++) /* odd width: the uncovered column */
                r0[w] = r1[w] = 0;
        }
        for (long i = (long)(2 * OH) * W; i < (long)H * W; i++) /* odd height */
            plane[i] = 0;
    }
}
