/* cpu_conv_choice.c — the CPU backend's conv paths, following the CUDA
 * backend's cuda_conv_choice.cu. Where oneDNN is built in (HG_DNNL: the
 * float32 configs where libdnnl-dev is installed) two ops have two paths:
 *   conv_forward   y = conv(x; w) + b
 *   conv_rforward  ry_j = conv(x; V_j) + Vb_j + conv(rx_j; w)
 * `ours` is conv2d.c / conv2d_rop.c, unchanged; `dnnl` is oneDNN's forward
 * primitive (dnnl_conv.h): conv(x; V_j) for all j as one convolution of
 * kc*OC output channels (tangent weights packed first, as ours packs
 * them), conv(rx_j; w) for all j as one 3-D convolution of depth kc summed
 * into ry. Only these: in hgbench-conv-dnnl (bench/results/conv-dnnl.json)
 * oneDNN's forward measured 1.18x ours on LeNet's conv2 (forward and
 * R-forward at batch 128, float32), and its backward-data, backward-weights
 * and R-backward were slower everywhere, so those ops stay ours.
 *
 * oneDNN meets our [C][n][H][W] tensors through DN_ANY (its blocked
 * layouts, reorders in and out, timed as part of its path): on strided
 * CNHW descriptors oneDNN 2.6 has only its reference implementation
 * (~100x slower), which is why DN_STRIDED is not used here. A shape whose
 * primitives oneDNN serves by a reference implementation anyway, or cannot
 * make, runs ours under auto (said in conv_picks).
 *
 * The path is set for a run by HG_CPU_CONV (or the table's conv_path op):
 *   ours (the default), dnnl: that path for every call;
 *   auto: a shape's first call times both paths, TUNE_REPS calls each,
 *     alternating, the first pair left out as warm-up (primitive creation
 *     happens before it; scratch growth, caches); that call and every later
 *     one with the same shape run the faster by median. Near ties (within
 *     TUNE_MARGIN) keep ours.
 * A "shape" is the op, the layer's geometry, n, kc and whether rx is given.
 * Primitives are made at a shape's first dnnl call and kept for the
 * process (up to MAX_SHAPES shapes; past that a new shape runs ours, as
 * does a shape oneDNN cannot make under dnnl). They, their blocked buffers
 * and the packed tangent weights are the process's, from malloc and
 * oneDNN's allocator: outside common/mem.h's tagged accounts (a few MiB on
 * LeNet). Calls must not run concurrently (none do: one host thread).
 *
 * Why the default is ours: the two paths sum in different orders, so the
 * bytes of a run depend on the path; with ours a run repeats byte for byte
 * across processes and machines with and without oneDNN, and the pinned
 * outputs (tests/test_pinned) hold wherever libdnnl-dev happens to be
 * installed. auto's picks come from timings, so two processes may pick
 * differently on near ties: it is for the benchmarks that time the models
 * (scripts/bench-models.sh sets HG_CPU_CONV=auto for hgbench-models), where
 * every pick is recorded (conv_picks: hypergrad's JSON, hgbench-models').
 *
 * Measured (hgbench-models --model lenet, float32, 2 threads, 6 runs each
 * of HG_CPU_CONV=ours and auto alternating, a quiet 2-core AVX-512 VM):
 * auto picked oneDNN for conv2's forward (0.206 against 0.248 ms, median
 * of the runs' tuning medians) and its R-forward at kc = 1 (0.453 against
 * 0.550 ms) in 5 of 6 runs, ours for kc = 2 in 4 of 6 (a near tie);
 * loss_grad 2.36 against 2.58 ms per call, hvp and hvp_block k = 16 within
 * noise (5.20 and 5.21 ms; 61.0 and 59.8 ms). Under CPU contention
 * oneDNN's calls (four OpenMP regions: reorders and the convolution) slow
 * down far more than ours, and auto then keeps ours.
 *
 * Without HG_DNNL (float64, or no libdnnl-dev) the table runs conv2d.c's
 * ops directly and has no conv_path op; cpu_conv_env still reads
 * HG_CPU_CONV and refuses dnnl (and unknown names), saying why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/timer.h"
#include "cpu.h"
#ifdef HG_DNNL
#include "dnnl_conv.h"
#endif

#ifdef HG_F64
#define NO_DNNL_WHY "this float64 build has no oneDNN (its CPU convolutions are float32 only)"
#else
#define NO_DNNL_WHY "this build has no oneDNN (libdnnl-dev was not installed at build time: " \
                    "no /usr/include/dnnl.h)"
#endif

static int set_path(const char *name, HgErr *err);

/* HG_CPU_CONV, applied once per value (so that later backend_find calls do
 * not undo a conv_path set in between). */
