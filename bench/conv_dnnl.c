/* conv_dnnl.c — hgbench-conv-dnnl: our CPU convolution kernels
 * (backend/cpu/kernels.h) against oneDNN's (Debian's libdnnl-dev 2.x, C
 * API), shape by shape, float32 only: the evaluation of issue 10.
 *
 * Shapes: LeNet's two convolutions (models/zoo.c), conv1 = 1->6 channels,
 * 5x5, pad 2, 28x28, and conv2 = 6->16, 5x5, pad 0, 14x14, at each --batch.
 * Activations are CNHW ([C][n][H][W]), weights [OC][C][K][K], bias [OC].
 * Ops, each as ours and as oneDNN:
 *   fwd          y = conv(x; w) + b
 *   bwd_data     dx = conv^T(dy; w)
 *   bwd_weights  gW = dy * x, gb = sum dy       (ours: conv_backward, dx NULL)
 *   rfwd k       ry_j = conv(x; V_j) + Vb_j [+ conv(rx_j; w)]
 *   rbwd k       HV_j = rdy_j * x [+ dy * rx_j], sum rdy_j;
 *                [rdx_j = conv^T(rdy_j; w) + conv^T(dy; V_j)]
 * The bracketed R{x} terms as the model uses them: conv2 has them, conv1 is
 * the first layer (no input tangent, no input gradient). Ours for conv1 is
 * also the direct kernel (conv2d_direct.c), which the model runs there; its
 * R-ops are k calls, as models/net.c makes them.
 *
 * oneDNN's R-ops, one primitive per term, all tangents at once:
 *   conv(x; V_j) all j       one forward conv with k*OC output channels
 *   conv(rx_j; w) all j      one 3-D forward conv with depth k and a 1x5x5
 *                            kernel: the k*n images of a batch, read in our
 *                            [k][C][n][H][W] layout (summed into ry)
 *   rdy_j * x all j          one backward-weights conv, k*OC channels of dy
 *   dy * rx_j all j          one backward-weights conv with k*C input
 *                            channels (then added to the above, permuted)
 *   conv^T(dy; V_j) all j    one backward-data conv with k*C input channels
 *   conv^T(rdy_j; w) all j   one 3-D backward-data conv, as the forward one
 * Tangent weights are packed first (as ours packs them), inside the time.
 *
 * oneDNN in two variants (backend/cpu/dnnl_conv.h, the wrapper the CPU
 * backend's optional oneDNN conv path uses too: cpu_conv_choice.c): `strided`, the primitives on
 * our CNHW strides directly (no reorders), and `any`, oneDNN's preferred
 * layouts with reorders from and to CNHW (compute, reorders and their total
 * timed separately). A strided primitive that only oneDNN's reference
 * implementation serves is not run unless --time-ref (it runs at ~0.06
 * GFLOP/s: minutes per call at batch 1000).
 *
 * Checks: every oneDNN result against ours, normalised max error
 * max|a - b| / max|b| per output (b ours), failing above 1e-4; each op run
 * twice on the same inputs, bytes compared (deterministic yes/no, ours too).
 * Method as hgbench-models: warm-up >= 2 min-time, then --repeats loops of
 * C calls each, C calibrated so a loop lasts >= --min-time; median per call,
 * min and max. Output: whitespace columns with '#' context (stdout), and the
 * same rows as JSON (--json, atomically).
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../backend/cpu/blas.h"
#include "../backend/cpu/kernels.h"
#include "../common/flags.h"
#include "../common/check.h"
#include "../common/mem.h"
#include "../common/real.h"
#include "../common/rng.h"
#include "../common/timer.h"
#include "../io/atomic_file.h"
#include "../io/envelope.h"
#include "../io/json_writer.h"
#include "../io/machine.h"
#include "../backend/cpu/dnnl_conv.h"
#include "load.h"

#ifdef HG_F64
#error "hgbench-conv-dnnl is float32 only: oneDNN's CPU convolutions are float32"
#endif

#define MAX_LIST 8
#define TOL 1e-4

/* ---------------------------------------------------------------- options */

typedef struct Options {
    int batch[MAX_LIST], nbatch, ks[MAX_LIST], nk;
    int repeats, threads;
    double min_time;
    const char *json, *commit;
    int time_ref, perturb;
} Options;

static FlagTable conv_flags(Options *o, int *help)
{
    return (FlagTable){{
        {"--batch", "LIST", "128,1000", "batch sizes n, comma list", FLAG_INTS,
         .target = o->batch, .lo = 1, .hi = 100000, .count = &o->nbatch, .max = MAX_LIST},
        {"--k", "LIST", "1,16", "tangent counts of the R-op rows, comma list", FLAG_INTS,
         .target = o->ks, .lo = 1, .hi = 64, .count = &o->nk, .max = MAX_LIST},
        {"--repeats", "N", "9", "timed loops per measurement", FLAG_INT, .target = &o->repeats,
         .lo = 1, .hi = 1000},
        {"--min-time", "S", "0.05", "seconds each timed loop lasts at least, in (0, 60]",
         FLAG_REAL, .target = &o->min_time, .lo = 0, .hi = 60, .open_lo = 1},
        {"--threads", "N", "OMP_NUM_THREADS, else 2",
         "OpenMP threads (ours, OpenBLAS and oneDNN share the pool)", FLAG_INT,
         .target = &o->threads, .lo = 1, .hi = 4096},
        {"--json", "FILE", "none", "the rows as JSON too (atomically)", FLAG_STRING,
         .target = &o->json},
        {"--commit", "ID", "unknown", "commit to record", FLAG_STRING, .target = &o->commit,
         .empty_ok = 1},
        {"--time-ref", NULL, NULL,
         "also run strided primitives that oneDNN serves by its reference implementation "
         "(slow: use small batches)", FLAG_SWITCH, .target = &o->time_ref},
        {"--perturb", NULL, NULL,
         "add 1e-3 max|ours| to one entry of every oneDNN result (tests that the check "
         "fails)", FLAG_SWITCH, .target = &o->perturb},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = help},
    }};
}

