/* report_models.c — the models section of RESULTS.md: hgbench-models'
 * results (scripts/bench-models.sh leaves them in the results folder):
 *
 *   models-<p>.json            context: machine and build, GEMM ceiling, the
 *                              models planned (planned_models)
 *   models-<p>-<model>.json    the model's facts, rows and per-layer profile
 *   models-<p>-<model>.failed  why it left none (a crash): a failed row
 *   models-f32-1thread.json    LeNet float32 at one thread
 *   conv-dnnl.json             hgbench-conv-dnnl (.skipped, .failed: why not)
 *
 * In order: warnings (build, busy machine), the speed targets (LeNet
 * against its GEMM floors, float32 (issue 10) and float64 (issue 26), each
 * against its own precision's ceiling: headlines), 1 against N threads, where a
 * LeNet step goes (profile), the models and their tables, then the long
 * ones: oneDNN against our convolutions shape by shape, and the machine and
 * build. Numbers as scripts/bench-models.sh's awk printed them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_json.h"
#include "report_md.h"

/* the targets' heading (and headline anchor) of a precision */
#define TARGETS_FMT "Speed targets (LeNet, float%d, batch 128)"
#define MAX_MODELS 16
#define MAX_ROWS 16
#define MAX_LAYERS 64
#define MAX_WARN 40

typedef struct MRow {
    char op[32], err[400];
    long k;             /* 0: does not apply */
    int ok;
    double median, min, max, per_tangent, ratio, gflops; /* NaN: does not apply */
} MRow;

typedef struct MLayer {
    long layer;
    char type[32];
    double ms[4], mf[4]; /* forward, backward, R-forward, R-backward */
} MLayer;

typedef struct MModel {
    char model[64], name[64], layers[512], failed[512], command[2048];
    int present;        /* its JSON was read */
    int facts;          /* built: params, flops, profile */
    long params;
    double fwd_mflop, grad_mflop, hvp_mflop, busy_cores, steal;
    int busy;
    MRow rows[MAX_ROWS];
    int nrows;
    MLayer prof[MAX_LAYERS];
    int nprof;
} MModel;

typedef struct Prec {
    int bits;
    int present;
    Rj r;               /* the context file, open while rendering */
    json_t *root, *ctx;
    RjEnvelope env;
    double ceiling;
    MModel models[MAX_MODELS];
    int nmodels;
    char data[1024];
    char warn[MAX_WARN][400];
    int nwarn;
} Prec;

static const char *PASS_KEYS[4][2] = {{"forward_ms", "forward_mflop"},
                                      {"backward_ms", "backward_mflop"},
                                      {"rforward_ms", "rforward_mflop"},
                                      {"rbackward_ms", "rbackward_mflop"}};

/* The busy-machine warning of a model, as hgbench-models words it. */
static void add_busy_warn(Prec *p, const MModel *m)
{
    if (p->nwarn == MAX_WARN) return;
    snprintf(p->warn[p->nwarn++], sizeof p->warn[0],
             "model %s: the machine was busy with other work during the run (%.2f cores, "
             "steal %.2f): its timings may be noisy",
             m->model, m->busy_cores, m->steal);
}

