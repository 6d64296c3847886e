// cuda_linear.cu — fully connected layers on cuBLAS (math mode set by the
// probe: pedantic, no TF32 or emulation). Row-major [n][D] activations and
// W [out][in] are read by cuBLAS's column-major GEMMs as their transposes,
// so y = x W^T is C^T = W^T-as-stored times x^T: no copies. A block of kc
// tangents: where the weights are shared (R{x} W^T, R{dy} W) one GEMM over
// kc n rows; where each tangent has its own (x V_j^T, dy V_j, and the
// R-gradients) one strided-batched GEMM, stride P through V and 0 through
// the shared operand. Bias sums are per-output loops in index order.
#include "cuda_util.cuh"

static void gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const real *A,
                 int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    const real one = 1;
    CUBLAS(cublas_gemm(cuda_ctx()->blas, ta, tb, m, n, k, &one, A, lda, B, ldb, &beta, C, ldc));
}

static void gemm_batched(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                         const real *A, int lda, long long sa, const real *B, int ldb,
                         long long sb, real beta, real *C, int ldc, long long sc, int batch)
{
    const real one = 1;
    CUBLAS(cublas_gemm_strided(cuda_ctx()->blas, ta, tb, m, n, k, &one, A, lda, sa, B, ldb, sb,
                               &beta, C, ldc, sc, batch));
}

// y[j][i][o] += b[j P + o] for kc blocks of n rows
static __global__ void k_add_bias(real *y, const real *b, long P, int kc, int n, int out)
{
    FOR_EACH(e, (long)kc * n * out) {
        const long j = e / ((long)n * out);
        y[e] += b[j * P + e % out];
    }
}

// g[j P + o] (+)= sum_i dy[j][i][o], in index order, in double
static __global__ void k_bias_grad(const real *dy, long P, int kc, int n, int out, real *g,
                                   int acc)
{
    FOR_EACH(e, (long)kc * out) {
        const long j = e / out, o = e % out;
        const real *d = dy + j * n * out + o;
        double s = 0;
        for (int i = 0; i < n; i++)
            s += d[(long)i * out];
        real *gb = g + j * P + o;
        *gb = (real)((acc ? *gb : 0) + s);
    }
}

extern "C" void cuda_linear_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                                    int acc, int add_bias)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    gemm(CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, w + L->w_off, in, x, in, acc ? 1 : 0, y, out);
    if (add_bias)
        LAUNCH(k_add_bias, (long)n * out, y, w + L->b_off, 0, 1, n, out);
}

extern "C" void cuda_linear_backward_data(const LayerGeom *L, const real *w, const real *dy, int n,
                                          real *dx, int acc)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    gemm(CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, w + L->w_off, in, dy, out, acc ? 1 : 0, dx, in);
}

extern "C" void cuda_linear_backward_params(const LayerGeom *L, const real *x, const real *dy, int n,
                                            real *g, int acc, int with_bias)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    gemm(CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, x, in, dy, out, acc ? 1 : 0, g + L->w_off, in);
    if (with_bias)
        LAUNCH(k_bias_grad, out, dy, 0, 1, n, out, g + L->b_off, acc);
}

extern "C" void cuda_linear_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                                     const real *x, const real *rx, int n, real *ry)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    const long osz = (long)n * out;
    if (rx) // R{x}_j W^T for every j: one GEMM over kc n rows
        gemm(CUBLAS_OP_T, CUBLAS_OP_N, out, kc * n, in, w + L->w_off, in, rx, in, 0, ry, out);
    // + x V_j^T: one batched GEMM
    gemm_batched(CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, V + L->w_off, in, P, x, in, 0,
                 rx ? 1 : 0, ry, out, osz, kc);
    LAUNCH(k_add_bias, (long)kc * osz, ry, V + L->b_off, P, kc, n, out);
}

extern "C" void cuda_linear_rbackward(const LayerGeom *L, const real *w, const real *V, long P,
                                      int kc, const real *x, const real *rx, const real *dy,
                                      const real *rdy, int n, real *HV, real *rdx)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    const long isz = (long)n * in, osz = (long)n * out;
    // HV_j[W] = R{dy}_j^T x (+ dy^T R{x}_j): batched, stride P into HV
    gemm_batched(CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, x, in, 0, rdy, out, osz, 0,
                 HV + L->w_off, in, P, kc);
    if (rx)
        gemm_batched(CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, rx, in, isz, dy, out, 0, 1,
                     HV + L->w_off, in, P, kc);
    LAUNCH(k_bias_grad, (long)kc * out, rdy, P, kc, n, out, HV + L->b_off, 0);
    if (!rdx)
        return;
    // R{dx} = R{dy} W (every j: one GEMM) + dy V_j (batched)
    gemm(CUBLAS_OP_N, CUBLAS_OP_N, in, kc * n, out, w + L->w_off, in, rdy, out, 0, rdx, in);
    gemm_batched(CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, V + L->w_off, in, P, dy, out, 0, 1, rdx,
                 in, isz, kc);
}