static Options parse_flags(int argc, char **argv)
{
    Options o = {.batch = {128, 1000}, .nbatch = 2, .ks = {1, 16}, .nk = 2, .repeats = 9,
                 .threads = 2, .min_time = 0.05, .commit = "unknown"};
    const char *env = getenv("OMP_NUM_THREADS");
    if (env && *env) {
        char *end;
        long t = strtol(env, &end, 10);
        if (t < 1 || t > 4096 || (*end && *end != ','))
            hg_die("OMP_NUM_THREADS='%s' is not a thread count", env);
        o.threads = (int)t;
    }
    HgErr err = {{0}};
    int help = 0;
    const FlagTable t = conv_flags(&o, &help);
    if (flags_parse(t.f, argc, argv, &err)) {
        fprintf(stderr, "hgbench-conv-dnnl: %s\n", err.msg);
        exit(2);
    }
    if (help) {
        fputs("usage: hgbench-conv-dnnl [flags]\n"
              "Times LeNet's convolutions (forward, backward data, backward weights, the\n"
              "k-tangent R-ops) by our kernels and by oneDNN, float32, and checks that\n"
              "they agree.\n\n",
              stdout);
        flags_usage(stdout, t.f);
        fputs("\nExit status: 0 every check passed, 1 a oneDNN result differs from ours by\n"
              "more than 1e-4 (normalised) or a primitive could not be made, 2 bad flags.\n",
              stdout);
        exit(0);
    }
    return o;
}

/* ---------------------------------------------------------------- cases */

typedef struct LayerSpec {
    const char *name;
    int C, OC, K, pad, H;
    int first; /* the first layer: no input tangent or gradient; the direct kernel too */
} LayerSpec;

static const LayerSpec LAYERS[] = {{"conv1", 1, 6, 5, 2, 28, 1}, {"conv2", 6, 16, 5, 0, 14, 0}};

typedef enum Op { OP_FWD, OP_BWD_DATA, OP_BWD_WEIGHTS, OP_RFWD, OP_RBWD, OP_COUNT } Op;
static const char *const OP_NAME[OP_COUNT] = {"fwd", "bwd_data", "bwd_weights", "rfwd",
                                              "rbwd"};

/* One layer at one batch, its inputs sized for the largest k. */
typedef struct Case {
    const LayerSpec *ls;
    LayerGeom L;
    int n, C, OC, K, p, H, OH, kmax;
    long P, ckk, isz, osz; /* params; C*K*K; one input, one output tensor */
    real *w, *x, *dy;      /* [P] (weights then bias), [C][n][H][W], [OC][n][OH][OW] */
    real *V, *rx, *rdy;    /* [kmax][P], [kmax][C][n][H][W], [kmax][OC][n][OH][OW] */
    Scratch *sc;
} Case;

static void fill_normal(real *a, long len, Rng *r)
{
    for (long i = 0; i < len; i++) a[i] = (real)rng_normal(r);
}

static void case_init(Case *c, const LayerSpec *ls, int n, int kmax)
{
    memset(c, 0, sizeof *c);
    c->ls = ls;
    c->n = n, c->C = ls->C, c->OC = ls->OC, c->K = ls->K, c->p = ls->pad, c->H = ls->H;
    c->OH = ls->H + 2 * ls->pad - ls->K + 1;
    c->kmax = kmax;
    c->ckk = (long)c->C * c->K * c->K;
    c->P = c->OC * c->ckk + c->OC;
    c->isz = (long)c->C * n * c->H * c->H;
    c->osz = (long)c->OC * n * c->OH * c->OH;
    c->L = (LayerGeom){.in = {c->C, c->H, c->H}, .out = {c->OC, c->OH, c->OH}, .ksize = c->K,
                       .pad = c->p, .w_off = 0, .b_off = c->OC * c->ckk};
    Rng r = rng_seed(10 + (uint64_t)n);
    c->w = mem_alloc(MEM_PARAMS, sizeof(real) * c->P);
    c->x = mem_alloc(MEM_ACTIVATIONS, sizeof(real) * c->isz);
    c->dy = mem_alloc(MEM_ACTIVATIONS, sizeof(real) * c->osz);
    c->V = mem_alloc(MEM_TANGENTS, sizeof(real) * kmax * c->P);
    c->rdy = mem_alloc(MEM_TANGENTS, sizeof(real) * kmax * c->osz);
    fill_normal(c->w, c->P, &r);
    fill_normal(c->x, c->isz, &r);
    fill_normal(c->dy, c->osz, &r);
    fill_normal(c->V, kmax * c->P, &r);
    fill_normal(c->rdy, kmax * c->osz, &r);
    if (!ls->first) {
        c->rx = mem_alloc(MEM_TANGENTS, sizeof(real) * kmax * c->isz);
        fill_normal(c->rx, kmax * c->isz, &r);
    }
    c->sc = BACKEND_CPU.mem.scratch_new();
}

