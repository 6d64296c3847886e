/* conv2d_rop.c — the R-op passes of a conv layer for a block of kc tangents
 * at once (im2col + GEMM, as conv2d.c).
 *
 * Every term that pairs a tangent's weights V_j with the primal input or
 * delta is one GEMM for all kc tangents: tangent activations are laid out
 * [kc][OC][n*OH*OW], so row (j, o) of a stacked result sits at (j*OC + o)
 * times the row stride, and the stacked weights are packed once. That turns
 * M = OC (16 on LeNet's conv2, a poor GEMM shape) into M = kc*OC, and the
 * primal im2col is done once per chunk instead of once per tangent. Terms
 * that pair the primal weights with a tangent input (R{x}) stay per tangent.
 */
#include <omp.h>
#include <string.h>

#include "scratch.h"
#include "kernels.h"

void conv_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                   const real *x, const real *rx, int n, real *ry, Scratch *sc)
{
    const ConvChunking ch = conv_chunking(L, n);
    const int OC = L->out.c, CKK = (int)ch.ckk;
    const long ldy = n * ch.opl, osz = OC * ldy, isz = (long)L->in.c * n * L->in.h * L->in.w;
    if (conv_ocvec_suits(L)) {
        /* the kc tangents as one conv of kc*OC channels, then the R{x} terms */
        real *Vp = scratch_shared(sc, 0, sizeof(real) * conv_ocvec_packed_reals(L, kc));
        conv_ocvec_pack(L, V, P, kc, Vp);
        conv_ocvec_forward(L, kc * OC, Vp, 1, x, n, ry, 0, sc);
        if (!rx)
            return;
        real *wp = scratch_shared(sc, 1, sizeof(real) * conv_ocvec_packed_reals(L, 1));
        conv_ocvec_pack(L, w, 0, 1, wp);
        for (int j = 0; j < kc; j++)
            conv_ocvec_forward(L, OC, wp, 0, rx + j * isz, n, ry + j * osz, 1, sc);
        return;
    }
    /* Vw [kc*OC][CKK]: the tangents' conv weights, stacked */
    real *Vw = scratch_shared(sc, 0, sizeof(real) * kc * OC * CKK);
    for (int j = 0; j < kc; j++)
        memcpy(Vw + (long)j * OC * CKK, V + j * P + L->w_off, sizeof(real) * OC * CKK);
#pragma omp parallel
    {
        real *col = scratch_thread(sc, 0, sizeof(real) * conv_col_reals(&ch));
#pragma omp for schedule(static)
        for (int q = 0; q < ch.chunks; q++) {
            int nb;
            const int i0 = conv_chunk(&ch, n, q, &nb);
            const int cols = (int)(nb * ch.opl);
            /* R{y}_j = conv(x; V_j) + Vb_j for every j: one GEMM */
            conv_im2col(L, x, n, i0, nb, col);
            cblas_gemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kc * OC, cols, CKK, 1, Vw,
                       CKK, col, cols, 0, ry + i0 * ch.opl, (int)ldy);
            for (int j = 0; j < kc; j++)
                conv_add_bias(ry + j * osz + i0 * ch.opl, ldy, OC, V + j * P + L->b_off, cols);
            /* + conv(R{x}_j; W), tangent by tangent */
            for (int j = 0; rx && j < kc; j++) {
                conv_im2col(L, rx + j * isz, n, i0, nb, col);
                cblas_gemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, cols, CKK, 1,
                           w + L->w_off, CKK, col, cols, 1, ry + j * osz + i0 * ch.opl,
                           (int)ldy);
            }
        }
    }
}

