/* conv2d.c — 2-D cross-correlation, stride 1, zero padding, on [C][n][H][W]
 * activations, by im2col + GEMM over chunks of images.
 *
 * A chunk's col buffer [C*K*K][nb*OH*OW] is sized to stay in L2, and the
 * chunk's GEMM writes straight into a column block of the [OC][n*OH*OW]
 * output (no transposes, no batch-sized col buffer: on LeNet's conv2 that
 * buffer is 7.7 MB and the passes over it cost more than the GEMMs).
 * Chunks are spread over OpenMP threads; OpenBLAS runs single-threaded
 * inside a parallel region. Weight gradients are summed per thread and then
 * in thread order, so a given thread count always gives the same bytes.
 *
 * The R-op passes, for blocks of tangents, are in conv2d_rop.c on the same
 * pieces. Forward passes and weight gradients of layers with many output
 * channels and short rows go to conv2d_ocvec*.c's direct kernels instead,
 * and input gradients with rows of at most two vectors to conv2d_dgrad.c's.
 * Leaves out: strides and dilation (LeNet needs neither).
 */
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "scratch.h"
#include "kernels.h"
#include "vec64.h"

#define COL_BYTES (256 * 1024) /* a chunk's col buffer: a quarter of L2 (measured best of 128K-512K) */

ConvChunking conv_chunking(const LayerGeom *L, int n)
{
    ConvChunking c;
    c.ckk = (long)L->in.c * L->ksize * L->ksize;
    c.opl = (long)L->out.h * L->out.w;
    long nb = COL_BYTES / (long)sizeof(real) / (c.ckk * c.opl);
    const int nt = omp_get_max_threads();
    if (nb * nt > n) /* every thread gets a chunk */
        nb = (n + nt - 1) / nt;
    c.nb = nb < 1 ? 1 : (int)nb;
    c.chunks = (n + c.nb - 1) / c.nb;
    return c;
}

/* Short rows (OW <= VL) are copied as one full vector: the extra lanes land
 * on the next row's place (rewritten next) or in the col buffer's VL slack.
 * Only where the read stays inside x. */

void conv_add_bias(real *rows, long ldy, int R, const real *b, int cols)
{
    for (int r = 0; r < R; r++) {
        real *row = rows + r * ldy;
        for (int j = 0; j < cols; j++)
            row[j] += b[r];
    }
}

void conv_sum_rows(const real *rows, long ldy, int R, int cols, real *sums)
{
    for (int r = 0; r < R; r++) {
        const real *row = rows + r * ldy;
        real s = 0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < cols; j++)
            s += row[j];
        sums[r] += s;
    }
}

long conv_col_reals(const ConvChunking *ch) { return ch->ckk * ch->nb * ch->opl + VL; }

long conv_col2im_buf(const LayerGeom *L)
{
    return (long)(L->in.h + 2 * L->pad) * (L->in.w + 2 * L->pad + VL);
}

/* col [C*K*K][nb*OH*OW] (+ VL slack) from images i0 .. i0+nb of x [C][n][H][W]. */
void conv_im2col(const LayerGeom *L, const real *x, int n, int i0, int nb, real *col)
{
    const int C = L->in.c, H = L->in.h, W = L->in.w, K = L->ksize, p = L->pad;
    const int OH = L->out.h, OW = L->out.w;
    const long plane = (long)H * W;
    const real *x_end = x + (long)C * n * plane;
    real *dst = col;
    for (int r = 0; r < C * K * K; r++) {
        const int c = r / (K * K), ki = r / K % K, kj = r % K;
        /* ow range whose iw = ow + kj - p falls inside [0, W) */
        const int lo = p - kj > 0 ? p - kj : 0;
        const int hi = W + p - kj < OW ? W + p - kj : OW;
        for (int i = i0; i < i0 + nb; i++) {
            const real *src = x + ((long)c * n + i) * plane;
            for (int oh = 0; oh < OH; oh++, dst += OW) {
                const int ih = oh + ki - p;
                if (ih < 0 || ih >= H || hi <= lo) {
                    memset(dst, 0, sizeof(real) * OW);
                    continue;
                }
                const real *row = src + (long)ih * W + kj - p;
                if (OW <= VL && lo == 0 && hi == OW && row + VL <= x_end) {
                    vec v;
                    memcpy(&v, row, sizeof v);
                    memcpy(dst, &v, sizeof v);
                    continue;
                }
                for (int ow = 0; ow < lo; ow++)
                    dst[ow] = 0;
#pragma omp simd /* short rows: a loop beats memcpy; dst and row never overlap */
                for (int ow = lo; ow < hi; ow++)
                    dst[ow] = row[ow];
                for (int ow = hi; ow < OW; ow++)
                    dst[ow] = 0;
            }
        }
    }
}

/* Lanes [0, len) of v, the others 0 (a bit mask: garbage lanes may hold
 * anything, NaN included). */
