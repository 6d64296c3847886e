// cuda_conv_gemm.cu — conv2d's im2col + cuBLAS path, on hgbench's own
// layouts. x [C][n][H][W] becomes col [C K K][n OH OW], one thread per
// entry running conv_index.h's body, and each term is one GEMM whose result
// is already [OC][n][OH][OW]: no transposes, unlike cuDNN's NCHW. Backward
// data multiplies into a dcol and gathers it back with conv_index.h's
// col2im (each x entry sums its taps in a fixed order: no atomics).
//
// A block of kc tangents, as on the CPU (conv2d_rop.c): where the weights
// are shared (W col(R{x}_j), W^T R{dy}_j, dy col(R{x}_j)^T) and where each
// tangent has its own (V_j col(x), V_j^T dy, R{dy}_j col(x)^T), one
// strided-batched GEMM over the tangents, stride P through V and 0 through
// the shared operand. Tangents' col buffers go in groups within COL_BYTES.
#include "cuda_conv.cuh"

extern "C" {
#include "../conv_index.h"
}

constexpr size_t COL_BYTES = (size_t)256 << 20;

// tangents per group whose col buffers of `reals` each fit COL_BYTES
static int tangent_group(long reals, int kc)
{
    const long g = (long)(COL_BYTES / (sizeof(real) * (size_t)reals));
    return (int)(g < 1 ? 1 : g > kc ? kc : g);
}

// col_j = im2col(x + j xs) for j < kc, back to back
static __global__ void k_im2col(LayerGeom L, const real *x, int n, int kc, long xs, real *col)
{
    const long rows = (long)L.in.c * L.ksize * L.ksize, cols = (long)n * L.out.h * L.out.w;
    FOR_EACH(e, kc * rows * cols) {
        const long j = e / (rows * cols), rq = e % (rows * cols);
        const long src = hg_im2col_src(&L, n, 0, rq / cols, rq % cols);
        col[e] = src < 0 ? (real)0 : x[j * xs + src];
    }
}

// dx_j = col2im(dcol_j) for j < kc, overwritten
static __global__ void k_col2im(LayerGeom L, const real *dcol, int n, int kc, real *dx)
{
    const long hw = (long)L.in.h * L.in.w, xs = (long)L.in.c * n * hw;
    const long ds = (long)L.in.c * L.ksize * L.ksize * n * L.out.h * L.out.w;
    FOR_EACH(e, kc * xs) {
        const long j = e / xs, r = e % xs;
        const int c = (int)(r / (n * hw)), i = (int)(r / hw % n);
        const int ih = (int)(r % hw / L.in.w), iw = (int)(r % L.in.w);
        dx[e] = hg_col2im_at(&L, dcol + j * ds, n, 0, c, i, ih, iw);
    }
}

// y_j[o][q] += b[j bs + o] for kc blocks of [OC][cols]
static __global__ void k_bias_rows(real *y, const real *b, long bs, int kc, int OC, long cols)
{
    FOR_EACH(e, (long)kc * OC * cols) {
        const long jo = e / cols;
        y[e] += b[jo / OC * bs + jo % OC];
    }
}

// Row-major C [M][N] (beta = 0: =, 1: +=) op(A) op(B), op(A) [M][K]:
// cuBLAS reads row-major arrays as their transposes, so it computes
// C^T = op(B)^T op(A)^T, the same transpose flags with the operands swapped.
static void gemm_rm(bool ta, bool tb, long M, long N, long K, const real *A, long lda,
                    long long sa, const real *B, long ldb, long long sb, real beta, real *C,
                    long ldc, long long sc, int batch)
{
    const real one = 1;
    const cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    CUBLAS(cublas_gemm_strided(cuda_ctx()->blas, ob, oa, (int)N, (int)M, (int)K, &one, B,
                               (int)ldb, sb, A, (int)lda, sa, &beta, C, (int)ldc, sc, batch));
}

struct Geom {
    int C, OC;
    long ckk, cols, xs, ys; // C K K; n OH OW; one input, one output block
};
static Geom geom(const LayerGeom *L, int n)
{
    const long cols = (long)n * L->out.h * L->out.w;
    return Geom{L->in.c, L->out.c, (long)L->in.c * L->ksize * L->ksize, cols,
                (long)L->in.c * n * L->in.h * L->in.w, (long)L->out.c * cols};
}

static const real *im2col(const LayerGeom *L, const Geom &g, Scratch *sc, int slot, const real *x,
                          int n, int kc)
{
    real *col = slot_reals(sc, slot, kc * g.ckk * g.cols);
    LAUNCH(k_im2col, kc * g.ckk * g.cols, *L, x, n, kc, g.xs, col);
    return col;
}

