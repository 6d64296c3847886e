// cuda_conv2d.cu — conv2d's cuDNN path: cuDNN 9's legacy convolution API, with
// deterministic algorithms only: forward IMPLICIT_PRECOMP_GEMM (IMPLICIT_GEMM
// where the type has no precomputed variant), backward data and filter
// ALGO_1; CUDNN_FMA_MATH, so no TF32. hgbench's activations are
// [C][n][H][W] (CNHW); cuDNN reads packed NCHW, so inputs and outputs pass
// through a transpose kernel (cuda_layers.cu), which also adds the bias.
// Bias gradients are per-channel sums in a fixed order (one block each).
//
// The R-op follows the CPU's decomposition (conv2d_rop.c): terms with the
// shared weights W stack the kc tangents along the batch (kc n images, one
// call); terms with the tangents' weights V_j stack along output channels
// (kc OC filters: one forward and one filter-gradient call), and
// conv^T(dy; V_j) stacks them along input channels (kc C). The filter
// gradient dy * R{x}_j sums over the batch, so it stays one call per tangent.
// The other path, im2col + cuBLAS, is cuda_conv_gemm.cu; cuda_conv_choice.cu
// picks one per shape. Leaves out: strides and dilation (LeNet needs
// neither).
#include "cuda_conv.cuh"

struct Conv {
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
};

// n images of C channels, OC filters, the layer's kernel and padding
static Conv conv_open(const LayerGeom *L, int n, int C, int OC)
{
    Conv d;
    CUDNN(CreateTensorDescriptor(&d.x));
    CUDNN(CreateTensorDescriptor(&d.y));
    CUDNN(CreateFilterDescriptor(&d.w));
    CUDNN(CreateConvolutionDescriptor(&d.conv));
    CUDNN(SetTensor4dDescriptor(d.x, CUDNN_TENSOR_NCHW, CUDNN_REAL, n, C, L->in.h, L->in.w));
    CUDNN(SetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_REAL, n, OC, L->out.h,
                                     L->out.w));
    CUDNN(SetFilter4dDescriptor(d.w, CUDNN_REAL, CUDNN_TENSOR_NCHW, OC, C, L->ksize,
                                     L->ksize));
    CUDNN(SetConvolution2dDescriptor(d.conv, L->pad, L->pad, 1, 1, 1, 1,
                                          CUDNN_CROSS_CORRELATION, CUDNN_REAL));
    CUDNN(SetConvolutionMathType(d.conv, CUDNN_FMA_MATH));
    return d;
}

static void conv_close(Conv *d)
{
    const CudnnApi *a = cuda_ctx()->dnn_api;
    a->DestroyConvolutionDescriptor(d->conv);
    a->DestroyFilterDescriptor(d->w);
    a->DestroyTensorDescriptor(d->y);
    a->DestroyTensorDescriptor(d->x);
}

// y (beta = 0: =, 1: +=) conv(x; w), all NCHW
static void dnn_forward(const LayerGeom *L, int n, int C, int OC, const real *w, const real *x,
                        real *y, real beta, Scratch *sc)
{
    Conv d = conv_open(L, n, C, OC);
    cudnnHandle_t h = cuda_ctx()->dnn;
    cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    size_t ws = 0;
    const CudnnApi *a = cuda_ctx()->dnn_api;
    if (a->GetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, algo, &ws) !=
        CUDNN_STATUS_SUCCESS) {
        algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
        CUDNN(GetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, algo, &ws));
    }
    void *work = ws ? scratch_slot(sc, S_WS, ws) : NULL;
    const real one = 1;
    CUDNN(ConvolutionForward(h, &one, d.x, x, d.w, w, d.conv, algo, work, ws, &beta, d.y, y));
    conv_close(&d);
}

// dx = conv^T(dy; w), NCHW
static void dnn_backward_data(const LayerGeom *L, int n, int C, int OC, const real *w, const real *dy,
                              real *dx, Scratch *sc)
{
    Conv d = conv_open(L, n, C, OC);
    cudnnHandle_t h = cuda_ctx()->dnn;
    const cudnnConvolutionBwdDataAlgo_t algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    size_t ws = 0;
    CUDNN(GetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, algo, &ws));
    void *work = ws ? scratch_slot(sc, S_WS, ws) : NULL;
    const real one = 1, zero = 0;
    CUDNN(ConvolutionBackwardData(h, &one, d.w, w, d.y, dy, d.conv, algo, work, ws, &zero,
                                       d.x, dx));
    conv_close(&d);
}