static inline vec first_lanes(vec v, int len)
{
#ifdef HG_F64
    typedef int64_t ilane;
#else
    typedef int32_t ilane;
#endif
    typedef ilane ivec __attribute__((vector_size(64)));
    ivec idx;
    for (int q = 0; q < VL; q++)
        idx[q] = q;
    const ivec keep = idx < (ilane)len;
    return (vec)((ivec)v & keep);
}

/* col2im for short output rows (OW <= VL): each row of dcol is one masked
 * vector added into a zero-padded copy of the image with VL columns of
 * slack, so no add needs a bound; then the interior is copied out. buf holds
 * (H + 2p) * (W + 2p + VL) reals. Rows are visited ki, kj, oh: consecutive
 * adds touch different rows. */
static void col2im_short(const LayerGeom *L, const real *dcol, int n, int i0, int nb,
                         real *dx, real *buf)
{
    const int C = L->in.c, H = L->in.h, W = L->in.w, K = L->ksize, p = L->pad;
    const int OH = L->out.h, OW = L->out.w, PH = H + 2 * p, PW = W + 2 * p + VL;
    const long opl = (long)OH * OW, cols = nb * opl;
    for (int c = 0; c < C; c++)
        for (int i = i0; i < i0 + nb; i++) {
            memset(buf, 0, sizeof(real) * PH * PW);
            for (int ki = 0; ki < K; ki++)
                for (int kj = 0; kj < K; kj++) {
                    const real *src = dcol + ((long)(c * K + ki) * K + kj) * cols + (i - i0) * opl;
                    for (int oh = 0; oh < OH; oh++) {
                        vec v, acc;
                        memcpy(&v, src + oh * OW, sizeof v);
                        real *dst = buf + (long)(oh + ki) * PW + kj;
                        memcpy(&acc, dst, sizeof acc);
                        acc += first_lanes(v, OW);
                        memcpy(dst, &acc, sizeof acc);
                    }
                }
            real *img = dx + ((long)c * n + i) * H * W;
            for (int h = 0; h < H; h++)
                memcpy(img + (long)h * W, buf + (long)(h + p) * PW + p, sizeof(real) * W);
        }
}

/* Images i0 .. i0+nb of dx = col2im(dcol), overwriting them. */
static void col2im_long(const LayerGeom *L, const real *dcol, int n, int i0, int nb, real *dx)
{
    const int C = L->in.c, H = L->in.h, W = L->in.w, K = L->ksize, p = L->pad;
    const int OH = L->out.h, OW = L->out.w;
    const long plane = (long)H * W;
    for (int c = 0; c < C; c++)
        for (int i = i0; i < i0 + nb; i++)
            memset(dx + ((long)c * n + i) * plane, 0, sizeof(real) * plane);
    const real *src = dcol;
    for (int r = 0; r < C * K * K; r++) {
        const int c = r / (K * K), ki = r / K % K, kj = r % K;
        const int lo = p - kj > 0 ? p - kj : 0;
        const int hi = W + p - kj < OW ? W + p - kj : OW;
        for (int i = i0; i < i0 + nb; i++) {
            real *img = dx + ((long)c * n + i) * plane;
            for (int oh = 0; oh < OH; oh++, src += OW) {
                const int ih = oh + ki - p;
                if (ih < 0 || ih >= H)
                    continue;
                real *row = img + (long)ih * W + kj - p;
#pragma omp simd
                for (int ow = lo; ow < hi; ow++)
                    row[ow] += src[ow];
            }
        }
    }
}

void conv_col2im(const LayerGeom *L, const real *dcol, int n, int i0, int nb, real *dx,
                 real *buf)
{
    if (L->out.w <= VL)
        col2im_short(L, dcol, n, i0, nb, dx, buf);
    else
        col2im_long(L, dcol, n, i0, nb, dx);
}

void conv_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                  Scratch *sc)
{
    if (conv_ocvec_suits(L)) {
        real *wp = scratch_shared(sc, 0, sizeof(real) * conv_ocvec_packed_reals(L, 1));
        conv_ocvec_pack(L, w, 0, 1, wp);
        conv_ocvec_forward(L, L->out.c, wp, 1, x, n, y, 0, sc);
        return;
    }
    conv_forward_im2col(L, w, x, n, y, sc);
}

void conv_forward_im2col(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                         Scratch *sc)
{
    const ConvChunking ch = conv_chunking(L, n);
    const int OC = L->out.c, CKK = (int)ch.ckk;
    const long ldy = n * ch.opl;
#pragma omp parallel
    {
        real *col = scratch_thread(sc, 0, sizeof(real) * conv_col_reals(&ch));
#pragma omp for schedule(static)
        for (int q = 0; q < ch.chunks; q++) {
            int nb;
            const int i0 = conv_chunk(&ch, n, q, &nb);
            const int cols = (int)(nb * ch.opl);
            real *yq = y + i0 * ch.opl;
            conv_im2col(L, x, n, i0, nb, col);
            cblas_gemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, cols, CKK, 1,
                       w + L->w_off, CKK, col, cols, 0, yq, (int)ldy);
            conv_add_bias(yq, ldy, OC, w + L->b_off, cols);
        }
    }
}

