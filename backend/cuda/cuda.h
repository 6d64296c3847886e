/* cuda.h — the CUDA backend (backend/cuda/), built only where nvcc is
 * (the cuda-f32 and cuda-f64 builds define HG_CUDA). BACKEND_CUDA's ops
 * take device pointers; cuda_table.c lists them, the .cu files hold them:
 * cuBLAS GEMMs, convolutions by cuDNN (loaded at run time: cuda_dnn.cuh)
 * or im2col + cuBLAS, and kernels on the shared bodies of elementwise.h,
 * fixed_point.h and conv_index.h. Everything runs in order on one stream;
 * an op that returns a number waits for it.
 */
#ifndef HG_CUDA_H
#define HG_CUDA_H

#include "../backend.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const Backend BACKEND_CUDA;

/* Opens device 0 once (context, stream, cuBLAS and cuDNN handles, a first
 * allocation): 0, or -1 with err holding what failed in the CUDA error's
 * words. Later calls return the first outcome. */
int cuda_probe(HgErr *err);
/* "H200, compute 9.0, 132 SMs, 139.8 GiB; driver 13.0, runtime 13.0,
 * cuBLAS 130100, cuDNN 91900" (after a successful probe) */
const char *cuda_describe(void);

/* ---- the gpu bench section's measurements (cuda_ceiling.cu), after a
 * successful probe ---- */
/* float32 and float64 n^3 GEMM TFLOP/s and device-to-device copy GB/s
 * (bytes read + written), medians of reps (at most 64) by CUDA events */
void cuda_ceilings(int n, int reps, size_t copy_bytes, double *sgemm_tflops,
                   double *dgemm_tflops, double *copy_gbs);
/* SM and memory clocks (MHz, 0 where the attribute is not reported) and the
 * memory bus width in bits */
void cuda_clocks(int *sm_mhz, int *mem_mhz, int *bus_bits);

/* ---- memory, copies, scratch, batches (cuda_context.cu) ---- */
void *cuda_alloc(MemTag tag, size_t bytes);
void cuda_free(void *p);
size_t cuda_peak(MemTag tag);
size_t cuda_mem_available(void);
size_t cuda_device_peak(void);
void cuda_upload(void *dst, const void *host, size_t bytes);
void cuda_download(void *host, const void *src, size_t bytes);
void cuda_copy(void *dst, const void *src, size_t bytes);
void cuda_set_threads(int n);
Scratch *cuda_scratch_new(void);
void cuda_scratch_free(Scratch *s);
void cuda_gather(const real *xs, const int32_t *ys, int n, long dim, const int *idx, int b,
                 real *x, int32_t *y);

/* ---- linear layers (cuda_linear.cu) ---- */
void cuda_linear_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y, int acc,
                         int add_bias);
void cuda_linear_backward_data(const LayerGeom *L, const real *w, const real *dy, int n, real *dx,
                               int acc);
void cuda_linear_backward_params(const LayerGeom *L, const real *x, const real *dy, int n, real *g,
                                 int acc, int with_bias);
void cuda_linear_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                          const real *x, const real *rx, int n, real *ry);
void cuda_linear_rbackward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                           const real *x, const real *rx, const real *dy, const real *rdy, int n,
                           real *HV, real *rdx);

/* ---- conv2d (cuda_conv_choice.cu: cuDNN or im2col + cuBLAS) ---- */
void cuda_conv_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y, Scratch *sc);
void cuda_conv_backward(const LayerGeom *L, const real *w, const real *x, const real *dy, int n,
                        real *g, real *dx, Scratch *sc);
void cuda_conv_backward_data(const LayerGeom *L, const real *w, const real *dy, int n, real *dx,
                             Scratch *sc);
void cuda_conv_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                        const real *x, const real *rx, int n, real *ry, Scratch *sc);
void cuda_conv_rbackward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                         const real *x, const real *rx, const real *dy, const real *rdy, int n,
                         real *HV, real *rdx, Scratch *sc);

/* the conv path: auto, cudnn or gemm (cuda_conv_choice.cu; backend.h) */
int cuda_conv_path(const char *name, HgErr *err);
int cuda_conv_picks(char *buf, size_t cap);

