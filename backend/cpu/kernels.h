/* kernels.h — the CPU backend's layer kernels (internal to backend/cpu/;
 * backend.h's table hands them out). OpenBLAS GEMMs and OpenMP loops.
 *
 * Activation layouts, chosen so that convolutions need no transposes:
 *   spatial tensors are [C][n][H][W] ("CNHW": a conv is one GEMM
 *   W[OC][C*K*K] x col[C*K*K][n*OH*OW]); flat tensors are [n][D].
 * A block of k tangents of an activation is k such tensors back to back.
 *
 * Every kernel that produces a parameter-shaped result writes only its own
 * layer's slice (w_off/b_off) of a full-length parameter vector. `acc` = 0
 * overwrites the output, 1 adds to it. The R-ops are sums of these kernels
 * with tangent arguments, assembled in models/net.c.
 */
#ifndef HG_CPU_KERNELS_H
#define HG_CPU_KERNELS_H

#include <stdint.h>

#include "../../common/real.h"
#include "../layer_geom.h"
#include "blas.h"
#include "scratch.h"

/* ---- linear: x [n][in] -> y [n][out], y = x W^T (+ b) ---- */
void linear_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                    int acc, int add_bias);
/* dx (+)= dy W */
void linear_backward_data(const LayerGeom *L, const real *w, const real *dy, int n,
                          real *dx, int acc);
/* g[W] (+)= dy^T x ;  g[b] (+)= sum_i dy[i] (bias only if with_bias) */
void linear_backward_params(const LayerGeom *L, const real *x, const real *dy, int n,
                            real *g, int acc, int with_bias);
/* R-ops for kc tangents V [kc][P] (rx [kc][n][in] or NULL: zero), from the
 * three above: ry_j = rx_j W^T + x V_j^T + Vb_j (the rx term of every j in
 * one GEMM of kc n rows) */
void linear_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                     const real *x, const real *rx, int n, real *ry);
/* HV_j = rdy_j^T x + dy^T rx_j (and the bias's sum of rdy_j), overwritten;
 * if rdx: rdx_j = rdy_j W + dy V_j */
void linear_rbackward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                      const real *x, const real *rx, const real *dy, const real *rdy, int n,
                      real *HV, real *rdx);

/* ---- conv2d: x [C][n][H][W] -> y [OC][n][OH][OW] (conv2d.c); outputs
 * are overwritten ---- */
/* y = conv(x; w) + b */
void conv_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                  Scratch *sc);
/* the same by im2col + GEMM whatever the layer (conv_forward's path where
 * conv_ocvec_suits is false; tests compare the two) */
void conv_forward_im2col(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                         Scratch *sc);
/* g[W] = dy * x (correlation over batch and pixels), g[b] = sum of dy; and
 * dx = conv^T(dy; w) if dx is not NULL, in the same pass over the chunks */
void conv_backward(const LayerGeom *L, const real *w, const real *x, const real *dy, int n,
                   real *g, real *dx, Scratch *sc);
/* the same by im2col + GEMM whatever the layer (the path where
 * conv_ocvec_wgrad_suits is false) */
void conv_backward_im2col(const LayerGeom *L, const real *w, const real *x, const real *dy, int n,
                          real *g, real *dx, Scratch *sc);
/* dx = conv^T(dy; w) alone */
void conv_backward_data(const LayerGeom *L, const real *w, const real *dy, int n, real *dx,
                        Scratch *sc);
/* The same, directly, vectorised over dx's rows (conv2d_dgrad.c), where
 * conv_dgrad_suits(L); conv_backward_data_im2col: by dcol = W^T dy, col2im */
int conv_dgrad_suits(const LayerGeom *L);
void conv_dgrad(const LayerGeom *L, const real *w, const real *dy, int n, real *dx, Scratch *sc);
/* dx = sum over k < np of conv^T(dy[k]; w[k]) (parameter vectors w[k]),
 * one pass: the R-backward's R{dx} = conv^T(R{dy}; W) + conv^T(dy; V) */
#define DGRAD_PAIRS_MAX 2
void conv_dgrad_pairs(const LayerGeom *L, int np, const real *const *w, const real *const *dy,
                      int n, real *dx, Scratch *sc);
