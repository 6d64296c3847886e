/* blas.h — OpenBLAS for this build's precision: cblas_gemm and cblas_axpy
 * name the sgemm/saxpy (float32) or dgemm/daxpy (float64) routine, so the
 * kernels read the same in both builds. Only backend/cpu/ (and the GEMM
 * ceiling bench) include it. */
#ifndef HG_CPU_BLAS_H
#define HG_CPU_BLAS_H

#include <cblas.h>

#include "../../common/real.h"

#ifdef HG_F64
#define cblas_gemm cblas_dgemm
#define cblas_axpy cblas_daxpy
#else
#define cblas_gemm cblas_sgemm
#define cblas_axpy cblas_saxpy
#endif

#endif
