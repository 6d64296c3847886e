/* real.h — the floating-point type of one build.
 *
 * hgbench is compiled once per precision: -DHG_F64 gives double, otherwise
 * float. Every numeric buffer (parameters, activations, data) is `real`;
 * reductions that feed a scalar (loss, dot products) accumulate in double in
 * both builds. BLAS calls go through the gemm_ alias so the code reads the same.
 */
#ifndef HG_REAL_H
#define HG_REAL_H

#include <cblas.h>

#ifdef HG_F64
typedef double real;
#define HG_PRECISION 64
#define HG_REAL_NAME "float64"
#define cblas_gemm cblas_dgemm
#define cblas_axpy cblas_daxpy
#else
typedef float real;
#define HG_PRECISION 32
#define HG_REAL_NAME "float32"
#define cblas_gemm cblas_sgemm
#define cblas_axpy cblas_saxpy
#endif

#endif
