/* report_micro.c — the micro section of RESULTS.md (experiment 5): per
 * precision, hgbench-micro's envelope (micro-<p>.json: what ran, the
 * settings, the Google Benchmark flags) and Google Benchmark's own JSON that
 * it names (gbench_results: micro-<p>.gbench.json), as one table row per
 * benchmark:
 *
 *   benchmark | median | stddev (cv) | min–max | reps | counters
 *
 * Times are real time per iteration in the benchmark's unit. With
 * --benchmark_report_aggregates_only the file holds mean, median, stddev
 * and cv rows: median and stddev are Google Benchmark's and min–max is not
 * available ("–"); with per-repetition rows, median, sample stddev and
 * min–max are computed here. Counters are the median row's (or the median
 * over repetitions); per_* are seconds per unit, printed as times; busy_*
 * with two decimals. A benchmark that reported an error shows its message.
 * (Formerly scripts/gbench-table.sh; the same formats.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_json.h"
#include "report_md.h"

#define ANCHOR "Microbenchmarks (experiment 5)"
#define MAX_RUNS 128
#define MAX_VALS 64
#define MAX_COUNTERS 16

/* About 4 significant digits, no exponent for the magnitudes of timings. */
static const char *fmt_num(char *b, size_t n, double v)
{
    double a = fabs(v);
    if (a >= 1e6 || (a < 1e-3 && a > 0)) snprintf(b, n, "%.4g", v);
    else if (a >= 1000) snprintf(b, n, "%.0f", v);
    else if (a >= 100) snprintf(b, n, "%.1f", v);
    else if (a >= 10) snprintf(b, n, "%.2f", v);
    else snprintf(b, n, "%.3f", v);
    return b;
}

/* A time in seconds, in a unit that suits it. */
static const char *fmt_seconds(char *b, size_t n, double v)
{
    char x[32];
    double a = fabs(v);
    if (a >= 1 || a == 0) snprintf(b, n, "%s s", fmt_num(x, sizeof x, v));
    else if (a >= 1e-3) snprintf(b, n, "%s ms", fmt_num(x, sizeof x, v * 1e3));
    else if (a >= 1e-6) snprintf(b, n, "%s µs", fmt_num(x, sizeof x, v * 1e6));
    else snprintf(b, n, "%s ns", fmt_num(x, sizeof x, v * 1e9));
    return b;
}

static const char *fmt_counter(char *b, size_t n, const char *name, double v)
{
    char x[32];
    size_t len = strlen(name);
    if (!strncmp(name, "per_", 4)) return fmt_seconds(b, n, v);
    if (!strncmp(name, "busy_", 5)) { snprintf(b, n, "%.2f", v); return b; }
    if (len >= 11 && !strcmp(name + len - 11, "_per_second")) {
        double a = fabs(v);
        const char *si = a >= 1e9 ? "G" : a >= 1e6 ? "M" : a >= 1e3 ? "k" : "";
        double s = a >= 1e9 ? 1e9 : a >= 1e6 ? 1e6 : a >= 1e3 ? 1e3 : 1;
        snprintf(b, n, "%s%s/s", fmt_num(x, sizeof x, v / s), si);
        return b;
    }
    return fmt_num(b, n, v);
}

static const char *unit_text(const char *u) { return !strcmp(u, "us") ? "µs" : u; }

/* Markdown table cells: '|' escaped. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s, f);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The members of a benchmark object that are not counters. */
static int is_known(const char *k)
{
    static const char *const known[] = {
        "name", "family_index", "per_family_instance_index", "run_name", "run_type",
        "repetitions", "repetition_index", "threads", "aggregate_name", "aggregate_unit",
        "iterations", "real_time", "cpu_time", "time_unit", "error_occurred", "error_message",
        "label", NULL};
    for (int i = 0; known[i]; i++)
        if (!strcmp(known[i], k)) return 1;
    return 0;
}

typedef struct Run {
    char name[200], unit[8], label[200], err[300];
    int has_err, reps, nit;
    double agg_median, agg_stddev, agg_cv;
    int has_median, has_stddev;
    double it[MAX_VALS];
    int ncnt;
    char cname[MAX_COUNTERS][48];
    double cmed[MAX_COUNTERS];              /* the median row's */
    int has_cmed[MAX_COUNTERS];
    double cval[MAX_COUNTERS][MAX_VALS];    /* per repetition */
    int cn[MAX_COUNTERS];
} Run;

static int counter_slot(Run *r, const char *name)
{
    for (int i = 0; i < r->ncnt; i++)
        if (!strcmp(r->cname[i], name)) return i;
    if (r->ncnt == MAX_COUNTERS) return -1;
    snprintf(r->cname[r->ncnt], sizeof r->cname[0], "%s", name);
    return r->ncnt++;
}

