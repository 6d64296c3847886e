// cuda_dnn.cuh — internal to backend/cuda/: cuDNN, loaded at run time.
// The device image may hold cuDNN only inside PyTorch's Python packages, or
// not at all; linking it would stop every binary from starting there. So
// nothing links libcudnn: the probe dlopens libcudnn.so.9 (the binary's
// rpath, then LD_LIBRARY_PATH and the loader's cache) and fills this table.
// Where it does not load, the convolutions run as im2col + cuBLAS and
// cuDNN's path reports itself skipped with dlerror's words. HG_CUDNN_LIB
// names the library file, or the folder holding it (a Python wheel's
// nvidia/cudnn/lib): its sub-libraries there are loaded first, so that
// cuDNN finds them without LD_LIBRARY_PATH. A cuDNN that loads is then
// tried on its own convolutions (cuda_dnn_probe.cu) before any work.
#ifndef HG_CUDA_DNN_CUH
#define HG_CUDA_DNN_CUH

#include <cudnn.h>

// The cuDNN functions hgbench calls (cudnn<Name>), each a table entry.
#define HG_CUDNN_FUNCS(X)                                                      \
    X(GetVersion) X(GetErrorString) X(Create) X(SetStream)                      \
    X(CreateTensorDescriptor) X(DestroyTensorDescriptor)                       \
    X(SetTensor4dDescriptor) X(CreateFilterDescriptor)                         \
    X(DestroyFilterDescriptor) X(SetFilter4dDescriptor)                        \
    X(CreateConvolutionDescriptor) X(DestroyConvolutionDescriptor)             \
    X(SetConvolution2dDescriptor) X(SetConvolutionMathType)                    \
    X(GetConvolutionForwardWorkspaceSize) X(ConvolutionForward)                \
    X(GetConvolutionBackwardDataWorkspaceSize) X(ConvolutionBackwardData)      \
    X(GetConvolutionBackwardFilterWorkspaceSize) X(ConvolutionBackwardFilter)

struct CudnnApi {
#define HG_CUDNN_ENTRY(f) decltype(&cudnn##f) f;
    HG_CUDNN_FUNCS(HG_CUDNN_ENTRY)
#undef HG_CUDNN_ENTRY
};

// The loaded table, or NULL with why (dlerror's or the version check's
// words) filled: called once, by the probe.
const CudnnApi *cuda_dnn_load(char *why, size_t cap);

// 1: cuDNN's forward, backward-data and backward-filter convolutions ran
// and agree with the host's sums (dnn_probe.h); 0 with why filled.
int cuda_dnn_probe(const CudnnApi *a, cudnnHandle_t h, cudaStream_t st, char *why, size_t cap);

#endif