void conv_rbackward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                    const real *x, const real *rx, const real *dy, const real *rdy, int n,
                    real *HV, real *rdx, Scratch *sc)
{
    const ConvChunking ch = conv_chunking(L, n);
    const int OC = L->out.c, CKK = (int)ch.ckk;
    const long ldy = n * ch.opl, osz = OC * ldy, isz = (long)L->in.c * n * L->in.h * L->in.w;
    const long wsz = (long)kc * OC * CKK, part_sz = wsz + (long)kc * OC;
    const int nt = omp_get_max_threads();
    /* the weight R-gradients by the direct kernel: every tangent's R{dy} * x
     * at once (kc*OC channels), then dy * R{x}_j tangent by tangent */
    const int direct_w = conv_ocvec_wgrad_suits(L);
    if (direct_w) {
        real *g1 = scratch_shared(sc, 1, sizeof(real) * conv_ocvec_packed_reals(L, kc));
        conv_ocvec_wgrad(L, kc * OC, x, rdy, n, g1, sc);
        conv_ocvec_unpack(L, g1, kc, HV, P, 0, 1);
        real *g2 = scratch_shared(sc, 0, sizeof(real) * conv_ocvec_packed_reals(L, 1));
        for (int j = 0; rx && j < kc; j++) {
            conv_ocvec_wgrad(L, OC, rx + j * isz, dy, n, g2, sc);
            conv_ocvec_unpack(L, g2, 1, HV + j * P, 0, 1, 0);
        }
        if (!rdx)
            return;
        if (conv_dgrad_suits(L)) { /* R{dx}_j directly: conv^T(R{dy}_j; W) + conv^T(dy; V_j) */
            for (int j = 0; j < kc; j++) {
                const real *const ws[2] = {w, V + j * P}, *const dys[2] = {rdy + j * osz, dy};
                conv_dgrad_pairs(L, 2, ws, dys, n, rdx + j * isz, sc);
            }
            return;
        }
    }
    /* per thread: weight R-gradients [kc*OC][CKK], then bias ones [kc][OC] */
    real *part = direct_w ? NULL : scratch_shared(sc, 0, sizeof(real) * part_sz * nt);
    if (part)
        memset(part, 0, sizeof(real) * part_sz * nt);
    /* Vh [OC][kc*CKK]: the tangents' weights side by side, so that
     * Vh^T dy stacks conv^T(dy; V_j) for every j in one GEMM */
    real *Vh = rdx ? scratch_shared(sc, 1, sizeof(real) * wsz) : NULL;
    for (int j = 0; rdx && j < kc; j++)
        for (int o = 0; o < OC; o++)
            memcpy(Vh + (long)o * kc * CKK + (long)j * CKK,
                   V + j * P + L->w_off + (long)o * CKK, sizeof(real) * CKK);
#pragma omp parallel num_threads(nt)
    {
        real *col = scratch_thread(sc, 0, sizeof(real) * conv_col_reals(&ch));
        /* [kc][CKK][cols] stacked, + slack for col2im's whole-vector reads */
        real *dcol = rdx ? scratch_thread(sc, 1, sizeof(real) * (kc * conv_col_reals(&ch)))
                         : NULL;
        real *buf = rdx ? scratch_thread(sc, 2, sizeof(real) * conv_col2im_buf(L)) : NULL;
        real *gw = part ? part + part_sz * omp_get_thread_num() : NULL;
        real *gb = gw ? gw + wsz : NULL;
#pragma omp for schedule(static)
        for (int q = 0; q < ch.chunks; q++) {
            int nb;
            const int i0 = conv_chunk(&ch, n, q, &nb);
            const int cols = (int)(nb * ch.opl);
            const long cstride = (long)CKK * cols; /* one tangent's dcol */
            if (!direct_w) {
                /* R{gW}_j = R{dy}_j x^T for every j: one GEMM */
                conv_im2col(L, x, n, i0, nb, col);
                cblas_gemm(CblasRowMajor, CblasNoTrans, CblasTrans, kc * OC, CKK, cols, 1,
                           rdy + i0 * ch.opl, (int)ldy, col, cols, 1, gw, CKK);
                conv_sum_rows(rdy + i0 * ch.opl, ldy, kc * OC, cols, gb);
                /* + dy R{x}_j^T, tangent by tangent */
                for (int j = 0; rx && j < kc; j++) {
                    conv_im2col(L, rx + j * isz, n, i0, nb, col);
                    cblas_gemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, CKK, cols, 1,
                               dy + i0 * ch.opl, (int)ldy, col, cols, 1,
                               gw + (long)j * OC * CKK, CKK);
                }
            }
            if (!rdx)
                continue;
            /* R{dx}_j = conv^T(dy; V_j) (all j, one GEMM) + conv^T(R{dy}_j; W) */
            cblas_gemm(CblasRowMajor, CblasTrans, CblasNoTrans, kc * CKK, cols, OC, 1, Vh,
                       kc * CKK, dy + i0 * ch.opl, (int)ldy, 0, dcol, cols);
            for (int j = 0; j < kc; j++) {
                cblas_gemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, cols, OC, 1,
                           w + L->w_off, CKK, rdy + j * osz + i0 * ch.opl, (int)ldy, 1,
                           dcol + j * cstride, cols);
                conv_col2im(L, dcol + j * cstride, n, i0, nb, rdx + j * isz, buf);
            }
        }
    }
    if (direct_w)
        return;
    /* threads' partial sums in thread order: deterministic */
    for (int j = 0; j < kc; j++) {
        real *g = HV + j * P;
        for (long t = 0; t < (long)OC * CKK; t++) {
            real s = 0;
            for (int q = 0; q < nt; q++)
                s += part[q * part_sz + (long)j * OC * CKK + t];
            g[L->w_off + t] = s;
        }
        for (int o = 0; o < OC; o++) {
            real s = 0;
            for (int q = 0; q < nt; q++)
                s += part[q * part_sz + wsz + (long)j * OC + o];
            g[L->b_off + o] = s;
        }
    }
}