void conv_backward_data_im2col(const LayerGeom *L, const real *w, const real *dy, int n, real *dx,
                               Scratch *sc);

/* The pieces the above are made of, shared with conv2d_rop.c: images are
 * processed in chunks of nb whose col buffer [C*K*K][nb*OH*OW] stays in L2. */
typedef struct ConvChunking {
    long ckk, opl;  /* rows of col (C*K*K); output pixels per image */
    int nb, chunks; /* images per chunk; chunks */
} ConvChunking;
ConvChunking conv_chunking(const LayerGeom *L, int n);
/* The first image of chunk q; *nb gets its number of images. */
static inline int conv_chunk(const ConvChunking *ch, int n, int q, int *nb)
{
    const int i0 = q * ch->nb;
    *nb = n - i0 < ch->nb ? n - i0 : ch->nb;
    return i0;
}
/* Row r < R of rows (row stride ldy), columns [0, cols): += b[r] (a bias). */
void conv_add_bias(real *rows, long ldy, int R, const real *b, int cols);
/* sums[r] += the sum of row r < R over columns [0, cols) (a bias gradient). */
void conv_sum_rows(const real *rows, long ldy, int R, int cols, real *sums);
/* reals of one chunk's col buffer, with the slack im2col/col2im need */
long conv_col_reals(const ConvChunking *ch);
/* reals of the scratch conv_col2im needs */
long conv_col2im_buf(const LayerGeom *L);
/* col of images i0 .. i0+nb of x [C][n][H][W] */
void conv_im2col(const LayerGeom *L, const real *x, int n, int i0, int nb, real *col);
/* images i0 .. i0+nb of dx = col2im(dcol), overwritten */
void conv_col2im(const LayerGeom *L, const real *dcol, int n, int i0, int nb, real *dx,
                 real *buf);

/* Direct convolution vectorised over output channels (conv2d_ocvec.c), for
 * the forward and R-forward passes of layers it suits: many output channels,
 * short rows. Weights are packed [C*K*K][OCpad] then a bias row [OCpad]
 * (OCpad: OC rounded up to a vector), for `groups` parameter vectors
 * params + g*stride side by side (groups tangents: groups*L->out.c channels). */
int conv_ocvec_suits(const LayerGeom *L);
long conv_ocvec_pad(int oc);
long conv_ocvec_packed_reals(const LayerGeom *L, int groups);
void conv_ocvec_pack(const LayerGeom *L, const real *params, long stride, int groups, real *wp);
/* y [OC][n][OH][OW] = (acc: +=) conv(x; wp) (+ its bias row if with_bias) */
void conv_ocvec_forward(const LayerGeom *L, int OC, const real *wp, int with_bias, const real *x,
                        int n, real *y, int acc, Scratch *sc);
/* The inverse of conv_ocvec_pack: params + g*stride gets (acc: +=) group g's
 * weights, and its bias if with_bias. */
void conv_ocvec_unpack(const LayerGeom *L, const real *wp, int groups, real *params, long stride,
                       int acc, int with_bias);
/* The weight and bias gradient (conv2d_ocvec_wgrad.c), packed as above:
 * gw = dy * x over dy [OC][n][OH][OW] (OC: e.g. kc*L->out.c stacked
 * tangents), overwritten. */
int conv_ocvec_wgrad_suits(const LayerGeom *L);
void conv_ocvec_wgrad(const LayerGeom *L, int OC, const real *x, const real *dy, int n, real *gw,
                      Scratch *sc);

/* R-ops for kc tangents (conv2d_rop.c). V holds kc parameter vectors of
 * length P; rx [kc][C][n][H][W] is R{x} or NULL (zero); ry, rdy and rdx
 * are [kc][...] like rx. */
/* ry_j = conv(x; V_j) + Vb_j + conv(rx_j; w) */
void conv_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                   const real *x, const real *rx, int n, real *ry, Scratch *sc);
/* HV_j[W, b] = R-gradients (rdy_j * x + dy * rx_j; sum of rdy_j), overwritten;
 * if rdx: rdx_j = conv^T(rdy_j; w) + conv^T(dy; V_j) */
