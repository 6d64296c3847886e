/* gpu_conv.c — hgbench-gpu-conv: LeNet's convolutions on each conv path of
 * a backend, timed op by op (issue 9: "measure an im2col + cuBLAS path on
 * the GPU and keep whichever is faster, shape by shape; report both").
 *
 * For each conv layer of LeNet on 1x28x28 and 3x32x32 inputs (conv2 is the
 * same layer in both: it is timed once), each batch n and each op (forward;
 * backward: weights, bias and, above the first layer, the input gradient;
 * R-forward and R-backward for kc tangents, with R{x} and R{dx} above the
 * first layer, as the model runs them), the backend's conv paths (the CUDA
 * backend: cudnn and gemm, set through its conv_path op; the float32 CPU
 * where oneDNN is built in: ours and dnnl, where dnnl differs from ours in
 * forward and R-forward only; a backend with one path: that one, named
 * after the backend) each give the median over
 * --repeats of the time per call. A repeat runs enough calls to last
 * --min-ms and ends with a download, so queued device work counts. Then
 * "auto" runs each op once and the picks it made are printed ('#' lines).
 *
 * Output: '#' context lines, then columns
 *   layer n op kc path median_ms min_ms status
 * (status "ok", or "skipped" with the reason in a '#' line above); with
 * --json FILE also the same as JSON opened by the shared envelope
 * (io/envelope.h): rows {layer, n, op, kc, path, median_ms, min_ms,
 * status}, skipped_paths {path, reason}, and auto's picks as text. Inputs
 * are seeded normals; the numbers are not checked here (test_backend_ops
 * checks every path against the CPU). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h"
#include "../common/flags.h"
#include "../common/mem.h"
#include "../common/rng.h"
#include "../common/real.h"
#include "../common/timer.h"
#include "../io/atomic_file.h"
#include "../io/envelope.h"
#include "../io/json_writer.h"
#include "../models/model.h"

#define PROG "hgbench-gpu-conv"
#define MAX_LIST 8
#define MAX_REPEATS 99

typedef struct Options {
    const char *device, *json;
    int batches[MAX_LIST], nbatches, kcs[MAX_LIST], nkcs, repeats, help;
    double min_ms;
} Options;

static FlagTable conv_flags(Options *o)
{
    FlagTable t = {{
        {"--device", "NAME", "cuda", "cpu, cuda or auto", FLAG_STRING, .target = &o->device},
        {"--batch", "LIST", "128,1024", "batch sizes n, comma list", FLAG_INTS,
         .target = o->batches, .lo = 1, .hi = 65536, .count = &o->nbatches, .max = MAX_LIST},
        {"--tangents", "LIST", "1,16", "tangent block sizes kc of the R-ops, comma list",
         FLAG_INTS, .target = o->kcs, .lo = 1, .hi = 1024, .count = &o->nkcs, .max = MAX_LIST},
        {"--repeats", "R", "9", "timed repeats per op and path (the median is reported)",
         FLAG_INT, .target = &o->repeats, .lo = 1, .hi = MAX_REPEATS},
        {"--min-ms", "MS", "20", "each repeat runs calls until it lasts this long", FLAG_REAL,
         .target = &o->min_ms, .lo = 0, .hi = 1e5},
        {"--json", "FILE", "none", "also the results as JSON (atomically)", FLAG_STRING,
         .target = &o->json},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &o->help},
        {NULL, NULL, NULL, NULL, 0, .target = NULL},
    }};
    return t;
}

/* One layer's buffers in backend memory, for the largest kc. */
typedef struct Bufs {
    real *w, *V, *x, *rx, *dy, *rdy, *y, *ry, *g, *HV, *dx, *rdx;
    long P;
} Bufs;