/* One model's JSON (the first entry of its "models"). */
static void read_model(Rj *r, json_t *m, MModel *mm, Prec *p)
{
    snprintf(mm->model, sizeof mm->model, "%s", rj_str(r, m, "model"));
    json_t *rows = rj_array(r, m, "rows");
    mm->facts = rj_has(m, "params");
    if (mm->facts) {
        snprintf(mm->name, sizeof mm->name, "%s", rj_str(r, m, "name"));
        snprintf(mm->layers, sizeof mm->layers, "%s", rj_str(r, m, "layers"));
        mm->params = rj_int(r, m, "params");
        mm->fwd_mflop = rj_num(r, m, "forward_mflop_per_example");
        mm->grad_mflop = rj_num(r, m, "grad_mflop");
        mm->hvp_mflop = rj_num(r, m, "hvp_mflop");
        mm->busy_cores = rj_num(r, m, "busy_other_cores");
        mm->steal = rj_num(r, m, "steal");
        mm->busy = rj_bool(r, m, "busy");
    }
    char at[128];
    snprintf(at, sizeof at, "%s", r->at);
    for (size_t i = 0; !r->bad && i < json_array_size(rows) && i < MAX_ROWS; i++) {
        json_t *row = json_array_get(rows, i);
        rj_at(r, "%s.rows[%zu]", at, i);
        if (!json_is_object(row)) { rj_fail(r, "not an object"); break; }
        MRow *x = &mm->rows[mm->nrows++];
        snprintf(x->op, sizeof x->op, "%s", rj_str(r, row, "op"));
        double k = rj_num_or_null(r, row, "k");
        x->k = isnan(k) ? 0 : (long)k;
        const char *st = rj_str(r, row, "status");
        x->ok = !strcmp(st, "ok");
        if (!r->bad && !x->ok && strcmp(st, "error"))
            rj_fail(r, "field 'status' is '%s', expected ok or error", st);
        if (x->ok) {
            x->median = rj_num(r, row, "median_ms");
            x->min = rj_num(r, row, "min_ms");
            x->max = rj_num(r, row, "max_ms");
            x->per_tangent = rj_num_or_null(r, row, "ms_per_tangent");
            x->ratio = rj_num_or_null(r, row, "ratio_to_loss_grad");
            x->gflops = rj_num(r, row, "gemm_gflops");
        } else {
            snprintf(x->err, sizeof x->err, "%s", rj_str(r, row, "error"));
        }
    }
    rj_at(r, "%s", at);
    if (mm->facts && !r->bad) {
        json_t *prof = rj_object(r, m, "profile");
        rj_at(r, "%s.profile", at);
        json_t *layers = rj_array(r, prof, "layers");
        for (size_t i = 0; !r->bad && i < json_array_size(layers) && i < MAX_LAYERS; i++) {
            json_t *l = rj_row(r, layers, "profile.layers", i);
            MLayer *y = &mm->prof[mm->nprof++];
            y->layer = rj_int(r, l, "layer");
            snprintf(y->type, sizeof y->type, "%s", rj_str(r, l, "type"));
            for (int q = 0; q < 4; q++) {
                y->ms[q] = rj_num(r, l, PASS_KEYS[q][0]);
                y->mf[q] = rj_num(r, l, PASS_KEYS[q][1]);
            }
        }
        rj_at(r, "%s", at);
    }
    if (mm->busy && p) add_busy_warn(p, mm);
}

/* The results of model name at precision p: its JSON, or why there is none. */
static int load_model(ReportCtx *c, Prec *p, const char *name, MModel *mm, const char *file)
{
    char path[4096], fname[200];
    memset(mm, 0, sizeof *mm);
    snprintf(mm->model, sizeof mm->model, "%s", name);
    snprintf(fname, sizeof fname, "%s.json", file);
    report_path(c, fname, path, sizeof path);
    if (!rj_exists(path)) {
        snprintf(fname, sizeof fname, "%s.failed", file);
        report_path(c, fname, path, sizeof path);
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(mm->failed, sizeof mm->failed, f)) mm->failed[0] = '\0';
            fclose(f);
            mm->failed[strcspn(mm->failed, "\n")] = '\0';
        } else {
            snprintf(mm->failed, sizeof mm->failed, "no results (%s.json is missing)", file);
        }
        return 0;
    }
    Rj r;
    json_t *root = rj_load(&r, path);
    RjEnvelope env;
    rj_envelope(&r, root, &env);
    snprintf(mm->command, sizeof mm->command, "%s", r.bad ? "" : env.command);
    json_t *ms = rj_array(&r, root, "models");
    if (!r.bad && json_array_size(ms) != 1)
        rj_fail(&r, "field 'models' has %zu entries, expected 1 (one model per run)",
                json_array_size(ms));
    json_t *m = r.bad ? NULL : rj_row(&r, ms, "models", 0);
    if (m) read_model(&r, m, mm, p);
    if (p && !r.bad && !p->data[0])
        snprintf(p->data, sizeof p->data, "%s", rj_str(&r, root, "data"));
    mm->present = !r.bad;
    int bad = r.bad;
    if (bad) c->err = r.err;
    rj_close(&r);
    return bad ? -1 : 0;
}

