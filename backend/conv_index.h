/* conv_index.h — im2col and col2im as per-entry bodies for host and device.
 * The CUDA backend's im2col + cuBLAS convolution (backend/cuda/
 * cuda_conv_gemm.cu) runs one thread per entry of these; the CPU backend's
 * row-wise im2col and col2im (backend/cpu/conv2d.c) compute the same
 * entries, and tests/test_conv_paths.c checks these bodies against them on
 * the CPU, so the index arithmetic is covered without a GPU.
 *
 * Layouts as backend.h: x [C][n][H][W]; col [C K K][nb OH OW] for images
 * i0 .. i0+nb, row r = (c K + ki) K + kj, column q = (i - i0) OH OW + oh OW
 * + ow; stride 1, zero padding p.
 */
#ifndef HG_CONV_INDEX_H
#define HG_CONV_INDEX_H

#include "../common/real.h"
#include "layer_geom.h"
#include "hd.h"

/* The index into x of col's entry (r, q), or -1 where that tap reads the
 * padding (the entry is 0). */
static inline HG_HD long hg_im2col_src(const LayerGeom *L, int n, int i0, long r, long q)
{
    const int K = L->ksize, OW = L->out.w;
    const long opl = (long)L->out.h * OW;
    const int c = (int)(r / (K * K)), ki = (int)(r / K % K), kj = (int)(r % K);
    const int i = i0 + (int)(q / opl), oh = (int)(q % opl / OW), ow = (int)(q % OW);
    const int ih = oh + ki - L->pad, iw = ow + kj - L->pad;
    if (ih < 0 || ih >= L->in.h || iw < 0 || iw >= L->in.w)
        return -1;
    return (((long)c * n + i) * L->in.h + ih) * L->in.w + iw;
}

/* col2im's entry of x at (c, i, ih, iw), i in i0 .. i0+nb: the sum of every
 * col entry whose tap reads it, taps in row order (ki, then kj), from 0 —
 * the order in which the CPU's col2im adds them. */
static inline HG_HD real hg_col2im_at(const LayerGeom *L, const real *dcol, int nb, int i0, int c,
                                      int i, int ih, int iw)
{
    const int K = L->ksize, p = L->pad, OH = L->out.h, OW = L->out.w;
    const long opl = (long)OH * OW, cols = nb * opl;
    real acc = 0;
    for (int ki = 0; ki < K; ki++) {
        const int oh = ih + p - ki;
        if (oh < 0 || oh >= OH)
            continue;
        for (int kj = 0; kj < K; kj++) {
            const int ow = iw + p - kj;
            if (ow < 0 || ow >= OW)
                continue;
            acc += dcol[((long)(c * K + ki) * K + kj) * cols + (i - i0) * opl + (long)oh * OW + ow];
        }
    }
    return acc;
}

#endif