/* The benchmarks of Google Benchmark's JSON, grouped by run name. */
static int read_runs(Rj *r, json_t *root, Run *runs, int *nruns)
{
    json_t *bench = rj_array(r, root, "benchmarks");
    *nruns = 0;
    if (!r->bad && json_array_size(bench) == 0)
        return rj_fail(r, "field 'benchmarks' is empty (no benchmark ran or matched)");
    for (size_t i = 0; !r->bad && i < json_array_size(bench); i++) {
        json_t *b = rj_row(r, bench, "benchmarks", i);
        const char *rn = rj_has(b, "run_name") ? rj_str(r, b, "run_name") : rj_str(r, b, "name");
        if (r->bad) break;
        char name[200];
        snprintf(name, sizeof name, "%s", rn);
        size_t ln = strlen(name);
        if (ln > 10 && !strcmp(name + ln - 10, "/real_time")) name[ln - 10] = '\0';
        Run *run = NULL;
        for (int k = 0; k < *nruns; k++)
            if (!strcmp(runs[k].name, name)) run = &runs[k];
        if (!run) {
            if (*nruns == MAX_RUNS) return rj_fail(r, "more than %d benchmarks", MAX_RUNS);
            run = &runs[(*nruns)++];
            memset(run, 0, sizeof *run);
            snprintf(run->name, sizeof run->name, "%s", name);
        }
        if (rj_has(b, "error_occurred") && rj_bool(r, b, "error_occurred")) {
            run->has_err = 1;
            snprintf(run->err, sizeof run->err, "%s", rj_str_opt(r, b, "error_message", "error"));
            continue;
        }
        snprintf(run->unit, sizeof run->unit, "%s", rj_str(r, b, "time_unit"));
        const char *label = rj_str_opt(r, b, "label", "");
        if (label[0]) snprintf(run->label, sizeof run->label, "%s", label);
        const char *type = rj_str(r, b, "run_type");
        double t = rj_num(r, b, "real_time");
        if (r->bad) break;
        int aggregate = !strcmp(type, "aggregate");
        if (!aggregate && strcmp(type, "iteration"))
            return rj_fail(r, "field 'run_type' is '%s', expected iteration or aggregate", type);
        const char *agg = aggregate ? rj_str(r, b, "aggregate_name") : "";
        if (aggregate) {
            run->reps = (int)rj_int(r, b, "repetitions");
            if (!strcmp(agg, "median")) { run->agg_median = t; run->has_median = 1; }
            else if (!strcmp(agg, "stddev")) { run->agg_stddev = t; run->has_stddev = 1; }
            else if (!strcmp(agg, "cv")) run->agg_cv = t;
            if (strcmp(agg, "median")) continue; /* counters: the median row's */
        } else if (run->nit < MAX_VALS) {
            run->it[run->nit++] = t;
        }
        const char *key;
        json_t *v;
        json_object_foreach(b, key, v) {
            if (is_known(key)) continue;
            if (!json_is_number(v)) return rj_fail(r, "counter '%s' is not a number", key);
            int s = counter_slot(run, key);
            if (s < 0) continue;
            if (aggregate) { run->cmed[s] = json_number_value(v); run->has_cmed[s] = 1; }
            else if (run->cn[s] < MAX_VALS) run->cval[s][run->cn[s]++] = json_number_value(v);
        }
    }
    return r->bad ? -1 : 0;
}

static void table_row(FILE *f, Run *run)
{
    char a[64], b[64];
    const char *u = unit_text(run->unit);
    fputs("| ", f);
    md_cell(f, run->name);
    if (run->has_err) {
        fputs(" | **error**: ", f);
        md_cell(f, run->err);
        fputs(" | | | | |\n", f);
        return;
    }
    char med[64] = "–", sd[96] = "–", mm[96] = "–", n[16] = "–";
    if (run->has_median) {
        snprintf(med, sizeof med, "%s %s", fmt_num(a, sizeof a, run->agg_median), u);
        if (run->has_stddev)
            snprintf(sd, sizeof sd, "%s %s (%.1f%%)", fmt_num(a, sizeof a, run->agg_stddev), u,
                     100 * run->agg_cv);
        snprintf(n, sizeof n, "%d", run->reps);
    }
    if (run->nit > 0) {
        int m = run->nit;
        double v[MAX_VALS], lo = run->it[0], hi = run->it[0], s = 0;
        for (int j = 0; j < m; j++) {
            v[j] = run->it[j];
            s += v[j];
            if (v[j] < lo) lo = v[j];
            if (v[j] > hi) hi = v[j];
        }
        if (!run->has_median) {
            double mean = s / m, ss = 0;
            for (int j = 0; j < m; j++) ss += (v[j] - mean) * (v[j] - mean);
            snprintf(med, sizeof med, "%s %s", fmt_num(a, sizeof a, median_of(v, m)), u);
            if (m > 1) {
                double sdev = sqrt(ss / (m - 1));
                snprintf(sd, sizeof sd, "%s %s (%.1f%%)", fmt_num(a, sizeof a, sdev), u,
                         mean ? 100 * sdev / mean : 0);
            }
            snprintf(n, sizeof n, "%d", m);
        }
        if (m > 1)
            snprintf(mm, sizeof mm, "%s–%s %s", fmt_num(a, sizeof a, lo), fmt_num(b, sizeof b, hi),
                     u);
    }
    fprintf(f, " | %s | %s | %s | %s | ", med, sd, mm, n);
    for (int j = 0; j < run->ncnt; j++) {
        double x = run->has_cmed[j] ? run->cmed[j] : median_of(run->cval[j], run->cn[j]);
        fprintf(f, "%s%s %s", j ? ", " : "", run->cname[j], fmt_counter(a, sizeof a, run->cname[j], x));
    }
    if (run->label[0]) {
        fputs(run->ncnt ? ", " : "", f);
        md_cell(f, run->label);
    }
    fputs(" |\n", f);
}

