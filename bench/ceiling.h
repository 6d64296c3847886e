/* ceiling.h — measured ceilings of this machine, to put model timings in
 * proportion: the GEMM rate that OpenBLAS reaches on a large square product. */
#ifndef HG_CEILING_H
#define HG_CEILING_H

/* Median GFLOP/s of `repeats` size^3 GEMMs at the build's precision, on the
 * current OpenMP thread count. */
double gemm_ceiling_gflops(int size, int repeats);

#endif
