// cuda_context.cu — the CUDA backend's device: the probe (device 0, one
// stream, cuBLAS and cuDNN handles with their math modes set), tagged device
// memory, copies, the kernels' scratch and batch gathering.
//
// Memory: cudaMalloc'd blocks are listed on the host with their size and
// tag, and counted in common/mem.c's counters (mem_account), so an engine's
// peaks by kind include what it holds on the device; the device's own peak
// use (total - free by cudaMemGetInfo) is sampled at every allocation.
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_util.cuh"

static CudaCtx ctx;
static int probed;           // 0: not yet; 1: usable; -1: refused
static char probe_msg[400];  // why it was refused
static char description[800];

void cuda_fail(const char *file, int line, const char *call, const char *what)
{
    fprintf(stderr, "hgbench: CUDA failed at %s:%d: %s: %s\n", file, line, call, what);
    exit(3);
}

CudaCtx *cuda_ctx(void)
{
    if (probed != 1) {
        fprintf(stderr, "hgbench: the CUDA backend was used before a successful probe\n");
        abort();
    }
    return &ctx;
}

static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int refuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(probe_msg, sizeof probe_msg, fmt, ap);
    va_end(ap);
    probed = -1;
    return -1;
}

static int open_device(void)
{
    int count = 0, driver = 0, runtime = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaError_t e = cudaGetDeviceCount(&count);
    cudaDriverGetVersion(&driver);
    if (e == cudaErrorInsufficientDriver && driver == 0)
        return refuse("no CUDA driver (libcuda.so.1 not loaded): %s (%s)", cudaGetErrorString(e),
                      cudaGetErrorName(e));
    if (e == cudaErrorInsufficientDriver)
        return refuse("the CUDA driver is too old: driver API %d.%d, this build's runtime %d.%d: "
                      "%s (%s)", driver / 1000, driver % 1000 / 10, runtime / 1000,
                      runtime % 1000 / 10, cudaGetErrorString(e), cudaGetErrorName(e));
    if (e != cudaSuccess)
        return refuse("%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    if (count < 1)
        return refuse("no CUDA device (cudaGetDeviceCount found 0)");
    cudaDeviceProp prop;
    if ((e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess)
        return refuse("device 0: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    if (prop.major < 9)
        return refuse("device 0 (%s) has compute capability %d.%d; this build has code for 9.0 "
                      "(sm_90 and compute_90 PTX) and newer", prop.name, prop.major, prop.minor);
    if ((e = cudaSetDevice(0)) != cudaSuccess || (e = cudaFree(0)) != cudaSuccess)
        return refuse("device 0 (%s): creating a context: %s (%s)", prop.name,
                      cudaGetErrorString(e), cudaGetErrorName(e));
    if ((e = cudaStreamCreateWithFlags(&ctx.stream, cudaStreamNonBlocking)) != cudaSuccess ||
        (e = cudaMallocHost(&ctx.host, CUDA_HOST_BYTES)) != cudaSuccess ||
        (e = cudaMalloc(&ctx.partial, CUDA_PARTIAL_BYTES)) != cudaSuccess)
        return refuse("device 0 (%s): %s (%s)", prop.name, cudaGetErrorString(e),
                      cudaGetErrorName(e));
    cublasStatus_t b = cublasCreate(&ctx.blas);
    if (b != CUBLAS_STATUS_SUCCESS)
        return refuse("cuBLAS: cublasCreate: %s", cublasGetStatusString(b));
    // Standard arithmetic in the type asked for: no TF32, no BF16x9 or
    // fixed-point emulation, no reduced-precision reductions.
    if ((b = cublasSetStream(ctx.blas, ctx.stream)) != CUBLAS_STATUS_SUCCESS ||
        (b = cublasSetMathMode(ctx.blas, (cublasMath_t)(CUBLAS_PEDANTIC_MATH |
                                                        CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION))) !=
            CUBLAS_STATUS_SUCCESS ||
        (b = cublasSetPointerMode(ctx.blas, CUBLAS_POINTER_MODE_HOST)) != CUBLAS_STATUS_SUCCESS)
        return refuse("cuBLAS: setting the stream and math mode: %s", cublasGetStatusString(b));
    // cuDNN is optional: without it every conv runs as im2col + cuBLAS
    if ((ctx.dnn_api = cuda_dnn_load(ctx.dnn_why, sizeof ctx.dnn_why))) {
        cudnnStatus_t d = ctx.dnn_api->Create(&ctx.dnn);
        if (d == CUDNN_STATUS_SUCCESS)
            d = ctx.dnn_api->SetStream(ctx.dnn, ctx.stream);
        if (d != CUDNN_STATUS_SUCCESS) {
            snprintf(ctx.dnn_why, sizeof ctx.dnn_why, "cuDNN loaded, but cudnnCreate or "
                     "cudnnSetStream failed: %s", ctx.dnn_api->GetErrorString(d));
            ctx.dnn_api = NULL;
        } else if (!cuda_dnn_probe(ctx.dnn_api, ctx.dnn, ctx.stream, ctx.dnn_why,
                                   sizeof ctx.dnn_why)) {
            // its own convolutions failed: off for the run, the reason kept
            // (a sticky CUDA error would stop the next call anyway)
            ctx.dnn_api = NULL;
            cudaGetLastError();
        }
    }
    char dnn_note[440];
    if (ctx.dnn_api)
        snprintf(dnn_note, sizeof dnn_note, "cuDNN %zu", ctx.dnn_api->GetVersion());
    else
        snprintf(dnn_note, sizeof dnn_note, "no cuDNN (%s)", ctx.dnn_why);
    int blas_version = 0;
    cublasGetVersion(ctx.blas, &blas_version);
    snprintf(description, sizeof description,
             "%s, compute %d.%d, %d SMs, %.1f GiB; driver %d.%d, runtime %d.%d, cuBLAS %d, %s",
             prop.name, prop.major, prop.minor, prop.multiProcessorCount,
             (double)prop.totalGlobalMem / (1 << 30), driver / 1000, driver % 1000 / 10,
             runtime / 1000, runtime % 1000 / 10, blas_version, dnn_note);
    probed = 1;
    // HG_CUDA_CONV picks the convolutions' path for the whole run
    const char *path = getenv("HG_CUDA_CONV");
    HgErr perr = {{0}};
    if (path && cuda_conv_path(path, &perr))
        return refuse("HG_CUDA_CONV=%s: %s", path, perr.msg);
    probed = 1;
    return 0;
}

extern "C" int cuda_probe(HgErr *err)
{
    if (probed == 0)
        open_device();
    if (probed == 1)
        return 0;
    return hg_fail(err, "%s", probe_msg);
}

extern "C" const char *cuda_describe(void) { return probed == 1 ? description : probe_msg; }

// ---- memory ----
struct Block {
    void *p;
    size_t bytes;
    MemTag tag;
};
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static Block *blocks;
static size_t nblocks, blocks_cap;
static size_t tag_current[MEM_NTAGS], tag_peak[MEM_NTAGS], used_peak;

static void sample_used(void)
{
    size_t free_b = 0, total = 0;
    if (cudaMemGetInfo(&free_b, &total) == cudaSuccess && total - free_b > used_peak)
        used_peak = total - free_b;
}

extern "C" void *cuda_alloc(MemTag tag, size_t bytes)
{
    void *p = NULL;
    const size_t want = bytes ? bytes : 1;
    const cudaError_t e = cudaMalloc(&p, want);
    if (e != cudaSuccess) {
        size_t free_b = 0, total = 0;
        cudaMemGetInfo(&free_b, &total);
        fprintf(stderr, "hgbench: out of device memory allocating %zu bytes for %s (%.2f GiB "
                "free of %.2f GiB): %s\n", bytes, mem_tag_name(tag), (double)free_b / (1 << 30),
                (double)total / (1 << 30), cudaGetErrorString(e));
        exit(3);
    }
    CU(cudaMemsetAsync(p, 0, want, cuda_ctx()->stream));
    pthread_mutex_lock(&mem_lock);
    if (nblocks == blocks_cap) {
        blocks_cap = blocks_cap ? 2 * blocks_cap : 256;
        blocks = (Block *)realloc(blocks, sizeof(Block) * blocks_cap);
        if (!blocks) {
            fprintf(stderr, "hgbench: out of host memory for the device block list\n");
            exit(3);
        }
    }
    blocks[nblocks++] = Block{p, bytes, tag};
    tag_current[tag] += bytes;
    if (tag_current[tag] > tag_peak[tag])
        tag_peak[tag] = tag_current[tag];
    sample_used();
    pthread_mutex_unlock(&mem_lock);
    mem_account(tag, (long long)bytes);
    return p;
}

extern "C" void cuda_free(void *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&mem_lock);
    size_t i = nblocks;
    while (i > 0 && blocks[i - 1].p != p)
        i--;
    if (i == 0) {
        pthread_mutex_unlock(&mem_lock);
        fprintf(stderr, "hgbench: cuda_free of %p, which cuda_alloc did not give\n", p);
        abort();
    }
    const Block b = blocks[i - 1];
    blocks[i - 1] = blocks[--nblocks];
    tag_current[b.tag] -= b.bytes;
    pthread_mutex_unlock(&mem_lock);
    mem_account(b.tag, -(long long)b.bytes);
    CU(cudaFree(p)); // waits for the device: no kernel still reads it
}

extern "C" size_t cuda_peak(MemTag tag) { return tag_peak[tag]; }

extern "C" size_t cuda_mem_available(void)
{
    size_t free_b = 0, total = 0;
    return cudaMemGetInfo(&free_b, &total) == cudaSuccess ? free_b : 0;
}

extern "C" size_t cuda_device_peak(void) { return used_peak; }

void *cuda_reserve(void **p, size_t *cap, MemTag tag, size_t bytes)
{
    if (*p && *cap >= bytes)
        return *p;
    cuda_free(*p);
    *p = cuda_alloc(tag, bytes);
    *cap = bytes;
    return *p;
}

// ---- copies: in stream order; a download waits for its bytes ----
extern "C" void cuda_upload(void *dst, const void *host, size_t bytes)
{
    CU(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, cuda_ctx()->stream));
    CU(cudaStreamSynchronize(ctx.stream)); // the host buffer may change next
}

extern "C" void cuda_download(void *host, const void *src, size_t bytes)
{
    CU(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, cuda_ctx()->stream));
    CU(cudaStreamSynchronize(ctx.stream));
}