int cpu_conv_env(HgErr *err)
{
    static char applied[32];
    const char *v = getenv("HG_CPU_CONV");
    if (!v || !*v || !strcmp(v, applied))
        return 0;
    HgErr why = {{0}};
    if (set_path(v, &why))
        return hg_fail(err, "HG_CPU_CONV=%s: %s", v, why.msg);
    snprintf(applied, sizeof applied, "%s", v);
    return 0;
}

#ifndef HG_DNNL

static int set_path(const char *name, HgErr *err)
{
    if (!strcmp(name, "ours") || !strcmp(name, "auto")) /* auto: nothing else to pick */
        return 0;
    if (!strcmp(name, "dnnl"))
        return hg_fail(err, "the dnnl conv path is not available: %s", NO_DNNL_WHY);
    return hg_fail(err, "unknown conv path '%s' (expected ours, dnnl or auto)", name);
}

#else /* HG_DNNL */

enum Mode { MODE_UNSET, MODE_OURS, MODE_DNNL, MODE_AUTO };
enum Impl { IMPL_OURS, IMPL_DNNL };
enum Op { OP_FORWARD, OP_RFORWARD };
static const char *const OP_NAMES[] = {"forward", "rforward"};
enum { TUNE_REPS = 6, MAX_SHAPES = 256 };
static const double TUNE_MARGIN = 0.05;

typedef struct Key {
    int op, C, H, W, OC, K, pad, n, kc, flags; /* flags: 1 if the call has rx */
} Key;

typedef struct ShapeDn {
    Key key;
    int ok;          /* 1: primitives made; 0: oneDNN could not (why) */
    int ref;         /* 1: one of them is oneDNN's reference implementation */
    char why[200];   /* oneDNN's reason, or its implementation names */
    DnConv conv[2];  /* forward: [0]; rforward: [0] conv(x; V), [1] conv(rx; w) */
    int nconv;
    float *Vw, *Vb;  /* rforward: tangent weights [kc*OC][C*K*K], biases [kc*OC] */
    int pick;        /* auto: -1 not timed yet, else an Impl */
    double ms[2];    /* auto: median per call, ours and dnnl */
} ShapeDn;

static int mode = MODE_UNSET;
static DnCtx ctx;
static int ctx_state; /* 0: not tried, 1: made, -1: failed (ctx_why) */
static char ctx_why[200];
static ShapeDn *shapes[MAX_SHAPES];
static int nshapes;
static int picks[MAX_SHAPES]; /* indices into shapes, in the order auto made them */
static int npicks;

static int ctx_ready(void)
{
    if (!ctx_state) {
        HgErr e = {{0}};
        ctx_state = dn_ctx_init(&ctx, &e) ? -1 : 1;
        if (ctx_state < 0)
            snprintf(ctx_why, sizeof ctx_why, "oneDNN: %s", e.msg);
    }
    return ctx_state > 0;
}

static int set_path(const char *name, HgErr *err)
{
    if (!strcmp(name, "ours"))
        mode = MODE_OURS;
    else if (!strcmp(name, "auto"))
        mode = ctx_ready() ? MODE_AUTO : MODE_OURS;
    else if (!strcmp(name, "dnnl") && ctx_ready())
        mode = MODE_DNNL;
    else if (!strcmp(name, "dnnl"))
        return hg_fail(err, "the dnnl conv path is not available: %s", ctx_why);
    else
        return hg_fail(err, "unknown conv path '%s' (expected ours, dnnl or auto)", name);
    npicks = 0; /* picks were made under the old setting: time again */
    for (int i = 0; i < nshapes; i++)
        shapes[i]->pick = -1;
    return 0;
}

int cpu_conv_path(const char *name, HgErr *err) { return set_path(name, err); }

static int current_mode(void)
{
    if (mode == MODE_UNSET) {
        HgErr e = {{0}};
        if (cpu_conv_env(&e))
            hg_die("%s", e.msg);
        if (mode == MODE_UNSET)
            mode = MODE_OURS;
    }
    return mode;
}