static int load_prec(ReportCtx *c, Prec *p)
{
    char path[4096], name[64];
    snprintf(name, sizeof name, "models-f%d.json", p->bits);
    report_path(c, name, path, sizeof path);
    if (!rj_exists(path)) return 0;
    Rj *r = &p->r;
    p->root = rj_load(r, path);
    p->present = 1;
    rj_envelope(r, p->root, &p->env);
    p->ceiling = rj_num(r, p->root, "gemm_ceiling_gflops");
    rj_int(r, p->root, "batch");
    p->ctx = rj_object(r, p->root, "context");
    json_t *planned = rj_array(r, p->root, "planned_models");
    json_t *bw = rj_array(r, p->root, "build_warnings");
    rj_at(r, "context");
    static const char *const keys[] = {"cpu", "cores", "caches", "numa nodes", "memory", "gpus",
                                       "os devices", "topology source", "host", "compiler",
                                       "build flags", "build", "date", "threads", "method",
                                       "gemm flops", "gemm ceiling", NULL};
    for (int i = 0; keys[i]; i++) rj_str(r, p->ctx, keys[i]);
    rj_at(r, "%s", "");
    for (size_t i = 0; !r->bad && i < json_array_size(bw); i++) {
        json_t *w = json_array_get(bw, i);
        if (!json_is_string(w)) { rj_fail(r, "build_warnings[%zu] is not a string", i); break; }
        if (p->nwarn < MAX_WARN)
            snprintf(p->warn[p->nwarn++], sizeof p->warn[0], "%s", json_string_value(w));
    }
    if (r->bad) { c->err = r->err; return -1; }
    for (size_t i = 0; i < json_array_size(planned) && p->nmodels < MAX_MODELS; i++) {
        json_t *v = json_array_get(planned, i);
        if (!json_is_string(v)) {
            rj_fail(r, "planned_models[%zu] is not a string", i);
            c->err = r->err;
            return -1;
        }
        char file[128];
        snprintf(file, sizeof file, "models-f%d-%s", p->bits, json_string_value(v));
        if (load_model(c, p, json_string_value(v), &p->models[p->nmodels++], file)) return -1;
    }
    return 0;
}

static const MRow *find_row(const MModel *m, const char *op, long k)
{
    for (int i = 0; m && i < m->nrows; i++)
        if (m->rows[i].ok && !strcmp(m->rows[i].op, op) && m->rows[i].k == k) return &m->rows[i];
    return NULL;
}

static const MModel *find_model(const Prec *p, const char *name)
{
    for (int i = 0; i < p->nmodels; i++)
        if (p->models[i].present && !strcmp(p->models[i].model, name)) return &p->models[i];
    return NULL;
}

static const char *ctx_str(const Prec *p, const char *key)
{
    return json_string_value(json_object_get(p->ctx, key));
}

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

static void warnings(FILE *f, Prec *ps)
{
    int any = 0;
    for (int i = 0; i < 2; i++) any += ps[i].nwarn;
    if (!any) return;
    fprintf(f, "## Warnings\n\n");
    for (int i = 0; i < 2; i++) {
        Prec *p = &ps[i];
        qsort(p->warn, (size_t)p->nwarn, sizeof p->warn[0], cmp_str);
        for (int k = 0; k < p->nwarn; k++)
            if (!k || strcmp(p->warn[k], p->warn[k - 1]))
                fprintf(f, "- **WARNING** (float%d): %s\n", p->bits, p->warn[k]);
    }
    fprintf(f, "\nTimings under these warnings do not measure the code's speed: rerun `make "
               "bench`\nwith an optimised build on an otherwise idle machine.\n\n");
}