extern "C" void cuda_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        CU(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_ctx()->stream));
}

extern "C" void cuda_set_threads(int n) {} // the host side is one thread

extern "C" Scratch *cuda_scratch_new(void)
{
    return (Scratch *)mem_alloc(MEM_OTHER, sizeof(CudaScratch));
}

extern "C" void cuda_scratch_free(Scratch *s)
{
    if (!s)
        return;
    CudaScratch *c = (CudaScratch *)(void *)s;
    for (int k = 0; k < CUDA_SCRATCH_SLOTS; k++)
        cuda_free(c->buf[k]);
    mem_free(s);
}

// ---- batches: the data set is on the device (problem.c uploads it once);
// the batch's row indices go up, then one kernel copies the rows. The
// indices are staged in a pinned ring so that the copy is asynchronous: the
// host goes on queueing the step while they travel; a slot is reused only
// after its copy's event, GATHER_RING steps later, has passed.
constexpr int GATHER_RING = 4;

static __global__ void k_gather(const real *x, const int32_t *y, const int *idx, int b, long dim,
                                real *xo, int32_t *yo)
{
    FOR_EACH(e, (long)b * dim) {
        const long j = e / dim, k = e % dim;
        xo[e] = x[(long)idx[j] * dim + k];
        if (k == 0)
            yo[j] = y[idx[j]];
    }
}