int cpu_conv_picks(char *buf, size_t cap)
{
    const int m = current_mode();
    const char *name = m == MODE_AUTO ? "auto" : m == MODE_DNNL ? "dnnl" : "ours";
    size_t at = ctx_state < 0 ? (size_t)snprintf(buf, cap, "# conv path: %s (%s)\n", name, ctx_why)
                              : (size_t)snprintf(buf, cap, "# conv path: %s\n", name);
    for (int i = 0; i < npicks && at < cap; i++) {
        const ShapeDn *s = shapes[picks[i]];
        const Key *k = &s->key;
        at += (size_t)snprintf(buf + at, cap - at, "# conv pick: %s %dx%dx%d -> %d k%d p%d n=%d "
                               "kc=%d flags=%d: ", OP_NAMES[k->op], k->C, k->H, k->W, k->OC,
                               k->K, k->pad, k->n, k->kc, k->flags);
        if (at >= cap)
            break;
        if (!s->ok || s->ref) /* not timed */
            at += (size_t)snprintf(buf + at, cap - at, "ours (oneDNN: %s%s)\n", s->why,
                                   s->ok ? ", a reference implementation: not timed" : "");
        else
            at += (size_t)snprintf(buf + at, cap - at, "ours %.4f ms, dnnl %.4f ms: %s "
                                   "(oneDNN: %s)\n", s->ms[IMPL_OURS], s->ms[IMPL_DNNL],
                                   s->pick == IMPL_DNNL ? "dnnl" : "ours", s->why);
    }
    return npicks;
}

static int add_conv(ShapeDn *s, DnTensor src, DnTensor wei, DnTensor bias, DnTensor dst,
                    int pad, HgErr *err)
{
    const DnTensor t[DN_NROLES] = {src, wei, bias, dst};
    const dnnl_dim_t pads[3] = {src.ndims == 5 ? 0 : pad, pad, pad};
    if (dn_conv_init(&s->conv[s->nconv], &ctx, DN_FWD, DN_ANY, t, pads, err))
        return -1;
    s->nconv++;
    return 0;
}

/* The shape of this call: found, or made (primitives on this call's
 * buffers; later calls bind theirs). NULL past MAX_SHAPES. */
static ShapeDn *shape_of(const Key *k, const LayerGeom *L, const real *w, const real *x,
                         const real *rx, real *y)
{
    for (int i = 0; i < nshapes; i++)
        if (!memcmp(&shapes[i]->key, k, sizeof *k))
            return shapes[i];
    if (nshapes == MAX_SHAPES)
        return NULL;
    ShapeDn *s = calloc(1, sizeof *s);
    HG_CHECK(s, "out of memory (a oneDNN conv shape)");
    s->key = *k;
    s->pick = -1;
    const long C = k->C, H = k->H, W = k->W, OC = k->OC, K = k->K, n = k->n, kc = k->kc;
    const long OH = L->out.h, OW = L->out.w, ckk = C * K * K;
    const DnTensor none = {0};
    HgErr e = {{0}};
    int rc;
    if (k->op == OP_FORWARD) {
        rc = add_conv(s, dn_cnhw(x, 0, C, n, H, W), dn_weights(w + L->w_off, OC, C, K, 0),
                      dn_vec1(w + L->b_off, OC), dn_cnhw(y, 0, OC, n, OH, OW), k->pad, &e);
    } else {
        s->Vw = malloc(sizeof(float) * kc * OC * ckk);
        s->Vb = malloc(sizeof(float) * kc * OC);
        HG_CHECK(s->Vw && s->Vb, "out of memory (oneDNN tangent weights)");
        rc = add_conv(s, dn_cnhw(x, 0, C, n, H, W), dn_weights(s->Vw, kc * OC, C, K, 0),
                      dn_vec1(s->Vb, kc * OC), dn_cnhw(y, 0, kc * OC, n, OH, OW), k->pad, &e);
        if (!rc && rx) {
            DnTensor ry = dn_cnhw(y, kc, OC, n, OH, OW);
            ry.accumulate = 1;
            rc = add_conv(s, dn_cnhw(rx, kc, C, n, H, W), dn_weights(w + L->w_off, OC, C, K, 1), none,
                          ry, k->pad, &e);
        }
    }
    s->ok = rc == 0;
    size_t at = 0;
    if (!s->ok)
        snprintf(s->why, sizeof s->why, "could not: %s", e.msg);
    for (int i = 0; s->ok && i < s->nconv; i++) {
        s->ref |= dn_conv_is_ref(&s->conv[i]);
        const int wr = snprintf(s->why + at, sizeof s->why - at, "%s%s", i ? "+" : "",
                                s->conv[i].impl);
        if (wr > 0 && (size_t)wr < sizeof s->why - at)
            at += (size_t)wr;
    }
    shapes[nshapes++] = s;
    return s;
}

static void dn_forward(ShapeDn *s, const LayerGeom *L, const real *w, const real *x, real *y)
{
    DnConv *c = &s->conv[0];
    dn_conv_bind(c, DN_SRC, x);
    dn_conv_bind(c, DN_WEI, w + L->w_off);
    dn_conv_bind(c, DN_BIAS, w + L->b_off);
    dn_conv_bind(c, DN_DST, y);
    dn_conv_run(c, &ctx, DN_ALL);
}

