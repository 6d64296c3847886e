/* conv2d_ocvec.c — direct convolution vectorised over output channels, for
 * layers with many output channels and short rows (LeNet's conv2: 6 -> 16
 * channels, 10-wide outputs), where im2col + GEMM spends as long building
 * its col buffer as multiplying (M = 16 is a poor GEMM shape as well).
 *
 * An output row block of PB pixels holds PB x G accumulators, each a vector
 * of VL output channels; every tap loads G weight vectors and broadcasts PB
 * input scalars (consecutive in one padded input row: constant offsets from
 * one pointer), then does PB x G multiply-adds. Weights are packed once per
 * call as [C*K*K][OCpad] with zeros past OC, then the bias [OCpad]. Each
 * pixel sums its taps in one fixed order (c, ki, kj), so the bytes do not
 * depend on the thread count.
 *
 * Stacked tangents are just more output channels: a block of kc tangents'
 * weights packed side by side is one conv with kc*OC channels, whose output
 * [kc*OC][n][OH][OW] is the block's [kc][OC][n][OH][OW]. The weight
 * gradient is conv2d_ocvec_wgrad.c's. Leaves out: strides, dilation, the
 * input gradient (conv2d.c's im2col path does it). */
#include <string.h>

#include "scratch.h"
#include "kernels.h"
#include "vec64.h"

#define PB_MAX 14 /* pixels per block; PB x G accumulators stay within 28 registers */

long conv_ocvec_pad(int oc) { return (oc + VL - 1) / VL * VL; }

int conv_ocvec_suits(const LayerGeom *L)
{
    /* a vector of output channels at least half full, and rows short enough
     * that im2col's row copies dominate (measured on LeNet's conv2) */
    return 2 * L->out.c >= VL && L->out.w <= 2 * PB_MAX;
}

long conv_ocvec_packed_reals(const LayerGeom *L, int groups)
{
    return ((long)L->in.c * L->ksize * L->ksize + 1) * conv_ocvec_pad(groups * L->out.c);
}

void conv_ocvec_pack(const LayerGeom *L, const real *params, long stride, int groups, real *wp)
{
    const int OC = L->out.c;
    const long ckk = (long)L->in.c * L->ksize * L->ksize, ocp = conv_ocvec_pad(groups * OC);
    for (long t = 0; t <= ckk; t++) { /* row ckk: the bias */
        real *row = wp + t * ocp;
        for (int g = 0; g < groups; g++) {
            const real *src = params + g * stride;
            for (int o = 0; o < OC; o++)
                row[g * OC + o] = t < ckk ? src[L->w_off + (long)o * ckk + t] : src[L->b_off + o];
        }
        for (long o = (long)groups * OC; o < ocp; o++)
            row[o] = 0;
    }
}

void conv_ocvec_unpack(const LayerGeom *L, const real *wp, int groups, real *params, long stride,
                       int acc, int with_bias)
{
    const int OC = L->out.c;
    const long ckk = (long)L->in.c * L->ksize * L->ksize, ocp = conv_ocvec_pad(groups * OC);
    for (int g = 0; g < groups; g++) {
        real *dst = params + g * stride;
        for (int o = 0; o < OC; o++) {
            real *wo = dst + L->w_off + (long)o * ckk;
            const real *src = wp + g * OC + o;
            for (long t = 0; t < ckk; t++)
                wo[t] = acc ? wo[t] + src[t * ocp] : src[t * ocp];
            if (with_bias)
                dst[L->b_off + o] = acc ? dst[L->b_off + o] + src[ckk * ocp] : src[ckk * ocp];
        }
    }
}

/* One block: pixels ow0 .. ow0+PB of output row oh, channel vectors
 * v0 .. v0+G. */
