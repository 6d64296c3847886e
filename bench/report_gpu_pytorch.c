/* report_gpu_pytorch.c — the gpu section's "PyTorch on the same GPU": the
 * bench-pytorch problem run by hgbench on the GPU (`hgbench hypergrad
 * --json`, bptt and forward, float64 and float32, PT_REPEATS each) and
 * recomputed by PyTorch on the same GPU (pytorch_baseline.py --json), as
 * bench-gpu.sh's part_pytorch leaves them; its settings and failures are
 * in gpu.json (pytorch_*).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_gpu.h"
#include "report_md.h"

#define HEADING "PyTorch on the same GPU"
#define MAX_REPEATS 64
#define MAX_HG 4096

/* One engine's runs at one precision: the first run's hypergradient, the
 * median time over its repeats. */
typedef struct HgRun {
    int present;
    double s, steps;
    double hg[MAX_HG];
    long n;
} HgRun;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy's median: the mean of the middle two of an even count */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The hypergradient: lr, mom, wd as present, in that order. */
static long hypergrad(Rj *r, json_t *obj, double *out, long cap)
{
    static const char *const kinds[] = {"lr", "mom", "wd"};
    long n = 0;
    for (int k = 0; k < 3; k++)
        if (rj_has(obj, kinds[k])) {
            long m = rj_nums(r, obj, kinds[k], out + n, cap - n);
            if (m < 0) return -1;
            n += m;
        }
    return n;
}

static int hg_load(ReportCtx *c, HgRun *h, const char *engine, int prec, long repeats)
{
    char name[128], path[4096];
    double times[MAX_REPEATS];
    int nt = 0;
    memset(h, 0, sizeof *h);
    for (long k = 1; k <= repeats && k <= MAX_REPEATS; k++) {
        if (k == 1) snprintf(name, sizeof name, "gpu-pytorch-hgbench-%s-f%d.json", engine, prec);
        else snprintf(name, sizeof name, "gpu-pytorch-hgbench-%s-f%d.r%ld.json", engine, prec, k);
        report_path(c, name, path, sizeof path);
        if (!rj_exists(path)) {
            if (k == 1) return 0;
            continue;
        }
        Rj r;
        json_t *root = rj_load(&r, path);
        if (!root) return hg_fail(&c->err, "%s", r.err.msg);
        times[nt++] = rj_num(&r, root, "time_s");
        if (k == 1) {
            h->steps = (double)rj_int(&r, root, "steps");
            h->n = hypergrad(&r, rj_object(&r, root, "hypergrad"), h->hg, MAX_HG);
        }
        int bad = r.bad;
        if (bad) hg_fail(&c->err, "%s", r.err.msg);
        rj_close(&r);
        if (bad) return -1;
    }
    h->present = 1;
    h->s = median(times, nt);
    return 1;
}

/* max |v - ref| / max |ref| as "%.2g"; "" without a reference. */
static const char *rel_err(char *buf, size_t n, const HgRun *ref, const double *v, long nv)
{
    buf[0] = '\0';
    if (!ref->present || nv != ref->n) return buf;
    double d = 0, m = 0;
    for (long i = 0; i < nv; i++) {
        d = fmax(d, fabs(v[i] - ref->hg[i]));
        m = fmax(m, fabs(ref->hg[i]));
    }
    return md_g(buf, n, 2, d / fmax(m, 1e-300));
}

typedef struct Pair {
    int prec;
    const char *engine, *method;
    double hg_ms, pt_ms;
} Pair;