extern "C" void cuda_gather(const real *xs, const int32_t *ys, int n, long dim, const int *idx,
                            int b, real *x, int32_t *y)
{
    static void *dev_idx;
    static size_t cap;
    static int *ring[GATHER_RING];
    static cudaEvent_t done[GATHER_RING];
    static size_t ring_cap;
    static int next;
    const size_t bytes = sizeof(int) * (size_t)b;
    int *di = (int *)cuda_reserve(&dev_idx, &cap, MEM_DATA, bytes);
    if (bytes > ring_cap) { // grow: every slot's copy has passed (cuda_reserve synced or none)
        CU(cudaStreamSynchronize(cuda_ctx()->stream));
        for (int k = 0; k < GATHER_RING; k++) {
            if (ring[k])
                CU(cudaFreeHost(ring[k]));
            CU(cudaMallocHost((void **)&ring[k], bytes));
            if (!done[k])
                CU(cudaEventCreateWithFlags(&done[k], cudaEventDisableTiming));
        }
        ring_cap = bytes;
    }
    const int k = next;
    next = (next + 1) % GATHER_RING;
    CU(cudaEventSynchronize(done[k])); // its last copy has left the slot
    memcpy(ring[k], idx, bytes);
    CU(cudaMemcpyAsync(di, ring[k], bytes, cudaMemcpyHostToDevice, ctx.stream));
    CU(cudaEventRecord(done[k], ctx.stream));
    LAUNCH(k_gather, (long)b * dim, xs, ys, di, b, dim, x, y);
}
