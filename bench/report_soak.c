/* report_soak.c — the soak section: the reversible engine over a long
 * horizon (scripts/bench-soak.sh). From soak-run.json (the envelope:
 * commit, command, threads), soak.json (the run's hgbench hypergrad
 * --json, which has none), soak-memory.json (RSS samples) and soak-summary.txt
 * (the run's own summary): w_0 restored (the run's success), the
 * information buffer against its floor (the check: at most 1.06x), time,
 * peak RSS, RSS over the run and its plot.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_json.h"
#include "report_md.h"
#include "report_plot.h"

#define SOAK_FULL_T 100000
#define SOAK_MAX_RATIO 1.06
#define HEADING "soak"

static double mib(double bytes) { return bytes / MD_MIB; }

/* The run's summary lines worth repeating (its tagged peaks by kind). */
static void summary_block(ReportCtx *c)
{
    char path[4096];
    FILE *f = fopen(report_path(c, "soak-summary.txt", path, sizeof path), "r");
    if (!f) return;
    static const char *const keep[] = {"memory", "infobuf", "time", "hypergrad", "val loss"};
    char line[4096];
    fprintf(c->md, "The run's own summary (tagged peaks by kind):\n\n```\n");
    while (fgets(line, sizeof line, f))
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
            if (!strncmp(line, keep[i], strlen(keep[i]))) { fputs(line, c->md); break; }
    fprintf(c->md, "```\n\n");
    fclose(f);
}

/* RSS samples [[t_ns, kib], ...] as seconds since the first and MiB. */
static long read_samples(ReportCtx *c, Rj *r, double **t, double **rss, double *dt)
{
    char path[4096];
    json_t *root = rj_load(r, report_path(c, "soak-memory.json", path, sizeof path));
    if (!root) return -1;
    *dt = rj_num(r, root, "interval_s");
    json_t *s = rj_array(r, root, "samples");
    long n = s ? (long)json_array_size(s) : 0;
    *t = calloc((size_t)n + 1, sizeof **t);
    *rss = calloc((size_t)n + 1, sizeof **rss);
    HG_CHECK(*t && *rss, "calloc");
    for (long i = 0; i < n && !r->bad; i++) {
        json_t *p = json_array_get(s, (size_t)i);
        rj_at(r, "samples[%ld]", i);
        if (!json_is_array(p) || json_array_size(p) != 2 ||
            !json_is_number(json_array_get(p, 0)) || !json_is_number(json_array_get(p, 1))) {
            rj_fail(r, "not a pair [t_ns, rss_kib] of numbers");
            break;
        }
        (*t)[i] = json_number_value(json_array_get(p, 0));
        (*rss)[i] = json_number_value(json_array_get(p, 1)) / 1024.0;
    }
    for (long i = n - 1; i >= 0; i--) (*t)[i] = ((*t)[i] - (*t)[0]) / 1e9;
    return r->bad ? -1 : n;
}

static void plot_rss(ReportCtx *c, const double *t, const double *rss, long n, long T)
{
    Plot p;
    FILE *d = plot_begin(c, &p, "soak-memory");
    if (!d) return;
    fprintf(d, "# t_s rss_mib\n");
    for (long i = 0; i < n; i++) fprintf(d, "%.1f %.2f\n", t[i], rss[i]);
    fprintf(plot_script(&p),
            "set xlabel 'seconds since the start'; set ylabel 'resident set (MiB)'\n"
            "set title 'Soak: reversible engine, MLP, T = %ld (forward pass, then the reverse pass)'\n"
            "set yrange [0:*]\n"
            "plot DAT using 1:2 with lines ls ENGINE_LS('reversible') title 'RSS'\n", T);
    plot_end(c, &p);
}

