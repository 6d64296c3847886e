/* report_gpu_conv.c — the gpu section's "Convolutions: cuDNN against im2col
 * + cuBLAS": hgbench-gpu-conv --json per precision (gpu-conv-f<p>.json):
 * each (layer, n, op, kc) with its cuDNN and im2col + cuBLAS medians side by
 * side, and the picks of `auto`, as bench-gpu.sh's part_conv leaves them
 * (conv_*: failures). A backend with one conv path (the CPU's, the fake
 * device's) has its times in the cuDNN column.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_gpu.h"
#include "report_md.h"

#define HEADING "Convolutions: cuDNN against im2col + cuBLAS"

/* One (layer, n, op, kc) row: its two paths' medians (NaN: not run). */
typedef struct Key {
    const char *layer, *op;
    long n, kc;
    double t[2];
    int failed[2];
} Key;

static const char *time_cell(char *buf, size_t n, double t, int failed)
{
    if (failed) return "failed";
    if (isnan(t)) return "skipped";
    return md_f(buf, n, 4, t);
}

static int one_precision(ReportCtx *c, Rj *g, json_t *gpu, int prec, const char **picks,
                         Rj *r, int *loaded)
{
    FILE *f = c->md;
    char name[64], path[4096], key[64];
    snprintf(key, sizeof key, "conv_f%d_failed", prec);
    const char *failed = rj_str_opt(g, gpu, key, NULL);
    snprintf(name, sizeof name, "gpu-conv-f%d.json", prec);
    report_path(c, name, path, sizeof path);
    if (failed || !rj_exists(path)) {
        fprintf(f, "| float%d | %s | | | | | | |\n", prec,
                failed ? failed : "**failed**: no result");
        return 0;
    }
    json_t *root = rj_load(r, path);
    if (!root) return hg_fail(&c->err, "%s", r->err.msg);
    *loaded = 1;
    json_t *rows = rj_array(r, root, "rows");
    size_t nr = json_array_size(rows);
    Key *keys = calloc(nr ? nr : 1, sizeof *keys);
    HG_CHECK(keys, "calloc");
    size_t nk = 0;
    for (size_t i = 0; i < nr && !r->bad; i++) {
        json_t *o = rj_row(r, rows, "rows", i);
        Key k = {rj_str(r, o, "layer"), rj_str(r, o, "op"), rj_int(r, o, "n"), rj_int(r, o, "kc"),
                 {NAN, NAN}, {0, 0}};
        int col = strcmp(rj_str(r, o, "path"), "gemm") ? 0 : 1;
        int ok = !strcmp(rj_str(r, o, "status"), "ok");
        double t = rj_num_or_null(r, o, "median_ms");
        size_t j = 0;
        while (j < nk && !(keys[j].n == k.n && keys[j].kc == k.kc &&
                           !strcmp(keys[j].layer, k.layer) && !strcmp(keys[j].op, k.op)))
            j++;
        if (j == nk) keys[nk++] = k;
        keys[j].t[col] = ok ? t : NAN;
        keys[j].failed[col] = !ok;
    }
    rj_at(r, "%s", "");
    char b[3][48];
    for (size_t j = 0; j < nk && !r->bad; j++) {
        const Key *k = &keys[j];
        b[2][0] = '\0';
        if (k->t[0] > 0 && k->t[1] > 0) md_f(b[2], 48, 2, k->t[1] / k->t[0]);
        fprintf(f, "| float%d | %s | %ld | %s | %ld | %s | %s | %s |\n", prec, k->layer, k->n,
                k->op, k->kc, time_cell(b[0], 48, k->t[0], k->failed[0]),
                time_cell(b[1], 48, k->t[1], k->failed[1]), b[2]);
    }
    free(keys);
    json_t *sk = rj_array(r, root, "skipped_paths");
    for (size_t i = 0; i < json_array_size(sk) && !r->bad; i++) {
        json_t *o = rj_row(r, sk, "skipped_paths", i);
        fprintf(f, "\n*float%d: path %s: skipped: %s*\n", prec, rj_str(r, o, "path"),
                rj_str(r, o, "reason"));
    }
    rj_at(r, "%s", "");
    *picks = rj_str_opt(r, root, "auto_picks", NULL);
    return r->bad ? hg_fail(&c->err, "%s", r->err.msg) : 0;
}

int report_gpu_conv(ReportCtx *c, Rj *g, json_t *gpu, int rerun)
{
    FILE *f = c->md;
    if (!rj_has(gpu, "conv_ran")) return 0;
    const char *cut = rj_str_opt(g, gpu, "conv_cut", NULL);
    long rehearsal = rj_int(g, gpu, "rehearsal");
    if (g->bad) return -1;
    fprintf(f, "### %s\n\n", HEADING);
    if (!rerun) fprintf(f, "*(Part `conv` not rerun here: as an earlier run wrote it.)*\n\n");
    fprintf(f, "`hgbench-gpu-conv`: LeNet's distinct conv layers (conv1 on 1x28x28 with padding "
               "2, conv1 on 3x32x32, conv2), each op on each path, median ms per call over "
               "repeats of at least 20 ms (each ending with a download). R-ops for kc tangents; "
               "the first layer without R{x} and R{dx}, as the model runs it. Then `auto`'s "
               "pick per shape (timed by CUDA events at the shape's first call; cuDNN unless "
               "im2col + cuBLAS is 5%% faster).\n\n");
    if (rehearsal)
        fprintf(f, "*(Rehearsal: the CPU backend has one conv path; its times are in the cuDNN "
                   "column.)*\n\n");
    static const char *const head[] = {"precision", "layer", "n", "op", "kc", "cuDNN ms",
                                       "im2col + cuBLAS ms", "im2col / cuDNN", NULL};
    md_table_head(f, "llrlrrrr", head);
    static const int precs[] = {32, 64};
    const char *picks[2] = {NULL, NULL};
    Rj r[2];
    int loaded[2] = {0, 0}, rc = 0;
    for (int i = 0; i < 2 && !rc; i++)
        rc = one_precision(c, g, gpu, precs[i], &picks[i], &r[i], &loaded[i]);
    if (!rc) {
        fprintf(f, "\nPicks of `auto` (HG_CUDA_CONV unset), per op, layer geometry, n, kc and "
                   "which optional inputs and outputs the call had:\n\n");
        for (int i = 0; i < 2; i++) {
            if (!loaded[i]) continue;
            fprintf(f, "float%d:\n\n```\n", precs[i]);
            /* the picks' "# conv p..." lines, as the text output has them */
            for (const char *s = picks[i] ? picks[i] : ""; *s;) {
                size_t n = strcspn(s, "\n");
                if (!strncmp(s, "# conv p", 8)) fprintf(f, "%.*s\n", (int)n - 2, s + 2);
                s += n + (s[n] == '\n');
            }
            fprintf(f, "```\n\n");
        }
        if (loaded[0]) {
            RjEnvelope env;
            rj_envelope(&r[0], r[0].root, &env);
            if (!r[0].bad) {
                md_provenance(f, &env);
                md_reproduce(f, &env);
                fprintf(f, "\n");
            }
        }
        if (cut) fprintf(f, "**Cut**: a run was %s.\n\n", cut);
    }
    for (int i = 0; i < 2; i++)
        if (loaded[i]) rj_close(&r[i]);
    return rc ? -1 : 1;
}
