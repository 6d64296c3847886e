// cuda_conv_choice.cu — backend.h's conv ops on the CUDA backend. Each call
// runs one of two paths (cuda_conv.cuh): cuDNN's, or im2col + cuBLAS. The
// path is set for a run by HG_CUDA_CONV (or the table's conv_path op):
//   cudnn, gemm: that path for every call;
//   auto (the default): a shape's first call times both paths by CUDA
//     events, TUNE_REPS calls each, alternating, the first pair left out as
//     warm-up (scratch growth, cuDNN loading its kernels); that call and
//     every later one with the same shape run the faster by median. Near
//     ties (within TUNE_MARGIN) keep cuDNN, so that a pick flips between
//     runs only where the two are within timing noise of each other.
// A "shape" is the op, the layer's geometry, n, kc and which optional
// inputs and outputs the call has. Both paths compute the same sums in
// different orders, so the bytes of a run depend on the picks: each pick is
// listed by conv_picks, and a fixed HG_CUDA_CONV gives bytes that repeat
// across processes. Without cuDNN every call runs im2col + cuBLAS.
#include <stdio.h>
#include <string.h>

#include "cuda_conv.cuh"

enum Mode { MODE_UNSET, MODE_AUTO, MODE_DNN, MODE_GEMM };
enum Impl { IMPL_DNN, IMPL_GEMM };
enum Op { OP_FORWARD, OP_BACKWARD, OP_BACKWARD_DATA, OP_RFORWARD, OP_RBACKWARD };
static const char *const OP_NAMES[] = {"forward", "backward", "backward_data", "rforward",
                                       "rbackward"};
constexpr int TUNE_REPS = 4, MAX_PICKS = 256;
constexpr double TUNE_MARGIN = 0.05;

struct Key {
    int op, C, H, W, OC, K, pad, n, kc, flags; // flags: which of dx/rx/rdx the call has
};
struct Pick {
    Key key;
    int impl;
    double ms[2]; // median per call: cuDNN, im2col + cuBLAS
};
static int mode = MODE_UNSET;
static Pick picks[MAX_PICKS];
static int npicks;

static int current_mode(void)
{
    if (mode == MODE_UNSET)
        mode = cuda_ctx()->dnn_api ? MODE_AUTO : MODE_GEMM;
    return mode;
}

extern "C" int cuda_conv_path(const char *name, HgErr *err)
{
    const int has_dnn = cuda_ctx()->dnn_api != NULL;
    if (!strcmp(name, "auto"))
        mode = has_dnn ? MODE_AUTO : MODE_GEMM;
    else if (!strcmp(name, "gemm"))
        mode = MODE_GEMM;
    else if (!strcmp(name, "cudnn") && has_dnn)
        mode = MODE_DNN;
    else if (!strcmp(name, "cudnn"))
        return hg_fail(err, "the cudnn path is not available: %s", cuda_ctx()->dnn_why);
    else
        return hg_fail(err, "unknown conv path '%s' (expected auto, cudnn or gemm)", name);
    npicks = 0; // picks were made under the old setting
    return 0;
}

extern "C" int cuda_conv_picks(char *buf, size_t cap)
{
    const int m = current_mode();
    const char *name = m == MODE_AUTO ? "auto" : m == MODE_DNN ? "cudnn" : "gemm";
    size_t at = cuda_ctx()->dnn_api
                    ? snprintf(buf, cap, "# conv path: %s\n", name)
                    : snprintf(buf, cap, "# conv path: %s (%s)\n", name, cuda_ctx()->dnn_why);
    for (int i = 0; i < npicks && at < cap; i++) {
        const Pick *p = &picks[i];
        const Key *k = &p->key;
        at += snprintf(buf + at, cap - at,
                       "# conv pick: %s %dx%dx%d -> %d k%d p%d n=%d kc=%d flags=%d: cudnn %.4f "
                       "ms, gemm %.4f ms: %s\n", OP_NAMES[k->op], k->C, k->H, k->W, k->OC, k->K,
                       k->pad, k->n, k->kc, k->flags, p->ms[IMPL_DNN], p->ms[IMPL_GEMM],
                       p->impl == IMPL_DNN ? "cudnn" : "gemm");
    }
    return npicks;
}

static double median3(double *v, int count)
{
    for (int i = 1; i < count; i++) // insertion sort: a handful of values
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            const double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return count % 2 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2]);
}

