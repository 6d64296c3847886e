/* real.h — the floating-point type of one build.
 *
 * hgbench is compiled once per precision: -DHG_F64 gives double, otherwise
 * float. Every numeric buffer (parameters, activations, data) is `real`;
 * reductions that feed a scalar (loss, dot products) accumulate in double in
 * both builds. The BLAS names for the type are in backend/cpu/blas.h.
 */
#ifndef HG_REAL_H
#define HG_REAL_H

#ifdef HG_F64
typedef double real;
#define HG_PRECISION 64
#define HG_REAL_NAME "float64"
#else
typedef float real;
#define HG_PRECISION 32
#define HG_REAL_NAME "float32"
#endif

#endif