static const char *ctx_str(json_t *ctx, const char *key)
{
    json_t *v = json_object_get(ctx, key);
    return json_is_string(v) ? json_string_value(v) : "?";
}

/* Google Benchmark's context: one sentence, then our hg_* lines. */
static void context_lines(FILE *f, json_t *ctx)
{
    static const char *const told[] = {"date", "host_name", "executable", "num_cpus",
                                       "mhz_per_cpu", "cpu_scaling_enabled", "load_avg",
                                       "library_build_type", NULL};
    json_t *la = json_object_get(ctx, "load_avg");
    fprintf(f, "Google Benchmark run of %s, %s on %s (%lld CPUs at %lld MHz, CPU scaling %s, "
               "load average", ctx_str(ctx, "executable"), ctx_str(ctx, "date"),
            ctx_str(ctx, "host_name"), json_integer_value(json_object_get(ctx, "num_cpus")),
            json_integer_value(json_object_get(ctx, "mhz_per_cpu")),
            json_is_true(json_object_get(ctx, "cpu_scaling_enabled")) ? "on" : "off");
    for (size_t i = 0; i < json_array_size(la); i++)
        fprintf(f, " %.2f", json_number_value(json_array_get(la, i)));
    fprintf(f, "); library build: %s.\n\n", ctx_str(ctx, "library_build_type"));
    const char *key;
    json_t *v;
    int any = 0;
    json_object_foreach(ctx, key, v) {
        int skip = json_is_array(v) || json_is_object(v);
        for (int i = 0; told[i] && !skip; i++) skip = !strcmp(told[i], key);
        if (skip) continue;
        fprintf(f, "- %s: ", key);
        if (json_is_string(v)) md_cell(f, json_string_value(v));
        else if (json_is_number(v)) fprintf(f, "%g", json_number_value(v));
        else fputs(json_is_true(v) ? "true" : "false", f);
        fputc('\n', f);
        any = 1;
    }
    if (any) fputc('\n', f);
}

typedef struct Prec {
    const char *tag, *title;
    int present;          /* the envelope exists */
    Rj env_r;
    RjEnvelope env;
    json_t *root;
} Prec;

/* The headline: LeNet's block HVP at its largest k against one HVP. */
static void headline(ReportCtx *c, const Run *runs, int nruns, const char *prec)
{
    const Run *hvp = NULL, *block = NULL;
    int kmax = 0;
    for (int i = 0; i < nruns; i++) {
        if (runs[i].has_err || !runs[i].has_median) continue;
        if (!strcmp(runs[i].name, "hvp/lenet")) hvp = &runs[i];
        int k;
        if (sscanf(runs[i].name, "hvp_block/lenet/k:%d", &k) == 1 && k > kmax) {
            kmax = k;
            block = &runs[i];
        }
    }
    if (!hvp || !block || strcmp(hvp->unit, block->unit)) return;
    /* in seconds, printed in a unit that suits them */
    double unit = !strcmp(block->unit, "ns") ? 1e-9 : !strcmp(block->unit, "us") ? 1e-6
                : !strcmp(block->unit, "ms") ? 1e-3 : 1;
    double per = block->agg_median / kmax * unit, one = hvp->agg_median * unit;
    char a[32], b[32];
    report_headline(c, ANCHOR,
                    "Block HVP on LeNet (%s): %d tangents at once cost %s per tangent against "
                    "%s for one HVP, %.2fx less (Google Benchmark medians).",
                    prec, kmax, fmt_seconds(a, sizeof a, per), fmt_seconds(b, sizeof b, one),
                    one / per);
}

