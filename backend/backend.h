/* backend.h — the device seam: one table of operations per device, and a
 * registry by name (ggml's backend idea, kept minimal).
 *
 * models/, harness/ and engines/ compute only through a Backend: they hold
 * the recursions, a backend holds the loops, the BLAS calls and the threads.
 * Pointers handed to an op are the device's memory (from its alloc): on the
 * CPU backend that is host memory, so data, weights and tangents live in
 * backend memory for the whole run by construction.
 *
 * Layouts (the kernels'): spatial activations are [C][n][H][W], flat ones
 * [n][D]; a block of k tangents of an activation is k such tensors back to
 * back. A kernel that produces a parameter-shaped result writes only its
 * own layer's slice (w_off, b_off) of a full-length parameter vector; `acc`
 * = 0 overwrites the output, 1 adds to it. Reductions run in a fixed order
 * (index order, or per-thread partial sums added in thread order), so one
 * build with one thread count always gives the same bytes.
 */
#ifndef HG_BACKEND_H
#define HG_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "../common/check.h"
#include "../common/mem.h"
#include "../common/real.h"
#include "layer_geom.h"
#include "infobuf.h"

typedef struct Scratch Scratch;       /* a kernel's workspace, per model */
typedef struct FixStreams FixStreams; /* the reversible engine's buffer */
typedef struct DevTimer DevTimer;     /* marks on a device's stream */

/* ---- memory, threads and batches ---- */
typedef struct BackendMemOps {
    void *(*alloc)(MemTag tag, size_t bytes);     /* zeroed, 64-byte aligned */
    void (*free)(void *p);
    size_t (*peak)(MemTag tag);                   /* this device's peak bytes */
    void (*upload)(void *dst, const void *host, size_t bytes);
    void (*download)(void *host, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes); /* on the device */
    /* Device memory free now and the peak used (total - free, sampled at
     * each allocation), by cudaMemGetInfo; NULL: host memory (none). */
    size_t (*mem_available)(void);
    size_t (*device_peak)(void);
    void (*set_threads)(int n);
    Scratch *(*scratch_new)(void);
    void (*scratch_free)(Scratch *s);
    /* batches: examples idx[0..b) of a set of n examples of dim reals
     * each (xs [n][dim], ys [n], the device's memory) into x [b][dim], y [b] */
    void (*gather)(const real *xs, const int32_t *ys, int n, long dim, const int *idx, int b,
                   real *x, int32_t *y);
} BackendMemOps;

