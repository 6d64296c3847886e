/* report_gpu_phases.c — the gpu section's "Per-phase times (CUDA events)":
 * where the time goes, from this run's JSON: each hgbench-models run's
 * per-layer profile (gpu-models-f<p>-b<batch>.json: ms per call of each
 * pass, a total per model) and each hgbench-engines run's phases
 * (gpu-engines-<label>.json rows: inner, validation, hypergrad, the rest).
 * Every row names its clock: CUDA events, or host (on a device: host times
 * around asynchronous launches, said so).
 */
#include <string.h>

#include "report_gpu.h"
#include "report_md.h"

#define HEADING "Per-phase times (CUDA events)"

static const char *model_clock(const char *c)
{
    return !strcmp(c, "device events") ? "CUDA events"
         : !strcmp(c, "host, asynchronous launches") ? "host, around launches" : "host";
}

/* One hgbench-models file's profiles: 1 if it had rows, 0 none, -1 error. */
static int profile_rows(ReportCtx *c, const char *path, int prec, const char *batch)
{
    FILE *f = c->md;
    Rj r;
    json_t *root = rj_load(&r, path);
    if (!root) return hg_fail(&c->err, "%s", r.err.msg);
    json_t *models = rj_array(&r, root, "models");
    char b[4][48];
    static const char *const pass[4] = {"forward_ms", "backward_ms", "rforward_ms",
                                        "rbackward_ms"};
    for (size_t i = 0; i < json_array_size(models) && !r.bad; i++) {
        json_t *m = rj_row(&r, models, "models", i);
        if (!rj_has(m, "profile")) continue;
        const char *model = rj_str(&r, m, "model");
        json_t *p = rj_object(&r, m, "profile");
        const char *clock = model_clock(rj_str(&r, p, "clock"));
        json_t *layers = rj_array(&r, p, "layers");
        double sum[4] = {0, 0, 0, 0};
        for (size_t l = 0; l < json_array_size(layers) && !r.bad; l++) {
            json_t *o = json_array_get(layers, l);
            rj_at(&r, "models[%zu].profile.layers[%zu]", i, l);
            double v[4];
            for (int k = 0; k < 4; k++) sum[k] += v[k] = rj_num(&r, o, pass[k]);
            fprintf(f, "| float%d | %s | %s | %ld | %s | %s | %s | %s | %s | %s |\n", prec, batch,
                    model, rj_int(&r, o, "layer"), rj_str(&r, o, "type"), md_f(b[0], 48, 4, v[0]),
                    md_f(b[1], 48, 4, v[1]), md_f(b[2], 48, 4, v[2]), md_f(b[3], 48, 4, v[3]),
                    clock);
        }
        fprintf(f, "| float%d | %s | %s | | **total** | **%s** | **%s** | **%s** | **%s** | %s |\n",
                prec, batch, model, md_f(b[0], 48, 4, sum[0]), md_f(b[1], 48, 4, sum[1]),
                md_f(b[2], 48, 4, sum[2]), md_f(b[3], 48, 4, sum[3]), clock);
    }
    int rc = r.bad ? hg_fail(&c->err, "%s", r.err.msg) : 0;
    rj_close(&r);
    return rc;
}

/* One hgbench-engines file's phases. */
static int phase_rows(ReportCtx *c, const char *path)
{
    FILE *f = c->md;
    Rj r;
    json_t *root = rj_load(&r, path);
    if (!root) return hg_fail(&c->err, "%s", r.err.msg);
    RjEnvelope env;
    rj_envelope(&r, root, &env);
    json_t *rows = rj_array(&r, root, "rows");
    char b[5][48];
    for (size_t i = 0; i < json_array_size(rows) && !r.bad; i++) {
        json_t *o = rj_row(&r, rows, "rows", i);
        if (strcmp(rj_str(&r, o, "status"), "ok") || !rj_has(o, "inner_time_s")) continue;
        double t = rj_num(&r, o, "time_s"), in = rj_num(&r, o, "inner_time_s");
        double va = rj_num(&r, o, "validation_time_s"), hg = rj_num(&r, o, "hypergrad_time_s");
        const char *clock = strcmp(rj_str(&r, o, "phase_clock"), "cuda events") ? "host"
                                                                                : "CUDA events";
        fprintf(f, "| %s | %s | %ld | %ld | %s | %s | %s | %s | %s | %s |\n", env.precision,
                rj_str(&r, o, "engine"), rj_int(&r, o, "T"), rj_int(&r, o, "K"),
                md_g(b[0], 48, 4, t), md_g(b[1], 48, 4, in), md_g(b[2], 48, 4, va),
                md_g(b[3], 48, 4, hg), md_g(b[4], 48, 4, t - in - va - hg), clock);
    }
    int rc = r.bad ? hg_fail(&c->err, "%s", r.err.msg) : 0;
    rj_close(&r);
    return rc;
}

