/* hd.h — HG_HD marks a function for host and device: __host__ __device__
 * under nvcc, nothing in the C build. The shared per-entry bodies
 * (elementwise.h, fixed_point.h, infobuf.h) carry it, so the CPU backend and
 * the CUDA backend run one copy of each piece of arithmetic. */
#ifndef HG_HD_H
#define HG_HD_H

#if defined(__CUDACC__)
#define HG_HD __host__ __device__
#else
#define HG_HD
#endif

#endif
