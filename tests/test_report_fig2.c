/* test_report_fig2.c — the fig2 renderer (bench/report_fig2.c) on fixture
 * JSON trimmed from a QUICK run of scripts/fig2.sh
 * (tests/fixtures/report/fig2/): its table cells are the JSON's numbers as
 * formatted, its headlines carry them, its 95% intervals are the bootstrap
 * over seeds that this test computes from the fixture's per-seed values
 * through common/stats.h (the MSE by its own formula here, the fit by
 * fig2_stats), a missing or mistyped field fails naming the file and the
 * field, and rendering twice gives the same bytes.
 * The expected numbers are read from the fixture here, never typed. */
#define _GNU_SOURCE /* open_memstream */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../bench/fig2_stats.h"
#include "../bench/report_md.h"
#include "../common/stats.h"
#include "report_fixture.h"
#include "test.h"


/* The fixture folder (files_setup first: the renders write to its
 * temporary folder). */
static const char *fixtures(void)
{
    files_setup("report-fig2");
    return fixture_dir("fig2");
}

typedef struct Out {
    int rc;
    char *md;
    ReportCtx c;
} Out;

static Out render(const char *results)
{
    Out o;
    memset(&o, 0, sizeof o);
    o.rc = render_into("fig2", results, &o.md, &o.c);
    return o;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void test_tables_are_the_json_numbers(void)
{
    const char *dir = fixtures();
    Out o = render(dir);
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    if (o.rc) { free(o.md); return; }
    json_t *f64 = fixture_load(dir, "fig2.json"), *f32 = fixture_load(dir, "fig2-f32.json");
    /* the MSE(W) table: each window's row, float64 and float32 side by side */
    json_t *rows = json_object_get(f64, "rows"), *rows32 = json_object_get(f32, "rows");
    EXPECT(json_array_size(rows) >= 2, "the fixture has windows");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i), *r32 = json_array_get(rows32, i);
        char line[512];
        snprintf(line, sizeof line, "| %lld | %.4g | ",
                 json_integer_value(json_object_get(r, "W")), num(r, "mse"));
        EXPECT(strstr(o.md, line) != NULL, "row %zu starts: %s", i, line);
        snprintf(line, sizeof line, "%% | %.4g | %.4g | %.4g | %.4g |\n", num(r32, "mse"),
                 num(r, "bound_fit"), num(r, "bound_est"), num(r, "bound_fit_c"));
        EXPECT(strstr(o.md, line) != NULL, "row %zu: %s", i, line);
    }
    /* the rounding table's float32 row and the decision it drives */
    json_t *rr = json_array_get(json_object_get(f64, "rounding"), 0);
    char line[512];
    snprintf(line, sizeof line, "| %s | %lld | %.3g | %.3g | %.3g | %.3g | %.4f | %.3g |\n",
             json_string_value(json_object_get(rr, "name")),
             json_integer_value(json_object_get(rr, "seeds")), num(rr, "mse_diff"),
             num(rr, "per_mse1"), num(rr, "rel_rms"), num(rr, "max_rel"), num(rr, "corr"),
             num(rr, "val_diff"));
    EXPECT(strstr(o.md, line) != NULL, "rounding row: %s", line);
    snprintf(line, sizeof line, "float32 differs from float64 by %.3g × MSE(1)", num(rr, "per_mse1"));
    EXPECT(strstr(o.md, line) != NULL, "decision: %s", line);
    /* the measured minimum, and the headline that states it */
    snprintf(line, sizeof line, "- measured minimum: MSE = %.6g at W = %lld", num(f64, "mse_best"),
             json_integer_value(json_object_get(f64, "w_best")));
    EXPECT(strstr(o.md, line) != NULL, "minimum: %s", line);
    EXPECT(o.c.nheads >= 1, "a headline");
    const long long wbest = json_integer_value(json_object_get(f64, "w_best"));
    if (wbest == 1)
        snprintf(line, sizeof line, "no sharing window beats W = 1, where the hypergradient MSE "
                 "is lowest (%.3g)", num(f64, "mse_best"));
    else
        snprintf(line, sizeof line, "W = %lld, %.3g against %.3g at W = 1", wbest,
                 num(f64, "mse_best"), num(f64, "mse1"));
    EXPECT(o.c.nheads >= 1 && strstr(o.c.heads[0].text, line), "headline '%s' has '%s'",
           o.c.nheads ? o.c.heads[0].text : "", line);
    /* provenance and the runs' commands, the scratch folder as $TMP */
    EXPECT(strstr(o.md, "Machine: ") && strstr(o.md, "commit "), "provenance");
    EXPECT(strstr(o.md, "    build/f32/hgbench-fig2 ") && strstr(o.md, "--seeds-out $TMP/f32 "),
           "the commands, the scratch folder as $TMP");
    EXPECT(strstr(o.md, "![MSE vs window](") && strstr(o.md, "/fig2-steps.png)"), "plots linked");
    char gp[4400];
    snprintf(gp, sizeof gp, "%s/fig2.gp", files_tmp_dir()); /* render_into's plots */
    char *script = files_slurp(gp, NULL);
    EXPECT(script && strstr(script, "DAT index 1 using 1:2"), "the plot draws the float32 curve");
    free(script);
    /* the same results render to the same bytes */
    Out again = render(dir);
    EXPECT(again.rc == 0 && !strcmp(o.md, again.md), "rendering twice gives the same bytes");
    free(again.md);
    json_decref(f64);
    json_decref(f32);
    free(o.md);
}