/* ---- layer kernels ---- */
typedef struct BackendLayerOps {
    /* linear, x [n][in] -> y [n][out]: y (+)= x W^T (+ b) */
    void (*linear_forward)(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                           int acc, int add_bias);
    /* dx (+)= dy W */
    void (*linear_backward_data)(const LayerGeom *L, const real *w, const real *dy, int n,
                                 real *dx, int acc);
    /* g[W] (+)= dy^T x;  g[b] (+)= sum_i dy[i] (bias only if with_bias) */
    void (*linear_backward_params)(const LayerGeom *L, const real *x, const real *dy, int n,
                                   real *g, int acc, int with_bias);
    /* R-ops for kc tangents V [kc][P]; rx [kc][n][in] or NULL (zero):
     * ry_j = rx_j W^T + x V_j^T + Vb_j */
    void (*linear_rforward)(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                            const real *x, const real *rx, int n, real *ry);
    /* HV_j[W, b] = rdy_j^T x + dy^T rx_j, sum of rdy_j (overwritten); and if
     * rdx: rdx_j = rdy_j W + dy V_j */
    void (*linear_rbackward)(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                             const real *x, const real *rx, const real *dy, const real *rdy,
                             int n, real *HV, real *rdx);
    /* conv2d, x [C][n][H][W] -> y [OC][n][OH][OW], outputs overwritten:
     * y = conv(x; w) + b */
    void (*conv_forward)(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                         Scratch *sc);
    /* g[W] = dy * x, g[b] = sum of dy; and dx = conv^T(dy; w) if dx */
    void (*conv_backward)(const LayerGeom *L, const real *w, const real *x, const real *dy, int n,
                          real *g, real *dx, Scratch *sc);
    void (*conv_backward_data)(const LayerGeom *L, const real *w, const real *dy, int n, real *dx,
                               Scratch *sc);
    /* R-ops for kc tangents V [kc][P]; rx [kc][C][n][H][W] or NULL (zero):
     * ry_j = conv(x; V_j) + Vb_j + conv(rx_j; w) */
    void (*conv_rforward)(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                          const real *x, const real *rx, int n, real *ry, Scratch *sc);
    /* HV_j[W, b] = rdy_j * x + dy * rx_j, sum of rdy_j (overwritten); and if
     * rdx: rdx_j = conv^T(rdy_j; w) + conv^T(dy; V_j) */
    void (*conv_rbackward)(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                           const real *x, const real *rx, const real *dy, const real *rdy,
                           int n, real *HV, real *rdx, Scratch *sc);
    /* The first layer's conv when it has few taps (no input gradient): the
     * same results up to summation order. NULL: the backend has none. */
    void (*conv_direct_forward)(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                                Scratch *sc);
    void (*conv_direct_backward_params)(const LayerGeom *L, const real *x, const real *dy, int n,
                                        real *g, Scratch *sc);
    /* conv_direct_backward_params with dy = maxpool_relu_backward of a relu +
     * pool above (pool output delta dyp, argmax arg, relu input xr): the
     * same bytes, without the full-size delta. NULL: the backend has none. */
    void (*conv_direct_backward_params_pooled)(const LayerGeom *L, const LayerGeom *pool,
                                               const int32_t *arg, const real *xr,
                                               const real *x, const real *dyp, int n, real *g,
                                               Scratch *sc);
    /* The conv path of a backend with more than one (the CUDA backend's
     * "auto", "cudnn" and "gemm": cuda_conv_choice.cu; the CPU backend's
     * "ours", "dnnl" and "auto" where oneDNN is built in, float32 only:
     * backend/cpu/cpu_conv_choice.c): 0, or -1 with err
     * naming an unknown or unavailable one. conv_picks writes the path and
     * each pick "auto" made so far (a '#' line each) into buf and returns
     * the number of picks. NULL: the backend has one path. */
    int (*conv_path)(const char *name, HgErr *err);
    int (*conv_picks)(char *buf, size_t cap);
    /* maxpool 2x2 stride 2; arg holds each window's argmax (flat index into
     * x, first max on ties), so backward and R-ops need no search */
    void (*maxpool_forward)(const LayerGeom *L, const real *x, int n, real *y, int32_t *arg);
    void (*maxpool_gather)(const LayerGeom *L, const int32_t *arg, const real *x, int n, real *y);
    void (*maxpool_backward)(const LayerGeom *L, const int32_t *arg, const real *dy, int n,
                             real *dx);
    /* relu then this pool, backward in one pass (x: the relu's input):
     * scatter(dy) [x > 0], the same bytes as maxpool_backward then
     * relu_mask. NULL: the backend has none. */
    void (*maxpool_relu_backward)(const LayerGeom *L, const int32_t *arg, const real *x,
                                  const real *dy, int n, real *dx);
    /* relu then this pool, forward and R-forward in one pass each (x: the
     * relu's input; the relu's own output is never made), since the max of
     * relus is the relu of the max: y = relu(max x) with arg the argmax of
     * x; ry = rx[arg] [x[arg] > 0]; the kink clearance of relu(x) with its
     * tangent. arg differs from the unfused one only in windows with no
     * positive entry, where every output and gradient is 0 both ways: the
     * same bytes as relu_forward, maxpool_forward, relu_mask, maxpool_gather
     * and maxpool_kink. NULL: the backend has none (all three or none). */
    void (*maxpool_relu_forward)(const LayerGeom *L, const real *x, int n, real *y, int32_t *arg);
    void (*maxpool_relu_gather)(const LayerGeom *L, const int32_t *arg, const real *x,
                                const real *rx, int n, real *ry);
    double (*maxpool_relu_kink)(const LayerGeom *L, const int32_t *arg, const real *x,
                                const real *rx, int n);
    /* elementwise over count entries */
    void (*relu_forward)(const real *x, long count, real *y);
    void (*relu_mask)(const real *x, const real *d, long count, real *out); /* d [x > 0] */
    void (*tanh_forward)(const real *x, long count, real *y);
    void (*tanh_scale)(const real *y, const real *d, long count, real *out); /* d (1 - y^2) */
    void (*tanh_rop_correction)(const real *y, const real *dy, const real *ry, long count,
                                real *out); /* out -= 2 dy y ry */
    /* [C][n][HW] <-> [n][C*HW] */
    void (*flatten_forward)(Shape in, const real *x, int n, real *y);
    void (*flatten_backward)(Shape in, const real *dy, int n, real *dx);
    /* softmax cross-entropy over z [n][K]: p = softmax(z), mean loss */
    double (*xent_forward)(const real *z, const int32_t *y, int n, int K, real *p);
    void (*xent_backward)(const real *p, const int32_t *y, int n, int K, real *dz);
    void (*xent_rop)(const real *p, const real *rz, int n, int K, real *rdz);
    int (*xent_correct)(const real *z, const int32_t *y, int n, int K);
    /* Per-example loss weights (engines/kinds.h): row i of z [n][K] *= c[i];
     * out[i] = <p_i, rz_i> - rz_i[y_i], example i's loss along a tangent
     * (rz: its logits' tangent). NULL on a backend without them: runs with
     * example weights are refused there. */
    void (*xent_weigh_rows)(real *z, const real *c, int n, int K);
    void (*xent_rdot)(const real *p, const int32_t *y, const real *rz, int n, int K, real *out);
    /* Kink clearance (model_kink_clearance) of one relu input x with its
     * tangent rx, and of one maxpool layer's windows: the smallest
     * |x| / |rx|, or gap / closing rate; +inf if none moves. */
    double (*relu_kink)(const real *x, const real *rx, long count);
    double (*maxpool_kink)(const LayerGeom *L, const int32_t *arg, const real *x, const real *rx,
                           int n);
} BackendLayerOps;

