/* conv2d_dgrad.c — a conv layer's input gradient, directly, vectorised over
 * the pixels of a row of dx (no col buffer):
 *
 *   dx[c](h, w) = sum over o, ki, kj of W[o][c][ki][kj] dy[o](h + p - ki, w + p - kj)
 *
 * im2col's route (conv2d.c: dcol = W^T dy, then col2im) writes and reads a
 * [C K K][pixels] buffer 25 times dx's size on LeNet's conv2, and its GEMM
 * has an inner dimension of only OC = 16: together 0.53 ms against a floor
 * of 0.26 (the profile's second-largest gap). Here, per image, dy is copied
 * into a zero-padded plane per channel (K - 1 - p around, rows S apart), so
 * that dx's row h, columns w..w+VL, takes from row h + K - 1 - ki of the
 * padded dy, columns w + K - 1 - kj onwards: one unaligned vector load per
 * (o, ki, kj), multiplied by CB channels' weights into CB accumulators that
 * stay in registers over all taps. Taps whose dy row is all padding are
 * skipped; the columns of padding are not (they are a vector's lanes).
 * Images are spread over threads; every dx entry is written once, by one
 * thread, in a fixed order of terms: the bytes do not depend on the thread
 * count.
 *
 * Leaves out: K > KMAX, dx rows longer than NW_MAX vectors (conv_dgrad_suits
 * says no; conv2d.c's im2col path takes them). */
#include <omp.h>
#include <string.h>

#include "kernels.h"
#include "scratch.h"
#include "vec64.h"

#define CB_MAX 8 /* channels per block: 8 x 2 accumulators + 1 input */
#define NW_MAX 2 /* vectors per dx row */
#define KMAX 7

int conv_dgrad_suits(const LayerGeom *L)
{
    return L->ksize <= KMAX && L->pad < L->ksize && L->in.w <= NW_MAX * VL;
}

/* One row h of CB channels c0.. of dx, NW vectors wide: acc over the
 * pairs (weights wt[k], padded dy dyp + k OC PL), o, the valid ki (rows
 * ki_lo..ki_hi), kj. dyp: the image's padded planes, PL apart, rows S
 * apart; wt[k]: [OC][C][K][K]. */
static inline __attribute__((always_inline)) void dgrad_row(
    const int CB, const int NW, const int K, int np, int OC, int C, int c0,
    const real *const *wts, const real *dyp, long PL, int S, int h, int ki_lo, int ki_hi, int W,
    real *dxrow, long cstride)
{
    vec a[CB_MAX][NW_MAX];
#pragma GCC unroll 8
    for (int b = 0; b < CB; b++)
#pragma GCC unroll 2
        for (int q = 0; q < NW; q++)
            a[b][q] = (vec){0};
    for (int k = 0; k < np; k++)
    for (int o = 0; o < OC; o++)
        for (int ki = ki_lo; ki <= ki_hi; ki++) {
            const real *src = dyp + ((long)k * OC + o) * PL + (long)(h + K - 1 - ki) * S + K - 1;
            const real *wk = wts[k] + (((long)o * C + c0) * K + ki) * K;
#pragma GCC unroll 7
            for (int kj = 0; kj < K; kj++) {
                vec in[NW_MAX];
#pragma GCC unroll 2
                for (int q = 0; q < NW; q++)
                    in[q] = load_vec(src - kj + q * VL);
#pragma GCC unroll 8
                for (int b = 0; b < CB; b++) {
                    const real wv = wk[(long)b * K * K + kj];
#pragma GCC unroll 2
                    for (int q = 0; q < NW; q++)
                        a[b][q] += wv * in[q];
                }
            }
        }
#pragma GCC unroll 8
    for (int b = 0; b < CB; b++)
#pragma GCC unroll 2
        for (int q = 0; q < NW; q++) {
            const int len = W - q * VL < VL ? W - q * VL : VL;
            store_first(dxrow + b * cstride + q * VL, a[b][q], len);
        }
}