/* One row of the speed targets: a median against floor_ms. own_ms is the
 * op's own floor (floor_ms, except for the block HVP per tangent, which the
 * goal compares with one HVP's floor but whose own is (gradient / k + R
 * passes) per tangent: the block shares one gradient pass). */
static void target(ReportCtx *c, const Prec *p, const char *anchor, const char *label,
                   const MRow *row, int per_tangent, double floor_ms, double own_ms, double limit,
                   int headline)
{
    FILE *f = c->md;
    if (!row || !isfinite(floor_ms)) {
        fprintf(f, "| %s | | ≤ %.1fx | no measurement (failed, see below) | **unknown** |\n",
                label, limit);
        return;
    }
    double m = per_tangent ? row->per_tangent : row->median, r = m / floor_ms;
    char met[96];
    /* below its own GEMM floor an op cannot be: the ceiling run itself was
     * slowed (a busy machine, or a BLAS that picked slow kernels), so no verdict */
    int implausible = m < own_ms;
    if (implausible) snprintf(met, sizeof met, "**unknown** (below 1x: the ceiling was not measured right)");
    else if (r <= limit) snprintf(met, sizeof met, "**yes**");
    else snprintf(met, sizeof met, "**no** (%.2fx the goal)", r / limit);
    fprintf(f, "| %s | %.3f ms | ≤ %.1fx | %.3f ms (%.2fx) | %s |\n", label, floor_ms, limit, m, r,
            met);
    if (headline)
        report_headline(c, anchor,
                        "LeNet float%d %s: %.3f ms per call (median; min–max %.3f–%.3f ms), "
                        "%.2fx its GEMM floor of %.3f ms on this machine (goal ≤ %.1fx: %s).",
                        p->bits, label, m, per_tangent ? row->min / row->k : row->min,
                        per_tangent ? row->max / row->k : row->max, r, floor_ms, limit,
                        implausible ? "unknown: below 1x its floor, the ceiling run was slowed"
                        : r <= limit ? "met" : "not met");
}

/* The three goals of one precision against its own GEMM ceiling: float32's
 * from issue 10, float64's (the suite's reference precision) from issue 26. */
static void speed_targets(ReportCtx *c, Prec *p)
{
    FILE *f = c->md;
    char anchor[64];
    snprintf(anchor, sizeof anchor, TARGETS_FMT, p->bits);
    const MModel *le = find_model(p, "lenet");
    fprintf(f, "## %s\n\n", anchor);
    fprintf(f, "Issue %d's goals, each against the float%d GEMM floor measured in this run (%s, "
               "%ld\nthreads). The step is one loss+gradient call (the SGD update itself is not "
               "timed).\n", p->bits == 32 ? 10 : 26, p->bits, ctx_str(p, "cores"),
            p->env.threads);
    double gfloor = NAN, hfloor = NAN;
    if (le && le->facts && p->ceiling > 0) {
        gfloor = le->grad_mflop / p->ceiling;
        hfloor = le->hvp_mflop / p->ceiling;
        fprintf(f, "GEMM ceiling measured in this run: %s. At that rate the GEMM-shaped work\n"
                   "of one LeNet loss+gradient (%.1f MFLOP) takes %.2f ms and of one HVP (%.1f "
                   "MFLOP)\n%.2f ms: the floors on this machine (elementwise work not counted).\n",
                ctx_str(p, "gemm ceiling"), le->grad_mflop, gfloor, le->hvp_mflop, hfloor);
    }
    if (p->nwarn) fprintf(f, "This run has warnings (above): its times may be inflated.\n");
    fprintf(f, "\n| LeNet float%d | floor | goal | measured median (× floor) | met |\n"
               "|---|--:|--:|--:|---|\n", p->bits);
    target(c, p, anchor, "step (loss+grad)", find_row(le, "loss_grad", 0), 0, gfloor, gfloor, 1.5,
           1);
    target(c, p, anchor, "HVP (model_hvp)", find_row(le, "hvp", 1), 0, hfloor, hfloor, 1.5, 1);
    target(c, p, anchor, "block HVP k = 16, per tangent, vs one HVP's floor",
           find_row(le, "hvp_block", 16), 1, hfloor, hfloor - gfloor * (1 - 1.0 / 16), 1.0, 0);
    fputc('\n', f);
    md_provenance(f, &p->env);
    fputc('\n', f);
}