static void case_free(Case *c)
{
    mem_free(c->w);
    mem_free(c->x);
    mem_free(c->dy);
    mem_free(c->V);
    mem_free(c->rdy);
    mem_free(c->rx);
    BACKEND_CPU.mem.scratch_free(c->sc);
}

/* ---------------------------------------------------------------- outputs */

/* One op's results as both sides give them, in segments compared one by
 * one: fwd y; bwd_data dx; bwd_weights gW, gb; rfwd ry [k][OC][n][OH][OW];
 * rbwd gW [k][OC][C][K][K], gb [k][OC] (and rdx [k][C][n][H][W]). One block;
 * ours' rbwd writes HV [k][P] beside it, gathered into the segments. */
typedef struct Outs {
    real *block, *hv;
    long total;
    int nseg;
    real *seg[3];
    long len[3];
} Outs;

static void outs_init(Outs *o, const Case *c, Op op, int k, int ours)
{
    memset(o, 0, sizeof *o);
    long len[3] = {0};
    switch (op) {
    case OP_FWD: len[0] = c->osz; break;
    case OP_BWD_DATA: len[0] = c->isz; break;
    case OP_BWD_WEIGHTS: len[0] = c->OC * c->ckk, len[1] = c->OC; break;
    case OP_RFWD: len[0] = k * c->osz; break;
    case OP_RBWD:
        len[0] = k * c->OC * c->ckk, len[1] = (long)k * c->OC;
        len[2] = c->rx ? k * c->isz : 0;
        break;
    default: break;
    }
    for (int i = 0; i < 3 && len[i]; i++) o->total += o->len[o->nseg++] = len[i];
    o->block = mem_alloc(MEM_ACTIVATIONS, sizeof(real) * o->total);
    memset(o->block, 0, sizeof(real) * o->total);
    for (long i = 0, off = 0; i < o->nseg; off += o->len[i], i++) o->seg[i] = o->block + off;
    if (ours && op == OP_RBWD) o->hv = mem_alloc(MEM_TANGENTS, sizeof(real) * k * c->P);
}

static void outs_free(Outs *o)
{
    mem_free(o->block);
    mem_free(o->hv);
}

/* ours' HV [k][P] into the packed segments */
static void outs_gather(Outs *o, const Case *c, int k)
{
    if (!o->hv) return;
    const long nw = c->OC * c->ckk;
    for (int j = 0; j < k; j++) {
        memcpy(o->seg[0] + j * nw, o->hv + j * c->P, sizeof(real) * nw);
        memcpy(o->seg[1] + (long)j * c->OC, o->hv + j * c->P + nw, sizeof(real) * c->OC);
    }
}

/* max over segments of max|a - b| / max|b| (b: ours) */
static double outs_err(const Outs *a, const Outs *b)
{
    double worst = 0;
    for (int s = 0; s < b->nseg; s++) {
        double d = 0, m = 0;
        for (long i = 0; i < b->len[s]; i++) {
            double e = fabs((double)a->seg[s][i] - (double)b->seg[s][i]);
            d = e > d || isnan(e) ? e : d;
            m = fabs((double)b->seg[s][i]) > m ? fabs((double)b->seg[s][i]) : m;
        }
        double r = d / (m > 0 ? m : 1);
        worst = r > worst || isnan(r) ? r : worst;
    }
    return worst;
}

/* ---------------------------------------------------------------- ours */

typedef struct OursJob {
    const Case *c;
    Op op;
    int k, direct;
    Outs *out;
} OursJob;

static void ours_run(void *ctx, unsigned what)
{
    const OursJob *j = ctx;
    const Case *c = j->c;
    const LayerGeom *L = &c->L;
    real *y = j->out->block;
    switch (j->op) {
    case OP_FWD:
        if (j->direct) conv_direct_forward(L, c->w, c->x, c->n, y, c->sc);
        else conv_forward(L, c->w, c->x, c->n, y, c->sc);
        break;
    case OP_BWD_DATA: conv_backward_data(L, c->w, c->dy, c->n, y, c->sc); break;
    case OP_BWD_WEIGHTS:
        if (j->direct) conv_direct_backward_params(L, c->x, c->dy, c->n, y, c->sc);
        else conv_backward(L, c->w, c->x, c->dy, c->n, y, NULL, c->sc);
        break;
    case OP_RFWD:
        if (j->direct) /* as models/net.c: R{x} is zero on the first layer */
            for (int t = 0; t < j->k; t++)
                conv_direct_forward(L, c->V + t * c->P, c->x, c->n, y + t * c->osz, c->sc);
        else conv_rforward(L, c->w, c->V, c->P, j->k, c->x, c->rx, c->n, y, c->sc);
        break;
    case OP_RBWD:
        if (j->direct)
            for (int t = 0; t < j->k; t++)
                conv_direct_backward_params(L, c->x, c->rdy + t * c->osz, c->n,
                                            j->out->hv + t * c->P, c->sc);
        else conv_rbackward(L, c->w, c->V, c->P, j->k, c->x, c->rx, c->dy, c->rdy, c->n,
                            j->out->hv, c->rx ? j->out->seg[2] : NULL, c->sc);
        break;
    default: break;
    }
    (void)what;
}

/* ---------------------------------------------------------------- oneDNN */

