// cuda_dnn_probe.cu — cuDNN's first convolutions, run by the probe before any
// work (dnn_probe.h says why): forward, backward data and backward filter on
// a tiny LeNet-like layer (5x5 taps, padding 2, 2 -> 3 channels on 7x7,
// batch 2) with the filter and the filter gradient PROBE_OFF reals past an
// aligned address (12 bytes in float32, 24 in float64: what a layer's w_off
// gives), the algorithms and math type of cuda_conv2d.cu, each against the
// host's sums in double. No call here exits: each error is returned.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cuda_util.cuh"
#include "dnn_probe.h"

enum { PN = 2, PC = 2, PH = 7, PW = 7, POC = 3, PK = 5, PPAD = 2, PROBE_OFF = 3 };
constexpr long X_N = PN * PC * PH * PW, Y_N = PN * POC * PH * PW, W_N = POC * PC * PK * PK;

// x [n][c][h][w] at (h, w) with padding: 0 outside
static double at(const double *x, int n, int c, int h, int w)
{
    return h < 0 || h >= PH || w < 0 || w >= PW ? 0 : x[((n * PC + c) * PH + h) * PW + w];
}

// the host's sums: y = conv(x; w), dx = conv^T(dy; w), gw = dy * x (NCHW)
static void host_sums(const double *x, const double *w, const double *dy, double *y, double *dx,
                      double *gw)
{
    memset(dx, 0, sizeof(double) * X_N);
    memset(gw, 0, sizeof(double) * W_N);
    for (int n = 0; n < PN; n++)
        for (int o = 0; o < POC; o++)
            for (int i = 0; i < PH; i++)
                for (int j = 0; j < PW; j++) {
                    double s = 0;
                    const double d = dy[((n * POC + o) * PH + i) * PW + j];
                    for (int c = 0; c < PC; c++)
                        for (int a = 0; a < PK; a++)
                            for (int b = 0; b < PK; b++) {
                                const int h = i + a - PPAD, v = j + b - PPAD;
                                const long wi = ((o * PC + c) * PK + a) * PK + b;
                                s += at(x, n, c, h, v) * w[wi];
                                gw[wi] += d * at(x, n, c, h, v);
                                if (h >= 0 && h < PH && v >= 0 && v < PW)
                                    dx[((n * PC + c) * PH + h) * PW + v] += d * w[wi];
                            }
                    y[((n * POC + o) * PH + i) * PW + j] = s;
                }
}

struct Probe {
    const CudnnApi *a;
    DnnProbeStep *step;
    // 0 and the step marked on the first failure; 1 while all went well
    bool dnn(cudnnStatus_t st)
    {
        if (st != CUDNN_STATUS_SUCCESS && !step->status) {
            step->status = (int)st;
            step->error = a->GetErrorString(st);
        }
        return st == CUDNN_STATUS_SUCCESS;
    }
    bool cu(cudaError_t ce)
    {
        if (ce != cudaSuccess && !step->status) {
            step->status = (int)ce;
            step->error = cudaGetErrorString(ce);
        }
        return ce == cudaSuccess;
    }
};

// device values back as doubles into out; false on a CUDA error
static bool fetch(Probe &p, const real *dev, long n, double *out, cudaStream_t st)
{
    real h[X_N > Y_N ? X_N : Y_N];
    if (!p.cu(cudaMemcpyAsync(h, dev, sizeof(real) * n, cudaMemcpyDeviceToHost, st)) ||
        !p.cu(cudaStreamSynchronize(st)))
        return false;
    for (long i = 0; i < n; i++)
        out[i] = h[i];
    return true;
}

