// cuda_layers.cu — the layer kernels other than the GEMM and convolution
// ones: relu and tanh with their R-op terms, maxpool (argmax stored in the
// forward, so backward and R-ops are a gather and a scatter with no
// atomics), flatten, softmax cross-entropy and its R-op, the kink
// clearances; every entry on the bodies of elementwise.h.
#include "cuda_util.cuh"

// ---- layouts ----
static __global__ void k_to_cnhw(real *dst, const real *src, int kc, int n, int C, long hw,
                                 const real *bias, int acc)
{
    const long nhw = (long)n * hw, per = (long)C * nhw;
    FOR_EACH(e, (long)kc * per) {
        const long j = e / per, r = e % per, c = r / nhw, i = r % nhw / hw, p = r % hw;
        real v = src[((j * n + i) * C + c) * hw + p];
        if (bias)
            v += bias[j * C + c];
        dst[e] = acc ? dst[e] + v : v;
    }
}
void cuda_to_cnhw(real *dst, const real *src, int kc, int n, int C, long hw, const real *bias,
                  int acc)
{
    LAUNCH(k_to_cnhw, (long)kc * n * C * hw, dst, src, kc, n, C, hw, bias, acc);
}

static __global__ void k_to_nchw(real *dst, const real *src, int kc, int n, int C, long hw)
{
    const long chw = (long)C * hw, per = (long)n * chw;
    FOR_EACH(e, (long)kc * per) {
        const long j = e / per, r = e % per, i = r / chw, c = r % chw / hw, p = r % hw;
        dst[e] = src[((j * C + c) * n + i) * hw + p];
    }
}
void cuda_to_nchw(real *dst, const real *src, int kc, int n, int C, long hw)
{
    LAUNCH(k_to_nchw, (long)kc * n * C * hw, dst, src, kc, n, C, hw);
}

extern "C" void cuda_flatten_forward(Shape in, const real *x, int n, real *y)
{
    cuda_to_nchw(y, x, 1, n, in.c, (long)in.h * in.w);
}

extern "C" void cuda_flatten_backward(Shape in, const real *dy, int n, real *dx)
{
    cuda_to_cnhw(dx, dy, 1, n, in.c, (long)in.h * in.w, NULL, 0);
}

// ---- activations ----
static __global__ void k_relu(const real *x, long n, real *y) { FOR_EACH(i, n) y[i] = hg_relu(x[i]); }
static __global__ void k_relu_mask(const real *x, const real *d, long n, real *out)
{
    FOR_EACH(i, n) out[i] = hg_relu_mask(x[i], d[i]);
}
static __global__ void k_tanh(const real *x, long n, real *y) { FOR_EACH(i, n) y[i] = hg_tanh(x[i]); }
static __global__ void k_tanh_scale(const real *y, const real *d, long n, real *out)
{
    FOR_EACH(i, n) out[i] = hg_tanh_scale(y[i], d[i]);
}
static __global__ void k_tanh_rop(const real *y, const real *dy, const real *ry, long n, real *out)
{
    FOR_EACH(i, n) out[i] = hg_tanh_rop(out[i], y[i], dy[i], ry[i]);
}

extern "C" void cuda_relu_forward(const real *x, long count, real *y)
{
    LAUNCH(k_relu, count, x, count, y);
}
extern "C" void cuda_relu_mask(const real *x, const real *d, long count, real *out)
{
    LAUNCH(k_relu_mask, count, x, d, count, out);
}
extern "C" void cuda_tanh_forward(const real *x, long count, real *y)
{
    LAUNCH(k_tanh, count, x, count, y);
}
extern "C" void cuda_tanh_scale(const real *y, const real *d, long count, real *out)
{
    LAUNCH(k_tanh_scale, count, y, d, count, out);
}
extern "C" void cuda_tanh_rop_correction(const real *y, const real *dy, const real *ry, long count,
                                         real *out)
{
    LAUNCH(k_tanh_rop, count, y, dy, ry, count, out);
}

// ---- maxpool 2x2 stride 2 on [C][n][H][W] ----
static __global__ void k_pool_forward(const real *x, long count, int H, int W, int OH, int OW,
                                      real *y, int32_t *arg)
{
    FOR_EACH(o, count) {
        const long pl = o / ((long)OH * OW);
        const int oh = (int)(o / OW % OH), ow = (int)(o % OW);
        const long best = hg_pool_argmax(x, pl * H * W + (long)(2 * oh) * W + 2 * ow, W);
        y[o] = x[best];
        arg[o] = (int32_t)best;
    }
}
extern "C" void cuda_maxpool_forward(const LayerGeom *L, const real *x, int n, real *y, int32_t *arg)
{
    const long count = (long)L->out.c * n * L->out.h * L->out.w;
    LAUNCH(k_pool_forward, count, x, count, L->in.h, L->in.w, L->out.h, L->out.w, y, arg);
}

static __global__ void k_pool_gather(const int32_t *arg, const real *x, long count, real *y)
{
    FOR_EACH(o, count) y[o] = x[arg[o]];
}
extern "C" void cuda_maxpool_gather(const LayerGeom *L, const int32_t *arg, const real *x, int n,
                                    real *y)
{
    const long count = (long)L->out.c * n * L->out.h * L->out.w;
    LAUNCH(k_pool_gather, count, arg, x, count, y);
}