typedef struct DnSeq {
    const Case *c;
    Op op;
    int k;
    const DnCtx *dc;
    DnConv conv[4];
    int nconv;
    real *gw; /* rbwd: the output's gW segment */
    real *Vw, *Vb, *Vh, *B; /* packed tangent weights [k*OC][CKK], [k*OC]; [OC][k*CKK];
                             * dy * rx_j as [OC][k*C][K][K] */
} DnSeq;

/* [c][n][h][w], and [k][c][n][h][w] (the k tangents' images as depth) */
static DnTensor cnhw(const real *p, long c, long n, long h) { return dn_cnhw(p, 0, c, n, h, h); }
static DnTensor cnhw_k(const real *p, long k, long c, long n, long h)
{
    return dn_cnhw(p, k, c, n, h, h);
}

static int seq_add(DnSeq *s, const DnCtx *ctx, DnProp prop, DnLayout lay, DnTensor src,
                   DnTensor wei, DnTensor bias, DnTensor dst, HgErr *err)
{
    const DnTensor t[DN_NROLES] = {src, wei, bias, dst};
    const dnnl_dim_t pad[3] = {src.ndims == 5 ? 0 : s->c->p, s->c->p, s->c->p};
    return dn_conv_init(&s->conv[s->nconv++], ctx, prop, lay, t, pad, err);
}

static void seq_free(DnSeq *s)
{
    for (int i = 0; i < s->nconv; i++) dn_conv_free(&s->conv[i]);
    mem_free(s->Vw);
    mem_free(s->Vb);
    mem_free(s->Vh);
    mem_free(s->B);
    memset(s, 0, sizeof *s);
}

static int seq_init(DnSeq *s, const DnCtx *ctx, const Case *c, Op op, int k, DnLayout lay,
                    Outs *out, HgErr *err)
{
    memset(s, 0, sizeof *s);
    s->c = c, s->op = op, s->k = k, s->dc = ctx;
    const long n = c->n, C = c->C, OC = c->OC, K = c->K, H = c->H, OH = c->OH;
    const DnTensor none = {0};
    int rc = 0;
    switch (op) {
    case OP_FWD:
        rc = seq_add(s, ctx, DN_FWD, lay, cnhw(c->x, C, n, H), dn_weights(c->w, OC, C, K, 0),
                     dn_vec1(c->w + OC * c->ckk, OC), cnhw(out->seg[0], OC, n, OH), err);
        break;
    case OP_BWD_DATA:
        rc = seq_add(s, ctx, DN_BWD_DATA, lay, cnhw(out->seg[0], C, n, H),
                     dn_weights(c->w, OC, C, K, 0), none, cnhw(c->dy, OC, n, OH), err);
        break;
    case OP_BWD_WEIGHTS:
        rc = seq_add(s, ctx, DN_BWD_WEIGHTS, lay, cnhw(c->x, C, n, H),
                     dn_weights(out->seg[0], OC, C, K, 0), dn_vec1(out->seg[1], OC),
                     cnhw(c->dy, OC, n, OH), err);
        break;
    case OP_RFWD: {
        s->Vw = mem_alloc(MEM_TANGENTS, sizeof(real) * k * OC * c->ckk);
        s->Vb = mem_alloc(MEM_TANGENTS, sizeof(real) * k * OC);
        rc = seq_add(s, ctx, DN_FWD, lay, cnhw(c->x, C, n, H), dn_weights(s->Vw, k * OC, C, K, 0),
                     dn_vec1(s->Vb, k * OC), cnhw(out->seg[0], k * OC, n, OH), err);
        if (!rc && c->rx) {
            DnTensor ry = cnhw_k(out->seg[0], k, OC, n, OH);
            ry.accumulate = 1;
            rc = seq_add(s, ctx, DN_FWD, lay, cnhw_k(c->rx, k, C, n, H),
                         dn_weights(c->w, OC, C, K, 1), none, ry, err);
        }
        break;
    }
    case OP_RBWD:
        rc = seq_add(s, ctx, DN_BWD_WEIGHTS, lay, cnhw(c->x, C, n, H),
                     dn_weights(out->seg[0], k * OC, C, K, 0), dn_vec1(out->seg[1], k * OC),
                     cnhw(c->rdy, k * OC, n, OH), err);
        if (rc || !c->rx) break;
        s->gw = out->seg[0];
        s->B = mem_alloc(MEM_TANGENTS, sizeof(real) * k * OC * c->ckk);
        s->Vh = mem_alloc(MEM_TANGENTS, sizeof(real) * k * OC * c->ckk);
        rc = seq_add(s, ctx, DN_BWD_WEIGHTS, lay, cnhw(c->rx, k * C, n, H),
                     dn_weights(s->B, OC, k * C, K, 0), none, cnhw(c->dy, OC, n, OH), err);
        if (!rc)
            rc = seq_add(s, ctx, DN_BWD_DATA, lay, cnhw(out->seg[2], k * C, n, H),
                         dn_weights(s->Vh, OC, k * C, K, 0), none, cnhw(c->dy, OC, n, OH), err);
        if (!rc) {
            DnTensor rdx = cnhw_k(out->seg[2], k, C, n, H);
            rdx.accumulate = 1;
            rc = seq_add(s, ctx, DN_BWD_DATA, lay, rdx, dn_weights(c->w, OC, C, K, 1), none,
                         cnhw_k(c->rdy, k, OC, n, OH), err);
        }
        break;
    default: break;
    }
    if (rc) {
        s->nconv--; /* the one that failed freed itself */
        seq_free(s);
    }
    return rc;
}

