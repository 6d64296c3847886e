/* cpu.h — the CPU backend's ops beyond the layer kernels (kernels.h): the
 * vector ops (vector.c), the reversible engine's fixed-point steps
 * (fixed_point.c), the kink clearances (kink.c) and, with oneDNN
 * (HG_DNNL), the conv paths (cpu_conv_choice.c). Internal to
 * backend/cpu/; cpu_backend.c puts them in BACKEND_CPU. */
#ifndef HG_CPU_H
#define HG_CPU_H

#include "../backend.h"
#include "kernels.h"

/* conv_forward and conv_rforward on the path HG_CPU_CONV or conv_path set
 * (ours, dnnl, auto), and the table's conv_path and conv_picks: only in
 * builds with HG_DNNL (cpu_conv_choice.c) */
int cpu_conv_path(const char *name, HgErr *err);
int cpu_conv_picks(char *buf, size_t cap);
void cpu_conv_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                      Scratch *sc);
void cpu_conv_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                       const real *x, const real *rx, int n, real *ry, Scratch *sc);

double cpu_dot(const real *a, const real *b, long n);
int cpu_all_finite(const real *x, long n);
void cpu_axpy(real *y, double a, const real *x, long n);
void cpu_mul(real *out, const real *a, const real *b, long n);
void cpu_clamp(real *g, long n, double c, real *mask);
void cpu_mask_pack(const real *mask, long n, uint64_t *bits);
void cpu_mask_select(const uint64_t *bits, const real *x, long n, real *out);
void cpu_sgd_step(real *w, real *v, real *comp, const real *g, long n, double a, double m,
                  double l);
void cpu_sgd_adjoint(real *wb, real *vb, const real *hu, long n, double l, double m);
void cpu_tangent_fold(real *Z, real *U, const real *HZ, const real *mask, const real *v,
                      const real *w, long n, int j0, int kc, int cv, int cw, double a,
                      double m, double l);
void cpu_grad_accumulate(double *sum, const real *g, double b, long n);
void cpu_grad_average(real *grad, const double *sum, double total, long n);

FixStreams *cpu_fix_streams_new(long n, uint64_t sentinel, double floor_bits);
void cpu_fix_streams_free(FixStreams *s);
size_t cpu_fix_streams_peak_bytes(const FixStreams *s);
int cpu_fix_streams_open(const FixStreams *s);
int cpu_fix_streams_count(const FixStreams *s);
double cpu_fix_load(int64_t *W, const real *w, long n);
void cpu_fix_to_real(real *w, const int64_t *W, long n);
double cpu_fix_step(FixStreams *s, int64_t *W, int64_t *V, const real *g, const InfoRational *q,
                    double a, double l);
double cpu_fix_step_w(int64_t *W, const int64_t *V, long n, double a);
double cpu_fix_unstep_w(int64_t *W, const int64_t *V, real *w, const real *wb, real *vb, long n,
                        double a, double *d_lr, double *d_wd);
double cpu_fix_unstep_v(FixStreams *s, const int64_t *W, int64_t *V, const real *g,
                        const InfoRational *q, double l);
double cpu_fix_adjoint(real *wb, real *vb, const real *hu, const int64_t *V, long n, double l,
                       double m);
long cpu_fix_mismatch(const int64_t *W, const int64_t *V, const real *w0, long n, long *first);

double cpu_relu_kink(const real *x, const real *rx, long count);
double cpu_maxpool_kink(const LayerGeom *L, const int32_t *arg, const real *x, const real *rx,
                        int n);
double cpu_maxpool_relu_kink(const LayerGeom *L, const int32_t *arg, const real *x, const real *rx,
                             int n);

#endif