static real *upload_normals(const Backend *be, Rng *rng, long count, double scale)
{
    real *h = mem_alloc(MEM_OTHER, sizeof(real) * (size_t)count);
    for (long i = 0; i < count; i++)
        h[i] = (real)(scale * rng_normal(rng));
    real *d = be->mem.alloc(MEM_OTHER, sizeof(real) * (size_t)count);
    be->mem.upload(d, h, sizeof(real) * (size_t)count);
    mem_free(h);
    return d;
}

static void bufs_new(Bufs *b, const Backend *be, const LayerGeom *L, int n, int kc, Rng *rng)
{
    const long P = L->b_off + L->out.c, isz = n * shape_size(L->in);
    const long osz = n * shape_size(L->out);
    b->P = P;
    b->w = upload_normals(be, rng, P, 0.2);
    b->V = upload_normals(be, rng, kc * P, 0.2);
    b->x = upload_normals(be, rng, isz, 1);
    b->rx = upload_normals(be, rng, kc * isz, 1);
    b->dy = upload_normals(be, rng, osz, 1);
    b->rdy = upload_normals(be, rng, kc * osz, 1);
    b->y = be->mem.alloc(MEM_OTHER, sizeof(real) * osz);
    b->ry = be->mem.alloc(MEM_OTHER, sizeof(real) * kc * osz);
    b->g = be->mem.alloc(MEM_OTHER, sizeof(real) * P);
    b->HV = be->mem.alloc(MEM_OTHER, sizeof(real) * kc * P);
    b->dx = be->mem.alloc(MEM_OTHER, sizeof(real) * isz);
    b->rdx = be->mem.alloc(MEM_OTHER, sizeof(real) * kc * isz);
}

static void bufs_free(Bufs *b, const Backend *be)
{
    real *const all[] = {b->w, b->V, b->x, b->rx, b->dy, b->rdy, b->y,
                         b->ry, b->g, b->HV, b->dx, b->rdx};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        be->mem.free(all[i]);
}

enum { OP_FORWARD, OP_BACKWARD, OP_RFORWARD, OP_RBACKWARD, OP_COUNT };
static const char *const OP_NAMES[] = {"forward", "backward", "rforward", "rbackward"};

/* One call of op; first: the model's first layer (no R{x}, no input
 * gradients), as net.c runs it. */