static int render(ReportCtx *c)
{
    char path[4096], b1[64], b2[64];
    Rj r, rm, re;
    json_t *eroot = rj_load(&re, report_path(c, "soak-run.json", path, sizeof path));
    RjEnvelope env;
    if (eroot) rj_envelope(&re, eroot, &env);
    if (re.bad) { int rc = hg_fail(&c->err, "%s", re.err.msg); rj_close(&re); return rc; }
    json_t *root = rj_load(&r, report_path(c, "soak.json", path, sizeof path));
    if (!root) { rj_close(&re); return hg_fail(&c->err, "%s", r.err.msg); }
    long T = rj_int(&r, root, "steps"), params = rj_int(&r, root, "model_params");
    long batch = rj_int(&r, root, "batch");
    json_t *learn = rj_object(&r, root, "learn");
    long K = rj_int_opt(&r, learn, "lr", 0);
    double time_s = rj_num(&r, root, "time_s");
    json_t *mem = rj_object(&r, root, "mem");
    rj_at(&r, "mem");
    double buf = rj_num(&r, mem, "infobuf_bytes"), floor = rj_num(&r, mem, "infobuf_floor_bytes");
    double peak = rj_num(&r, mem, "peak_rss");
    if (r.bad) { int rc = hg_fail(&c->err, "%s", r.err.msg); rj_close(&r); rj_close(&re); return rc; }
    double *t = NULL, *rss = NULL, dt = 0;
    long n = read_samples(c, &rm, &t, &rss, &dt);
    if (n < 0) {
        int rc = hg_fail(&c->err, "%s", rm.err.msg);
        rj_close(&r); rj_close(&rm); rj_close(&re); free(t); free(rss);
        return rc;
    }
    report_ran_by(c, &env);
    double ratio = buf / floor;
    int ok = ratio <= SOAK_MAX_RATIO;
    if (!ok)
        snprintf(c->check_failed, sizeof c->check_failed,
                 "the information buffer is %.4fx its floor (at most %.2fx)", ratio, SOAK_MAX_RATIO);

    FILE *f = c->md;
    fprintf(f, "## " HEADING "\n\n");
    fprintf(f, "The reversible engine alone over a long horizon: MLP (%ld,%03ld parameters) on synthetic\n"
               "28x28 data, batch %ld, lr learned in %ld windows, %s, T = %ld inner steps, %ld\n"
               "thread%s; commit %s. Command: `scripts/bench-soak.sh` (SOAK_T, QUICK=1 for T = 10^4).\n",
            params / 1000, params % 1000, batch, K, env.precision, T, env.threads,
            env.threads == 1 ? "" : "s", env.commit);
    if (!c->quick && T != SOAK_FULL_T)
        fprintf(f, "\n**Cut for time** (SOAK_T=%ld): the full soak is T = 10^5.\n", T);
    fprintf(f, "\n| check | result |\n|---|---|\n");
    fprintf(f, "| w_0 restored after the reverse pass | yes (bit for bit: the engine checks it and "
               "would have failed the run) |\n");
    fprintf(f, "| information buffer / floor (at most %.2f) | %.4f (%.1f MiB against %.1f MiB) %s |\n",
            SOAK_MAX_RATIO, ratio, mib(buf), mib(floor), ok ? "ok" : "**over**");
    fprintf(f, "| run time | %.1f s (%.2f ms per inner step) |\n", time_s, 1000 * time_s / T);
    fprintf(f, "| peak RSS | %.1f MiB |\n", mib(peak));
    fprintf(f, "| RSS over the run (%ld samples, every %s s) | ", n, md_g(b1, sizeof b1, 6, dt));
    if (n) {
        double mx = 0;
        for (long i = 0; i < n; i++) mx = rss[i] > mx ? rss[i] : mx;
        fprintf(f, "first %.1f MiB, at the midpoint %.1f MiB, last %.1f MiB, largest %.1f MiB |\n",
                rss[0], rss[(n + 1) / 2 - 1], rss[n - 1], mx);
    } else {
        fprintf(f, "no samples |\n");
    }
    fprintf(f, "\n");
    summary_block(c);
    plot_rss(c, t, rss, n, T);
    report_image(c, "soak-memory", "RSS over the soak run");
    fprintf(f, "(raw: %s/soak-memory.json)\n\n", c->results);
    md_provenance(f, &env);
    fprintf(f, "\n");
    md_reproduce(f, &env);
    fprintf(f, "\n");
    report_headline(c, HEADING,
                    "The reversible engine restored w_0 bit for bit after T = %s steps on the MLP, "
                    "with its information buffer at %.3fx its floor (%s MiB) and a peak RSS of %.0f MiB.",
                    T >= 1000 && T % 1000 == 0 ? (snprintf(b2, sizeof b2, "%ld,000", T / 1000), b2)
                                               : (snprintf(b2, sizeof b2, "%ld", T), b2),
                    ratio, md_f(b1, sizeof b1, 1, mib(buf)), mib(peak));
    rj_close(&r);
    rj_close(&rm);
    rj_close(&re);
    free(t);
    free(rss);
    return 0;
}

const ReportSection REPORT_SOAK = {"soak", render};