// Times both paths on this call's arguments; returns the pick (and keeps it).
template <class D, class G>
static int tune(const Key &k, D dnn, G gemm)
{
    cudaStream_t s = cuda_ctx()->stream;
    cudaEvent_t ev[2 * TUNE_REPS + 1];
    for (auto &e : ev)
        CU(cudaEventCreate(&e));
    CU(cudaEventRecord(ev[0], s));
    for (int r = 0; r < TUNE_REPS; r++) {
        dnn();
        CU(cudaEventRecord(ev[2 * r + 1], s));
        gemm();
        CU(cudaEventRecord(ev[2 * r + 2], s));
    }
    CU(cudaEventSynchronize(ev[2 * TUNE_REPS]));
    double t[2][TUNE_REPS - 1];
    for (int r = 1; r < TUNE_REPS; r++)
        for (int i = 0; i < 2; i++) {
            float ms = 0;
            CU(cudaEventElapsedTime(&ms, ev[2 * r + i], ev[2 * r + i + 1]));
            t[i][r - 1] = ms;
        }
    for (auto &e : ev)
        CU(cudaEventDestroy(e));
    Pick p = {k, IMPL_DNN, {median3(t[0], TUNE_REPS - 1), median3(t[1], TUNE_REPS - 1)}};
    if (p.ms[IMPL_GEMM] < (1 - TUNE_MARGIN) * p.ms[IMPL_DNN])
        p.impl = IMPL_GEMM;
    if (npicks < MAX_PICKS)
        picks[npicks++] = p;
    return p.impl;
}

template <class D, class G>
static void run(int op, const LayerGeom *L, int n, int kc, int flags, D dnn, G gemm)
{
    const int m = current_mode();
    int impl = m == MODE_DNN ? IMPL_DNN : IMPL_GEMM;
    if (m == MODE_AUTO) {
        const Key k = {op, L->in.c, L->in.h, L->in.w, L->out.c, L->ksize, L->pad, n, kc, flags};
        int i = 0;
        while (i < npicks && memcmp(&picks[i].key, &k, sizeof k))
            i++;
        // past MAX_PICKS shapes every new one is timed again: slow, still right
        impl = i < npicks ? picks[i].impl : tune(k, dnn, gemm);
    }
    if (impl == IMPL_DNN)
        dnn();
    else
        gemm();
}

extern "C" void cuda_conv_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                                  Scratch *sc)
{
    run(OP_FORWARD, L, n, 1, 0, [&] { dnn_conv_forward(L, w, x, n, y, sc); },
        [&] { gemm_conv_forward(L, w, x, n, y, sc); });
}

extern "C" void cuda_conv_backward_data(const LayerGeom *L, const real *w, const real *dy, int n,
                                        real *dx, Scratch *sc)
{
    run(OP_BACKWARD_DATA, L, n, 1, 0, [&] { dnn_conv_backward_data(L, w, dy, n, dx, sc); },
        [&] { gemm_conv_backward_data(L, w, dy, n, dx, sc); });
}

extern "C" void cuda_conv_backward(const LayerGeom *L, const real *w, const real *x, const real *dy,
                                   int n, real *g, real *dx, Scratch *sc)
{
    run(OP_BACKWARD, L, n, 1, dx != NULL, [&] { dnn_conv_backward(L, w, x, dy, n, g, dx, sc); },
        [&] { gemm_conv_backward(L, w, x, dy, n, g, dx, sc); });
}

extern "C" void cuda_conv_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                                   const real *x, const real *rx, int n, real *ry, Scratch *sc)
{
    run(OP_RFORWARD, L, n, kc, rx != NULL,
        [&] { dnn_conv_rforward(L, w, V, P, kc, x, rx, n, ry, sc); },
        [&] { gemm_conv_rforward(L, w, V, P, kc, x, rx, n, ry, sc); });
}

extern "C" void cuda_conv_rbackward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                                    const real *x, const real *rx, const real *dy,
                                    const real *rdy, int n, real *HV, real *rdx, Scratch *sc)
{
    run(OP_RBACKWARD, L, n, kc, (rx != NULL) | (rdx != NULL) << 1,
        [&] { dnn_conv_rbackward(L, w, V, P, kc, x, rx, dy, rdy, n, HV, rdx, sc); },
        [&] { gemm_conv_rbackward(L, w, V, P, kc, x, rx, dy, rdy, n, HV, rdx, sc); });
}