void conv_rbackward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                    const real *x, const real *rx, const real *dy, const real *rdy, int n,
                    real *HV, real *rdx, Scratch *sc);

/* Direct convolution (conv2d_direct.c) for a first layer with few taps:
 * same results as the im2col path up to summation order, no col buffer, no
 * input gradient. */
/* y = conv(x; w) + b */
void conv_direct_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                         Scratch *sc);
/* g[W] = dy * x, g[b] = sum of dy (overwritten) */
void conv_direct_backward_params(const LayerGeom *L, const real *x, const real *dy, int n,
                                 real *g, Scratch *sc);
/* the same with dy made on the fly from a relu + maxpool above (the pool's
 * output delta dyp, its argmax arg, the relu's input xr = this conv's
 * output): the bytes of maxpool_relu_backward then the above, without the
 * full-size delta in memory */
void conv_direct_backward_params_pooled(const LayerGeom *L, const LayerGeom *pool,
                                        const int32_t *arg, const real *xr, const real *x,
                                        const real *dyp, int n, real *g, Scratch *sc);

/* ---- maxpool 2x2 stride 2 on [C][n][H][W]; arg [C][n][OH][OW] holds the
 * flat index into x of each window's max (first max on ties) ---- */
void maxpool_forward(const LayerGeom *L, const real *x, int n, real *y, int32_t *arg);
void maxpool_gather(const LayerGeom *L, const int32_t *arg, const real *x, int n, real *y);
/* dx = scatter of dy to the argmax positions (overwrites dx) */
void maxpool_backward(const LayerGeom *L, const int32_t *arg, const real *dy, int n,
                      real *dx);
/* a relu below the pool (x: the relu's input, shaped as the pool's) and the
 * pool backward in one pass: dx = scatter(dy) [x > 0], the same bytes as
 * maxpool_backward then relu_mask */
void maxpool_relu_backward(const LayerGeom *L, const int32_t *arg, const real *x,
                           const real *dy, int n, real *dx);
/* a relu below the pool, forward and R-forward fused (backend.h says why
 * these are the same bytes): y = relu(max x), ry = rx[arg] [x[arg] > 0] */
void maxpool_relu_forward(const LayerGeom *L, const real *x, int n, real *y, int32_t *arg);
void maxpool_relu_gather(const LayerGeom *L, const int32_t *arg, const real *x, const real *rx,
                         int n, real *ry);

/* ---- elementwise, count = n * size ---- */
void relu_forward(const real *x, long count, real *y);
/* out = d * [x > 0] */
void relu_mask(const real *x, const real *d, long count, real *out);
void tanh_forward(const real *x, long count, real *y);
/* out = d * (1 - y^2) */
void tanh_scale(const real *y, const real *d, long count, real *out);
/* out -= 2 * dy * y * ry   (the second-order term of tanh's R-backward) */
void tanh_rop_correction(const real *y, const real *dy, const real *ry, long count,
                         real *out);

/* ---- flatten [C][n][HW] <-> [n][C*HW] ---- */
void flatten_forward(Shape in, const real *x, int n, real *y);
void flatten_backward(Shape in, const real *dy, int n, real *dx);

/* ---- softmax cross-entropy over logits z [n][K], mean over the batch ----
 * Writes p = softmax(z) and returns the mean loss (accumulated in double). */
double xent_forward(const real *z, const int32_t *y, int n, int K, real *p);
/* dz = (p - onehot(y)) / n */
void xent_backward(const real *p, const int32_t *y, int n, int K, real *dz);
/* Rdz = p * (Rz - <p, Rz>) / n, per example */
void xent_rop(const real *p, const real *rz, int n, int K, real *rdz);
/* z row i *= c[i]; out[i] = <p_i, rz_i> - rz_i[y_i] */
void xent_weigh_rows(real *z, const real *c, int n, int K);
void xent_rdot(const real *p, const int32_t *y, const real *rz, int n, int K, real *out);
/* number of i with argmax z[i] == y[i] (ties: lowest index) */
int xent_correct(const real *z, const int32_t *y, int n, int K);

#endif