static void threads_table(ReportCtx *c, Prec *p32, const MModel *one)
{
    FILE *f = c->md;
    const MModel *le = find_model(p32, "lenet");
    long t = p32->env.threads;
    if (t <= 1 || !one || !one->present || !le) return;
    fprintf(f, "### Threads: LeNet float32 at 1 and %ld threads (same run)\n\n", t);
    fprintf(f, "| op | k | 1 thread ms | %ld threads ms | speed-up |\n|---|--:|--:|--:|--:|\n", t);
    for (int i = 0; i < le->nrows; i++) {
        const MRow *x = &le->rows[i];
        const MRow *y = x->ok ? find_row(one, x->op, x->k) : NULL;
        if (!y) continue;
        char k[16] = "";
        if (x->k) snprintf(k, sizeof k, "%ld", x->k);
        fprintf(f, "| %s | %s | %.3f | %.3f | %.2fx |\n", x->op, k, y->median, x->median,
                y->median / x->median);
    }
    fprintf(f, "\nReproduce the 1-thread run: `%s`\n\n", one->command);
}

static void profile(ReportCtx *c, Prec *p32)
{
    FILE *f = c->md;
    const MModel *le = find_model(p32, "lenet");
    if (!le || !le->nprof) return;
    double ceil = p32->ceiling;
    char cs[32];
    fprintf(f, "### Where a LeNet step goes (float32, ms per call, by layer and pass)\n\n");
    fprintf(f, "Forward and backward from loss+grad calls; the R passes from HVP calls (an HVP\n"
               "also runs the forward and the part of the backward its R passes read). In "
               "brackets:\nthe GFLOP/s of the layer's GEMM-shaped work in that pass "
               "(model_layer_flops),\nagainst this run's ceiling of %s GFLOP/s. A relu below a "
               "pool shows 0: the pool\ndoes it (fused, the same bytes), and its time is in the "
               "pool's row. The first pool's\nbackward passes show 0 as well: conv1's weight "
               "gradient reads that pool's delta itself\n(the same bytes), so their time is in "
               "conv1's row.\n\n",
            md_f(cs, sizeof cs, 1, ceil));
    fprintf(f, "| # | layer | forward | backward | R-forward | R-backward |\n"
               "|--:|---|--:|--:|--:|--:|\n");
    double tot[4] = {0};
    for (int l = 0; l < le->nprof; l++) {
        const MLayer *y = &le->prof[l];
        fprintf(f, "| %ld | %s |", y->layer, y->type);
        for (int q = 0; q < 4; q++) {
            if (y->mf[q] > 0 && y->ms[q] > 0) fprintf(f, " %.3f (%.0f) |", y->ms[q], y->mf[q] / y->ms[q]);
            else fprintf(f, " %.3f |", y->ms[q]);
            tot[q] += y->ms[q];
        }
        fputc('\n', f);
    }
    fprintf(f, "| | **total** | %.3f | %.3f | %.3f | %.3f |\n\n", tot[0], tot[1], tot[2], tot[3]);
    if (!(ceil > 0)) return;
    /* where the gap to the floor is: GEMM-shaped layers against their floor,
     * and the layers with no GEMM-shaped work (relu, pool, flatten) */
    static const char *const what[2] = {"Loss+gradient (forward + backward)",
                                        "The R passes of one tangent"};
    static const char *const pass[4] = {"forward", "backward", "R-forward", "R-backward"};
    for (int ph = 0; ph < 2; ph++) {
        double gms = 0, gmf = 0, ems = 0, worst_gap = 0;
        char worst[96] = "";
        for (int l = 0; l < le->nprof; l++) {
            const MLayer *y = &le->prof[l];
            for (int q = 2 * ph; q <= 2 * ph + 1; q++) {
                if (y->mf[q] > 0) { gms += y->ms[q]; gmf += y->mf[q]; }
                else ems += y->ms[q];
                double gap = y->ms[q] - y->mf[q] / ceil;
                if (y->mf[q] > 0 && gap > worst_gap) {
                    worst_gap = gap;
                    snprintf(worst, sizeof worst, "layer %ld (%s) %s", y->layer, y->type, pass[q]);
                }
            }
        }
        fprintf(f, "- %s: the GEMM-shaped layers take %.3f ms for %.1f MFLOP (%.0f GFLOP/s, "
                   "%.0f%% of the ceiling; their floor %.3f ms), the others %.3f ms. The largest "
                   "gap to its floor: %s, %.3f ms over it.\n",
                what[ph], gms, gmf, gmf / gms, 100 * gmf / gms / ceil, gmf / ceil, ems,
                worst[0] ? worst : "none", worst_gap);
    }
    fputc('\n', f);
}