// One thread per input cell: its window's dy if it is the window's argmax,
// else 0 (cells no window covers too), so every cell is written once.
static __global__ void k_pool_backward(const int32_t *arg, const real *dy, long count, int H,
                                       int W, int OH, int OW, real *dx)
{
    FOR_EACH(e, count) {
        const long pl = e / ((long)H * W);
        const int h = (int)(e / W % H), w = (int)(e % W);
        real v = 0;
        if (h < 2 * OH && w < 2 * OW) {
            const long o = (pl * OH + h / 2) * OW + w / 2;
            if (arg[o] == e)
                v = dy[o];
        }
        dx[e] = v;
    }
}
extern "C" void cuda_maxpool_backward(const LayerGeom *L, const int32_t *arg, const real *dy, int n,
                                      real *dx)
{
    const long count = (long)L->in.c * n * L->in.h * L->in.w;
    LAUNCH(k_pool_backward, count, arg, dy, count, L->in.h, L->in.w, L->out.h, L->out.w, dx);
}

// ---- softmax cross-entropy over z [n][K] ----
struct XentF {
    const real *z;
    const int32_t *y;
    int K;
    real *p;
    __device__ double operator()(long i) const
    {
        return hg_xent_row(z + i * K, K, y[i], p + i * K);
    }
};
extern "C" double cuda_xent_forward(const real *z, const int32_t *y, int n, int K, real *p)
{
    return cuda_reduce<double, SumOp>(XentF{z, y, K, p}, n) / n;
}

// dz = p / n, minus 1 / n at the label (two roundings, as on the CPU: the
// product is an intrinsic that is never fused into the subtraction)
#ifdef HG_F64
#define mul_rn __dmul_rn
#else
#define mul_rn __fmul_rn
#endif
static __global__ void k_xent_backward(const real *p, const int32_t *y, int n, int K, real inv,
                                       real *dz)
{
    FOR_EACH(e, (long)n * K) {
        const real d = mul_rn(p[e], inv);
        dz[e] = (int)(e % K) == y[e / K] ? d - inv : d;
    }
}
extern "C" void cuda_xent_backward(const real *p, const int32_t *y, int n, int K, real *dz)
{
    LAUNCH(k_xent_backward, (long)n * K, p, y, n, K, (real)(1.0 / n), dz);
}

static __global__ void k_xent_rop(const real *p, const real *rz, int n, int K, double inv,
                                  real *rdz)
{
    FOR_EACH(i, n) hg_xent_rop_row(p + i * K, rz + i * K, K, inv, rdz + i * K);
}
extern "C" void cuda_xent_rop(const real *p, const real *rz, int n, int K, real *rdz)
{
    LAUNCH(k_xent_rop, n, p, rz, n, K, 1.0 / n, rdz);
}

static __global__ void k_xent_weigh_rows(real *z, const real *c, int n, int K)
{
    FOR_EACH(i, n) hg_scale_row(z + i * K, K, c[i]);
}
extern "C" void cuda_xent_weigh_rows(real *z, const real *c, int n, int K)
{
    LAUNCH(k_xent_weigh_rows, n, z, c, n, K);
}

static __global__ void k_xent_rdot(const real *p, const int32_t *y, const real *rz, int n, int K,
                                   real *out)
{
    FOR_EACH(i, n) out[i] = hg_xent_rdot_row(p + i * K, rz + i * K, K, y[i]);
}
extern "C" void cuda_xent_rdot(const real *p, const int32_t *y, const real *rz, int n, int K,
                               real *out)
{
    LAUNCH(k_xent_rdot, n, p, y, rz, n, K, out);
}

struct CorrectF {
    const real *z;
    const int32_t *y;
    int K;
    __device__ double operator()(long i) const { return hg_argmax_row(z + i * K, K) == y[i]; }
};
extern "C" int cuda_xent_correct(const real *z, const int32_t *y, int n, int K)
{
    return (int)cuda_reduce<double, SumOp>(CorrectF{z, y, K}, n);
}

// ---- kink clearances: minima, which do not depend on the order ----
struct ReluKinkF {
    const real *x, *rx;
    __device__ double operator()(long i) const { return hg_relu_kink(x[i], rx[i]); }
};
extern "C" double cuda_relu_kink(const real *x, const real *rx, long count)
{
    return cuda_reduce<double, MinOp>(ReluKinkF{x, rx}, count);
}

struct PoolKinkF {
    const int32_t *arg;
    const real *x, *rx;
    long plane;
    int W;
    __device__ double operator()(long o) const { return hg_pool_kink(x, rx, arg[o], plane, W); }
};
extern "C" double cuda_maxpool_kink(const LayerGeom *L, const int32_t *arg, const real *x,
                                    const real *rx, int n)
{
    const long count = (long)n * shape_size(L->out);
    return cuda_reduce<double, MinOp>(PoolKinkF{arg, x, rx, (long)L->in.h * L->in.w, L->in.w},
                                      count);
}
