/* softmax_xent.c — mean softmax cross-entropy over a batch of logits, its
 * gradient and the R-op of the gradient. Softmax by the max-shifted
 * log-sum-exp, so large logits do not overflow. */
#include <math.h>

#include "kernels.h"

double xent_forward(const real *z, const int32_t *y, int n, int K, real *p)
{
    double total = 0;
    for (int i = 0; i < n; i++) {
        const real *zi = z + (long)i * K;
        real *pi = p + (long)i * K;
        double mx = zi[0];
        for (int k = 1; k < K; k++)
            mx = fmax(mx, zi[k]);
        double s = 0;
        for (int k = 0; k < K; k++)
            s += exp(zi[k] - mx);
        const double lse = mx + log(s);
        for (int k = 0; k < K; k++)
            pi[k] = (real)exp(zi[k] - lse);
        total += lse - zi[y[i]];
    }
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
    for (int i = 0; i < n; i++) {
        const real *pi = p + (long)i * K, *ri = rz + (long)i * K;
        double dot = 0;
        for (int k = 0; k < K; k++)
            dot += (double)pi[k] * ri[k];
        for (int k = 0; k < K; k++)
            rdz[(long)i * K + k] = (real)(pi[k] * (ri[k] - dot) * inv);
    }
}

int xent_correct(const real *z, const int32_t *y, int n, int K)
{
    int correct = 0;
    for (int i = 0; i < n; i++) {
        const real *zi = z + (long)i * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (zi[k] > zi[best])
                best = k;
        correct += best == y[i];
    }
    return correct;
}