// gw (beta = 0: =, 1: +=) dy * x over the batch, NCHW
static void dnn_backward_filter(const LayerGeom *L, int n, int C, int OC, const real *x,
                                const real *dy, real *gw, real beta, Scratch *sc)
{
    Conv d = conv_open(L, n, C, OC);
    cudnnHandle_t h = cuda_ctx()->dnn;
    const cudnnConvolutionBwdFilterAlgo_t algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    size_t ws = 0;
    CUDNN(GetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, algo, &ws));
    void *work = ws ? scratch_slot(sc, S_WS, ws) : NULL;
    const real one = 1;
    CUDNN(ConvolutionBackwardFilter(h, &one, d.x, x, d.y, dy, d.conv, algo, work, ws, &beta,
                                         d.w, gw));
    conv_close(&d);
}

static __global__ void k_channel_sum(const real *src, long len, int group, long stride, real *out)
{
    const int c = blockIdx.x;
    const real *s = src + (long)c * len;
    double acc = 0;
    for (long i = threadIdx.x; i < len; i += RED_THREADS)
        acc += s[i];
    const double r = block_fold<double, SumOp>(acc);
    if (threadIdx.x == 0)
        out[(long)(c / group) * stride + c % group] = (real)r;
}
void channel_sum(const real *src, int channels, long len, int group, long stride, real *out)
{
    k_channel_sum<<<channels, RED_THREADS, 0, cuda_ctx()->stream>>>(src, len, group, stride, out);
    CU(cudaGetLastError());
}

// x [kc][C][n][hw] as NCHW [kc n][C][hw] in a scratch slot (C = 1 with kc
// = 1: the layouts coincide, x itself)
static const real *as_nchw(Scratch *sc, int slot, const real *x, int kc, int n, int C, long hw)
{
    if (C == 1 && kc == 1)
        return x;
    real *t = (real *)scratch_slot(sc, slot, sizeof(real) * (size_t)kc * n * C * hw);
    cuda_to_nchw(t, x, kc, n, C, hw);
    return t;
}

void copy_2d(real *dst, long dp, const real *src, long sp, long width, long rows)
{
    CU(cudaMemcpy2DAsync(dst, sizeof(real) * dp, src, sizeof(real) * sp, sizeof(real) * width,
                         rows, cudaMemcpyDeviceToDevice, cuda_ctx()->stream));
}

void dnn_conv_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                                  Scratch *sc)
{
    const int C = L->in.c, OC = L->out.c;
    const long hw = (long)L->in.h * L->in.w, ohw = (long)L->out.h * L->out.w;
    const real *xn = as_nchw(sc, S_X, x, 1, n, C, hw);
    real *yn = slot_reals(sc, S_DY, (long)n * OC * ohw);
    dnn_forward(L, n, C, OC, w + L->w_off, xn, yn, 0, sc);
    cuda_to_cnhw(y, yn, 1, n, OC, ohw, w + L->b_off, 0);
}

void dnn_conv_backward_data(const LayerGeom *L, const real *w, const real *dy, int n,
                                        real *dx, Scratch *sc)
{
    const int C = L->in.c, OC = L->out.c;
    const long hw = (long)L->in.h * L->in.w, ohw = (long)L->out.h * L->out.w;
    const real *dyn = as_nchw(sc, S_DYN, dy, 1, n, OC, ohw);
    real *dxn = slot_reals(sc, S_DX, (long)n * C * hw);
    dnn_backward_data(L, n, C, OC, w + L->w_off, dyn, dxn, sc);
    cuda_to_cnhw(dx, dxn, 1, n, C, hw, NULL, 0);
}

void dnn_conv_backward(const LayerGeom *L, const real *w, const real *x, const real *dy,
                                   int n, real *g, real *dx, Scratch *sc)
{
    const int C = L->in.c, OC = L->out.c;
    const long hw = (long)L->in.h * L->in.w, ohw = (long)L->out.h * L->out.w;
    const real *xn = as_nchw(sc, S_X, x, 1, n, C, hw);
    const real *dyn = as_nchw(sc, S_DYN, dy, 1, n, OC, ohw);
    dnn_backward_filter(L, n, C, OC, xn, dyn, g + L->w_off, 0, sc);
    channel_sum(dy, OC, (long)n * ohw, OC, 0, g + L->b_off);
    if (!dx)
        return;
    real *dxn = slot_reals(sc, S_DX, (long)n * C * hw);
    dnn_backward_data(L, n, C, OC, w + L->w_off, dyn, dxn, sc);
    cuda_to_cnhw(dx, dxn, 1, n, C, hw, NULL, 0);
}

