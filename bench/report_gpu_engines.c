/* report_gpu_engines.c — the gpu section's "Engines on the device: vs T and
 * vs N": hgbench-engines --json on the device (gpu-engines-<exp>-<data>-
 * f<p>-cuda.json) with the CPU's run of the same list beside it (-cpu.json),
 * joined by (engine, T, K), as bench-gpu.sh's part_engines leaves them; its
 * settings and the runs that left no JSON are in gpu.json (engines_*).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_gpu.h"
#include "report_md.h"

#define HEADING "Engines on the device: vs T and vs N"

/* One hgbench-engines --json, open (present 0: no file). */
typedef struct EFile {
    Rj r;
    int present;
    json_t *root, *rows;
} EFile;

static int efile_load(ReportCtx *c, EFile *e, const char *label)
{
    char name[256], path[4096];
    memset(e, 0, sizeof *e);
    snprintf(name, sizeof name, "gpu-engines-%s.json", label);
    report_path(c, name, path, sizeof path);
    if (!rj_exists(path)) return 0;
    e->root = rj_load(&e->r, path);
    if (!e->root) return hg_fail(&c->err, "%s", e->r.err.msg);
    e->present = 1;
    e->rows = rj_array(&e->r, e->root, "rows");
    return 0;
}

static void efile_close(EFile *e)
{
    if (e->present) rj_close(&e->r);
}

/* The CPU's row of the same (engine, T, K); NULL when it has none. */
static json_t *cpu_row(EFile *cpu, const char *engine, long T, long K)
{
    if (!cpu->present) return NULL;
    for (size_t i = 0; i < json_array_size(cpu->rows); i++) {
        json_t *o = rj_row(&cpu->r, cpu->rows, "rows", i);
        if (!strcmp(rj_str(&cpu->r, o, "engine"), engine) && rj_int(&cpu->r, o, "T") == T &&
            rj_int(&cpu->r, o, "K") == K)
            return o;
    }
    return NULL;
}

/* "| a | b |" cells escaped for a table: '|' as "\|". */
static void cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s, f);
    }
}

static void table(FILE *f, EFile *g, EFile *cpu)
{
    static const char *const head[] = {
        "engine", "T", "K", "GPU s", "GPU ms/step", "× GPU plain step", "CPU s", "CPU / GPU",
        "trajectory (checkpoints) MiB", "buffer MiB", "tangents MiB", "device peak MiB",
        "\\|hg\\| GPU vs CPU", NULL};
    md_table_head(f, "lrrrrrrrrrrrr", head);
    Rj *r = &g->r;
    char b[10][48];
    for (size_t i = 0; i < json_array_size(g->rows); i++) {
        json_t *o = rj_row(r, g->rows, "rows", i);
        const char *engine = rj_str(r, o, "engine"), *st = rj_str(r, o, "status");
        long T = rj_int(r, o, "T"), K = rj_int(r, o, "K");
        if (r->bad) return;
        if (strcmp(st, "ok")) {
            fprintf(f, "| %s | %ld | %ld | **%s**: ", engine, T, K, st);
            cell(f, rj_str(r, o, "message"));
            fprintf(f, " | | | | | | | | | |\n");
            continue;
        }
        double t = rj_num(r, o, "time_s"), hg = rj_num(r, o, "hypergrad_norm");
        json_t *co = cpu_row(cpu, engine, T, K);
        const char *cst = co ? rj_str(&cpu->r, co, "status") : NULL;
        int cok = cst && !strcmp(cst, "ok");
        double ct = cok ? rj_num(&cpu->r, co, "time_s") : NAN;
        double cn = cok ? rj_num(&cpu->r, co, "hypergrad_norm") : NAN;
        const char *cpu_s = cok ? md_f(b[0], 48, 3, ct) : cst ? cst : "not run";
        b[1][0] = b[2][0] = '\0';
        if (cok && t > 0) md_f(b[1], 48, 2, ct / t);
        if (cok && cn != 0) md_g(b[2], 48, 2, (hg - cn) / cn);
        fprintf(f, "| %s | %ld | %ld | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", engine,
                T, K, md_f(b[3], 48, 3, t), md_f(b[4], 48, 3, 1e3 * t / (double)T),
                md_f(b[5], 48, 2, rj_num(r, o, "step_ratio_to_plain")), cpu_s, b[1],
                md_f(b[6], 48, 2, (rj_num(r, o, "trajectory") + rj_num(r, o, "checkpoints")) / MD_MIB),
                md_f(b[7], 48, 4, rj_num(r, o, "infobuf") / MD_MIB),
                md_f(b[8], 48, 2, rj_num(r, o, "tangents") / MD_MIB),
                rj_has(o, "device_peak") ? md_f(b[9], 48, 1, rj_num(r, o, "device_peak") / MD_MIB)
                                         : "",
                b[2]);
    }
}

