// cuda_ceiling.cu — the device's measured ceilings for the gpu bench
// section: float32 and float64 GEMM rates through the backend's own cuBLAS
// handle (its math mode: no TF32, no emulation) and device-to-device copy
// bandwidth. Each is the median of repeats timed by CUDA events on the
// backend's stream, after one untimed call.
#include <algorithm>

#include "cuda_util.cuh"

static double median_of(double *v, int n)
{
    std::sort(v, v + n);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void gemm(CudaCtx *c, int n, const float *a, const float *b, float *d)
{
    const float one = 1, zero = 0;
    CUBLAS(cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, d, n));
}

static void gemm(CudaCtx *c, int n, const double *a, const double *b, double *d)
{
    const double one = 1, zero = 0;
    CUBLAS(cublasDgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, d, n));
}

// ms of each of reps calls of f, after one untimed call
template <typename F> static double timed_ms(CudaCtx *c, int reps, F f, double *ms)
{
    cudaEvent_t e0, e1;
    CU(cudaEventCreate(&e0));
    CU(cudaEventCreate(&e1));
    f();
    for (int r = 0; r < reps; r++) {
        CU(cudaEventRecord(e0, c->stream));
        f();
        CU(cudaEventRecord(e1, c->stream));
        CU(cudaEventSynchronize(e1));
        float t = 0;
        CU(cudaEventElapsedTime(&t, e0, e1));
        ms[r] = t;
    }
    CU(cudaEventDestroy(e0));
    CU(cudaEventDestroy(e1));
    return median_of(ms, reps);
}

template <typename T> static double gemm_tflops(int n, int reps)
{
    CudaCtx *c = cuda_ctx();
    const size_t bytes = sizeof(T) * (size_t)n * n;
    T *a, *b, *d;
    CU(cudaMalloc(&a, bytes));
    CU(cudaMalloc(&b, bytes));
    CU(cudaMalloc(&d, bytes));
    CU(cudaMemsetAsync(a, 0, bytes, c->stream)); // zeros: the rate does not depend on values
    CU(cudaMemsetAsync(b, 0, bytes, c->stream));
    double ms[64];
    const double med = timed_ms(c, reps, [&] { gemm(c, n, a, b, d); }, ms);
    CU(cudaFree(a));
    CU(cudaFree(b));
    CU(cudaFree(d));
    return 2.0 * n * n * n / (med * 1e-3) / 1e12;
}

extern "C" void cuda_ceilings(int n, int reps, size_t copy_bytes, double *sgemm_tflops,
                              double *dgemm_tflops, double *copy_gbs)
{
    reps = reps < 1 ? 1 : reps > 64 ? 64 : reps;
    *sgemm_tflops = gemm_tflops<float>(n, reps);
    *dgemm_tflops = gemm_tflops<double>(n, reps);
    CudaCtx *c = cuda_ctx();
    void *src, *dst;
    CU(cudaMalloc(&src, copy_bytes));
    CU(cudaMalloc(&dst, copy_bytes));
    CU(cudaMemsetAsync(src, 0, copy_bytes, c->stream));
    double ms[64];
    const double med = timed_ms(
        c, reps, [&] { CU(cudaMemcpyAsync(dst, src, copy_bytes, cudaMemcpyDeviceToDevice, c->stream)); },
        ms);
    CU(cudaFree(src));
    CU(cudaFree(dst));
    *copy_gbs = 2.0 * (double)copy_bytes / (med * 1e-3) / 1e9; // read + write
}

extern "C" void cuda_clocks(int *sm_mhz, int *mem_mhz, int *bus_bits)
{
    int v = 0;
    *sm_mhz = cudaDeviceGetAttribute(&v, cudaDevAttrClockRate, 0) == cudaSuccess ? v / 1000 : 0;
    *mem_mhz = cudaDeviceGetAttribute(&v, cudaDevAttrMemoryClockRate, 0) == cudaSuccess ? v / 1000 : 0;
    *bus_bits = cudaDeviceGetAttribute(&v, cudaDevAttrGlobalMemoryBusWidth, 0) == cudaSuccess ? v : 0;
}
