/* report_gpu.c — the gpu section of RESULTS.md (profiling a GPU, issue 9)
 * from what scripts/bench-gpu.sh leaves: gpu.json (hgbench-manifest: the
 * envelope, the settings, the device record, each part's outcome, or why
 * the section was skipped) and, for Figure 2 on the GPU, hgbench-fig2's
 * gpu-fig2.json and gpu-fig2-f32.json (rendered by report_fig2_body).
 * The other parts: bench/report_gpu_<part>.c (report_gpu.h).
 */
#include <string.h>

#include "report.h"
#include "report_fig2.h"
#include "report_gpu.h"
#include "report_json.h"
#include "report_md.h"

#define FIG2_HEADING "Figure 2 on the GPU"
#define NPARTS 6

/* the order of the section: the main results first, then the per-op and
 * per-shape tables (the device record after them) */
static const char *const PARTS[NPARTS] = {"engines", "fig2", "pytorch", "models", "conv", "phases"};

/* 1 if the space-separated list holds word. */
static int listed(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return 1;
    return 0;
}

/* Figure 2 on the GPU: the runs' JSON, or what became of them. 1: shown,
 * 0: the part left nothing, -1: an error in c->err or r. */
static int fig2_part(ReportCtx *c, Rj *r, json_t *root, int rerun, int rehearsal)
{
    FILE *f = c->md;
    char f64[4096], f32[4096];
    report_path(c, "gpu-fig2.json", f64, sizeof f64);
    report_path(c, "gpu-fig2-f32.json", f32, sizeof f32);
    const char *not_run = rj_str_opt(r, root, "fig2_not_run", NULL);
    const char *f64_failed = rj_str_opt(r, root, "fig2_f64_failed", NULL);
    const char *f32_failed = rj_str_opt(r, root, "fig2_f32_failed", NULL);
    const char *cut = rj_str_opt(r, root, "fig2_cut", NULL);
    if (r->bad) return -1;
    if (!not_run && !f64_failed && !rj_exists(f64)) return 0; /* the part did not run */
    int shown = 1;
    fprintf(f, "### %s\n\n", FIG2_HEADING);
    if (!rerun) fprintf(f, "*(Part `fig2` not rerun here: as an earlier run wrote it.)*\n\n");
    if (not_run) {
        fprintf(f, "**not run**: %s.\n\n", not_run);
        return shown;
    }
    if (f64_failed) {
        fprintf(f, "No float64 results: %s\n\n", f64_failed);
        if (f32_failed) fprintf(f, "float32: %s\n\n", f32_failed);
        return shown;
    }
    fprintf(f, "hgbench-fig2 --device cuda, float64 (the curve) and float32 (beside it), as "
               "experiment 3 (scripts/fig2.sh) on the CPU, without its --kahan run.\n\n");
    /* a rehearsal's numbers are no GPU's: no headlines from them */
    const char *anchor = rehearsal ? NULL : FIG2_HEADING;
    Fig2Files files = {.f64 = f64, .f32 = f32, .plot = "gpu-fig2", .anchor = anchor,
                       .anchor_precision = anchor};
    if (report_fig2_body(c, &files)) return -1;
    if (f32_failed) fprintf(f, "- float32 run: %s\n\n", f32_failed);
    if (cut) fprintf(f, "**Cut**: a run was %s.\n\n", cut);
    return shown;
}