static int render(ReportCtx *c)
{
    Prec ps[2] = {{.tag = "f32", .title = "float32"}, {.tag = "f64", .title = "float64"}};
    char path[4096];
    const Prec *first = NULL;
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "micro-%s.json", ps[i].tag);
        report_path(c, name, path, sizeof path);
        if (!rj_exists(path)) continue;
        ps[i].present = 1;
        ps[i].root = rj_load(&ps[i].env_r, path);
        rj_envelope(&ps[i].env_r, ps[i].root, &ps[i].env);
        Rj *r = &ps[i].env_r;
        rj_str(r, ps[i].root, "gbench_results");
        rj_str(r, ps[i].root, "gbench_flags");
        rj_str(r, ps[i].root, "gbench_version");
        json_t *s = rj_object(r, ps[i].root, "settings");
        rj_at(r, "settings");
        rj_int(r, s, "batch");
        rj_array(r, s, "ks");
        rj_int(r, s, "info_p");
        rj_num(r, s, "info_m");
        rj_int(r, s, "engine_steps");
        rj_int(r, s, "engine_val");
        rj_at(r, "%s", "");
        if (r->bad) {
            c->err = r->err;
            for (int k = 0; k <= i; k++) rj_close(&ps[k].env_r);
            return -1;
        }
        if (!first) first = &ps[i];
    }
    FILE *f = c->md;
    fprintf(f, "## " ANCHOR "\n\n");
    if (!first) {
        fprintf(f, "**failed**: no results (neither micro-f32.json nor micro-f64.json in %s; "
                   "see its log).\n\n", c->results);
        return 0;
    }
    report_ran_by(c, &first->env);
    json_t *root = first->root, *s = json_object_get(root, "settings"), *ks = json_object_get(s, "ks");
    fprintf(f, "Google Benchmark %s called from C through\n`bench/gbench_shim.h`: loss+gradient, "
               "HVP and block HVP (k = ", json_string_value(json_object_get(root, "gbench_version")));
    for (size_t i = 0; i < json_array_size(ks); i++)
        fprintf(f, "%s%lld", i ? ", " : "", json_integer_value(json_array_get(ks, i)));
    fprintf(f, ") per model on\nFashion-MNIST batches of %lld; the information buffer's exact "
               "multiply and divide (one\nstream, one thread, P = %lld, m = %g); one engine run of "
               "T = %lld LeNet steps (validation\nset of %lld, its final gradient included; "
               "`per_step` = time / T). Real time, %ld thread%s,\n%s.\n\n",
            json_integer_value(json_object_get(s, "batch")),
            json_integer_value(json_object_get(s, "info_p")),
            json_number_value(json_object_get(s, "info_m")),
            json_integer_value(json_object_get(s, "engine_steps")),
            json_integer_value(json_object_get(s, "engine_val")), first->env.threads,
            first->env.threads == 1 ? "" : "s",
            json_string_value(json_object_get(root, "gbench_flags")));

    int rc = 0;
    Run *runs = calloc(MAX_RUNS, sizeof *runs);
    HG_CHECK(runs, "calloc");
    for (int i = 0; i < 2 && !rc; i++) {
        Prec *p = &ps[i];
        fprintf(f, "### %s\n\n", p->title);
        if (!p->present) {
            fprintf(f, "**failed**: no results (micro-%s.json is missing; see the section's "
                       "log).\n\n", p->tag);
            continue;
        }
        report_path(c, json_string_value(json_object_get(p->root, "gbench_results")), path,
                    sizeof path);
        if (!rj_exists(path)) {
            fprintf(f, "**failed**: no results (%s is missing; hgbench-micro exited %lld).\n\n",
                    path, json_integer_value(json_object_get(p->root, "exit")));
            continue;
        }
        Rj g;
        json_t *groot = rj_load_lenient(&g, path); /* its aggregates print NaN */
        json_t *ctx = rj_object(&g, groot, "context");
        int nruns = 0;
        if (!g.bad) read_runs(&g, groot, runs, &nruns);
        if (g.bad) {
            c->err = g.err;
            rj_close(&g);
            rc = -1;
            break;
        }
        context_lines(f, ctx);
        static const char *const head[] = {"benchmark", "median", "stddev", "min–max", "reps",
                                           "counters"};
        md_table_head(f, "lrrrrl", head);
        for (int k = 0; k < nruns; k++) table_row(f, &runs[k]);
        fputc('\n', f);
        md_provenance(f, &p->env);
        md_reproduce(f, &p->env);
        fputc('\n', f);
        if (p == first) headline(c, runs, nruns, p->title);
        rj_close(&g);
    }
    free(runs);
    for (int i = 0; i < 2; i++)
        if (ps[i].present) rj_close(&ps[i].env_r);
    return rc;
}

const ReportSection REPORT_MICRO = {"micro", render};