static void seq_run(void *ctx, unsigned what)
{
    DnSeq *s = ctx;
    const Case *c = s->c;
    const long OC = c->OC, ckk = c->ckk, nw = OC * ckk;
    const int k = s->k;
    if ((what & DN_COMPUTE) && s->Vw)
        for (int j = 0; j < k; j++) {
            memcpy(s->Vw + j * nw, c->V + j * c->P, sizeof(real) * nw);
            memcpy(s->Vb + j * OC, c->V + j * c->P + nw, sizeof(real) * OC);
        }
    if ((what & DN_COMPUTE) && s->Vh) /* Vh[o][j][t] = V_j[o][t] */
        for (long o = 0; o < OC; o++)
            for (int j = 0; j < k; j++)
                memcpy(s->Vh + (o * k + j) * ckk, c->V + j * c->P + o * ckk,
                       sizeof(real) * ckk);
    for (int i = 0; i < s->nconv; i++) {
        dn_conv_run(&s->conv[i], s->dc, what);
        if (i == 1 && s->B && (what & DN_COMPUTE)) /* gW_j[o] += B[o][j]: the dy * rx_j term */
            for (int j = 0; j < k; j++)
                for (long o = 0; o < OC; o++) {
                    real *g = s->gw + (j * OC + o) * ckk;
                    const real *b = s->B + (o * k + j) * ckk;
                    for (long t = 0; t < ckk; t++) g[t] += b[t];
                }
    }
}

/* ---------------------------------------------------------------- timing */

typedef void (*RunFn)(void *ctx, unsigned what);

typedef struct Timing {
    int calls;               /* per loop; 0: not measured */
    double median, min, max; /* seconds per call */
} Timing;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* hgbench-models' method (bench_models.c, time_op) */
static Timing time_run(RunFn fn, void *ctx, unsigned what, const Options *o)
{
    Timing t = {0};
    double start = now_s(), after_first = 0;
    int calls = 0;
    do {
        fn(ctx, what);
        if (++calls == 1) after_first = now_s();
    } while (now_s() - start < 2 * o->min_time);
    double per_call = calls > 1 ? (now_s() - after_first) / (calls - 1) : after_first - start;
    double cl = ceil(o->min_time / (per_call > 1e-9 ? per_call : 1e-9));
    t.calls = cl < 1 ? 1 : cl > 1e8 ? 100000000 : (int)cl;
    double *times = mem_alloc(MEM_OTHER, sizeof(double) * o->repeats);
    for (int r = 0; r < o->repeats; r++) {
        double t0 = now_s();
        for (int i = 0; i < t.calls; i++) fn(ctx, what);
        times[r] = (now_s() - t0) / t.calls;
    }
    qsort(times, (size_t)o->repeats, sizeof *times, cmp_double);
    const int n = o->repeats;
    t.median = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    t.min = times[0];
    t.max = times[n - 1];
    mem_free(times);
    return t;
}

/* ---------------------------------------------------------------- rows */

typedef enum VStatus { V_OK, V_SKIPPED, V_FAILED } VStatus;
static const char *const VARIANT_NAME[2] = {"strided", "any"};

typedef struct Variant { /* one oneDNN variant of one op */
    VStatus status;
    char impl[160];    /* its primitives' implementations, '+' between */
    char layout[800];  /* their layouts, ' | ' between */
    char msg[256];
    Timing total, compute, reorder; /* compute and reorder: `any` only */
    double err[2];     /* against each of ours */
    int det;           /* two runs gave the same bytes */
} Variant;

typedef struct Row {
    const char *layer;
    int n, k; /* k = 0: not an R-op */
    Op op;
    int nours;
    const char *ours[2]; /* ours_path(), then "direct" on the first layer */
    Timing t[2];
    int det[2];
    Variant v[2]; /* DN_STRIDED, DN_ANY */
} Row;

/* Runs fn twice from the same inputs; 1 if the results are the same bytes.
 * out->block is left holding the result. */
static int twice_same(RunFn fn, void *ctx, Outs *out, const Case *c, int k)
{
    fn(ctx, DN_ALL);
    outs_gather(out, c, k);
    real *first = mem_alloc(MEM_OTHER, sizeof(real) * out->total);
    memcpy(first, out->block, sizeof(real) * out->total);
    fn(ctx, DN_ALL);
    outs_gather(out, c, k);
    int same = memcmp(first, out->block, sizeof(real) * out->total) == 0;
    mem_free(first);
    return same;
}

static int uses_ref(const DnSeq *s)
{
    for (int i = 0; i < s->nconv; i++)
        if (strncmp(s->conv[i].impl, "ref", 3) == 0) return 1;
    return 0;
}

