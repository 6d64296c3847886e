/* conv2d_ocvec_wgrad.c — a conv layer's weight and bias gradient, directly,
 * vectorised over output channels (the backward partner of
 * conv2d_ocvec.c): gw[t][o] = sum over images and pixels of
 * x_t(pixel) dy[o](pixel), where x_t is tap t's input under that pixel.
 *
 * Per image, dy is transposed to one vector of output channels per pixel;
 * then, per input channel, the K*K taps' accumulators (one vector each) stay
 * in registers across all the image's pixels: every pixel loads one dy
 * vector and broadcasts K*K input scalars into K*K multiply-adds. No col
 * buffer is built (on LeNet's conv2 the im2col alone took a third of the
 * im2col + GEMM weight gradient). Images are spread over threads; each
 * thread sums its images in order into its own partial, and the partials
 * are added in thread order: the same bytes for a given thread count.
 *
 * Leaves out: K > 5 (conv_ocvec_wgrad_suits says no; conv2d.c's path does
 * it), strides, dilation. */
#include <omp.h>
#include <string.h>

#include "scratch.h"
#include "kernels.h"
#include "vec64.h"

#define K_MAX 5

int conv_ocvec_wgrad_suits(const LayerGeom *L) { return conv_ocvec_suits(L) && L->ksize <= K_MAX; }

/* Input channel c of one (padded) image, rows PW apart: its K*K tap
 * accumulators for channel vector v, over all pixels of the image. */
static inline __attribute__((always_inline)) void taps(const int K, const real *plane, int PW,
                                                      int OH, int OW, const real *dyt,
                                                      long ocp, real *acc)
{
    vec a[K_MAX * K_MAX];
#pragma GCC unroll 25
    for (int t = 0; t < K * K; t++)
        memcpy(&a[t], acc + t * ocp, sizeof a[t]);
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            vec d;
            memcpy(&d, dyt + ((long)oh * OW + ow) * ocp, sizeof d);
            const real *src = plane + (long)oh * PW + ow;
#pragma GCC unroll 5
            for (int ki = 0; ki < K; ki++) {
                /* an opaque row pointer: else the compiler carries the
                 * scalars shared with the next pixel in registers and
                 * broadcasts from there (a shuffle-port op each;
                 * conv2d_ocvec.c says why that is slow), or keeps K*K
                 * offsets in too few registers */
                const real *r = src + (long)ki * PW;
                __asm__("" : "+r"(r));
#pragma GCC unroll 5
                for (int kj = 0; kj < K; kj++)
                    a[ki * K + kj] += r[kj] * d;
            }
        }
#pragma GCC unroll 25
    for (int t = 0; t < K * K; t++)
        memcpy(acc + t * ocp, &a[t], sizeof a[t]);
}

#define KSIZES(X) X(1) X(2) X(3) X(4) X(5)
#define TAPS_FN(K)                                                                      \
    static void taps_##K(const real *plane, int PW, int OH, int OW, const real *dyt,     \
                         long ocp, real *acc)                                            \
    {                                                                                    \
        taps(K, plane, PW, OH, OW, dyt, ocp, acc);                                       \
    }
KSIZES(TAPS_FN)
typedef void (*TapsFn)(const real *, int, int, int, const real *, long, real *);
#define TAPS_ENTRY(K) taps_##K,
static const TapsFn TAPS[] = {KSIZES(TAPS_ENTRY)};

void conv_ocvec_wgrad(const LayerGeom *L, int OC, const real *x, const real *dy, int n, real *gw,
                      Scratch *sc)
{
    const int C = L->in.c, H = L->in.h, W = L->in.w, K = L->ksize, p = L->pad;
    const int OH = L->out.h, OW = L->out.w, PH = H + 2 * p, PW = W + 2 * p;
    const long ocp = conv_ocvec_pad(OC), vecs = ocp / VL, opl = (long)OH * OW;
    const long rows = (long)C * K * K + 1, part_sz = rows * ocp; /* + the bias row */
    const TapsFn fn = TAPS[K - 1];
    const int nt = omp_get_max_threads();
    real *part = scratch_shared(sc, 2, sizeof(real) * part_sz * nt);
    memset(part, 0, sizeof(real) * part_sz * nt);
#pragma omp parallel num_threads(nt)
    {
        real *acc = part + part_sz * omp_get_thread_num();
        real *dyt = scratch_thread(sc, 0, sizeof(real) * opl * ocp);
        real *pad = p ? scratch_thread(sc, 1, sizeof(real) * C * PH * PW) : NULL;
        if (pad)
            memset(pad, 0, sizeof(real) * C * PH * PW); /* the border stays zero */
        if (ocp > OC) /* channels past OC stay zero */
            memset(dyt, 0, sizeof(real) * opl * ocp);
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < OC; o++) {
                const real *src = dy + ((long)o * n + i) * opl;
                for (long q = 0; q < opl; q++)
                    dyt[q * ocp + o] = src[q];
            }
            const real *img = x + (long)i * H * W; /* plane c at + c*n*H*W */
            long stride = (long)n * H * W;
            if (pad) {
                for (int c = 0; c < C; c++)
                    for (int h = 0; h < H; h++)
                        memcpy(pad + ((long)c * PH + h + p) * PW + p,
                               img + (long)c * stride + (long)h * W, sizeof(real) * W);
                img = pad;
                stride = (long)PH * PW;
            }
            for (long v = 0; v < vecs; v++) {
                for (int c = 0; c < C; c++)
                    fn(img + c * stride, PW, OH, OW, dyt + v * VL, ocp,
                       acc + (long)c * K * K * ocp + v * VL);
                /* the bias: the sum of dy over pixels */
                vec b;
                real *bacc = acc + (rows - 1) * ocp + v * VL;
                memcpy(&b, bacc, sizeof b);
                for (long q = 0; q < opl; q++) {
                    vec d;
                    memcpy(&d, dyt + q * ocp + v * VL, sizeof d);
                    b += d;
                }
                memcpy(bacc, &b, sizeof b);
            }
        }
    }
    /* threads' partials in thread order: deterministic */
    for (long r = 0; r < part_sz; r++) {
        real s = 0;
        for (int q = 0; q < nt; q++)
            s += part[q * part_sz + r];
        gw[r] = s;
    }
}