static const char *op_label(const char *op)
{
    return !strcmp(op, "loss_grad") ? "loss+grad" : !strcmp(op, "hvp") ? "HVP"
         : !strcmp(op, "hvp_block") ? "block HVP" : op;
}

static void model_table(ReportCtx *c, Prec *p)
{
    FILE *f = c->md;
    char a[32], b[32], d[32], e[32], g[32], h[32];
    fprintf(f, "## float%d\n\n", p->bits);
    fprintf(f, "| model | params | op | k | median ms/call | min–max ms | ms/tangent | × "
               "loss+grad | GEMM GFLOP/s |\n|---|--:|---|--:|--:|--:|--:|--:|--:|\n");
    for (int i = 0; i < p->nmodels; i++) {
        const MModel *m = &p->models[i];
        if (!m->present) {
            fprintf(f, "| %s |  | all ops |  | **failed**: %s | | | | |\n", m->model, m->failed);
            continue;
        }
        char params[32] = "";
        if (m->facts) snprintf(params, sizeof params, "%ld", m->params);
        for (int k = 0; k < m->nrows; k++) {
            const MRow *x = &m->rows[k];
            char ks[16] = "";
            if (x->k) snprintf(ks, sizeof ks, "%ld", x->k);
            if (!x->ok) {
                const char *msg = x->err;
                if (!strncmp(msg, "hgbench-models: ", 16)) msg += 16;
                fprintf(f, "| %s | %s | %s | %s | **error**: %s | | | | |\n", m->model, params,
                        op_label(x->op), ks, msg);
                continue;
            }
            fprintf(f, "| %s | %s | %s | %s | %s | %s–%s | %s | %s | %s |\n", m->model, params,
                    op_label(x->op), ks, md_num(a, sizeof a, x->median),
                    md_num(b, sizeof b, x->min), md_num(d, sizeof d, x->max),
                    md_num(e, sizeof e, x->per_tangent), md_num(g, sizeof g, x->ratio),
                    md_num(h, sizeof h, x->gflops));
        }
    }
    fputc('\n', f);
    md_provenance(f, &p->env);
    fprintf(f, "Reproduce: `%s` (the context), then per model:\n", p->env.command);
    for (int i = 0; i < p->nmodels; i++)
        if (p->models[i].present) fprintf(f, "`%s`\n", p->models[i].command);
    fputc('\n', f);
}