/* One experiment (horizon or count) of one data set and precision. */
static int experiment(ReportCtx *c, Rj *gr, json_t *gpu, const char *exp, const char *data,
                      const char *prec, long count_t)
{
    FILE *f = c->md;
    char gl[128], cl[128], key[200], b[2][48];
    snprintf(gl, sizeof gl, "%s-%s-f%s-cuda", exp, data, prec);
    snprintf(cl, sizeof cl, "%s-%s-f%s-cpu", exp, data, prec);
    EFile g, cpu;
    if (efile_load(c, &g, gl) || efile_load(c, &cpu, cl)) {
        efile_close(&g);
        return -1;
    }
    if (!strcmp(exp, "horizon")) fprintf(f, "**vs T**");
    else fprintf(f, "**vs N (T = %ld)**", count_t);
    if (g.present) fprintf(f, "; GPU plain step %s ms", md_f(b[0], 48, 3, 1e3 * rj_num(&g.r, g.root, "plain_step_s")));
    if (cpu.present) fprintf(f, ", CPU plain step %s ms", md_f(b[1], 48, 3, 1e3 * rj_num(&cpu.r, cpu.root, "plain_step_s")));
    fprintf(f, ".\n\n");
    if (!g.present) {
        snprintf(key, sizeof key, "engines_%s_failed", gl);
        fprintf(f, "GPU run: %s\n\n", rj_str_opt(gr, gpu, key, "**failed**: no result"));
    } else {
        table(f, &g, &cpu);
        fprintf(f, "\n");
        if (!cpu.present) {
            snprintf(key, sizeof key, "engines_%s_failed", cl);
            fprintf(f, "CPU run: %s\n", rj_str_opt(gr, gpu, key, "**failed**: no result"));
        }
        RjEnvelope env;
        rj_envelope(&g.r, g.root, &env);
        json_t *rows = g.rows;
        if (json_array_size(rows) > 0) {
            json_t *o = rj_row(&g.r, rows, "rows", 0);
            fprintf(f, "First row's command: `%s` (every row's is in `%s`).\n",
                    rj_str(&g.r, o, "reproduce"), g.r.file);
            rj_at(&g.r, "%s", "");
        }
        md_provenance(f, &env);
        md_reproduce(f, &env);
        fprintf(f, "\n");
    }
    int rc = 0;
    if (g.present && g.r.bad) rc = hg_fail(&c->err, "%s", g.r.err.msg);
    else if (cpu.present && cpu.r.bad) rc = hg_fail(&c->err, "%s", cpu.r.err.msg);
    efile_close(&g);
    efile_close(&cpu);
    return rc;
}

/* The words of a space-separated list, one at a time. */
static const char *next_word(const char *s, char *buf, size_t n)
{
    while (*s == ' ') s++;
    if (!*s) return NULL;
    size_t k = strcspn(s, " ");
    snprintf(buf, n, "%.*s", (int)k, s);
    return s + k;
}

int report_gpu_engines(ReportCtx *c, Rj *r, json_t *gpu, int rerun)
{
    FILE *f = c->md;
    if (!rj_has(gpu, "engines_data")) return 0;
    const char *datas = rj_str(r, gpu, "engines_data"), *precs = rj_str(r, gpu, "engines_precisions");
    const char *hs = rj_str(r, gpu, "engines_horizons"), *ks = rj_str(r, gpu, "engines_counts");
    const char *chs = rj_str(r, gpu, "engines_cpu_horizons");
    const char *cks = rj_str(r, gpu, "engines_cpu_counts");
    long count_t = rj_int(r, gpu, "engines_count_t"), threads = rj_int(r, gpu, "cpu_threads");
    const char *no_fashion = rj_str_opt(r, gpu, "fashion_missing", NULL);
    const char *cut = rj_str_opt(r, gpu, "engines_cut", NULL);
    if (r->bad) return -1;
    fprintf(f, "### %s\n\n", HEADING);
    if (!rerun) fprintf(f, "*(Part `engines` not rerun here: as an earlier run wrote it.)*\n\n");
    fprintf(f, "LeNet, batch 128, lr 0.05 / momentum 0.9 / wd 5e-4 constant (hgbench-engines, as "
               "experiments 1 and 2 on the CPU). **vs T**: every engine, lr learned in K = 10 "
               "windows, T ∈ {%s} on the GPU, T ∈ {%s} on the CPU. **vs N**: forward against the "
               "reverse engines at T = %ld, N = K ∈ {%s} on the GPU, {%s} on the CPU. GPU runs: "
               "--device cuda; CPU runs: the same binary with --device cpu, %ld threads, same "
               "machine, same run. CPU / GPU: the CPU's time over the GPU's for the same "
               "(engine, T, K). Times include the final validation gradient (1000 examples). "
               "Engine state: the allocator's peaks by kind during the run (on the device: "
               "device memory). Device peak: the device's peak use (cudaMemGetInfo at each "
               "allocation) since the program started, so it only grows down a table. \\|hg\\| "
               "GPU vs CPU: the relative difference of the hypergradient's norm (same precision, "
               "same seeds; summation orders differ). A run whose state does not fit is a "
               "**skipped** row with the engine's refusal, not a number.\n\n",
            hs, chs, count_t, ks, cks, threads);
    char data[64], prec[16];
    for (const char *d = datas; (d = next_word(d, data, sizeof data));) {
        const char *name = !strcmp(data, "synthetic") ? "synthetic 3x32x32"
                         : !strcmp(data, "fashion-mnist") ? "Fashion-MNIST" : NULL;
        if (!name) continue;
        for (const char *p = precs; (p = next_word(p, prec, sizeof prec));) {
            fprintf(f, "#### %s, float%s\n\n", name, prec);
            if (!strcmp(data, "fashion-mnist") && no_fashion) {
                fprintf(f, "**not run**: %s.\n\n", no_fashion);
                continue;
            }
            if (experiment(c, r, gpu, "horizon", data, prec, count_t) ||
                experiment(c, r, gpu, "count", data, prec, count_t))
                return -1;
        }
    }
    if (cut) fprintf(f, "**Cut**: a run was %s; its rows are missing.\n\n", cut);
    return r->bad ? -1 : 1;
}