/* One precision's rows; the pairs hgbench engine / PyTorch method found. */
static int precision_rows(ReportCtx *c, Rj *g, json_t *gpu, int prec, long repeats, Pair *pairs,
                          int *npairs, const char **device, json_t **pt_keep, Rj *pt)
{
    FILE *f = c->md;
    static const char *const engines[] = {"bptt", "forward"};
    HgRun *h = calloc(2, sizeof *h);
    HG_CHECK(h, "calloc");
    char key[64], b[3][48];
    int rc = 0;
    for (int e = 0; e < 2 && !rc; e++) {
        if (hg_load(c, &h[e], engines[e], prec, repeats) < 0) rc = -1;
    }
    for (int e = 0; e < 2 && !rc; e++) {
        if (!h[e].present) {
            snprintf(key, sizeof key, "pytorch_%s_f%d_failed", engines[e], prec);
            fprintf(f, "| hgbench %s (GPU) | float%d | %s | | |\n", engines[e], prec,
                    rj_str_opt(g, gpu, key, "**failed**: no result"));
            continue;
        }
        fprintf(f, "| hgbench %s (GPU) | float%d | %s | %s | %s |\n", engines[e], prec,
                md_f(b[0], 48, 3, h[e].s), md_f(b[1], 48, 2, 1e3 * h[e].s / h[e].steps),
                rel_err(b[2], 48, &h[0], h[e].hg, h[e].n));
    }
    char name[64], path[4096];
    snprintf(name, sizeof name, "gpu-pytorch-f%d.json", prec);
    report_path(c, name, path, sizeof path);
    if (!rc && !rj_exists(path)) {
        snprintf(key, sizeof key, "pytorch_f%d_failed", prec);
        fprintf(f, "| PyTorch (GPU) | float%d | %s | | |\n", prec,
                rj_str_opt(g, gpu, key, "**failed**: no result"));
    } else if (!rc) {
        json_t *root = rj_load(pt, path);
        if (!root) {
            free(h);
            return hg_fail(&c->err, "%s", pt->err.msg);
        }
        *pt_keep = root;
        json_t *methods = rj_object(pt, root, "methods");
        static const char *const mnames[] = {"autograd", "forward"};
        static const char *const labels[] = {"PyTorch autograd (unrolled loop, GPU)",
                                             "PyTorch forward mode, columns looped (GPU)"};
        static const char *const pair_engine[] = {"bptt", "forward"};
        for (int m = 0; m < 2 && !pt->bad; m++) {
            json_t *o = json_object_get(methods, mnames[m]);
            if (!o) continue;
            rj_at(pt, "methods.%s", mnames[m]);
            const char *st = rj_str(pt, o, "status");
            if (strcmp(st, "ok")) {
                fprintf(f, "| %s | float%d | **%s**: %s | | |\n", labels[m], prec, st,
                        rj_str_opt(pt, o, "error", ""));
                continue;
            }
            double *v = calloc(MAX_HG, sizeof *v);
            HG_CHECK(v, "calloc");
            long nv = rj_nums(pt, o, "hypergrad", v, MAX_HG);
            double ms = rj_num(pt, o, "ms_per_step");
            fprintf(f, "| %s | float%d | %s | %s | %s |\n", labels[m], prec,
                    md_f(b[0], 48, 3, rj_num(pt, o, "time_s")), md_f(b[1], 48, 2, ms),
                    rel_err(b[2], 48, &h[0], v, nv));
            free(v);
            const HgRun *he = &h[m]; /* autograd pairs bptt, forward forward */
            if (he->present && *npairs < 4)
                pairs[(*npairs)++] = (Pair){prec, pair_engine[m], mnames[m],
                                            1e3 * he->s / he->steps, ms};
        }
        rj_at(pt, "%s", "");
        if (rj_has(root, "gpu")) *device = rj_str(pt, root, "gpu");
        if (pt->bad) rc = hg_fail(&c->err, "%s", pt->err.msg);
    }
    free(h);
    return rc;
}