static int conv_dnnl(ReportCtx *c)
{
    FILE *f = c->md;
    char path[4096], why[600] = "";
    fprintf(f, "## oneDNN against our convolutions (float32, LeNet's conv1 and conv2)\n\n");
    report_path(c, "conv-dnnl.skipped", path, sizeof path);
    FILE *in = fopen(path, "r");
    const char *state = "skipped";
    if (!in) {
        report_path(c, "conv-dnnl.failed", path, sizeof path);
        in = fopen(path, "r");
        state = "failed";
    }
    if (in) {
        if (!fgets(why, sizeof why, in)) why[0] = '\0';
        fclose(in);
        why[strcspn(why, "\n")] = '\0';
        fprintf(f, "**%s**: %s\n\n", state, why);
    }
    report_path(c, "conv-dnnl.json", path, sizeof path);
    if (!rj_exists(path)) {
        if (!in) fprintf(f, "**failed**: no results (conv-dnnl.json is missing).\n\n");
        return 0;
    }
    Rj r;
    json_t *root = rj_load(&r, path);
    RjEnvelope env;
    rj_envelope(&r, root, &env);
    const char *ver = rj_str(&r, root, "onednn");
    long repeats = rj_int(&r, root, "repeats"), failed = rj_int(&r, root, "failed_checks");
    double tol = rj_num(&r, root, "tolerance");
    json_t *rows = rj_array(&r, root, "rows");
    if (r.bad) goto bad;
    fprintf(f, "Each op by our kernel (the model's: the direct kernel on conv1) and by oneDNN in\n"
               "its own layout (format `any`), whose reorders from and to our [C][n][H][W] are\n"
               "counted in its total; medians of repeats in this run, %ld threads. A ratio above\n"
               "1 means oneDNN is faster.\n\n", env.threads);
    fprintf(f, "oneDNN %s, %ld threads, medians of %ld repeats; errors within %g required (%ld "
               "checks failed).\n\n", ver, env.threads, repeats, tol, failed);
    fprintf(f, "| layer | batch | op | k | ours (kernel) ms | oneDNN compute ms | reorders ms | "
               "oneDNN total ms | ours / oneDNN | max error | oneDNN deterministic |\n"
               "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|---|\n");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = rj_row(&r, rows, "rows", i);
        const char *layer = rj_str(&r, row, "layer"), *op = rj_str(&r, row, "op");
        const char *ours = rj_str(&r, row, "ours");
        long n = rj_int(&r, row, "n"), k = rj_int(&r, row, "k");
        json_t *ot = rj_object(&r, row, "ours_time");
        rj_at(&r, "rows[%zu].ours_time", i);
        double ours_s = rj_num(&r, ot, "median_s");
        rj_at(&r, "rows[%zu]", i);
        json_t *any = rj_object(&r, row, "any");
        rj_at(&r, "rows[%zu].any", i);
        const char *st = rj_str(&r, any, "status");
        if (r.bad) goto bad;
        char ks[16] = "", a[32], b[32], d[32], e[32];
        if (k) snprintf(ks, sizeof ks, "%ld", k);
        fprintf(f, "| %s | %ld | %s | %s | %s (%s) | ", layer, n, op, ks,
                md_g(a, sizeof a, 3, 1e3 * ours_s), ours);
        if (strcmp(st, "ok")) {
            fprintf(f, "**%s**: %s | | | | | |\n", st, rj_str_opt(&r, any, "message", ""));
            continue;
        }
        double t[3];
        static const char *const parts[3] = {"compute", "reorder", "total"};
        for (int q = 0; q < 3; q++) {
            json_t *o = rj_object(&r, any, parts[q]);
            rj_at(&r, "rows[%zu].any.%s", i, parts[q]);
            t[q] = rj_num(&r, o, "median_s");
            rj_at(&r, "rows[%zu].any", i);
        }
        double err = rj_num(&r, any, "max_err");
        int det = rj_bool(&r, any, "deterministic");
        if (r.bad) goto bad;
        fprintf(f, "%s | %s | %s | %.2f | %s | %s |\n", md_g(a, sizeof a, 3, 1e3 * t[0]),
                md_g(b, sizeof b, 3, 1e3 * t[1]), md_g(d, sizeof d, 3, 1e3 * t[2]),
                ours_s / t[2], md_g(e, sizeof e, 2, err), det ? "yes" : "**no**");
    }
    fputc('\n', f);
    md_provenance(f, &env);
    md_reproduce(f, &env);
    fputc('\n', f);
    rj_close(&r);
    return 0;