void gemm_conv_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y, Scratch *sc)
{
    const Geom g = geom(L, n);
    const real *col = im2col(L, g, sc, S_X, x, n, 1);
    gemm_rm(false, false, g.OC, g.cols, g.ckk, w + L->w_off, g.ckk, 0, col, g.cols, 0, 0, y,
            g.cols, 0, 1);
    LAUNCH(k_bias_rows, g.ys, y, w + L->b_off, 0, 1, g.OC, g.cols);
}

void gemm_conv_backward_data(const LayerGeom *L, const real *w, const real *dy, int n, real *dx,
                             Scratch *sc)
{
    const Geom g = geom(L, n);
    real *dcol = slot_reals(sc, S_DX, g.ckk * g.cols);
    gemm_rm(true, false, g.ckk, g.cols, g.OC, w + L->w_off, g.ckk, 0, dy, g.cols, 0, 0, dcol,
            g.cols, 0, 1);
    LAUNCH(k_col2im, g.xs, *L, dcol, n, 1, dx);
}

void gemm_conv_backward(const LayerGeom *L, const real *w, const real *x, const real *dy, int n,
                        real *g_out, real *dx, Scratch *sc)
{
    const Geom g = geom(L, n);
    const real *col = im2col(L, g, sc, S_X, x, n, 1);
    gemm_rm(false, true, g.OC, g.ckk, g.cols, dy, g.cols, 0, col, g.cols, 0, 0,
            g_out + L->w_off, g.ckk, 0, 1);
    channel_sum(dy, g.OC, g.cols, g.OC, 0, g_out + L->b_off);
    if (dx)
        gemm_conv_backward_data(L, w, dy, n, dx, sc);
}

void gemm_conv_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                        const real *x, const real *rx, int n, real *ry, Scratch *sc)
{
    const Geom g = geom(L, n);
    // V_j col(x) + Vb_j for every j
    const real *col = im2col(L, g, sc, S_X, x, n, 1);
    gemm_rm(false, false, g.OC, g.cols, g.ckk, V + L->w_off, g.ckk, P, col, g.cols, 0, 0, ry,
            g.cols, g.ys, kc);
    LAUNCH(k_bias_rows, kc * g.ys, ry, V + L->b_off, P, kc, g.OC, g.cols);
    if (!rx)
        return;
    // + W col(R{x}_j), the tangents in groups
    const int grp = tangent_group(g.ckk * g.cols, kc);
    for (int j0 = 0; j0 < kc; j0 += grp) {
        const int gj = kc - j0 < grp ? kc - j0 : grp;
        const real *rcol = im2col(L, g, sc, S_RX, rx + j0 * g.xs, n, gj);
        gemm_rm(false, false, g.OC, g.cols, g.ckk, w + L->w_off, g.ckk, 0, rcol, g.cols,
                g.ckk * g.cols, 1, ry + j0 * g.ys, g.cols, g.ys, gj);
    }
}

void gemm_conv_rbackward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                         const real *x, const real *rx, const real *dy, const real *rdy, int n,
                         real *HV, real *rdx, Scratch *sc)
{
    const Geom g = geom(L, n);
    // HV_j[W] = R{dy}_j col(x)^T, stride P through HV
    const real *col = im2col(L, g, sc, S_X, x, n, 1);
    gemm_rm(false, true, g.OC, g.ckk, g.cols, rdy, g.cols, g.ys, col, g.cols, 0, 0,
            HV + L->w_off, g.ckk, P, kc);
    const int grp = tangent_group(g.ckk * g.cols, kc);
    for (int j0 = 0; rx && j0 < kc; j0 += grp) { // + dy col(R{x}_j)^T
        const int gj = kc - j0 < grp ? kc - j0 : grp;
        const real *rcol = im2col(L, g, sc, S_RX, rx + j0 * g.xs, n, gj);
        gemm_rm(false, true, g.OC, g.ckk, g.cols, dy, g.cols, 0, rcol, g.cols, g.ckk * g.cols,
                1, HV + j0 * P + L->w_off, g.ckk, P, gj);
    }
    channel_sum(rdy, kc * g.OC, g.cols, g.OC, P, HV + L->b_off);
    if (!rdx)
        return;
    // R{dx}_j = col2im(W^T R{dy}_j + V_j^T dy), the tangents in groups
    for (int j0 = 0; j0 < kc; j0 += grp) {
        const int gj = kc - j0 < grp ? kc - j0 : grp;
        real *dcol = slot_reals(sc, S_DX, gj * g.ckk * g.cols);
        gemm_rm(true, false, g.ckk, g.cols, g.OC, w + L->w_off, g.ckk, 0, rdy + j0 * g.ys,
                g.cols, g.ys, 0, dcol, g.cols, g.ckk * g.cols, gj);
        gemm_rm(true, false, g.ckk, g.cols, g.OC, V + j0 * P + L->w_off, g.ckk, P, dy, g.cols,
                0, 1, dcol, g.cols, g.ckk * g.cols, gj);
        LAUNCH(k_col2im, gj * g.xs, *L, dcol, n, gj, rdx + j0 * g.xs);
    }
}
