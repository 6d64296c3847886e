// cuda_util.cuh — internal to backend/cuda/: error checks, the one stream
// and the library handles, elementwise launches, and the fixed-order
// reduction every scalar-returning op uses (per-block partials, then one
// ordered pass in a single block: the same bytes on every run, no float
// atomics).
#ifndef HG_CUDA_UTIL_CUH
#define HG_CUDA_UTIL_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>

#include "cuda_dnn.cuh"

extern "C" {
#include "../elementwise.h"
#include "../fixed_point.h"
#include "cuda.h"
}

// A CUDA call that fails after the probe: the device broke or hgbench has a
// bug. Prints file:line, the call and the library's error, exits 3.
[[noreturn]] void cuda_fail(const char *file, int line, const char *call, const char *what);

#define CU(call)                                                               \
    do {                                                                       \
        const cudaError_t e_ = (call);                                         \
        if (e_ != cudaSuccess)                                                 \
            cuda_fail(__FILE__, __LINE__, #call, cudaGetErrorString(e_));      \
    } while (0)
#define CUBLAS(call)                                                           \
    do {                                                                       \
        const cublasStatus_t s_ = (call);                                      \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                       \
            cuda_fail(__FILE__, __LINE__, #call, cublasGetStatusString(s_));   \
    } while (0)
// cuDNN through the loaded table: CUDNN(Create(&h)) calls cudnnCreate.
#define CUDNN(call)                                                            \
    do {                                                                       \
        const cudnnStatus_t s_ = cuda_ctx()->dnn_api->call;                    \
        if (s_ != CUDNN_STATUS_SUCCESS)                                        \
            cuda_fail(__FILE__, __LINE__, "cudnn" #call,                       \
                      cuda_ctx()->dnn_api->GetErrorString(s_));                \
    } while (0)

// The device state cuda_probe opened.
struct CudaCtx {
    cudaStream_t stream;
    cublasHandle_t blas;
    const CudnnApi *dnn_api; // NULL: cuDNN did not load (dnn_why says why)
    cudnnHandle_t dnn;
    char dnn_why[400];
    void *host;      // pinned, CUDA_HOST_BYTES: scalars coming back
    void *partial;   // device, CUDA_PARTIAL_BYTES: reduction partials
};
constexpr size_t CUDA_HOST_BYTES = 4096, CUDA_PARTIAL_BYTES = 1 << 16;
CudaCtx *cuda_ctx(void); // aborts if the probe did not succeed

// ---- elementwise launches: grid-stride loops over n entries ----
constexpr int CUDA_THREADS = 256, CUDA_MAX_BLOCKS = 8192;
static inline int cuda_blocks(long n)
{
    const long b = (n + CUDA_THREADS - 1) / CUDA_THREADS;
    return (int)(b < 1 ? 1 : b > CUDA_MAX_BLOCKS ? CUDA_MAX_BLOCKS : b);
}
#define FOR_EACH(i, n)                                                         \
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)(n);  \
         i += (long)gridDim.x * blockDim.x)
#define LAUNCH(kernel, n, ...)                                                 \
    do {                                                                       \
        kernel<<<cuda_blocks(n), CUDA_THREADS, 0, cuda_ctx()->stream>>>(__VA_ARGS__); \
        CU(cudaGetLastError());                                                \
    } while (0)

// ---- fixed-order reductions ----
// Op: static T identity(); static T join(T, T) (both __device__). F: a
// functor with __device__ T operator()(long i), called once per i (it may
// write outputs too). The grid depends on n alone, each block folds its
// grid-stride entries in order and then in a fixed tree, and one block folds
// the partials the same way: one n gives one summation order.
constexpr int RED_THREADS = 256, RED_BLOCKS = 240;

template <class T, class Op>
__device__ inline T block_fold(T acc)
{
    __shared__ T sh[RED_THREADS];
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int s = RED_THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s)
            sh[threadIdx.x] = Op::join(sh[threadIdx.x], sh[threadIdx.x + s]);
        __syncthreads();
    }
    return sh[0];
}

