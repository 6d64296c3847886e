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

/* One row pair of windows: each input cell written once, the window's
 * argmax gets dy and the others 0 (selects in a vector loop, not a scatter
 * after a clearing pass: this op is bound by memory traffic). With x (the
 * input of a relu below the pool), also through that relu's mask. */
/* One row pair of windows: each input cell written once, the window's
 * argmax gets dy and the others 0 (selects in a vector loop, not a scatter
 * after a clearing pass: this op is bound by memory traffic). With x (the
 * input of a relu below the pool), then through that relu's mask while the
 * two rows are still in L1 (one loop doing both does not vectorise). */
static void backward_rows(const int32_t *ao, const real *d, const real *x, long c, int W,
                          int OW, real *dx)
{
    real *r0 = dx + c, *r1 = r0 + W;
#pragma omp simd
    for (int ow = 0; ow < OW; ow++) {
        const int at = (int)(ao[ow] - c) - 2 * ow; /* 0, 1, W or W + 1 */
        r0[2 * ow] = at == 0 ? d[ow] : 0;
        r0[2 * ow + 1] = at == 1 ? d[ow] : 0;
        r1[2 * ow] = at == W ? d[ow] : 0;
        r1[2 * ow + 1] = at == W + 1 ? d[ow] : 0;
    }
    if (!x)
        return;
    const real *x0 = x + c;
#pragma omp simd
    for (int i = 0; i < 2 * OW; i++) {
        r0[i] = hg_relu_mask(x0[i], r0[i]);
        r1[i] = hg_relu_mask(x0[W + i], r1[i]);
    }
}

static void backward(const Layer *L, const int32_t *arg, const real *x, const real *dy,
                     int n, real *dx)
{
    const int H = L->in.h, W = L->in.w, OH = L->out.h, OW = L->out.w;
    const long planes = (long)L->in.c * n;
#pragma omp parallel for schedule(static)
    for (long pl = 0; pl < planes; pl++) {
        real *plane = dx + pl * H * W;
        for (int oh = 0; oh < OH; oh++) {
            const long o0 = (pl * OH + oh) * OW;
            backward_rows(arg + o0, dy + o0, x, pl * H * W + (long)(2 * oh) * W, W, OW, dx);
            real *r0 = plane + (long)(2 * oh) * W, *r1 = r0 + W;
            for (int w = 2 * OW; w < W; w++) /* odd width: the uncovered column */
                r0[w] = r1[w] = 0;
        }
        for (long i = (long)(2 * OH) * W; i < (long)H * W; i++) /* odd height */
            plane[i] = 0;
    }
}

void maxpool_backward(const Layer *L, const int32_t *arg, const real *dy, int n,
                      real *dx)
{
    backward(L, arg, NULL, dy, n, dx);
}

void maxpool_relu_backward(const Layer *L, const int32_t *arg, const real *x,
                           const real *dy, int n, real *dx)
{
    backward(L, arg, x, dy, n, dx);
}