static void run_variant(Row *row, DnLayout lay, const DnCtx *ctx, const Case *c, Op op, int k,
                        Outs ours[2], const Options *o)
{
    Variant *v = &row->v[lay];
    HgErr err = {{0}};
    DnSeq s;
    Outs out;
    outs_init(&out, c, op, k, 0);
    if (seq_init(&s, ctx, c, op, k, lay, &out, &err)) {
        v->status = V_FAILED;
        snprintf(v->msg, sizeof v->msg, "%s", err.msg);
        outs_free(&out);
        return;
    }
    size_t il = 0, ll = 0;
    for (int i = 0; i < s.nconv; i++) {
        int a = snprintf(v->impl + il, sizeof v->impl - il, "%s%s", i ? "+" : "", s.conv[i].impl);
        int b = snprintf(v->layout + ll, sizeof v->layout - ll, "%s%s", i ? " | " : "",
                         s.conv[i].layout);
        if (a > 0 && (size_t)a < sizeof v->impl - il) il += (size_t)a;
        if (b > 0 && (size_t)b < sizeof v->layout - ll) ll += (size_t)b;
    }
    if (lay == DN_STRIDED && uses_ref(&s) && !o->time_ref) {
        v->status = V_SKIPPED;
        snprintf(v->msg, sizeof v->msg, "served by oneDNN's reference implementation "
                                        "(--time-ref runs it)");
    } else {
        v->det = twice_same(seq_run, &s, &out, c, k);
        if (o->perturb) {
            double m = 0;
            for (long i = 0; i < ours[0].len[0]; i++)
                m = fabs((double)ours[0].seg[0][i]) > m ? fabs((double)ours[0].seg[0][i]) : m;
            out.seg[0][0] += (real)(1e-3 * (m > 0 ? m : 1));
        }
        for (int i = 0; i < row->nours; i++) v->err[i] = outs_err(&out, &ours[i]);
        v->total = time_run(seq_run, &s, DN_ALL, o);
        if (lay == DN_ANY) {
            v->compute = time_run(seq_run, &s, DN_COMPUTE, o);
            v->reorder = time_run(seq_run, &s, DN_REORDERS, o);
        }
    }
    seq_free(&s);
    outs_free(&out);
}

/* The path conv_forward & co. take for this layer and op (backend/cpu):
 * im2col + GEMM, or the output-channel-vector kernels (conv2d_ocvec*.c),
 * which the R-backward pairs with im2col for its input R-gradient. */
static const char *ours_path(const LayerGeom *L, Op op)
{
    switch (op) {
    case OP_FWD:
    case OP_RFWD: return conv_ocvec_suits(L) ? "ocvec" : "im2col";
    case OP_BWD_WEIGHTS: return conv_ocvec_wgrad_suits(L) ? "ocvec" : "im2col";
    case OP_RBWD: return conv_ocvec_wgrad_suits(L) ? "ocvec+im2col" : "im2col";
    default: return "im2col";
    }
}

/* One row: ours (and the direct kernel on the first layer), then oneDNN. */
static void run_row(Row *row, const DnCtx *ctx, const Case *c, Op op, int k, const Options *o)
{
    memset(row, 0, sizeof *row);
    row->layer = c->ls->name, row->n = c->n, row->op = op;
    row->k = op >= OP_RFWD ? k : 0;
    row->ours[row->nours++] = ours_path(&c->L, op);
    if (c->ls->first && op != OP_BWD_DATA) row->ours[row->nours++] = "direct";
    Outs ours[2];
    for (int i = 0; i < row->nours; i++) {
        outs_init(&ours[i], c, op, k, 1);
        OursJob job = {c, op, k, i == 1, &ours[i]};
        row->det[i] = twice_same(ours_run, &job, &ours[i], c, k);
        row->t[i] = time_run(ours_run, &job, DN_ALL, o);
    }
    for (int lay = 0; lay < 2; lay++) run_variant(row, (DnLayout)lay, ctx, c, op, k, ours, o);
    for (int i = 0; i < row->nours; i++) outs_free(&ours[i]);
}

/* " k=K" for the R-op rows, "" for the others */
static const char *row_k(const Row *r)
{
    static char buf[16];
    buf[0] = '\0';
    if (r->k) snprintf(buf, sizeof buf, " k=%d", r->k);
    return buf;
}

/* The check: every oneDNN result that ran within TOL of each of ours. */
static int row_failures(const Row *r, FILE *f)
{
    int bad = 0;
    for (int lay = 0; lay < 2; lay++) {
        const Variant *v = &r->v[lay];
        if (v->status == V_FAILED) {
            fprintf(f, "# FAIL %s n=%d %s%s: oneDNN %s: %s\n", r->layer, r->n, OP_NAME[r->op],
                    row_k(r), VARIANT_NAME[lay], v->msg);
            bad++;
        }
        for (int i = 0; v->status == V_OK && i < r->nours; i++)
            if (!(v->err[i] <= TOL)) {
                fprintf(f, "# FAIL %s n=%d %s%s: oneDNN %s against ours %s: normalised max "
                           "error %.3g > %.0e\n",
                        r->layer, r->n, OP_NAME[r->op], row_k(r), VARIANT_NAME[lay], r->ours[i],
                        v->err[i], TOL);
                bad++;
            }
    }
    return bad;
}

static const char *yes_no(int det, VStatus s) { return s != V_OK ? "-" : det ? "yes" : "no"; }

static void print_header(FILE *f)
{
    fprintf(f, "# columns: layer n op k ours calls ours_ms ours_min_ms ours_max_ms "
               "strided_ms any_ms reorder_ms any_total_ms ours/strided ours/any_total "
               "ours/any err_strided err_any det_ours det_strided det_any\n"
               "#   any_ms: oneDNN's layouts, convolutions alone; reorder_ms: the reorders "
               "from and to CNHW alone; any_total_ms: both, as one would call it on our "
               "tensors; ours/X: ours' median over X's (> 1: oneDNN faster); err: max|oneDNN - "
               "ours| / max|ours| per output, the worst; det: two runs, same bytes; '-': did "
               "not run\n");
    fprintf(f, "%-6s %5s %-11s %2s %-6s %6s %9s %9s %9s %9s %9s %9s %9s %7s %7s %7s %9s %9s "
               "%3s %3s %3s\n",
            "#layer", "n", "op", "k", "ours", "calls", "ours_ms", "min_ms", "max_ms",
            "strided", "any_ms", "reorder", "total", "o/str", "o/tot", "o/any", "err_str",
            "err_any", "d_o", "d_s", "d_a");
}