template <class T, class Op, class F>
__global__ void k_reduce_partial(F f, long n, T *partial)
{
    T acc = Op::identity();
    for (long i = (long)blockIdx.x * RED_THREADS + threadIdx.x; i < n;
         i += (long)gridDim.x * RED_THREADS)
        acc = Op::join(acc, f(i));
    const T r = block_fold<T, Op>(acc);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = r;
}

template <class T, class Op>
__global__ void k_reduce_final(const T *partial, int g, T *out)
{
    T acc = Op::identity();
    for (int i = threadIdx.x; i < g; i += RED_THREADS)
        acc = Op::join(acc, partial[i]);
    const T r = block_fold<T, Op>(acc);
    if (threadIdx.x == 0)
        *out = r;
}

template <class T, class Op, class F>
T cuda_reduce(F f, long n)
{
    static_assert(sizeof(T) * (RED_BLOCKS + 1) <= CUDA_PARTIAL_BYTES, "partials");
    static_assert(sizeof(T) <= CUDA_HOST_BYTES, "result");
    CudaCtx *c = cuda_ctx();
    const long want = (n + RED_THREADS - 1) / RED_THREADS;
    const int g = (int)(want < 1 ? 1 : want > RED_BLOCKS ? RED_BLOCKS : want);
    T *part = (T *)c->partial;
    k_reduce_partial<T, Op><<<g, RED_THREADS, 0, c->stream>>>(f, n, part);
    CU(cudaGetLastError());
    k_reduce_final<T, Op><<<1, RED_THREADS, 0, c->stream>>>(part, g, part + RED_BLOCKS);
    CU(cudaGetLastError());
    CU(cudaMemcpyAsync(c->host, part + RED_BLOCKS, sizeof(T), cudaMemcpyDeviceToHost, c->stream));
    CU(cudaStreamSynchronize(c->stream));
    return *(const T *)c->host;
}

struct SumOp {
    static __device__ double identity() { return 0; }
    static __device__ double join(double a, double b) { return a + b; }
};
struct MinOp {
    static __device__ double identity() { return INFINITY; }
    static __device__ double join(double a, double b) { return fmin(a, b); }
};
// The fixed-point range check's "largest |value| seen": a NaN sticks.
struct BadOp {
    static __device__ double identity() { return 0; }
    static __device__ double join(double a, double b)
    {
        return isnan(a) ? a : isnan(b) ? b : fmax(a, b);
    }
};
struct Pair {
    double a, b;
};

// A grow-only device buffer, tagged (contents undefined after growth).
void *cuda_reserve(void **p, size_t *cap, MemTag tag, size_t bytes);

// The conv kernels' workspace: grow-only device slots.
constexpr int CUDA_SCRATCH_SLOTS = 8;
struct CudaScratch {
    void *buf[CUDA_SCRATCH_SLOTS];
    size_t cap[CUDA_SCRATCH_SLOTS];
};
static inline void *scratch_slot(Scratch *s, int slot, size_t bytes)
{
    CudaScratch *c = (CudaScratch *)(void *)s;
    return cuda_reserve(&c->buf[slot], &c->cap[slot], MEM_ACTIVATIONS, bytes);
}

// Layout changes (cuda_layers.cu), for flatten and for cuDNN's NCHW:
// dst [kc][C][n][hw] (CNHW per tangent) (+)= src [kc][n][C][hw] (NCHW per
// tangent), plus bias[j C + c] if bias; and the reverse (overwriting).
void cuda_to_cnhw(real *dst, const real *src, int kc, int n, int C, long hw, const real *bias,
                  int acc);
void cuda_to_nchw(real *dst, const real *src, int kc, int n, int C, long hw);

// cuBLAS's GEMMs for this build's real (column-major, as cuBLAS).
#ifdef HG_F64
#define cublas_gemm cublasDgemm
#define cublas_gemm_strided cublasDgemmStridedBatched
#define CUDNN_REAL CUDNN_DATA_DOUBLE
#else
#define cublas_gemm cublasSgemm
#define cublas_gemm_strided cublasSgemmStridedBatched
#define CUDNN_REAL CUDNN_DATA_FLOAT
#endif

#endif