void conv_backward(const LayerGeom *L, const real *w, const real *x, const real *dy, int n,
                   real *g, real *dx, Scratch *sc)
{
    if (conv_ocvec_wgrad_suits(L)) {
        real *gw = scratch_shared(sc, 1, sizeof(real) * conv_ocvec_packed_reals(L, 1));
        conv_ocvec_wgrad(L, L->out.c, x, dy, n, gw, sc);
        conv_ocvec_unpack(L, gw, 1, g, 0, 0, 1);
        if (dx)
            conv_backward_data(L, w, dy, n, dx, sc);
        return;
    }
    conv_backward_im2col(L, w, x, dy, n, g, dx, sc);
}

void conv_backward_im2col(const LayerGeom *L, const real *w, const real *x, const real *dy, int n,
                          real *g, real *dx, Scratch *sc)
{
    const ConvChunking ch = conv_chunking(L, n);
    const int OC = L->out.c, CKK = (int)ch.ckk;
    const long ldy = n * ch.opl, taps = OC * ch.ckk, stride = taps + OC;
    const int nt = omp_get_max_threads();
    /* per thread: the weight gradient transposed, [C*K*K][OC] (the GEMM is
     * faster with the long side first: 72 vs 63 GFLOP/s measured on LeNet's
     * conv2 chunks), then the bias gradient [OC] */
    real *part = scratch_shared(sc, 0, sizeof(real) * stride * nt);
    memset(part, 0, sizeof(real) * stride * nt);
#pragma omp parallel num_threads(nt)
    {
        real *col = scratch_thread(sc, 0, sizeof(real) * conv_col_reals(&ch));
        real *buf = dx ? scratch_thread(sc, 1, sizeof(real) * conv_col2im_buf(L)) : NULL;
        real *gwt = part + stride * omp_get_thread_num(), *gb = gwt + taps;
#pragma omp for schedule(static)
        for (int q = 0; q < ch.chunks; q++) {
            int nb;
            const int i0 = conv_chunk(&ch, n, q, &nb);
            const int cols = (int)(nb * ch.opl);
            const real *dyq = dy + i0 * ch.opl;
            conv_im2col(L, x, n, i0, nb, col);
            cblas_gemm(CblasRowMajor, CblasNoTrans, CblasTrans, CKK, OC, cols, 1, col, cols,
                       dyq, (int)ldy, 1, gwt, OC);
            conv_sum_rows(dyq, ldy, OC, cols, gb);
            if (!dx)
                continue;
            /* the chunk's col is spent: reuse it as dcol = W^T dy */
            cblas_gemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, cols, OC, 1,
                       w + L->w_off, CKK, dyq, (int)ldy, 0, col, cols);
            conv_col2im(L, col, n, i0, nb, dx, buf);
        }
    }
    /* threads' partial sums in thread order: deterministic */
    for (int o = 0; o < OC; o++)
        for (long t = 0; t < ch.ckk; t++) {
            real s = 0;
            for (int q = 0; q < nt; q++)
                s += part[q * stride + t * OC + o];
            g[L->w_off + o * ch.ckk + t] = s;
        }
    for (int o = 0; o < OC; o++) {
        real s = 0;
        for (int q = 0; q < nt; q++)
            s += part[q * stride + taps + o];
        g[L->b_off + o] = s;
    }
}

void conv_backward_data(const LayerGeom *L, const real *w, const real *dy, int n, real *dx,
                        Scratch *sc)
{
    if (conv_dgrad_suits(L)) {
        conv_dgrad(L, w, dy, n, dx, sc);
        return;
    }
    conv_backward_data_im2col(L, w, dy, n, dx, sc);
}

void conv_backward_data_im2col(const LayerGeom *L, const real *w, const real *dy, int n,
                               real *dx, Scratch *sc)
{
    const ConvChunking ch = conv_chunking(L, n);
    const int OC = L->out.c, CKK = (int)ch.ckk;
    const long ldy = n * ch.opl;
#pragma omp parallel
    {
        real *dcol = scratch_thread(sc, 0, sizeof(real) * conv_col_reals(&ch));
        real *buf = scratch_thread(sc, 1, sizeof(real) * conv_col2im_buf(L));
#pragma omp for schedule(static)
        for (int q = 0; q < ch.chunks; q++) {
            int nb;
            const int i0 = conv_chunk(&ch, n, q, &nb);
            const int cols = (int)(nb * ch.opl);
            cblas_gemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, cols, OC, 1,
                       w + L->w_off, CKK, dy + i0 * ch.opl, (int)ldy, 0, dcol, cols);
            conv_col2im(L, dcol, n, i0, nb, dx, buf);
        }
    }
}