static void fmt_ms(char *buf, size_t cap, const Timing *t)
{
    if (t->calls) snprintf(buf, cap, "%9.4f", 1e3 * t->median);
    else snprintf(buf, cap, "%9s", "-");
}

static void fmt_ratio(char *buf, size_t cap, const Timing *a, const Timing *b)
{
    if (a->calls && b->calls) snprintf(buf, cap, "%7.2f", a->median / b->median);
    else snprintf(buf, cap, "%7s", "-");
}

static void fmt_err(char *buf, size_t cap, const Variant *v, int i)
{
    if (v->status == V_OK) snprintf(buf, cap, "%9.2e", v->err[i]);
    else snprintf(buf, cap, "%9s", v->status == V_SKIPPED ? "skip:ref" : "FAILED");
}

static void print_row(FILE *f, const Row *r)
{
    const Variant *s = &r->v[DN_STRIDED], *a = &r->v[DN_ANY];
    for (int i = 0; i < r->nours; i++) {
        char k[8] = "-", c[9][24];
        if (r->k) snprintf(k, sizeof k, "%d", r->k);
        fmt_ms(c[0], sizeof c[0], &s->total);
        fmt_ms(c[1], sizeof c[1], &a->compute);
        fmt_ms(c[2], sizeof c[2], &a->reorder);
        fmt_ms(c[3], sizeof c[3], &a->total);
        fmt_ratio(c[4], sizeof c[4], &r->t[i], &s->total);
        fmt_ratio(c[5], sizeof c[5], &r->t[i], &a->total);
        fmt_ratio(c[6], sizeof c[6], &r->t[i], &a->compute);
        fmt_err(c[7], sizeof c[7], s, i);
        fmt_err(c[8], sizeof c[8], a, i);
        fprintf(f, "%-6s %5d %-11s %2s %-6s %6d %9.4f %9.4f %9.4f %s %s %s %s %s %s %s %s %s "
                   "%3s %3s %3s\n",
                r->layer, r->n, OP_NAME[r->op], k, r->ours[i], r->t[i].calls,
                1e3 * r->t[i].median, 1e3 * r->t[i].min, 1e3 * r->t[i].max, c[0], c[1], c[2],
                c[3], c[4], c[5], c[6], c[7], c[8], r->det[i] ? "yes" : "no",
                yes_no(s->det, s->status), yes_no(a->det, a->status));
    }
    for (int lay = 0; lay < 2; lay++)
        fprintf(f, "# oneDNN %s n=%d %s%s %s: %s [%s]%s%s\n", r->layer, r->n, OP_NAME[r->op],
                row_k(r), VARIANT_NAME[lay], r->v[lay].impl[0] ? r->v[lay].impl : "-",
                r->v[lay].layout, r->v[lay].msg[0] ? ": " : "", r->v[lay].msg);
    fflush(f);
}

static void json_timing(JsonWriter *j, const char *key, const Timing *t)
{
    json_key(j, key);
    if (!t->calls) {
        json_put_null(j);
        return;
    }
    json_object_begin(j, 1);
    json_field_double(j, "median_s", t->median);
    json_field_double(j, "min_s", t->min);
    json_field_double(j, "max_s", t->max);
    json_field_int(j, "calls", t->calls);
    json_object_end(j);
}

/* --json: the envelope (io/envelope.h), the run's settings and one row per
 * layer, batch, op, k and kernel of ours; hgbench-report renders it
 * (bench/report_models.c). */
static void write_json(FILE *f, const Options *o, int argc, char **argv, const Row *rows,
                       int nrows, int failed)
{
    static const char *const STATUS[] = {"ok", "skipped", "failed"};
    const dnnl_version_t *dv = dnnl_version();
    char ver[32];
    snprintf(ver, sizeof ver, "%d.%d.%d", dv->major, dv->minor, dv->patch);
    JsonWriter j;
    json_init(&j, f);
    envelope_begin(&j, &(Envelope){.program = "hgbench-conv-dnnl", .commit = o->commit,
                                   .argc = argc, .argv = argv, .threads = o->threads,
                                   .precision = HG_REAL_NAME});
    json_field_string(&j, "onednn", ver);
    json_field_int(&j, "repeats", o->repeats);
    json_field_double(&j, "min_time_s", o->min_time);
    json_field_double(&j, "tolerance", TOL);
    json_field_int(&j, "failed_checks", failed);
    json_key(&j, "rows");
    json_array_begin(&j, 0);
    for (int i = 0; i < nrows; i++) {
        const Row *r = &rows[i];
        for (int q = 0; q < r->nours; q++) {
            json_object_begin(&j, 0);
            json_field_string(&j, "layer", r->layer);
            json_field_int(&j, "n", r->n);
            json_field_string(&j, "op", OP_NAME[r->op]);
            json_field_int(&j, "k", r->k);
            json_field_string(&j, "ours", r->ours[q]);
            json_timing(&j, "ours_time", &r->t[q]);
            json_field_bool(&j, "ours_deterministic", r->det[q]);
            for (int lay = 0; lay < 2; lay++) {
                const Variant *v = &r->v[lay];
                json_key(&j, VARIANT_NAME[lay]);
                json_object_begin(&j, 0);
                json_field_string(&j, "status", STATUS[v->status]);
                json_field_string(&j, "impl", v->impl);
                json_field_string(&j, "layout", v->layout);
                if (v->msg[0]) json_field_string(&j, "message", v->msg);
                json_timing(&j, "total", &v->total);
                if (lay == DN_ANY) {
                    json_timing(&j, "compute", &v->compute);
                    json_timing(&j, "reorder", &v->reorder);
                }
                if (v->status == V_OK) {
                    json_field_double(&j, "max_err", v->err[q]);
                    json_field_bool(&j, "deterministic", v->det);
                }
                json_object_end(&j);
            }
            json_object_end(&j);
        }
    }
    json_array_end(&j);
    json_object_end(&j);
    fputc('\n', f);
}

