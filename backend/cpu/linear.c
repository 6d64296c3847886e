/* linear.c — fully connected layer y = x W^T + b on [n][D] activations,
 * every product one OpenBLAS GEMM. W is [out][in] as in PyTorch.
 *
 * LeNet's GEMMs are small (at most 128 x 120 x 400): OpenBLAS ran the
 * weight gradient's on one thread, and its own split of the others gained
 * little (148 GFLOP/s on 2 threads, 114 on one). So rows (or columns) of C
 * are split over the OpenMP threads here, each block one single-threaded OpenBLAS
 * call (OpenBLAS runs single-threaded inside a parallel region): a fixed
 * split for a given thread count, so the same bytes. */
#include <omp.h>

#include "kernels.h"

/* below this many multiply-adds, or 16 rows (64 columns) a thread, one call
 * is cheaper (measured on the LeNet, MLP and logreg layers, 2 threads: a
 * 128 x 10 x 256 forward went from 0.025 to 0.007 ms split, a 10 x 84
 * weight gradient got slower split by columns) */
#define SPLIT_MIN_MADDS (1L << 16)
#define SPLIT_MIN_ROWS 16
#define SPLIT_MIN_COLS 64

/* C [M][N] (row stride ldc) = op(A) op(B) + beta C, row blocks of C over
 * threads (column blocks if C has too few rows); op(A) [M][K] is A (ta =
 * NoTrans, A [M][K]) or A^T (A stored [K][M]), op(B) [K][N] likewise. */
static void gemm_rows(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K,
                      const real *A, int lda, const real *B, int ldb, real beta, real *C,
                      int ldc)
{
    const int nt = omp_get_max_threads();
    const int by_rows = M >= SPLIT_MIN_ROWS * nt, by_cols = !by_rows && N >= SPLIT_MIN_COLS * nt;
    if ((long)M * N * K < SPLIT_MIN_MADDS || nt == 1 || !(by_rows || by_cols)) {
        cblas_gemm(CblasRowMajor, ta, tb, M, N, K, 1, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num(), len = by_rows ? M : N;
        const int i0 = (int)((long)len * t / nt), i1 = (int)((long)len * (t + 1) / nt);
        if (by_rows) /* rows i0..i1 of C and of op(A) */
            cblas_gemm(CblasRowMajor, ta, tb, i1 - i0, N, K, 1,
                       ta == CblasNoTrans ? A + (long)i0 * lda : A + i0, lda, B, ldb, beta,
                       C + (long)i0 * ldc, ldc);
        else /* columns i0..i1 of C and of op(B) (a few-row weight gradient) */
            cblas_gemm(CblasRowMajor, ta, tb, M, i1 - i0, K, 1, A, lda,
                       tb == CblasNoTrans ? B + i0 : B + (long)i0 * ldb, ldb, beta, C + i0, ldc);
    }
}

void linear_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                    int acc, int add_bias)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    gemm_rows(CblasNoTrans, CblasTrans, n, out, in, x, in, w + L->w_off, in, acc ? 1 : 0, y,
              out);
    if (add_bias) {
        const real *b = w + L->b_off;
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out; o++)
                y[(long)i * out + o] += b[o];
    }
}

void linear_backward_data(const LayerGeom *L, const real *w, const real *dy, int n,
                          real *dx, int acc)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    gemm_rows(CblasNoTrans, CblasNoTrans, n, in, out, dy, out, w + L->w_off, in, acc ? 1 : 0,
              dx, in);
}

void linear_backward_params(const LayerGeom *L, const real *x, const real *dy, int n,
                            real *g, int acc, int with_bias)
{
    const int in = (int)shape_size(L->in), out = (int)shape_size(L->out);
    gemm_rows(CblasTrans, CblasNoTrans, out, in, n, dy, out, x, in, acc ? 1 : 0, g + L->w_off,
              in);
    if (!with_bias)
        return;
    real *gb = g + L->b_off;
    /* Column sums, each over i in order (the same bytes for any thread
     * count), row by row in blocks of columns so that the inner loop runs
     * along memory. */
    enum { BLOCK = 256 };
    for (int o0 = 0; o0 < out; o0 += BLOCK) {
        const int len = out - o0 < BLOCK ? out - o0 : BLOCK;
        double s[BLOCK] = {0};
        for (int i = 0; i < n; i++) {
            const real *row = dy + (long)i * out + o0;
#pragma omp simd
            for (int o = 0; o < len; o++)
                s[o] += row[o];
        }
        for (int o = 0; o < len; o++)
            gb[o0 + o] = (real)((acc ? gb[o0 + o] : 0) + s[o]);
    }
}

void linear_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                     const real *x, const real *rx, int n, real *ry)
{
    const long osz = (long)n * shape_size(L->out);
    if (rx)
        linear_forward(L, w, rx, kc * n, ry, 0, 0);
    for (int j = 0; j < kc; j++)
        linear_forward(L, V + j * P, x, n, ry + j * osz, rx != NULL, 1);
}

void linear_rbackward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
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