/* ---- vector ops over parameter-length vectors ---- */
typedef struct BackendVectorOps {
    double (*dot)(const real *a, const real *b, long n); /* in double, index order */
    int (*all_finite)(const real *x, long n);
    void (*axpy)(real *y, double a, const real *x, long n);         /* y += a x */
    void (*mul)(real *out, const real *a, const real *b, long n);   /* out = a b */
    /* g = clamp(g, -c, c); mask (if not NULL) = 1 where |g| < c, else 0.
     * c = 0: no clamp (mask all 1). */
    void (*clamp)(real *g, long n, double c, real *mask);
    /* bits |= mask != 0 (bit i % 64 of word i / 64); out = bit ? x : 0 */
    void (*mask_pack)(const real *mask, long n, uint64_t *bits);
    void (*mask_select)(const uint64_t *bits, const real *x, long n, real *out);
    /* v = m v + g + l w;  w -= a v (comp: the Kahan-compensated w -= a v,
     * comp carrying what rounding dropped; NULL: plain) */
    void (*sgd_step)(real *w, real *v, real *comp, const real *g, long n, double a, double m,
                     double l);
    /* The step's adjoint after vb -= a wb: wb += hu + l vb;  vb = m vb */
    void (*sgd_adjoint)(real *wb, real *vb, const real *hu, long n, double l, double m);
    /* Forward mode's fold of H Z for tangent columns [j0, j0 + kc) (HZ holds
     * them from column j0): U_c = m U_c + mask HZ_c + l Z_c (+ v in column cv,
     * + w in column cw; -1: none); Z_c -= a U_c. Z, U are [columns][n]. */
    void (*tangent_fold)(real *Z, real *U, const real *HZ, const real *mask, const real *v,
                         const real *w, long n, int j0, int kc, int cv, int cw, double a,
                         double m, double l);
    /* sum (double [n]) += b g;  grad = sum / total (a set's mean gradient) */
    void (*grad_accumulate)(double *sum, const real *g, double b, long n);
    void (*grad_average)(real *grad, const double *sum, double total, long n);
} BackendVectorOps;

/* ---- the reversible engine: int64 fixed point (fixed_point.h) with
 * its information buffer, one stream per slice of the parameters.
 * Ops that can overflow the range return the largest |value| seen (0:
 * none). ---- */