/* ---------------------------------------------------------------- context */

static void print_context(FILE *f, const Options *o)
{
    Machine mc;
    machine_probe(&mc);
    char date[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const dnnl_version_t *dv = dnnl_version();
    fprintf(f, "# hgbench-conv-dnnl: LeNet's convolutions, ours (backend/cpu) against oneDNN, "
               "%s\n# date: %s\n", HG_REAL_NAME, date);
    machine_print(&mc, f, "# ");
    fprintf(f, "# compiler: gcc %s\n", __VERSION__);
#if !defined(__OPTIMIZE__) || defined(__SANITIZE_ADDRESS__)
    fprintf(f, "# WARNING: an unoptimised or sanitized build: the timings measure nothing\n");
#endif
    fprintf(f, "# threads: %d (OpenMP max threads %d; %s, core %s)\n", o->threads,
            omp_get_max_threads(), openblas_get_config(), openblas_get_corename());
    fprintf(f, "# oneDNN %d.%d.%d (CPU runtime %s), fp math mode: default (strict float32), "
               "scratchpad: user, primitives and reorders made before the timed loops\n",
            dv->major, dv->minor, dv->patch,
            dv->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "not OpenMP");
    fprintf(f, "# commit: %s\n", o->commit);
    fprintf(f, "# method: per measurement a warm-up (>= %.3g s), then %d loops of C calls "
               "on the same inputs, C calibrated so a loop lasts >= %.3g s; median time per "
               "call, min and max; wall clock\n",
            2 * o->min_time, o->repeats, o->min_time);
    fprintf(f, "# check: oneDNN within %.0e of ours (normalised max error); R-ops on conv1 "
               "without R{x} terms (the first layer, as the model), on conv2 with them\n",
            TOL);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    const Options o = parse_flags(argc, argv);
    BACKEND_CPU.mem.set_threads(o.threads); /* OpenMP (oneDNN's pool too) and OpenBLAS */
    DnCtx ctx;
    HgErr err = {{0}};
    if (dn_ctx_init(&ctx, &err)) {
        fprintf(stderr, "hgbench-conv-dnnl: %s\n", err.msg);
        return 1;
    }
    int kmax = 0;
    for (int i = 0; i < o.nk; i++) kmax = o.ks[i] > kmax ? o.ks[i] : kmax;

    print_context(stdout, &o);
    print_header(stdout);
    const int cap = 2 * o.nbatch * (3 + 2 * o.nk);
    Row *rows = calloc((size_t)cap, sizeof *rows);
    HG_CHECK(rows, "out of memory");
    int nrows = 0, failed = 0;
    Load l0 = load_now();
    for (int b = 0; b < o.nbatch; b++)
        for (int l = 0; l < 2; l++) {
            Case c;
            case_init(&c, &LAYERS[l], o.batch[b], kmax);
            for (int op = 0; op < OP_COUNT; op++)
                for (int q = 0; q < (op >= OP_RFWD ? o.nk : 1); q++) {
                    Row *r = &rows[nrows++];
                    run_row(r, &ctx, &c, (Op)op, op >= OP_RFWD ? o.ks[q] : 1, &o);
                    print_row(stdout, r);
                    failed += row_failures(r, stdout);
                    fprintf(stderr, "hgbench-conv-dnnl: %s n=%d %s%s done\n", r->layer, r->n,
                            OP_NAME[op], row_k(r));
                }
            case_free(&c);
        }
    Load l1 = load_now();
    const double wall = l1.wall - l0.wall;
    const double other = wall > 0 ? (l1.busy - l0.busy - (l1.own - l0.own)) / wall : 0;
    printf("# run: %.1f s; other processes used %.2f cores on average%s\n", wall,
           other < 0 ? 0 : other,
           other > 0.25 ? " (WARNING: a busy machine: the timings are noisy)" : "");
    printf("# %d failed checks\n", failed);
    if (failed) fprintf(stderr, "hgbench-conv-dnnl: %d failed checks (see FAIL lines)\n", failed);
    if (o.json) {
        AtomicFile af;
        if (atomic_open(&af, o.json, &err)) hg_die("--json %s", err.msg);
        write_json(af.f, &o, argc, argv, rows, nrows, failed);
        if (atomic_commit(&af, &err)) hg_die("--json %s", err.msg);
    }
    free(rows);
    dn_ctx_free(&ctx);
    return failed ? 1 : 0;
}
