/* linear.c — fully connected layer y = x W^T + b on [n][D] activations,
 * every product one OpenBLAS GEMM. W is [out][in] as in PyTorch. */
#include "kernels.h"

void linear_forward(const Layer *L, const real *w, const real *x, int n, real *y,
                    int acc, int add_bias)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    cblas_gemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1, x, in,
               w + L->w_off, in, acc ? 1 : 0, y, out);
    if (add_bias) {
        const real *b = w + L->b_off;
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out; o++)
                y[(long)i * out + o] += b[o];
    }
}

void linear_backward_data(const Layer *L, const real *w, const real *dy, int n,
                          real *dx, int acc)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    cblas_gemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1, dy, out,
               w + L->w_off, in, acc ? 1 : 0, dx, in);
}

void linear_backward_params(const Layer *L, const real *x, const real *dy, int n,
                            real *g, int acc, int with_bias)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    cblas_gemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1, dy, out, x,
               in, acc ? 1 : 0, g + L->w_off, in);
    if (!with_bias)
        return;
    real *gb = g + L->b_off;
    /* Column sums in a fixed order: the same bytes for any thread count. */
    for (int o = 0; o < out; o++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            s += dy[(long)i * out + o];
        gb[o] = (real)((acc ? gb[o] : 0) + s);
    }
}

void linear_rforward(const Layer *L, const real *w, const real *V, long P, int kc,
                     const real *x, const real *rx, int n, real *ry)
{
    const long osz = (long)n * shape_size(L->out);
    if (rx)
        linear_forward(L, w, rx, kc * n, ry, 0, 0);
    for (int j = 0; j < kc; j++)
        linear_forward(L, V + j * P, x, n, ry + j * osz, rx != NULL, 1);
}

void linear_rbackward(const Layer *L, const real *w, const real *V, long P, int kc,
                      const real *x, const real *rx, const real *dy, const real *rdy, int n,
                      real *HV, real *rdx)
{
    const long isz = (long)n * shape_size(L->in), osz = (long)n * shape_size(L->out);
    for (int j = 0; j < kc; j++) {
        linear_backward_params(L, x, rdy + j * osz, n, HV + j * P, 0, 1);
        if (rx)
            linear_backward_params(L, rx + j * isz, dy, n, HV + j * P, 1, 0);
    }
    if (!rdx)
        return;
    linear_backward_data(L, w, rdy, kc * n, rdx, 0);
    for (int j = 0; j < kc; j++)
        linear_backward_data(L, V + j * P, dy, n, rdx + j * isz, 1);
}
