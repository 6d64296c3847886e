/* softmax_xent.c — mean softmax cross-entropy over a batch of logits, its
 * gradient and the R-op of the gradient. Softmax by the max-shifted
 * log-sum-exp, so large logits do not overflow. */
#include <math.h>

#include "../elementwise.h"
#include "kernels.h"

double xent_forward(const real *z, const int32_t *y, int n, int K, real *p)
{
    double total = 0;
    for (int i = 0; i < n; i++)
        total += hg_xent_row(z + (long)i * K, K, y[i], p + (long)i * K);
    return total / n;
}

void xent_backward(const real *p, const int32_t *y, int n, int K, real *dz)
{
    const real inv = (real)(1.0 / n);
    for (long i = 0; i < (long)n * K; i++)
        dz[i] = p[i] * inv;
    for (int i = 0; i < n; i++)
        dz[(long)i * K + y[i]] -= inv;
}

void xent_rop(const real *p, const real *rz, int n, int K, real *rdz)
{
    const double inv = 1.0 / n;
    for (int i = 0; i < n; i++)
        hg_xent_rop_row(p + (long)i * K, rz + (long)i * K, K, inv, rdz + (long)i * K);
}

int xent_correct(const real *z, const int32_t *y, int n, int K)
{
    int correct = 0;
    for (int i = 0; i < n; i++)
        correct += hg_argmax_row(z + (long)i * K, K) == y[i];
    return correct;
}

void xent_weigh_rows(real *z, const real *c, int n, int K)
{
    for (int i = 0; i < n; i++)
        hg_scale_row(z + (long)i * K, K, c[i]);
}

void xent_rdot(const real *p, const int32_t *y, const real *rz, int n, int K, real *out)
{
    for (int i = 0; i < n; i++)
        out[i] = hg_xent_rdot_row(p + (long)i * K, rz + (long)i * K, K, y[i]);
}