static void call(const Backend *be, int op, const LayerGeom *L, int first, const Bufs *b, int n,
                 int kc, Scratch *sc)
{
    switch (op) {
    case OP_FORWARD:
        be->layer.conv_forward(L, b->w, b->x, n, b->y, sc);
        break;
    case OP_BACKWARD:
        be->layer.conv_backward(L, b->w, b->x, b->dy, n, b->g, first ? NULL : b->dx, sc);
        break;
    case OP_RFORWARD:
        be->layer.conv_rforward(L, b->w, b->V, b->P, kc, b->x, first ? NULL : b->rx, n, b->ry, sc);
        break;
    default:
        be->layer.conv_rbackward(L, b->w, b->V, b->P, kc, b->x, first ? NULL : b->rx, b->dy, b->rdy,
                           n, b->HV, first ? NULL : b->rdx, sc);
    }
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median and min ms per call over o->repeats repeats */
static void time_op(const Backend *be, int op, const LayerGeom *L, int first, const Bufs *b, int n,
                    int kc, Scratch *sc, const Options *o, double *median, double *min)
{
    real sink;
    call(be, op, L, first, b, n, kc, sc); /* untimed: scratch growth, auto's timing */
    be->mem.download(&sink, b->g, sizeof sink);
    double t0 = now_s();
    call(be, op, L, first, b, n, kc, sc);
    be->mem.download(&sink, b->g, sizeof sink);
    const double one = now_s() - t0;
    const long calls = one > 0 ? (long)fmin(1e6, fmax(1, ceil(o->min_ms * 1e-3 / one))) : 1;
    double t[MAX_REPEATS];
    for (int r = 0; r < o->repeats; r++) {
        t0 = now_s();
        for (long c = 0; c < calls; c++)
            call(be, op, L, first, b, n, kc, sc);
        be->mem.download(&sink, b->g, sizeof sink);
        t[r] = (now_s() - t0) / calls * 1e3;
    }
    qsort(t, (size_t)o->repeats, sizeof t[0], cmp_double);
    *min = t[0];
    *median = o->repeats % 2 ? t[o->repeats / 2]
                             : 0.5 * (t[o->repeats / 2 - 1] + t[o->repeats / 2]);
}

typedef struct ConvLayer {
    const char *name;
    LayerGeom L;
    int first;
} ConvLayer;

/* LeNet's distinct conv layers on its two input shapes */
static int lenet_convs(ConvLayer *out, HgErr *err)
{
    const Shape ins[] = {{1, 28, 28}, {3, 32, 32}};
    int count = 0;
    for (int s = 0; s < 2; s++) {
        Model *m = model_lenet(ins[s], 10, err);
        if (!m)
            return -1;
        int convs = 0;
        for (int l = 0; l < m->nlayers; l++) {
            if (m->layers[l].type != LAYER_CONV2D)
                continue;
            const LayerGeom *L = &m->layers[l].geom;
            int seen = 0;
            for (int k = 0; k < count; k++)
                seen |= !memcmp(&out[k].L.in, &L->in, sizeof L->in) &&
                        out[k].L.out.c == L->out.c && out[k].L.ksize == L->ksize &&
                        out[k].L.pad == L->pad;
            if (!seen) {
                /* a parameter vector of this layer alone */
                LayerGeom one = *L;
                one.w_off = 0;
                one.b_off = (long)L->out.c * L->in.c * L->ksize * L->ksize;
                out[count++] = (ConvLayer){convs == 0 ? (s ? "conv1-32" : "conv1-28") : "conv2",
                                           one, convs == 0};
            }
            convs++;
        }
        model_free(m);
    }
    return count;
}

int main(int argc, char **argv)
{
    Options o = {.device = "cuda", .batches = {128, 1024}, .nbatches = 2, .kcs = {1, 16},
                 .nkcs = 2, .repeats = 9, .min_ms = 20};
    const FlagTable t = conv_flags(&o);
    HgErr err = {{0}};
    if (flags_parse(t.f, argc, argv, &err)) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    if (o.help) {
        puts("usage: hgbench-gpu-conv [flags]\n"
             "LeNet's convolutions op by op on each conv path of a backend (CUDA: cuDNN and\n"
             "im2col + cuBLAS), medians of repeats, and the picks of the auto path.\n");
        flags_usage(stdout, t.f);
        return 0;
    }
    const Backend *be = backend_find(o.device, &err);
    if (!be) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    ConvLayer convs[8];
    const int nconv = lenet_convs(convs, &err);
    if (nconv < 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    const char *paths[2] = {be->name, NULL};
    int npaths = 1;
    if (be->layer.conv_path && be->layer.conv_path("ours", NULL) == 0) /* the CPU's kernels */
        paths[0] = "ours", paths[1] = "dnnl", npaths = 2;
    else if (be->layer.conv_path)
        paths[0] = "cudnn", paths[1] = "gemm", npaths = 2;
    printf("# " PROG " --device %s: %d repeats of at least %g ms each; median and min ms per "
           "call\n", be->name, o.repeats, o.min_ms);
    printf("# columns: layer n op kc path median_ms min_ms status\n");
    /* --json: written as the rows come, committed at the end (atomic) */
    AtomicFile af;
    JsonWriter jw, *J = NULL;
    if (o.json) {
        if (atomic_open(&af, o.json, &err)) {
            fprintf(stderr, PROG ": --json: %s\n", err.msg);
            return 3;
        }
        J = &jw;
        json_init(J, af.f);
        const Envelope env = {.program = PROG, .argc = argc, .argv = argv, .threads = 1,
                              .precision = HG_REAL_NAME, .device = be->name};
        envelope_begin(J, &env);
        json_field_int(J, "repeats", o.repeats);
        json_field_double(J, "min_ms", o.min_ms);
        json_key(J, "skipped_paths");
        json_array_begin(J, 0);
        for (int p = 0; p < npaths; p++)
            if (be->layer.conv_path && be->layer.conv_path(paths[p], &err)) {
                json_object_begin(J, 1);
                json_field_string(J, "path", paths[p]);
                json_field_string(J, "reason", err.msg);
                json_object_end(J);
            }
        json_array_end(J);
        json_key(J, "rows");
        json_array_begin(J, 0);
    }
    int kc_max = 1;
    for (int k = 0; k < o.nkcs; k++)
        kc_max = o.kcs[k] > kc_max ? o.kcs[k] : kc_max;
    Rng rng = rng_seed(2024);
    Scratch *sc = be->mem.scratch_new();
    int failed = 0;
    for (int p = 0; p < npaths; p++) {
        if (be->layer.conv_path && be->layer.conv_path(paths[p], &err)) {
            printf("# path %s: skipped: %s\n", paths[p], err.msg);
            continue;
        }
        for (int c = 0; c < nconv; c++)
            for (int bi = 0; bi < o.nbatches; bi++) {
                const int n = o.batches[bi];
                Bufs b;
                bufs_new(&b, be, &convs[c].L, n, kc_max, &rng);
                for (int op = 0; op < OP_COUNT; op++)
                    for (int k = 0; k < (op >= OP_RFORWARD ? o.nkcs : 1); k++) {
                        const int kc = op >= OP_RFORWARD ? o.kcs[k] : 1;
                        double med, mn;
                        time_op(be, op, &convs[c].L, convs[c].first, &b, n, kc, sc, &o, &med,
                                &mn);
                        const int ok = isfinite(med) && med > 0;
                        failed |= !ok;
                        printf("%-8s %5d %-9s %3d %-6s %10.4f %10.4f %s\n", convs[c].name, n,
                               OP_NAMES[op], kc, paths[p], med, mn, ok ? "ok" : "failed");
                        fflush(stdout);
                        if (J) {
                            json_object_begin(J, 1);
                            json_field_string(J, "layer", convs[c].name);
                            json_field_int(J, "n", n);
                            json_field_string(J, "op", OP_NAMES[op]);
                            json_field_int(J, "kc", kc);
                            json_field_string(J, "path", paths[p]);
                            json_field_double(J, "median_ms", med);
                            json_field_double(J, "min_ms", mn);
                            json_field_string(J, "status", ok ? "ok" : "failed");
                            json_object_end(J);
                        }
                    }
                bufs_free(&b, be);
            }
    }
    if (be->layer.conv_path && !be->layer.conv_path("auto", &err)) {
        /* auto's picks: each op once per shape */
        for (int c = 0; c < nconv; c++)
            for (int bi = 0; bi < o.nbatches; bi++) {
                Bufs b;
                bufs_new(&b, be, &convs[c].L, o.batches[bi], kc_max, &rng);
                for (int op = 0; op < OP_COUNT; op++)
                    for (int k = 0; k < (op >= OP_RFORWARD ? o.nkcs : 1); k++)
                        call(be, op, &convs[c].L, convs[c].first, &b, o.batches[bi],
                             op >= OP_RFORWARD ? o.kcs[k] : 1, sc);
                bufs_free(&b, be);
            }
        static char report[1 << 16];
        be->layer.conv_picks(report, sizeof report);
        fputs(report, stdout);
        if (J) {
            json_array_end(J);
            json_field_string(J, "auto_picks", report);
        }
    } else if (J) {
        json_array_end(J);
    }
    if (J) {
        json_object_end(J);
        fputc('\n', af.f);
        if (atomic_commit(&af, &err)) {
            fprintf(stderr, PROG ": --json: %s\n", err.msg);
            return 3;
        }
    }
    be->mem.scratch_free(sc);
    return failed ? 1 : 0;
}