/* ---- the other layers (cuda_layers.cu) ---- */
void cuda_maxpool_forward(const LayerGeom *L, const real *x, int n, real *y, int32_t *arg);
void cuda_maxpool_gather(const LayerGeom *L, const int32_t *arg, const real *x, int n, real *y);
void cuda_maxpool_backward(const LayerGeom *L, const int32_t *arg, const real *dy, int n, real *dx);
void cuda_relu_forward(const real *x, long count, real *y);
void cuda_relu_mask(const real *x, const real *d, long count, real *out);
void cuda_tanh_forward(const real *x, long count, real *y);
void cuda_tanh_scale(const real *y, const real *d, long count, real *out);
void cuda_tanh_rop_correction(const real *y, const real *dy, const real *ry, long count,
                              real *out);
void cuda_flatten_forward(Shape in, const real *x, int n, real *y);
void cuda_flatten_backward(Shape in, const real *dy, int n, real *dx);
double cuda_xent_forward(const real *z, const int32_t *y, int n, int K, real *p);
void cuda_xent_backward(const real *p, const int32_t *y, int n, int K, real *dz);
void cuda_xent_rop(const real *p, const real *rz, int n, int K, real *rdz);
int cuda_xent_correct(const real *z, const int32_t *y, int n, int K);
void cuda_xent_weigh_rows(real *z, const real *c, int n, int K);
void cuda_xent_rdot(const real *p, const int32_t *y, const real *rz, int n, int K, real *out);
double cuda_relu_kink(const real *x, const real *rx, long count);
double cuda_maxpool_kink(const LayerGeom *L, const int32_t *arg, const real *x, const real *rx,
                         int n);

/* ---- vector ops (cuda_vector.cu) ---- */
double cuda_dot(const real *a, const real *b, long n);
int cuda_all_finite(const real *x, long n);
void cuda_axpy(real *y, double a, const real *x, long n);
void cuda_mul(real *out, const real *a, const real *b, long n);
void cuda_clamp(real *g, long n, double c, real *mask);
void cuda_mask_pack(const real *mask, long n, uint64_t *bits);
void cuda_mask_select(const uint64_t *bits, const real *x, long n, real *out);
void cuda_sgd_step(real *w, real *v, real *comp, const real *g, long n, double a, double m,
                   double l);
void cuda_sgd_adjoint(real *wb, real *vb, const real *hu, long n, double l, double m);
void cuda_tangent_fold(real *Z, real *U, const real *HZ, const real *mask, const real *v,
                       const real *w, long n, int j0, int kc, int cv, int cw, double a, double m,
                       double l);
void cuda_grad_accumulate(double *sum, const real *g, double b, long n);
void cuda_grad_average(real *grad, const double *sum, double total, long n);

/* ---- the reversible engine (cuda_fixed_point.cu) ---- */
FixStreams *cuda_fix_streams_new(long n, uint64_t sentinel, double floor_bits);
void cuda_fix_streams_free(FixStreams *s);
size_t cuda_fix_streams_peak_bytes(const FixStreams *s);
int cuda_fix_streams_open(const FixStreams *s);
int cuda_fix_streams_count(const FixStreams *s);
double cuda_fix_load(int64_t *W, const real *w, long n);
void cuda_fix_to_real(real *w, const int64_t *W, long n);
double cuda_fix_step(FixStreams *s, int64_t *W, int64_t *V, const real *g, const InfoRational *q,
                     double a, double l);
double cuda_fix_step_w(int64_t *W, const int64_t *V, long n, double a);
double cuda_fix_unstep_w(int64_t *W, const int64_t *V, real *w, const real *wb, real *vb, long n,
                         double a, double *d_lr, double *d_wd);
double cuda_fix_unstep_v(FixStreams *s, const int64_t *W, int64_t *V, const real *g,
                         const InfoRational *q, double l);
double cuda_fix_adjoint(real *wb, real *vb, const real *hu, const int64_t *V, long n, double l,
                        double m);
long cuda_fix_mismatch(const int64_t *W, const int64_t *V, const real *w0, long n, long *first);

/* ---- device timing (cuda_timing.cu): backend.h's timer ops, by CUDA
 * events on the one stream ---- */
DevTimer *cuda_timer_new(void);
void cuda_timer_mark(DevTimer *t, double *acc);
void cuda_timer_flush(DevTimer *t);
void cuda_timer_free(DevTimer *t);

#ifdef __cplusplus
}
#endif

#endif