/* The next word of a space-separated list into buf; NULL at the end. */
static const char *word(const char *s, char *buf, size_t n)
{
    while (*s == ' ') s++;
    if (!*s) return NULL;
    size_t k = strcspn(s, " ");
    snprintf(buf, n, "%.*s", (int)k, s);
    return s + k;
}

int report_gpu_phases(ReportCtx *c, Rj *g, json_t *gpu, int rerun)
{
    FILE *f = c->md;
    if (!rj_has(gpu, "phases_ran")) return 0;
    const char *batches = rj_str_opt(g, gpu, "models_batches", "");
    const char *datas = rj_str_opt(g, gpu, "engines_data", "");
    const char *precs = rj_str_opt(g, gpu, "engines_precisions", "");
    if (g->bad) return -1;
    fprintf(f, "### %s\n\n", HEADING);
    if (!rerun) fprintf(f, "*(Part `phases` not rerun here: as an earlier run wrote it.)*\n\n");
    char path[4096], name[256], batch[32], data[64], prec[16];
    static const int mprecs[] = {32, 64};
    int any_models = 0, any_engines = 0;
    for (int i = 0; i < 2; i++)
        for (const char *s = batches; (s = word(s, batch, sizeof batch));) {
            snprintf(name, sizeof name, "gpu-models-f%d-b%s.json", mprecs[i], batch);
            if (!rj_exists(report_path(c, name, path, sizeof path))) continue;
            if (!any_models++) {
                fprintf(f, "#### Per-layer times (ms per call: loss_grad's forward and backward, "
                           "hvp's R passes)\n\n");
                static const char *const head[] = {"precision", "batch", "model", "layer",
                                                   "type", "forward", "backward", "R-forward",
                                                   "R-backward", "clock", NULL};
                md_table_head(f, "lrlrlrrrrl", head);
            }
            if (profile_rows(c, path, mprecs[i], batch)) return -1;
        }
    if (any_models) fprintf(f, "\n");
    static const char *const exps[] = {"horizon", "count"}, *const devs[] = {"cuda", "cpu"};
    for (const char *d = datas; (d = word(d, data, sizeof data));)
        for (const char *p = precs; (p = word(p, prec, sizeof prec));)
            for (int e = 0; e < 2; e++)
                for (int v = 0; v < 2; v++) {
                    snprintf(name, sizeof name, "gpu-engines-%s-%s-f%s-%s.json", exps[e], data,
                             prec, devs[v]);
                    if (!rj_exists(report_path(c, name, path, sizeof path))) continue;
                    if (!any_engines++) {
                        fprintf(f, "#### Engine phases (seconds per run)\n\ninner: the inner "
                                   "steps (forward mode with its tangents; checkpoint with its "
                                   "recomputed steps); validation: the validation set at w_T; "
                                   "hypergrad: the rest of the hypergradient (the reverse pass, "
                                   "greedy's look-ahead); other: the run's wall time outside "
                                   "them.\n\n");
                        static const char *const head[] = {
                            "precision", "engine", "T", "K", "time", "inner", "validation",
                            "hypergrad", "other", "clock", NULL};
                        md_table_head(f, "llrrrrrrrl", head);
                    }
                    if (phase_rows(c, path)) return -1;
                }
    if (any_engines) fprintf(f, "\n");
    if (!any_models && !any_engines)
        fprintf(f, "**not measured**: no models or engines output of this run holds a profile "
                   "or phases (run the models and engines parts first).\n\n");
    return 1;
}