typedef struct BackendFixedOps {
    FixStreams *(*fix_streams_new)(long n, uint64_t sentinel, double floor_bits);
    void (*fix_streams_free)(FixStreams *s);
    size_t (*fix_streams_peak_bytes)(const FixStreams *s);
    int (*fix_streams_open)(const FixStreams *s);   /* streams not empty */
    int (*fix_streams_count)(const FixStreams *s);
    double (*fix_load)(int64_t *W, const real *w, long n);          /* W = fix(w) */
    void (*fix_to_real)(real *w, const int64_t *W, long n);         /* w = flt(W) */
    /* V = V q (bits to the buffer); V += fix(g + l flt(W)); W -= fix(a flt(V)) */
    double (*fix_step)(FixStreams *s, int64_t *W, int64_t *V, const real *g,
                       const InfoRational *q, double a, double l);
    /* W's half alone on n entries: W -= fix(a flt(V)). A learning rate
     * per block of w runs fix_step with a = 0, then this once per block
     * (the W update is entrywise, so the bits equal one step's). */
    double (*fix_step_w)(int64_t *W, const int64_t *V, long n, double a);
    /* The reverse of W's half, with the adjoint's first part: vb -= a wb;
     * d_lr = -wb . flt(V); W += fix(a flt(V)); w = flt(W); d_wd = vb . flt(W) */
    double (*fix_unstep_w)(int64_t *W, const int64_t *V, real *w, const real *wb, real *vb,
                           long n, double a, double *d_lr, double *d_wd);
    /* V -= fix(g + l flt(W)); V = V / q (bits back from the buffer) */
    double (*fix_unstep_v)(FixStreams *s, const int64_t *W, int64_t *V, const real *g,
                           const InfoRational *q, double l);
    /* d_mom = vb . flt(V) (V = v_t), then the adjoint: wb += hu + l vb;
     * vb = m vb (one loop, so the dot rounds as it always has) */
    double (*fix_adjoint)(real *wb, real *vb, const real *hu, const int64_t *V, long n,
                          double l, double m);
    /* entries where W != fix(w0) or V != 0; *first the first of them */
    long (*fix_mismatch)(const int64_t *W, const int64_t *V, const real *w0, long n,
                         long *first);
} BackendFixedOps;

/* ---- device timing: NULL on the CPU (host time is the time there).
 * Host clocks around asynchronous launches time the launches, not the
 * work: a DevTimer splits the stream's timeline at marks instead.
 * timer_mark records the stream's position (an event: no wait), closes
 * the segment the previous mark opened and opens one whose seconds go
 * to *acc (NULL: none). Segments resolve in a ring, which waits only
 * when full, and then on a mark queued half a ring ago; timer_flush
 * waits for the last mark and adds every closed segment to its total.
 * So per-layer marks cost no synchronisation per layer. A segment's time
 * is the stream's between its marks: the device's work plus any gap in
 * which it waited for the host. acc must stay valid until the flush
 * after its segment closed. ---- */
typedef struct BackendTimerOps {
    DevTimer *(*timer_new)(void);
    void (*timer_mark)(DevTimer *t, double *acc);
    void (*timer_flush)(DevTimer *t);
    void (*timer_free)(DevTimer *t); /* flushes first; an open segment is dropped */
} BackendTimerOps;

/* A device's ops, grouped as ggml splits its interfaces: be->mem.alloc,
 * be->layer.conv_forward, be->vec.dot, be->fix.fix_step, be->timer.timer_mark. */
typedef struct Backend {
    const char *name;
    /* 1: its memory is not the host's (read it through download); 0: host
     * memory, so data, weights and results are shared as they are */
    int device_memory;
    BackendMemOps mem;      /* memory, threads, scratch, batch gathering */
    BackendLayerOps layer;  /* the layer kernels and their R-ops, loss, kinks */
    BackendVectorOps vec;   /* parameter-length vectors: dot, SGD step, folds */
    BackendFixedOps fix;    /* the reversible engine's int64 fixed point */
    BackendTimerOps timer;  /* device timing (all NULL on the CPU) */
} Backend;

extern const Backend BACKEND_CPU;

/* HG_CPU_CONV=ours|dnnl|auto (backend/cpu/cpu_conv_choice.c): the CPU's conv
 * path for the run, applied once per value; 0, or -1 with err naming the
 * variable and the value if the name is unknown or the path is not in this
 * build (dnnl without oneDNN). backend_find calls it whenever it returns the
 * CPU; a binary that uses BACKEND_CPU directly has it applied at its first
 * conv (and dies on a bad value) where oneDNN is built in. */
int cpu_conv_env(HgErr *err);

/* The backend of a --device name: "cpu", "cuda" or "auto" (the GPU when
 * this binary has the CUDA backend and a device works, else the CPU, which
 * a CUDA binary says once on stderr). NULL with err naming the flag and why
 * (a binary without CUDA; no device, a driver too old, no memory: the CUDA
 * error's own words) otherwise. The CUDA backend is probed once, before any
 * work. With HG_FAKE_DEVICE=strict, "cuda" is the strict fake device in
 * every build (fake_device.h: tests and the CPU rehearsal, never a GPU). */
const Backend *backend_find(const char *name, HgErr *err);
const char *backend_names(void); /* "cpu|cuda|auto" */

#endif