bad:
    c->err = r.err;
    rj_close(&r);
    return -1;
}

static void machine(ReportCtx *c, Prec *p)
{
    FILE *f = c->md;
    fprintf(f, "## Machine and build\n\n");
    fprintf(f, "- CPU: %s — %s\n", ctx_str(p, "cpu"), ctx_str(p, "cores"));
    fprintf(f, "- Caches: %s\n", ctx_str(p, "caches"));
    fprintf(f, "- NUMA nodes: %s; memory %s\n", ctx_str(p, "numa nodes"), ctx_str(p, "memory"));
    fprintf(f, "- GPUs: %s; other OS devices: %s\n", ctx_str(p, "gpus"), ctx_str(p, "os devices"));
    fprintf(f, "- Machine record from %s, host `%s`\n", ctx_str(p, "topology source"),
            ctx_str(p, "host"));
    fprintf(f, "- Compiler: %s; build flags: %s\n", ctx_str(p, "compiler"),
            ctx_str(p, "build flags"));
    fprintf(f, "- Build: %s\n", ctx_str(p, "build"));
    fprintf(f, "- Commit: %s\n", p->env.commit);
    fprintf(f, "- Date: %s\n", ctx_str(p, "date"));
    fprintf(f, "- Threads: %s\n", ctx_str(p, "threads"));
    fprintf(f, "- Data: %s\n", p->data[0] ? p->data : "(no model ran)");
    fprintf(f, "- Method: %s\n", ctx_str(p, "method"));
    fprintf(f, "- GEMM GFLOP/s: %s\n\n", ctx_str(p, "gemm flops"));
}

static int render(ReportCtx *c)
{
    Prec *ps = calloc(2, sizeof *ps);
    MModel *one = calloc(1, sizeof *one);
    HG_CHECK(ps && one, "calloc");
    ps[0].bits = 32;
    ps[1].bits = 64;
    int rc = 0;
    for (int i = 0; i < 2 && !rc; i++) rc = load_prec(c, &ps[i]);
    char path[4096];
    report_path(c, "models-f32-1thread.json", path, sizeof path);
    if (!rc && rj_exists(path)) rc = load_model(c, NULL, "lenet", one, "models-f32-1thread");
    FILE *f = c->md;
    if (rc) goto done;
    if (!ps[0].present) {
        fprintf(f, "## Models\n\n**failed**: no results (models-f32.json is missing in %s; see "
                   "the section's log).\n\n", c->results);
        goto done;
    }
    report_ran_by(c, &ps[0].env);
    warnings(f, ps);
    for (int i = 0; i < 2; i++)
        if (ps[i].present) speed_targets(c, &ps[i]);
    threads_table(c, &ps[0], one);
    profile(c, &ps[0]);
    fprintf(f, "## Models\n\n");
    for (int i = 0; i < ps[0].nmodels; i++) {
        const MModel *m = &ps[0].models[i];
        if (m->facts)
            fprintf(f, "- `%s`: %s, %ld params, forward %.4g MFLOP per example; layers: %s\n",
                    m->model, m->name, m->params, m->fwd_mflop, m->layers);
    }
    fputc('\n', f);
    for (int i = 0; i < 2; i++)
        if (ps[i].present) model_table(c, &ps[i]);
    rc = conv_dnnl(c);
    if (!rc) machine(c, &ps[0]);
done:
    for (int i = 0; i < 2; i++)
        if (ps[i].present) rj_close(&ps[i].r);
    free(ps);
    free(one);
    return rc;
}

const ReportSection REPORT_MODELS = {"models", render};