/* ------------------------------------------------------------ intervals */

/* The fixture's successful seeds' per-step rows [n][T], and its windows. */
typedef struct Seeds {
    int n, T, nwin;
    int W[MAX_WINDOWS];
    double *h;
} Seeds;

static Seeds seeds_load(json_t *f64)
{
    Seeds s = {0};
    s.T = (int)json_integer_value(json_object_get(json_object_get(f64, "settings"), "steps"));
    json_t *w = json_object_get(f64, "windows");
    s.nwin = (int)json_array_size(w);
    for (int i = 0; i < s.nwin && i < MAX_WINDOWS; i++)
        s.W[i] = (int)json_integer_value(json_array_get(w, i));
    json_t *ng = json_object_get(json_object_get(f64, "per_seed"), "nongreedy");
    s.h = calloc(json_array_size(ng) * s.T + 1, sizeof *s.h);
    for (size_t k = 0; k < json_array_size(ng); k++) {
        json_t *row = json_array_get(ng, k);
        if (!json_is_array(row)) continue;
        for (int t = 0; t < s.T; t++)
            s.h[(long)s.n * s.T + t] = json_number_value(json_array_get(row, t));
        s.n++;
    }
    return s;
}

/* MSE(W) of the rows idx[0..n) against their own mean, written out here
 * from fig2_stats.h's definition (not its code). */
static double mse_of(const Seeds *s, const double *idx, int n, int W)
{
    double sum = 0;
    for (int t0 = 0; t0 < s->T; t0 += W) {
        const int t1 = t0 + W < s->T ? t0 + W : s->T;
        for (int i = 0; i < n; i++) {
            const double *h = s->h + (long)idx[i] * s->T;
            double avg = 0;
            for (int t = t0; t < t1; t++) avg += h[t];
            avg /= t1 - t0;
            for (int t = t0; t < t1; t++) {
                double truth = 0;
                for (int j = 0; j < n; j++) truth += s->h[(long)idx[j] * s->T + t];
                truth /= n;
                sum += (avg - truth) * (avg - truth);
            }
        }
    }
    return sum / ((double)n * s->T);
}

typedef struct Ask {
    const Seeds *s;
    int win;       /* >= 0: MSE at window win; -1: the best window's index; -2: sigma^2; -3: eps^2 */
    long calls;
    double share[MAX_WINDOWS];
} Ask;

