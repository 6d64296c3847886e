/* maxpool.c — 2x2 max pooling, stride 2, on [C][n][H][W] (odd trailing
 * rows/columns are dropped, as PyTorch's floor mode). The forward pass records
 * each window's argmax; gather and scatter through it give the R-op and the
 * backward pass, since max pooling is linear on each smooth piece. */
#include <string.h>

#include "../elementwise.h"
#include "kernels.h"

static inline __attribute__((always_inline)) void forward(const LayerGeom *L, const real *x,
                                                          int n, real *y, int32_t *arg,
                                                          const int relu)
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
                yo[ow] = relu ? hg_relu(p.max) : p.max;
                ao[ow] = (int32_t)(c + 2 * ow + p.at);
            }
        }
}

void maxpool_forward(const LayerGeom *L, const real *x, int n, real *y, int32_t *arg)
{
    forward(L, x, n, y, arg, 0);
}

/* relu(max x) = max relu(x), with the argmax of x */
void maxpool_relu_forward(const LayerGeom *L, const real *x, int n, real *y, int32_t *arg)
{
    forward(L, x, n, y, arg, 1);
}

void maxpool_relu_gather(const LayerGeom *L, const int32_t *arg, const real *x, const real *rx,
                         int n, real *ry)
{
    const long count = (long)L->out.c * n * L->out.h * L->out.w;
#pragma omp parallel for schedule(static)
    for (long o = 0; o < count; o++)
        ry[o] = hg_relu_mask(x[arg[o]], rx[arg[o]]);
}

void maxpool_gather(const LayerGeom *L, const int32_t *arg, const real *x, int n, real *y)
{
    const long count = (long)L->out.c * n * L->out.h * L->out.w;
#pragma omp parallel for schedule(static)
    for (long o = 0; o < count; o++)
        y[o] = x[arg[o]];
}

/* Each plane of dx cleared (it is in L1), then dy scattered to the argmax
 * cells, with x (the input of a relu below the pool) through that relu's
 * mask as well: one pass over the pool's input instead of two. Measured on
 * LeNet (2 threads): writing each row pair by selects in a vector loop was no
 * faster on its first pool (14 windows a row) and 1.4x slower on its second
 * (5). */
static void backward(const LayerGeom *L, const int32_t *arg, const real *x, const real *dy,
                     int n, real *dx)
{
    const long plane = (long)L->in.h * L->in.w, windows = (long)L->out.h * L->out.w;
    const long planes = (long)L->in.c * n;
#pragma omp parallel for schedule(static)
    for (long pl = 0; pl < planes; pl++) {
        memset(dx + pl * plane, 0, sizeof(real) * plane);
        for (long o = pl * windows; o < (pl + 1) * windows; o++)
            dx[arg[o]] = x ? hg_relu_mask(x[arg[o]], dy[o]) : dy[o];
    }
}

void maxpool_backward(const LayerGeom *L, const int32_t *arg, const real *dy, int n,
                      real *dx)
{
    backward(L, arg, NULL, dy, n, dx);
}

void maxpool_relu_backward(const LayerGeom *L, const int32_t *arg, const real *x,
                           const real *dy, int n, real *dx)
{
    backward(L, arg, x, dy, n, dx);
}
