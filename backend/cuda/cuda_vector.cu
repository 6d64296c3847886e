// cuda_vector.cu — the vector ops over parameter-length vectors (backend.h)
// on the bodies of elementwise.h; dots and the finiteness check through the
// fixed-order reduction (cuda_util.cuh). Dots accumulate in double, as on
// the CPU, in a different (but always the same) order.
#include "cuda_util.cuh"

struct DotF {
    const real *a, *b;
    __device__ double operator()(long i) const { return (double)a[i] * b[i]; }
};
extern "C" double cuda_dot(const real *a, const real *b, long n)
{
    return cuda_reduce<double, SumOp>(DotF{a, b}, n);
}

struct NonFiniteF {
    const real *x;
    __device__ double operator()(long i) const { return isfinite(x[i]) ? 0.0 : 1.0; }
};
extern "C" int cuda_all_finite(const real *x, long n)
{
    return cuda_reduce<double, SumOp>(NonFiniteF{x}, n) == 0;
}

static __global__ void k_axpy(real *y, real a, const real *x, long n)
{
    FOR_EACH(i, n) y[i] += a * x[i];
}
extern "C" void cuda_axpy(real *y, double a, const real *x, long n)
{
    LAUNCH(k_axpy, n, y, (real)a, x, n);
}

static __global__ void k_mul(real *out, const real *a, const real *b, long n)
{
    FOR_EACH(i, n) out[i] = a[i] * b[i];
}
extern "C" void cuda_mul(real *out, const real *a, const real *b, long n)
{
    LAUNCH(k_mul, n, out, a, b, n);
}

static __global__ void k_clamp(real *g, long n, double c, real *mask)
{
    FOR_EACH(i, n) {
        const int inside = hg_clamp(&g[i], c);
        if (mask)
            mask[i] = (real)inside;
    }
}
extern "C" void cuda_clamp(real *g, long n, double c, real *mask)
{
    LAUNCH(k_clamp, n, g, n, c, mask);
}

// One thread per 64-bit word: no two threads touch one word.
static __global__ void k_mask_pack(const real *mask, long n, uint64_t *bits)
{
    FOR_EACH(wd, (n + 63) / 64) {
        uint64_t word = bits[wd];
        for (long i = wd * 64; i < n && i < wd * 64 + 64; i++)
            if (mask[i] != 0)
                word |= (uint64_t)1 << (i % 64);
        bits[wd] = word;
    }
}
extern "C" void cuda_mask_pack(const real *mask, long n, uint64_t *bits)
{
    LAUNCH(k_mask_pack, (n + 63) / 64, mask, n, bits);
}

static __global__ void k_mask_select(const uint64_t *bits, const real *x, long n, real *out)
{
    FOR_EACH(i, n) out[i] = hg_mask_bit(bits, i, x[i]);
}
extern "C" void cuda_mask_select(const uint64_t *bits, const real *x, long n, real *out)
{
    LAUNCH(k_mask_select, n, bits, x, n, out);
}

static __global__ void k_sgd(real *w, real *v, real *comp, const real *g, long n, real a, real m,
                             real l)
{
    FOR_EACH(i, n) {
        if (comp)
            hg_sgd_kahan(&w[i], &v[i], &comp[i], g[i], a, m, l);
        else
            hg_sgd(&w[i], &v[i], g[i], a, m, l);
    }
}
extern "C" void cuda_sgd_step(real *w, real *v, real *comp, const real *g, long n, double a,
                              double m, double l)
{
    LAUNCH(k_sgd, n, w, v, comp, g, n, (real)a, (real)m, (real)l);
}

static __global__ void k_sgd_adjoint(real *wb, real *vb, const real *hu, long n, real l, real m)
{
    FOR_EACH(i, n) hg_sgd_adjoint(&wb[i], &vb[i], hu[i], l, m);
}
extern "C" void cuda_sgd_adjoint(real *wb, real *vb, const real *hu, long n, double l, double m)
{
    LAUNCH(k_sgd_adjoint, n, wb, vb, hu, n, (real)l, (real)m);
}

// Entry e of the kc columns' block: column j0 + e / n, index e % n.
static __global__ void k_tangent_fold(real *Z, real *U, const real *HZ, const real *mask,
                                      const real *v, const real *w, long n, int j0, int kc,
                                      int cv, int cw, real a, real m, real l)
{
    FOR_EACH(e, (long)kc * n) {
        const int c = j0 + (int)(e / n);
        const long i = e % n;
        real *u = &U[(long)c * n + i], *z = &Z[(long)c * n + i];
        real un = hg_tangent_u(*u, mask[i], HZ[e], *z, m, l);
        if (c == cv)
            un += v[i];
        if (c == cw)
            un += w[i];
        *u = un;
        *z -= a * un;
    }
}
extern "C" void cuda_tangent_fold(real *Z, real *U, const real *HZ, const real *mask,
                                  const real *v, const real *w, long n, int j0, int kc, int cv,
                                  int cw, double a, double m, double l)
{
    LAUNCH(k_tangent_fold, (long)kc * n, Z, U, HZ, mask, v, w, n, j0, kc, cv, cw, (real)a,
           (real)m, (real)l);
}

static __global__ void k_grad_accumulate(double *sum, const real *g, double b, long n)
{
    FOR_EACH(i, n) sum[i] += b * g[i];
}
extern "C" void cuda_grad_accumulate(double *sum, const real *g, double b, long n)
{
    LAUNCH(k_grad_accumulate, n, sum, g, b, n);
}

static __global__ void k_grad_average(real *grad, const double *sum, double total, long n)
{
    FOR_EACH(i, n) grad[i] = (real)(sum[i] / total);
}
extern "C" void cuda_grad_average(real *grad, const double *sum, double total, long n)
{
    LAUNCH(k_grad_average, n, grad, sum, total, n);
}
