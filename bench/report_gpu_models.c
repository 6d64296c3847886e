/* report_gpu_models.c — the gpu section's "Model ops on the device": each
 * op's median time and GEMM rate from hgbench-models --json on the device
 * (gpu-models-f<p>-b<batch>.json), against that precision's GEMM ceiling
 * from the device record in gpu.json (sgemm, dgemm: "<TFLOP/s> ..."), as
 * bench-gpu.sh's part_models leaves them (models_*: batches, failures).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_gpu.h"
#include "report_md.h"

#define HEADING "Model ops on the device (Fashion-MNIST batches; medians of 9 repeats)"

/* One run's rows into the table. */
static int run_rows(ReportCtx *c, const char *path, int prec, const char *batch, double ceil)
{
    FILE *f = c->md;
    Rj r;
    json_t *root = rj_load(&r, path);
    if (!root) return hg_fail(&c->err, "%s", r.err.msg);
    json_t *models = rj_array(&r, root, "models");
    char b[3][48], k[24];
    for (size_t i = 0; i < json_array_size(models) && !r.bad; i++) {
        json_t *m = rj_row(&r, models, "models", i);
        const char *model = rj_str(&r, m, "model");
        json_t *rows = rj_array(&r, m, "rows");
        for (size_t j = 0; j < json_array_size(rows) && !r.bad; j++) {
            json_t *o = json_array_get(rows, j);
            rj_at(&r, "models[%zu].rows[%zu]", i, j);
            if (!json_is_object(o)) {
                rj_fail(&r, "not an object");
                break;
            }
            const char *op = rj_str(&r, o, "op"), *st = rj_str(&r, o, "status");
            long kk = rj_int_opt(&r, o, "k", 0);
            k[0] = '\0';
            if (kk > 0) snprintf(k, sizeof k, "%ld", kk);
            if (strcmp(st, "ok")) {
                fprintf(f, "| float%d | %s | %s | %s | %s | **failed** | | |\n", prec, batch,
                        model, op, k);
                continue;
            }
            double tf = rj_num(&r, o, "gemm_gflops") / 1000;
            fprintf(f, "| float%d | %s | %s | %s | %s | %s | %s | %s |\n", prec, batch, model, op,
                    k, md_g(b[0], 48, 4, rj_num(&r, o, "median_ms")), md_g(b[1], 48, 3, tf),
                    md_f(b[2], 48, 3, ceil > 0 ? tf / ceil : 0));
        }
    }
    int rc = r.bad ? hg_fail(&c->err, "%s", r.err.msg) : 0;
    rj_close(&r);
    return rc;
}

int report_gpu_models(ReportCtx *c, Rj *r, json_t *gpu, int rerun)
{
    FILE *f = c->md;
    const char *not_run = rj_str_opt(r, gpu, "models_not_run", NULL);
    if (r->bad) return -1;
    if (!not_run && !rj_has(gpu, "models_batches")) return 0;
    fprintf(f, "### %s\n\n", HEADING);
    if (!rerun) fprintf(f, "*(Part `models` not rerun here: as an earlier run wrote it.)*\n\n");
    if (not_run) {
        fprintf(f, "**not run**: %s.\n\n", not_run);
        return 1;
    }
    const char *batches = rj_str(r, gpu, "models_batches");
    const char *cut = rj_str_opt(r, gpu, "models_cut", NULL);
    /* the ceilings' leading numbers ("51.2 TFLOP/s ..."); none in a rehearsal */
    double ceil[2] = {atof(rj_str(r, gpu, "sgemm")), atof(rj_str(r, gpu, "dgemm"))};
    if (r->bad) return -1;
    fprintf(f, "GEMM rate: the op's GEMM-shaped FLOPs over its median time; × ceiling: that "
               "rate over the same precision's GEMM ceiling (the device record, below).\n\n");
    static const char *const head[] = {"precision", "batch", "model", "op", "k", "median ms",
                                       "GEMM TFLOP/s", "× ceiling", NULL};
    md_table_head(f, "lrllrrrr", head);
    static const int precs[] = {32, 64};
    char batch[32], key[96], name[96], path[4096];
    RjEnvelope env;
    int have_env = 0;
    Rj er;
    json_t *eroot = NULL;
    for (int i = 0; i < 2; i++) {
        for (const char *s = batches; *s;) {
            while (*s == ' ') s++;
            size_t n = strcspn(s, " ");
            if (!n) break;
            snprintf(batch, sizeof batch, "%.*s", (int)n, s);
            s += n;
            snprintf(key, sizeof key, "models_f%d_b%s_failed", precs[i], batch);
            const char *failed = rj_str_opt(r, gpu, key, NULL);
            if (r->bad) return -1;
            snprintf(name, sizeof name, "gpu-models-f%d-b%s.json", precs[i], batch);
            report_path(c, name, path, sizeof path);
            if (failed || !rj_exists(path)) {
                fprintf(f, "| float%d | %s | %s | | | | | |\n", precs[i], batch,
                        failed ? failed : "**failed**: no result");
                continue;
            }
            if (run_rows(c, path, precs[i], batch, ceil[i])) {
                if (eroot) rj_close(&er);
                return -1;
            }
            if (!eroot) { /* the first run's envelope: the provenance below */
                eroot = rj_load(&er, path);
                if (eroot) rj_envelope(&er, eroot, &env);
                have_env = eroot && !er.bad;
            }
        }
    }
    fprintf(f, "\n");
    if (have_env) {
        md_provenance(f, &env);
        md_reproduce(f, &env);
        fprintf(f, "\n");
    }
    if (eroot) rj_close(&er);
    if (cut) fprintf(f, "**Cut**: a run was %s.\n\n", cut);
    return 1;
}
