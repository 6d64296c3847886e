/* vector.c — the CPU backend's vector ops over parameter-length vectors
 * (backend.h), on the bodies of elementwise.h. Loops that were serial in the
 * engines stay serial (their vectors are short next to the passes); the
 * update and the tangent fold are OpenMP loops. Dots are in double, in index
 * order. */
#include <math.h>
#include <stdint.h>

#include "../elementwise.h"
#include "cpu.h"

double cpu_dot(const real *a, const real *b, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

int cpu_all_finite(const real *x, long n)
{
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

void cpu_axpy(real *y, double a, const real *x, long n)
{
    const real ra = (real)a;
    for (long i = 0; i < n; i++)
        y[i] += ra * x[i];
}

void cpu_mul(real *out, const real *a, const real *b, long n)
{
    for (long i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

void cpu_clamp(real *g, long n, double c, real *mask)
{
    for (long i = 0; i < n; i++) {
        const int inside = hg_clamp(&g[i], c);
        if (mask)
            mask[i] = (real)inside;
    }
}

void cpu_mask_pack(const real *mask, long n, uint64_t *bits)
{
    for (long i = 0; i < n; i++)
        if (mask[i] != 0)
            bits[i / 64] |= (uint64_t)1 << (i % 64);
}

void cpu_mask_select(const uint64_t *bits, const real *x, long n, real *out)
{
    for (long i = 0; i < n; i++)
        out[i] = hg_mask_bit(bits, i, x[i]);
}

void cpu_sgd_step(real *w, real *v, real *comp, const real *g, long n, double a, double m,
                  double l)
{
    const real ra = (real)a, rm = (real)m, rl = (real)l;
    if (!comp) {
#pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++)
            hg_sgd(&w[i], &v[i], g[i], ra, rm, rl);
        return;
    }
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++)
        hg_sgd_kahan(&w[i], &v[i], &comp[i], g[i], ra, rm, rl);
}

void cpu_sgd_adjoint(real *wb, real *vb, const real *hu, long n, double l, double m)
{
    const real rl = (real)l, rm = (real)m;
    for (long i = 0; i < n; i++)
        hg_sgd_adjoint(&wb[i], &vb[i], hu[i], rl, rm);
}

void cpu_tangent_fold(real *Z, real *U, const real *HZ, const real *mask, const real *v,
                      const real *w, long n, int j0, int kc, int cv, int cw, double a,
                      double m, double l)
{
    const real ra = (real)a, rm = (real)m, rl = (real)l;
#pragma omp parallel for schedule(static)
    for (int c = j0; c < j0 + kc; c++) {
        real *Uc = U + (long)c * n, *Zc = Z + (long)c * n;
        const real *Hc = HZ + (long)(c - j0) * n;
        for (long i = 0; i < n; i++)
            Uc[i] = hg_tangent_u(Uc[i], mask[i], Hc[i], Zc[i], rm, rl);
        if (c == cv)
            for (long i = 0; i < n; i++)
                Uc[i] += v[i];
        if (c == cw)
            for (long i = 0; i < n; i++)
                Uc[i] += w[i];
        for (long i = 0; i < n; i++)
            Zc[i] -= ra * Uc[i];
    }
}

void cpu_grad_accumulate(double *sum, const real *g, double b, long n)
{
    for (long i = 0; i < n; i++)
        sum[i] += b * g[i];
}

void cpu_grad_average(real *grad, const double *sum, double total, long n)
{
    for (long i = 0; i < n; i++)
        grad[i] = (real)(sum[i] / total);
}