static void dn_rforward(ShapeDn *s, const LayerGeom *L, const real *w, const real *V, long P,
                          int kc, const real *x, const real *rx, real *ry)
{
    const long OC = L->out.c, nw = OC * (long)L->in.c * L->ksize * L->ksize;
    for (int j = 0; j < kc; j++) { /* the kc tangents' weights as one OC*kc-channel conv */
        memcpy(s->Vw + j * nw, V + j * P + L->w_off, sizeof(float) * nw);
        memcpy(s->Vb + j * OC, V + j * P + L->b_off, sizeof(float) * OC);
    }
    DnConv *c = &s->conv[0];
    dn_conv_bind(c, DN_SRC, x);
    dn_conv_bind(c, DN_DST, ry);
    dn_conv_run(c, &ctx, DN_ALL);
    if (!rx)
        return;
    c = &s->conv[1];
    dn_conv_bind(c, DN_SRC, rx);
    dn_conv_bind(c, DN_WEI, w + L->w_off);
    dn_conv_bind(c, DN_DST, ry);
    dn_conv_run(c, &ctx, DN_ALL);
}

static double median(double *v, int count)
{
    for (int i = 1; i < count; i++) /* insertion sort: a handful of values */
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            const double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return count % 2 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2]);
}

/* The call's arguments, for either path */
typedef struct Call {
    const LayerGeom *L;
    const real *w, *V, *x, *rx;
    long P;
    int kc, n;
    real *y;
    Scratch *sc;
} Call;

static void run_impl(int op, ShapeDn *s, int impl, const Call *a)
{
    if (op == OP_FORWARD) {
        if (impl == IMPL_DNNL)
            dn_forward(s, a->L, a->w, a->x, a->y);
        else
            conv_forward(a->L, a->w, a->x, a->n, a->y, a->sc);
    } else {
        if (impl == IMPL_DNNL)
            dn_rforward(s, a->L, a->w, a->V, a->P, a->kc, a->x, a->rx, a->y);
        else
            conv_rforward(a->L, a->w, a->V, a->P, a->kc, a->x, a->rx, a->n, a->y, a->sc);
    }
}

/* Times both paths on this call's arguments; keeps and returns the pick. */
static int tune(int op, ShapeDn *s, const Call *a)
{
    double t[2][TUNE_REPS - 1];
    for (int r = 0; r < TUNE_REPS; r++)
        for (int i = 0; i < 2; i++) {
            const double t0 = now_s();
            run_impl(op, s, i, a);
            if (r > 0)
                t[i][r - 1] = 1e3 * (now_s() - t0);
        }
    s->ms[IMPL_OURS] = median(t[IMPL_OURS], TUNE_REPS - 1);
    s->ms[IMPL_DNNL] = median(t[IMPL_DNNL], TUNE_REPS - 1);
    s->pick = s->ms[IMPL_DNNL] < (1 - TUNE_MARGIN) * s->ms[IMPL_OURS] ? IMPL_DNNL : IMPL_OURS;
    return s->pick;
}

static void run(int op, const Call *a)
{
    const int m = current_mode();
    if (m == MODE_OURS) {
        run_impl(op, NULL, IMPL_OURS, a);
        return;
    }
    const LayerGeom *L = a->L;
    const Key k = {op, L->in.c, L->in.h, L->in.w, L->out.c, L->ksize, L->pad, a->n, a->kc,
                   a->rx != NULL};
    ShapeDn *s = shape_of(&k, L, a->w, a->x, a->rx, a->y);
    int impl = IMPL_OURS;
    if (s && s->ok && m == MODE_DNNL)
        impl = IMPL_DNNL;
    else if (s && m == MODE_AUTO) {
        if (s->pick < 0) {
            if (s->ok && !s->ref)
                tune(op, s, a);
            else /* nothing worth timing: ours, said in the picks */
                s->pick = IMPL_OURS;
            int i = 0;
            while (shapes[i] != s)
                i++;
            picks[npicks++] = i; /* at most once per shape per setting */
        }
        impl = s->pick;
    }
    run_impl(op, s, impl, a);
}

void cpu_conv_forward(const LayerGeom *L, const real *w, const real *x, int n, real *y,
                      Scratch *sc)
{
    const Call a = {.L = L, .w = w, .x = x, .n = n, .kc = 1, .y = y, .sc = sc};
    run(OP_FORWARD, &a);
}

void cpu_conv_rforward(const LayerGeom *L, const real *w, const real *V, long P, int kc,
                       const real *x, const real *rx, int n, real *ry, Scratch *sc)
{
    const Call a = {.L = L, .w = w, .V = V, .x = x, .rx = rx, .P = P, .kc = kc, .n = n,
                    .y = ry, .sc = sc};
    run(OP_RFORWARD, &a);
}

#endif /* HG_DNNL */