int report_gpu_pytorch(ReportCtx *c, Rj *r, json_t *gpu, int rerun)
{
    FILE *f = c->md;
    const char *not_measured = rj_str_opt(r, gpu, "pytorch_not_measured", NULL);
    const char *failed = rj_str_opt(r, gpu, "pytorch_failed", NULL);
    if (r->bad) return -1;
    if (!not_measured && !failed && !rj_has(gpu, "pytorch_steps")) return 0;
    fprintf(f, "### %s\n\n", HEADING);
    if (!rerun) fprintf(f, "*(Part `pytorch` not rerun here: as an earlier run wrote it.)*\n\n");
    if (not_measured || failed) {
        fprintf(f, "**%s**: %s.\n\n", not_measured ? "not measured" : "failed",
                not_measured ? not_measured : failed);
        return 1;
    }
    long steps = rj_int(r, gpu, "pytorch_steps"), repeats = rj_int(r, gpu, "pytorch_repeats");
    const char *torch = rj_str(r, gpu, "pytorch_torch"), *py = rj_str(r, gpu, "pytorch_python");
    const char *problem = rj_str(r, gpu, "pytorch_problem");
    const char *dnote = rj_str_opt(r, gpu, "pytorch_data_note", NULL);
    const char *cut = rj_str_opt(r, gpu, "pytorch_cut", NULL);
    long rehearsal = rj_int(r, gpu, "rehearsal");
    if (r->bad) return -1;
    fprintf(f, "The bench-pytorch problem (LeNet, T = %ld, batch 128, lr 0.05 / momentum 0.9 / wd "
               "5e-4, lr learned in 10 windows, seed 1)%s%s exported by `build/cuda-f<p>/hgbench "
               "hypergrad --device cuda --export` and recomputed by PyTorch %s on the same GPU "
               "from the exported files (`pytorch_baseline.py --device cuda`: tensors on the "
               "device before timing, one untimed warm-up run per method, each timed run ended "
               "by `torch.cuda.synchronize()`). Times: the median of %ld run%s of each; "
               "hgbench's are its engine run (`time_s`), PyTorch's its method. Error: max-norm "
               "relative difference of the hypergradient from hgbench's GPU bptt at the same "
               "precision.\n\n",
            steps, dnote ? " " : "", dnote ? dnote : "", torch, repeats, repeats == 1 ? "" : "s");
    static const char *const head[] = {"method", "precision", "s per hypergradient",
                                       "ms per step", "rel. error vs hgbench GPU bptt", NULL};
    md_table_head(f, "llrrr", head);
    Pair pairs[4];
    int npairs = 0, rc = 0;
    const char *device = NULL;
    Rj pt[2];
    json_t *keep[2] = {NULL, NULL};
    static const int precs[] = {64, 32};
    for (int i = 0; i < 2 && !rc; i++)
        rc = precision_rows(c, r, gpu, precs[i], repeats, pairs, &npairs, &device, &keep[i],
                            &pt[i]);
    if (!rc) {
        fprintf(f, "\n");
        if (device) fprintf(f, "PyTorch's device: %s.\n\n", device);
        fprintf(f, "PyTorch's time over hgbench's on the same GPU, same problem, ms per inner "
                   "step:\n\n");
        static const char *const h2[] = {"precision", "hgbench engine", "ms/step",
                                         "PyTorch method", "ms/step", "PyTorch / hgbench", NULL};
        md_table_head(f, "llrlrr", h2);
        char b[3][48];
        for (int i = 0; i < npairs; i++)
            fprintf(f, "| float%d | %s | %s | %s | %s | %sx |\n", pairs[i].prec, pairs[i].engine,
                    md_f(b[0], 48, 2, pairs[i].hg_ms), pairs[i].method,
                    md_f(b[1], 48, 2, pairs[i].pt_ms),
                    md_f(b[2], 48, 2, pairs[i].pt_ms / pairs[i].hg_ms));
        if (!npairs) fprintf(f, "| | no pair measured (see the failures above) | | | | |\n");
        /* the headline: float32 bptt against autograd where measured, else the first pair;
         * a rehearsal's numbers are no GPU's */
        int h = -1;
        for (int i = 0; i < npairs; i++)
            if (h < 0 || (pairs[i].prec == 32 && !strcmp(pairs[i].engine, "bptt"))) h = i;
        if (h >= 0 && !rehearsal)
            report_headline(c, HEADING, "On the same GPU, PyTorch %s takes %sx hgbench %s's "
                            "time per inner step (float%d, %s against %s ms, T = %ld).",
                            pairs[h].method, md_f(b[0], 48, 2, pairs[h].pt_ms / pairs[h].hg_ms),
                            pairs[h].engine, pairs[h].prec, md_f(b[1], 48, 2, pairs[h].pt_ms),
                            md_f(b[2], 48, 2, pairs[h].hg_ms), steps);
        fprintf(f, "\n");
        if (cut) fprintf(f, "**Cut**: a run was %s.\n\n", cut);
        fprintf(f, "Reproduce: `build/cuda-f64/hgbench hypergrad --device cuda --engine bptt "
                   "--precision 64 %s --export DIR` then `%s scripts/pytorch_baseline.py DIR "
                   "--device cuda --repeats %ld`.\n\n", problem, py, repeats);
    }
    for (int i = 0; i < 2; i++)
        if (keep[i]) rj_close(&pt[i]);
    return rc ? -1 : 1;
}