static int render(ReportCtx *c)
{
    char path[4096];
    report_path(c, "gpu.json", path, sizeof path);
    FILE *f = c->md;
    if (!rj_exists(path)) {
        fprintf(f, "## GPU\n\n**not run**: no %s (scripts/bench-gpu.sh writes it).\n\n", path);
        snprintf(c->skipped, sizeof c->skipped, "no gpu.json: scripts/bench-gpu.sh did not run");
        return 0;
    }
    Rj r;
    json_t *root = rj_load(&r, path);
    if (!root) return hg_fail(&c->err, "%s", r.err.msg);
    RjEnvelope env;
    rj_envelope(&r, root, &env);
    long quick = rj_int(&r, root, "quick"), rehearsal = rj_int(&r, root, "rehearsal");
    const char *parts = rj_str(&r, root, "parts");
    const char *skipped = rj_str_opt(&r, root, "skipped", NULL);
    if (r.bad) goto bad;
    report_ran_by(c, &env);
    fprintf(f, "## GPU\n\n");
    if (rehearsal)
        fprintf(f, "**REHEARSAL on the CPU** (REHEARSE=1): every \"GPU\" run below ran on the "
                   "strict fake device (the CPU's kernels behind device memory, "
                   "HG_FAKE_DEVICE=strict); no number here is from a GPU.\n\n");
    if (skipped) {
        fprintf(f, "**skipped**: %s\n\n", skipped);
        md_provenance(f, &env);
        md_reproduce(f, &env);
        fprintf(f, "\n");
        snprintf(c->skipped, sizeof c->skipped, "%s", skipped);
        rj_close(&r);
        return 0;
    }
    const char *note = rj_str_opt(&r, root, "note", NULL);
    const char *current = rj_str_opt(&r, root, "current", "");
    const char *rec[5][2] = {{"device", "gpu"},
                             {"clocks", "clocks"},
                             {"float32 GEMM ceiling", "sgemm"},
                             {"float64 GEMM ceiling", "dgemm"},
                             {"device-to-device copy", "copy"}};
    const char *val[5];
    for (int i = 0; i < 5; i++) val[i] = rj_str(&r, root, rec[i][1]);
    long host_cpus = rj_int(&r, root, "host_cpus");
    const char *host_cpu = rj_str(&r, root, "host_cpu");
    if (r.bad) goto bad;
    if (note) fprintf(f, "%s\n\n", note);
    md_provenance(f, &env);
    md_reproduce(f, &env);
    fprintf(f, "\n");
    if (quick)
        fprintf(f, "**QUICK run**: sizes cut to minutes (each part states its own); the numbers "
                   "show that the pipeline works on this device, not the full results.\n\n");
    fprintf(f, "Device: %s (its record, with the measured GEMM ceilings, is at the end of "
               "the section).\n\n", val[0]);
    if (!rehearsal && val[2][0])
        report_headline(c, "Device record", "The GPU (%s) measured a float32 GEMM ceiling of %s and a "
                        "float64 one of %s.", val[0], val[2], val[3]);
    for (int i = 0; i < NPARTS; i++) {
        int rerun = listed(parts, PARTS[i]);
        char key[64];
        snprintf(key, sizeof key, "%s_not_started", PARTS[i]);
        const char *not_started = rj_str_opt(&r, root, key, NULL);
        if (r.bad) goto bad;
        if (not_started) {
            fprintf(f, "### %s\n\n**not run**: %s.\n\n", PARTS[i], not_started);
            continue;
        }
        int shown = !strcmp(PARTS[i], "fig2")    ? fig2_part(c, &r, root, rerun, (int)rehearsal)
                  : !strcmp(PARTS[i], "pytorch") ? report_gpu_pytorch(c, &r, root, rerun)
                  : !strcmp(PARTS[i], "engines") ? report_gpu_engines(c, &r, root, rerun)
                  : !strcmp(PARTS[i], "models")  ? report_gpu_models(c, &r, root, rerun)
                  : !strcmp(PARTS[i], "conv")    ? report_gpu_conv(c, &r, root, rerun)
                                                 : report_gpu_phases(c, &r, root, rerun);
        if (shown < 0) {
            if (r.bad) goto bad;
            rj_close(&r);
            return -1;
        }
        if (!shown && rerun && !strcmp(PARTS[i], current))
            fprintf(f, "### %s\n\n**interrupted** before its results were written.\n\n", PARTS[i]);
    }
    fprintf(f, "### Device record\n\n| device record | |\n|---|---|\n");
    for (int i = 0; i < 5; i++) fprintf(f, "| %s | %s |\n", rec[i][0], val[i]);
    fprintf(f, "| host | %ld CPUs, %s |\n\n", host_cpus, host_cpu);
    rj_close(&r);
    return 0;
bad:
    hg_fail(&c->err, "%s", r.err.msg);
    rj_close(&r);
    return -1;
}

const ReportSection REPORT_GPU = {"gpu", render};