static inline __attribute__((always_inline)) void block(
    const int PB, const int G, const real *pad, int C, int K, int PH, int PW, int oh, int ow0,
    const real *wp, long ocp, int v0, const real *bias, int acc, int OC, real *y,
    long ystride_c, long yoff)
{
    vec a[PB_MAX][2];
#pragma GCC unroll 2
    for (int g = 0; g < G; g++) {
        vec b0 = {0};
        if (bias)
            memcpy(&b0, bias + (long)(v0 + g) * VL, sizeof b0);
#pragma GCC unroll 16
        for (int p = 0; p < PB; p++)
            a[p][g] = b0;
    }
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < K; ki++) {
            const real *row = pad + ((long)c * PH + oh + ki) * PW + ow0;
            const real *wrow = wp + ((long)(c * K + ki) * K) * ocp + (long)v0 * VL;
            for (int kj = 0; kj < K; kj++) {
                vec wv[2];
#pragma GCC unroll 2
                for (int g = 0; g < G; g++)
                    memcpy(&wv[g], wrow + (long)kj * ocp + g * VL, sizeof wv[g]);
                /* the compiler, seeing that tap kj+1 reads what kj read one
                 * pixel on, keeps those scalars in registers and broadcasts
                 * from there: a shuffle-port op each, one a cycle, where a
                 * broadcast from memory is a load (two a cycle). An opaque
                 * pointer per tap keeps every broadcast a load (measured:
                 * LeNet's conv2 forward 0.30 -> 0.25 ms). */
                const real *r = row + kj;
                __asm__("" : "+r"(r));
#pragma GCC unroll 16
                for (int p = 0; p < PB; p++) {
                    const real s = r[p];
#pragma GCC unroll 2
                    for (int g = 0; g < G; g++)
                        a[p][g] += s * wv[g];
                }
            }
        }
    /* [channel][pixel] out of [pixel][channel] registers */
    for (int g = 0; g < G; g++) {
        real t[PB_MAX][VL];
#pragma GCC unroll 16
        for (int p = 0; p < PB; p++)
            memcpy(t[p], &a[p][g], sizeof t[p]);
        for (int q = 0; q < VL; q++) {
            const int o = (v0 + g) * VL + q;
            if (o >= OC)
                break;
            real *dst = y + o * ystride_c + yoff + ow0;
            if (acc)
                for (int p = 0; p < PB; p++)
                    dst[p] += t[p][q];
            else
                for (int p = 0; p < PB; p++)
                    dst[p] = t[p][q];
        }
    }
}

/* Every block width, each unrolled completely by the compiler. */
#define WIDTHS(X)                                                                           \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14)

#define BLOCK_FN(W)                                                                         \
    static void block_##W(int G, const real *pad, int C, int K, int PH, int PW, int oh,       \
                          int ow0, const real *wp, long ocp, int v0, const real *bias,       \
                          int acc, int OC, real *y, long ysc, long yoff)                     \
    {                                                                                        \
        if (G == 2)                                                                          \
            block(W, 2, pad, C, K, PH, PW, oh, ow0, wp, ocp, v0, bias, acc, OC, y, ysc,      \
                  yoff);                                                                     \
        else                                                                                 \
            block(W, 1, pad, C, K, PH, PW, oh, ow0, wp, ocp, v0, bias, acc, OC, y, ysc,      \
                  yoff);                                                                     \
    }
WIDTHS(BLOCK_FN)

typedef void (*BlockFn)(int, const real *, int, int, int, int, int, int, const real *, long,
                        int, const real *, int, int, real *, long, long);
#define BLOCK_ENTRY(W) block_##W,
static const BlockFn BLOCKS[] = {WIDTHS(BLOCK_ENTRY)};

void conv_ocvec_forward(const LayerGeom *L, int OC, const real *wp, int with_bias, const real *x,
                        int n, real *y, int acc, Scratch *sc)
{
    const int C = L->in.c, H = L->in.h, W = L->in.w, K = L->ksize, p = L->pad;
    const int OH = L->out.h, OW = L->out.w, PH = H + 2 * p, PW = W + 2 * p;
    const long ocp = conv_ocvec_pad(OC), vecs = ocp / VL;
    const real *bias = with_bias ? wp + (long)C * K * K * ocp : NULL;
    /* the fewest blocks per row of at most PB_MAX pixels, the last one narrower */
    const int nblk = (OW + PB_MAX - 1) / PB_MAX, per = (OW + nblk - 1) / nblk;
    const int G = per <= 12 && vecs % 2 == 0 ? 2 : 1; /* two channel vectors if they fit */
#pragma omp parallel
    {
        real *pad = p ? scratch_thread(sc, 0, sizeof(real) * C * PH * PW) : NULL;
        if (pad)
            memset(pad, 0, sizeof(real) * C * PH * PW); /* the border stays zero */
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            const real *img = x + (long)i * H * W; /* plane c at + c*n*H*W */
            if (pad) {
                for (int c = 0; c < C; c++)
                    for (int h = 0; h < H; h++)
                        memcpy(pad + ((long)c * PH + h + p) * PW + p,
                               img + ((long)c * n * H + h) * W, sizeof(real) * W);
            }
            for (int v0 = 0; v0 < vecs; v0 += G)
                for (int oh = 0; oh < OH; oh++)
                    for (int ow0 = 0; ow0 < OW; ow0 += per) {
                        const BlockFn fn = BLOCKS[(OW - ow0 < per ? OW - ow0 : per) - 1];
                        const long yoff = ((long)i * OH + oh) * OW;
                        if (pad)
                            fn(G, pad, C, K, PH, PW, oh, ow0, wp, ocp, v0, bias, acc, OC, y,
                               (long)n * OH * OW, yoff);
                        else /* planes of x are n images apart */
                            fn(G, img, C, K, n * H, W, oh, ow0, wp, ocp, v0, bias, acc, OC, y,
                               (long)n * OH * OW, yoff);
                    }
        }
    }
}