#define ROW_FN(CB, NW, K)                                                                     \
    static void row_##CB##_##NW##_##K(int np, int OC, int C, int c0, const real *const *wts,   \
                                      const real *dyp, long PL, int S, int h, int lo, int hi, \
                                      int W, real *dxrow, long cs)                            \
    {                                                                                         \
        dgrad_row(CB, NW, K, np, OC, C, c0, wts, dyp, PL, S, h, lo, hi, W, dxrow, cs);        \
    }
typedef void (*RowFn)(int, int, int, int, const real *const *, const real *, long, int, int, int,
                      int, int, real *, long);
#define KS(X, CB, NW) X(CB, NW, 1) X(CB, NW, 2) X(CB, NW, 3) X(CB, NW, 4) X(CB, NW, 5) X(CB, NW, 6) X(CB, NW, 7)
#define CBS(X, NW) KS(X, 1, NW) KS(X, 2, NW) KS(X, 3, NW) KS(X, 4, NW) KS(X, 5, NW) KS(X, 6, NW) \
    KS(X, 7, NW) KS(X, 8, NW)
CBS(ROW_FN, 1)
CBS(ROW_FN, 2)
#define ROW_ENTRY(CB, NW, K) row_##CB##_##NW##_##K,
static const RowFn ROWS[NW_MAX][CB_MAX * KMAX] = {{CBS(ROW_ENTRY, 1)}, {CBS(ROW_ENTRY, 2)}};

void conv_dgrad_pairs(const LayerGeom *L, int np, const real *const *w, const real *const *dy,
                      int n, real *dx, Scratch *sc)
{
    const int C = L->in.c, H = L->in.h, W = L->in.w, K = L->ksize, p = L->pad;
    const int OC = L->out.c, OH = L->out.h, OW = L->out.w, q = K - 1 - p;
    const int NW = (W + VL - 1) / VL;
    /* padded dy: rows OH + 2q, row stride S: the last vector's reads stay in the row's slack */
    const int S = NW * VL + K - 1, PR = OH + 2 * q;
    const long PL = (long)PR * S + VL;
    const int nblocks = (C + CB_MAX - 1) / CB_MAX, CB = (C + nblocks - 1) / nblocks;
    const real *wts[DGRAD_PAIRS_MAX];
    for (int k = 0; k < np; k++)
        wts[k] = w[k] + L->w_off;
#pragma omp parallel
    {
        real *dyp = scratch_thread(sc, 0, sizeof(real) * PL * OC * np);
        memset(dyp, 0, sizeof(real) * PL * OC * np); /* the padding stays zero */
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < np; k++)
                for (int o = 0; o < OC; o++)
                    for (int oh = 0; oh < OH; oh++)
                        memcpy(dyp + ((long)k * OC + o) * PL + (long)(oh + q) * S + q,
                               dy[k] + (((long)o * n + i) * OH + oh) * OW, sizeof(real) * OW);
            for (int c0 = 0; c0 < C; c0 += CB) {
                const int cb = C - c0 < CB ? C - c0 : CB;
                const RowFn fn = ROWS[NW - 1][(cb - 1) * KMAX + K - 1];
                for (int h = 0; h < H; h++) {
                    /* dy row h + p - ki must be a real row: 0 <= h + p - ki < OH */
                    const int lo = h + p - OH + 1 > 0 ? h + p - OH + 1 : 0;
                    const int hi = h + p < K - 1 ? h + p : K - 1;
                    fn(np, OC, C, c0, wts, dyp, PL, S, h, lo, hi, W,
                       dx + (((long)c0 * n + i) * H + h) * W, (long)n * H * W);
                }
            }
        }
    }
}

void conv_dgrad(const LayerGeom *L, const real *w, const real *dy, int n, real *dx, Scratch *sc)
{
    conv_dgrad_pairs(L, 1, &w, &dy, n, dx, sc);
}