static double statistic(const double *idx, int n, void *vctx)
{
    Ask *a = vctx;
    if (a->win >= 0) return mse_of(a->s, idx, n, a->s->W[a->win]);
    if (a->win == -1) {
        int best = 0;
        double m0 = INFINITY;
        for (int i = 0; i < a->s->nwin; i++) {
            const double m = mse_of(a->s, idx, n, a->s->W[i]);
            if (m < m0) { m0 = m; best = i; }
        }
        if (a->calls++ > 0) a->share[best] += 1;
        return best;
    }
    /* the fit is fig2_stats's own: on the resampled rows */
    double *rows = calloc((size_t)n * a->s->T, sizeof *rows);
    int *ok = calloc((size_t)n, sizeof *ok);
    for (int i = 0; i < n; i++) {
        memcpy(rows + (long)i * a->s->T, a->s->h + (long)idx[i] * a->s->T, sizeof *rows * a->s->T);
        ok[i] = 1;
    }
    Fig2Setup o = {.S = n, .T = a->s->T, .nwin = a->s->nwin, .windows = a->s->W, .fit = FIT_REL};
    Fig2Stats st;
    fig2_stats(&o, rows, ok, rows, ok, &st);
    const double v = a->win == -2 ? st.sigma2_fit : st.eps2_fit;
    fig2_stats_free(&st);
    free(rows);
    free(ok);
    return v;
}

static void test_intervals_are_the_bootstrap(void)
{
    const char *dir = fixtures();
    Out o = render(dir);
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    if (o.rc) { free(o.md); return; }
    json_t *f64 = fixture_load(dir, "fig2.json");
    EXPECT(!strcmp(json_string_value(json_object_get(json_object_get(f64, "settings"), "fit")),
                   "rel"), "the fixture's fit is rel, as this test's");
    Seeds s = seeds_load(f64);
    EXPECT(s.n >= 2 && s.nwin >= 2, "the fixture has %d seeds and %d windows", s.n, s.nwin);
    double *idx = calloc((size_t)s.n + 1, sizeof *idx);
    for (int i = 0; i < s.n; i++) idx[i] = i;
    char line[512], a[48], b[48];
    Ask best = {.s = &s, .win = -1};
    const StatsInterval bi = stats_bootstrap(idx, s.n, statistic, &best, FIG2_BOOT_B, 0.95,
                                             FIG2_BOOT_SEED);
    double total = 0;
    for (int i = 0; i < s.nwin; i++) {
        Ask q = {.s = &s, .win = i};
        const StatsInterval iv = stats_bootstrap(idx, s.n, statistic, &q, FIG2_BOOT_B, 0.95,
                                                 FIG2_BOOT_SEED);
        EXPECT(iv.lo <= iv.mean && iv.mean <= iv.hi * (1 + 1e-12) && iv.lo < iv.hi,
               "W = %d: the interval %g .. %g holds MSE %g", s.W[i], iv.lo, iv.hi, iv.mean);
        snprintf(line, sizeof line, "| %d | %.4g | %s – %s | %.0f%% | ", s.W[i], iv.mean,
                 md_g(a, 48, 4, iv.lo), md_g(b, 48, 4, iv.hi), 100 * best.share[i] / FIG2_BOOT_B);
        EXPECT(strstr(o.md, line) != NULL, "W = %d row: %s", s.W[i], line);
        total += best.share[i];
    }
    EXPECT(total == FIG2_BOOT_B, "every resample chose one window: %g of %d", total, FIG2_BOOT_B);
    const double s2 = num(f64, "fit_sigma2"), e2 = num(f64, "fit_eps2");
    Ask qs = {.s = &s, .win = -2}, qe = {.s = &s, .win = -3};
    const StatsInterval is = stats_bootstrap(idx, s.n, statistic, &qs, FIG2_BOOT_B, 0.95, FIG2_BOOT_SEED);
    const StatsInterval ie = stats_bootstrap(idx, s.n, statistic, &qe, FIG2_BOOT_B, 0.95, FIG2_BOOT_SEED);
    EXPECT(fabs(is.mean - s2) <= 1e-9 * fabs(s2) && fabs(ie.mean - e2) <= 1e-9 * fabs(e2) + 1e-300,
           "the fit on all seeds is the JSON's: %g vs %g, %g vs %g", is.mean, s2, ie.mean, e2);
    char c[4][48];
    snprintf(line, sizeof line, "- fitted sigma^2 = %s (95%%: %s – %s), eps^2 = %s (95%%: %s – %s)",
             md_g(a, 48, 4, s2), md_g(b, 48, 4, is.lo), md_g(c[0], 48, 4, is.hi),
             md_g(c[1], 48, 4, e2), md_g(c[2], 48, 4, ie.lo), md_g(c[3], 48, 4, ie.hi));
    EXPECT(strstr(o.md, line) != NULL, "the fit's intervals: %s", line);
    const long wbest = json_integer_value(json_object_get(f64, "w_best"));
    EXPECT(s.W[(int)bi.mean] == wbest, "the best window on all seeds is the JSON's w_best");
    snprintf(line, sizeof line, "- best window W = %ld (95%%: W = %d – %d), the smallest MSE in "
             "%.0f%% of the resamples", wbest, s.W[(int)bi.lo], s.W[(int)bi.hi],
             100 * best.share[(int)bi.mean] / FIG2_BOOT_B);
    EXPECT(strstr(o.md, line) != NULL, "the best window's interval: %s", line);
    snprintf(line, sizeof line, "Over seeds (bootstrap, 95%%) the best window is W = %d – %d.",
             s.W[(int)bi.lo], s.W[(int)bi.hi]);
    EXPECT(o.c.nheads >= 1 && strstr(o.c.heads[0].text, line), "the headline has '%s'", line);
    char gp[4400];
    snprintf(gp, sizeof gp, "%s/fig2.gp", files_tmp_dir());
    char *script = files_slurp(gp, NULL);
    EXPECT(script && strstr(script, "DAT index 0 using 1:2:6:7 with yerrorbars"),
           "the plot draws the intervals as error bars");
    free(script);
    free(idx);
    free(s.h);
    json_decref(f64);
    free(o.md);
}