void dnn_conv_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                                   const real *x, const real *rx, int n, real *ry, Scratch *sc)
{
    const int C = L->in.c, OC = L->out.c;
    const long hw = (long)L->in.h * L->in.w, ohw = (long)L->out.h * L->out.w;
    const long ckk = (long)C * L->ksize * L->ksize;
    // conv(x; V_j) + Vb_j for every j: the tangents' filters stacked along
    // output channels, [kc OC][C][K][K], and their biases [kc OC]
    real *Vs = slot_reals(sc, S_FILT, kc * OC * ckk), *bs = slot_reals(sc, S_GRAD, kc * OC);
    copy_2d(Vs, OC * ckk, V + L->w_off, P, OC * ckk, kc);
    copy_2d(bs, OC, V + L->b_off, P, OC, kc);
    const real *xn = as_nchw(sc, S_X, x, 1, n, C, hw);
    real *yn = slot_reals(sc, S_DY, (long)kc * n * OC * ohw);
    dnn_forward(L, n, C, kc * OC, Vs, xn, yn, 0, sc);
    cuda_to_cnhw(ry, yn, 1, n, kc * OC, ohw, bs, 0); // [kc OC][n] is [kc][OC][n]
    if (!rx)
        return;
    // + conv(R{x}_j; W) for every j: the tangents stacked along the batch
    const real *rxn = as_nchw(sc, S_RX, rx, kc, n, C, hw);
    real *yn2 = slot_reals(sc, S_DX, (long)kc * n * OC * ohw);
    dnn_forward(L, kc * n, C, OC, w + L->w_off, rxn, yn2, 0, sc);
    cuda_to_cnhw(ry, yn2, kc, n, OC, ohw, NULL, 1);
}

void dnn_conv_rbackward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                                    const real *x, const real *rx, const real *dy,
                                    const real *rdy, int n, real *HV, real *rdx, Scratch *sc)
{
    const int C = L->in.c, OC = L->out.c;
    const long hw = (long)L->in.h * L->in.w, ohw = (long)L->out.h * L->out.w;
    const long ckk = (long)C * L->ksize * L->ksize;
    const real *xn = as_nchw(sc, S_X, x, 1, n, C, hw);
    // HV_j[W] = R{dy}_j * x for every j: R{dy} read as kc OC channels
    const real *rdyc = as_nchw(sc, S_DY, rdy, 1, n, kc * OC, ohw);
    real *gs = slot_reals(sc, S_GRAD, kc * OC * ckk);
    dnn_backward_filter(L, n, C, kc * OC, xn, rdyc, gs, 0, sc);
    const real *dyn = rx || rdx ? as_nchw(sc, S_DYN, dy, 1, n, OC, ohw) : NULL;
    if (rx) { // + dy * R{x}_j, one tangent at a time (the filter gradient sums the batch)
        const real *rxn = as_nchw(sc, S_RX, rx, kc, n, C, hw);
        for (int j = 0; j < kc; j++)
            dnn_backward_filter(L, n, C, OC, rxn + (long)j * n * C * hw, dyn, gs + j * OC * ckk,
                                1, sc);
    }
    copy_2d(HV + L->w_off, P, gs, OC * ckk, OC * ckk, kc);
    channel_sum(rdy, kc * OC, (long)n * ohw, OC, P, HV + L->b_off);
    if (!rdx)
        return;
    // R{dx}_j = conv^T(dy; V_j): the tangents' filters side by side along
    // input channels, [OC][kc C][K][K], give every j's in one call ...
    real *Vh = slot_reals(sc, S_FILT, kc * OC * ckk);
    for (int j = 0; j < kc; j++)
        copy_2d(Vh + j * ckk, kc * ckk, V + j * P + L->w_off, ckk, ckk, OC);
    real *dxn = slot_reals(sc, S_DX, (long)kc * n * C * hw);
    dnn_backward_data(L, n, kc * C, OC, Vh, dyn, dxn, sc);
    cuda_to_cnhw(rdx, dxn, 1, n, kc * C, hw, NULL, 0); // [kc C][n] is [kc][C][n]
    // ... + conv^T(R{dy}_j; W): the tangents stacked along the batch
    const real *rdyn = as_nchw(sc, S_DY, rdy, kc, n, OC, ohw);
    dnn_backward_data(L, kc * n, C, OC, w + L->w_off, rdyn, dxn, sc);
    cuda_to_cnhw(rdx, dxn, kc, n, C, hw, NULL, 1);
}