int cuda_dnn_probe(const CudnnApi *a, cudnnHandle_t h, cudaStream_t st, char *why, size_t cap)
{
    static double x[X_N], w[W_N], dy[Y_N], y[Y_N], dx[X_N], gw[W_N], got[Y_N];
    real hx[X_N], hw[W_N], hdy[Y_N];
    for (long i = 0; i < X_N; i++)
        hx[i] = (real)(((i * 37) % 19) - 9) / 8;
    for (long i = 0; i < W_N; i++)
        hw[i] = (real)(((i * 11) % 13) - 6) / 16;
    for (long i = 0; i < Y_N; i++)
        hdy[i] = (real)(((i * 23) % 17) - 8) / 8;
    for (long i = 0; i < X_N; i++)
        x[i] = hx[i];
    for (long i = 0; i < W_N; i++)
        w[i] = hw[i];
    for (long i = 0; i < Y_N; i++)
        dy[i] = hdy[i];
    host_sums(x, w, dy, y, dx, gw);

    DnnProbeStep steps[3] = {{"forward", 0, NULL, NAN},
                             {"backward data", 0, NULL, NAN},
                             {"backward filter", 0, NULL, NAN}};
    Probe p = {a, &steps[0]};
    // one allocation: regions 256-byte aligned, the filters PROBE_OFF reals in
    constexpr size_t R = 4096;
    char *base = NULL;
    cudnnTensorDescriptor_t dx_ = NULL, dy_ = NULL;
    cudnnFilterDescriptor_t dw = NULL;
    cudnnConvolutionDescriptor_t dc = NULL;
    void *ws = NULL;
    size_t wsb = 0;
    const real one = 1, zero = 0;
    bool ok = p.cu(cudaMalloc(&base, 6 * R)) &&
              p.dnn(a->CreateTensorDescriptor(&dx_)) && p.dnn(a->CreateTensorDescriptor(&dy_)) &&
              p.dnn(a->CreateFilterDescriptor(&dw)) &&
              p.dnn(a->CreateConvolutionDescriptor(&dc)) &&
              p.dnn(a->SetTensor4dDescriptor(dx_, CUDNN_TENSOR_NCHW, CUDNN_REAL, PN, PC, PH, PW)) &&
              p.dnn(a->SetTensor4dDescriptor(dy_, CUDNN_TENSOR_NCHW, CUDNN_REAL, PN, POC, PH, PW)) &&
              p.dnn(a->SetFilter4dDescriptor(dw, CUDNN_REAL, CUDNN_TENSOR_NCHW, POC, PC, PK, PK)) &&
              p.dnn(a->SetConvolution2dDescriptor(dc, PPAD, PPAD, 1, 1, 1, 1,
                                                   CUDNN_CROSS_CORRELATION, CUDNN_REAL)) &&
              p.dnn(a->SetConvolutionMathType(dc, CUDNN_FMA_MATH));
    real *dxp = (real *)base, *dwp = (real *)(base + R) + PROBE_OFF, *dyp = (real *)(base + 2 * R);
    real *dyo = (real *)(base + 3 * R), *ddx = (real *)(base + 4 * R);
    real *dgw = (real *)(base + 5 * R) + PROBE_OFF;
    static_assert(sizeof(real) * (Y_N + PROBE_OFF) <= R, "probe regions overlap");
    ok = ok && p.cu(cudaMemcpyAsync(dxp, hx, sizeof hx, cudaMemcpyHostToDevice, st)) &&
         p.cu(cudaMemcpyAsync(dwp, hw, sizeof hw, cudaMemcpyHostToDevice, st)) &&
         p.cu(cudaMemcpyAsync(dyp, hdy, sizeof hdy, cudaMemcpyHostToDevice, st));
    // forward: the precomputed implicit GEMM, else the plain one (as cuda_conv2d.cu)
    if (ok) {
        cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
        if (a->GetConvolutionForwardWorkspaceSize(h, dx_, dw, dc, dy_, algo, &wsb) !=
            CUDNN_STATUS_SUCCESS)
            algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
        if (p.dnn(a->GetConvolutionForwardWorkspaceSize(h, dx_, dw, dc, dy_, algo, &wsb)) &&
            (!wsb || p.cu(cudaMalloc(&ws, wsb))) &&
            p.dnn(a->ConvolutionForward(h, &one, dx_, dxp, dw, dwp, dc, algo, ws, wsb, &zero, dy_,
                                        dyo)) &&
            fetch(p, dyo, Y_N, got, st))
            steps[0].err = dnn_probe_error(got, y, Y_N);
        cudaFree(ws);
        ws = NULL;
    }
    p.step = &steps[1];
    if (!steps[0].status) {
        const cudnnConvolutionBwdDataAlgo_t algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
        if (p.dnn(a->GetConvolutionBackwardDataWorkspaceSize(h, dw, dy_, dc, dx_, algo, &wsb)) &&
            (!wsb || p.cu(cudaMalloc(&ws, wsb))) &&
            p.dnn(a->ConvolutionBackwardData(h, &one, dw, dwp, dy_, dyp, dc, algo, ws, wsb, &zero,
                                             dx_, ddx)) &&
            fetch(p, ddx, X_N, got, st))
            steps[1].err = dnn_probe_error(got, dx, X_N);
        cudaFree(ws);
        ws = NULL;
    }
    p.step = &steps[2];
    if (!steps[0].status && !steps[1].status) {
        const cudnnConvolutionBwdFilterAlgo_t algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
        if (p.dnn(a->GetConvolutionBackwardFilterWorkspaceSize(h, dx_, dy_, dc, dw, algo, &wsb)) &&
            (!wsb || p.cu(cudaMalloc(&ws, wsb))) &&
            p.dnn(a->ConvolutionBackwardFilter(h, &one, dx_, dxp, dy_, dyp, dc, algo, ws, wsb,
                                               &zero, dw, dgw)) &&
            fetch(p, dgw, W_N, got, st))
            steps[2].err = dnn_probe_error(got, gw, W_N);
        cudaFree(ws);
    }
    if (dc)
        a->DestroyConvolutionDescriptor(dc);
    if (dw)
        a->DestroyFilterDescriptor(dw);
    if (dy_)
        a->DestroyTensorDescriptor(dy_);
    if (dx_)
        a->DestroyTensorDescriptor(dx_);
    cudaFree(base);
    char where[120];
    snprintf(where, sizeof where, "a %dx%dx%d -> %d, %dx%d pad %d %s layer, filter %zu bytes "
             "past alignment", PC, PH, PW, POC, PK, PK, PPAD,
             sizeof(real) == 8 ? "float64" : "float32", sizeof(real) * PROBE_OFF);
    // the sums run in other orders, over up to 98 terms: a loose bound,
    // for calls that fail outright or give garbage, not for rounding
    return dnn_probe_verdict(steps, 3, sizeof(real) == 8 ? 1e-12 : 1e-4, where, why, cap);
}