/* The fixture copied to a scratch folder with fig2.json changed by edit. */
static const char *broken(const char *name, void (*edit)(json_t *))
{
    fixtures();
    return fixture_copy("fig2", name, (FixtureEdit){.target = "fig2.json", .edit = edit});
}

static void drop_mse_best(json_t *j)
{
    json_object_del(j, "mse_best");
}

static void mistype_row(json_t *j)
{
    json_object_set_new(json_array_get(json_object_get(j, "rows"), 1), "mse",
                        json_string("small"));
}

static void drop_per_seed(json_t *j)
{
    json_object_del(j, "per_seed");
}

static void shorten_seed_row(json_t *j)
{
    json_t *row = json_array_get(json_object_get(json_object_get(j, "per_seed"), "nongreedy"), 1);
    json_array_remove(row, 0);
}

static void test_bad_fields_are_named(void)
{
    const char *dir = broken("missing", drop_mse_best);
    Out o = render(dir);
    EXPECT(o.rc == -1, "a missing field fails");
    EXPECT(strstr(o.c.err.msg, "fig2.json") && strstr(o.c.err.msg, "'mse_best' is missing"),
           "names the file and field: %s", o.c.err.msg);
    free(o.md);

    dir = broken("mistyped", mistype_row);
    o = render(dir);
    EXPECT(o.rc == -1, "a field of the wrong type fails");
    EXPECT(strstr(o.c.err.msg, "fig2.json") && strstr(o.c.err.msg, "rows[1]") &&
               strstr(o.c.err.msg, "'mse'"),
           "names the file, row and field: %s", o.c.err.msg);
    free(o.md);

    dir = broken("no-per-seed", drop_per_seed);
    o = render(dir);
    EXPECT(o.rc == -1 && strstr(o.c.err.msg, "fig2.json") && strstr(o.c.err.msg, "'per_seed' is missing"),
           "the intervals need every seed's values: %s", o.c.err.msg);
    free(o.md);

    dir = broken("short-row", shorten_seed_row);
    o = render(dir);
    EXPECT(o.rc == -1 && strstr(o.c.err.msg, "fig2.json") &&
               strstr(o.c.err.msg, "per_seed.nongreedy[1]"),
           "a seed's row of the wrong length is named: %s", o.c.err.msg);
    free(o.md);
}

static void test_no_results_says_so(void)
{
    files_setup("report-fig2");
    char *dir = files_tmp("empty");
    mkdir(dir, 0777);
    Out o = render(dir);
    EXPECT(o.rc == 0 && strstr(o.md, "**failed**: no results"), "no results: %s", o.md);
    free(o.md);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_tables_are_the_json_numbers),
                              TEST(test_intervals_are_the_bootstrap),
                              TEST(test_bad_fields_are_named), TEST(test_no_results_says_so)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
