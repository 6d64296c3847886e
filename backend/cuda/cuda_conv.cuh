// cuda_conv.cuh — internal to backend/cuda/: conv2d's two paths and what
// they share. cuda_conv2d.cu is cuDNN's path (NCHW through transposes),
// cuda_conv_gemm.cu im2col + cuBLAS on hgbench's own [C][n][H][W] layout;
// cuda_conv_choice.cu holds backend.h's conv ops, which run one of them per
// shape (HG_CUDA_CONV: auto, the faster one timed at its first call; or
// one by name). Both compute backend.h's conv ops exactly as specified
// there, outputs overwritten, so either may run any call.
#ifndef HG_CUDA_CONV_CUH
#define HG_CUDA_CONV_CUH

#include "cuda_util.cuh"

// Scratch slots (CudaScratch): the paths never run at once, so they share.
enum Slot { S_X, S_DY, S_DYN, S_WS, S_FILT, S_GRAD, S_RX, S_DX };
static inline real *slot_reals(Scratch *sc, int slot, long count)
{
    return (real *)scratch_slot(sc, slot, sizeof(real) * (size_t)count);
}

// out[(c / group) stride + c % group] = the sum of channel c's len entries
// of src [channels][len] (one block per channel, a fixed order): bias sums
void channel_sum(const real *src, int channels, long len, int group, long stride, real *out);
// rows blocks of `width` reals, src pitch sp, dst pitch dp (in reals)
void copy_2d(real *dst, long dp, const real *src, long sp, long width, long rows);

#define HG_CONV_PATH_OPS(path)                                                                 \
    void path##_conv_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,     \
                             Scratch *sc);                                                     \
    void path##_conv_backward(const LayerGeom *L, const real *w, const real *x, const real *dy,    \
                              int n, real *g, real *dx, Scratch *sc);                          \
    void path##_conv_backward_data(const LayerGeom *L, const real *w, const real *dy, int n,       \
                                   real *dx, Scratch *sc);                                     \
    void path##_conv_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,    \
                              const real *x, const real *rx, int n, real *ry, Scratch *sc);    \
    void path##_conv_rbackward(const LayerGeom *L, const real *w, const real *V, long P, int kc,   \
                               const real *x, const real *rx, const real *dy,                  \
                               const real *rdy, int n, real *HV, real *rdx, Scratch *sc);
HG_CONV_PATH_OPS(dnn)  // cuda_conv2d.cu
HG_CONV_PATH_OPS(gemm) // cuda_conv_gemm.cu
#undef HG_CONV_PATH_OPS

#endif
