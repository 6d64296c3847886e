/* test_report_conditioning.c — the conditioning renderer
 * (bench/report_conditioning.c) on fixture JSON:
 * tests/fixtures/report/conditioning/conditioning.json, hgbench-runs'
 * collection of a real QUICK run (T = 10 and 30, seeds 0 and 1, the sr32
 * and w0-move references; machine records trimmed, one run made a
 * failure), and legacy/conditioning.json, a run from before the seeds (one
 * seed, no sr32). Checks: every cell is the median and range over seeds
 * that this test computes from the runs' hypergradients through
 * common/stats.h; the per-seed criterion and its distribution; a failed
 * run's cell; the headline; a field removed or of the wrong type named
 * with its file; the legacy file rendered as one seed; the same bytes twice. */
#define _GNU_SOURCE /* open_memstream */
#include <math.h>

#include "../common/stats.h"
#include "report_fixture.h"
#include "test.h"

static char *render(const char *results, int *rc, ReportCtx *c)
{
    return render_section("conditioning", results, rc, c);
}

/* The run named name in the fixture: its "run" object, NULL if absent or failed. */
static json_t *run_named(json_t *root, const char *name)
{
    json_t *rows = json_object_get(root, "rows");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i);
        if (!strcmp(json_string_value(json_object_get(r, "name")), name))
            return strcmp(json_string_value(json_object_get(r, "status")), "ok")
                       ? NULL : json_object_get(r, "run");
    }
    return NULL;
}

/* |g - ref| / |ref| of the two runs' hypergrad.lr (same windows); -1: a run
 * missing or failed. */
static double gap(json_t *root, const char *ref_name, const char *g_name)
{
    json_t *ref = run_named(root, ref_name), *g = run_named(root, g_name);
    if (!ref || !g) return -1;
    json_t *a = json_object_get(json_object_get(ref, "hypergrad"), "lr");
    json_t *b = json_object_get(json_object_get(g, "hypergrad"), "lr");
    double d2 = 0, r2 = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const double x = json_number_value(json_array_get(a, i));
        const double y = json_number_value(json_array_get(b, i));
        d2 += (y - x) * (y - x);
        r2 += x * x;
    }
    return sqrt(d2) / sqrt(r2);
}

/* "median (lo – hi)" over the seeds' gaps of one column, as the report
 * formats it; "**failed**..." when no seed has it; " [k of n]" when some
 * failed. */
static void cell_text(char *buf, size_t n, const double *g, int ns)
{
    double x[16];
    int k = 0;
    for (int s = 0; s < ns; s++) if (g[s] >= 0) x[k++] = g[s];
    if (!k) { snprintf(buf, n, "**failed"); return; }
    double lo = x[0], hi = x[0];
    for (int i = 1; i < k; i++) lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
    int len = snprintf(buf, n, "%.3g (%.3g – %.3g)", stats_median(x, k), lo, hi);
    if (k < ns) snprintf(buf + len, n - (size_t)len, " [%d of %d]", k, ns);
}

static void test_cells_are_medians_over_seeds(void)
{
    files_setup("report-conditioning");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    const char *dir = fixture_dir("conditioning");
    char *md = render(dir, &rc, c);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    json_t *root = fixture_load(dir, "conditioning.json");
    json_t *params = json_object_get(root, "params");
    EXPECT(!strcmp(json_string_value(json_object_get(params, "seeds")), "0 1") &&
               !strcmp(json_string_value(json_object_get(params, "horizons")), "10,30"),
           "the fixture: seeds 0 1, T = 10, 30");
    static const char *const models[] = {"lenet", "mlp"}, *const engines[] = {"bptt", "forward",
                                                                              "reversible"};
    static const long Ts[] = {10, 30};
    enum { NS = 2 };
    int failed_cells = 0;
    for (int m = 0; m < 2; m++)
        for (int t = 0; t < 2; t++) {
            char row[1024], cell[160], ref[128], g[128];
            int len = snprintf(row, sizeof row, "| %ld |", Ts[t]);
            double x[NS];
            for (int e = 0; e < 5; e++) {
                for (int s = 0; s < NS; s++) {
                    snprintf(ref, sizeof ref, "%s-T%ld-s%d-%s-f64", models[m], Ts[t], s,
                             e < 3 ? engines[e] : "bptt");
                    if (e < 3) snprintf(g, sizeof g, "%s-T%ld-s%d-%s-f32", models[m], Ts[t], s, engines[e]);
                    else snprintf(g, sizeof g, "%s-T%ld-s%d-bptt-f64-%s", models[m], Ts[t], s,
                                  e == 3 ? "sr32" : "perturbed");
                    x[s] = gap(root, ref, g);
                    failed_cells += x[s] < 0;
                }
                cell_text(cell, sizeof cell, x, NS);
                len += snprintf(row + len, sizeof row - (size_t)len, " %s%s", cell,
                                strncmp(cell, "**", 2) ? " |" : "");
                if (!strncmp(cell, "**", 2)) { /* the failure's own words follow: match up to it */
                    EXPECT(strstr(md, row) != NULL, "%s T = %ld up to its failed cell: %s",
                           models[m], Ts[t], row);
                    len = 0;
                    row[0] = '\0';
                    break;
                }
            }
            if (len) {
                snprintf(row + len, sizeof row - (size_t)len, "\n");
                EXPECT(strstr(md, row) != NULL, "%s T = %ld row: %s", models[m], Ts[t], row);
            }
        }
    EXPECT(failed_cells >= 1, "the fixture has a failed run");
    EXPECT(strstr(md, "Machine: ") && strstr(md, "Every cell is the median over the seeds"),
           "provenance and the reading");
    EXPECT(strstr(md, "Reproduce the section: `QUICK=1 HORIZONS=10,30 SEEDS=2 "), "the command");
    EXPECT(c->nheads == 1 && strstr(c->heads[0].text, "By bptt over 2 seeds"),
           "headline: %s", c->nheads ? c->heads[0].text : "(none)");

    ReportCtx *c2 = calloc(1, sizeof *c2);
    char *again = render(dir, &rc, c2);
    EXPECT(again && !strcmp(md, again), "rendering twice gives the same bytes");
    free(again);
    free(c2);
    json_decref(root);
    free(md);
    free(c);
}

/* The criterion per seed, as this test computes it from the same gaps: the
 * smallest T from which on the gap exceeds max_gap at every T; the
 * verdict's counts and the median T. */
static void test_criterion_over_seeds(void)
{
    files_setup("report-conditioning");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    const char *dir = fixture_dir("conditioning");
    char *md = render(dir, &rc, c);
    json_t *root = fixture_load(dir, "conditioning.json");
    const double max_gap = json_number_value(json_object_get(json_object_get(root, "params"), "max_gap"));
    static const char *const models[] = {"lenet", "mlp"}, *const engines[] = {"bptt", "forward",
                                                                              "reversible"};
    static const long Ts[] = {10, 30};
    for (int m = 0; m < 2; m++)
        for (int e = 0; e < 3; e++) {
            int count[2] = {0, 0}, never = 0;
            for (int s = 0; s < 2; s++) {
                int from = -1;
                for (int t = 1; t >= 0; t--) {
                    char ref[128], g[128];
                    snprintf(ref, sizeof ref, "%s-T%ld-s%d-%s-f64", models[m], Ts[t], s, engines[e]);
                    snprintf(g, sizeof g, "%s-T%ld-s%d-%s-f32", models[m], Ts[t], s, engines[e]);
                    const double x = gap(root, ref, g);
                    if (x >= 0 && x > max_gap) from = t;
                    else break;
                }
                if (from < 0) never++;
                else count[from]++;
            }
            const int median = 2 * count[0] >= 2 ? 0 : 2 * (count[0] + count[1]) >= 2 ? 1 : 2;
            char want[256];
            if (median < 2)
                snprintf(want, sizeof want, "- **%s**, %s: float32 hypergradients are not to be "
                         "trusted from T = %ld on (median over the 2 seeds); seeds", models[m],
                         engines[e], Ts[median]);
            else
                snprintf(want, sizeof want, "- **%s**, %s: float32 stays within %g of float64 up "
                         "to T = 30 for most seeds; seeds", models[m], engines[e], max_gap);
            EXPECT(strstr(md, want) != NULL, "verdict: %s", want);
            char counts[256];
            int len = 0;
            for (int t = 0; t < 2; t++)
                if (count[t])
                    len += snprintf(counts + len, sizeof counts - (size_t)len, "%s untrusted from T = %ld: %d",
                                    len ? "," : "", Ts[t], count[t]);
            if (never)
                snprintf(counts + len, sizeof counts - (size_t)len, "%s trusted up to T = 30: %d",
                         len ? "," : "", never);
            char *at = strstr(md, want);
            EXPECT(at && !strncmp(at + strlen(want), counts, strlen(counts)),
                   "%s %s: the seeds' counts '%s'", models[m], engines[e], counts);
        }
    json_decref(root);
    free(md);
    free(c);
}

static void test_legacy_file_is_one_seed(void)
{
    files_setup("report-conditioning");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/legacy", fixture_dir("conditioning"));
    char *md = render(dir, &rc, c);
    EXPECT(rc == 0 && strstr(md, "**One seed**") &&
               strstr(md, "| 30 | 0.137 (0.137 – 0.137) | 0.137 (0.137 – 0.137) |"),
           "the legacy file (one seed, its T = 30 gaps of 0.1366) renders: %s", c->err.msg);
    free(md);
    free(c);
}

static const char *mutated(const char *name, void (*change)(json_t *root))
{
    return mutated_fixture("conditioning", "conditioning.json", name, change);
}

static json_t *run_of(json_t *root, size_t i)
{
    return json_object_get(fixture_row(root, i), "run");
}
static void drop_hypergrad(json_t *root)
{
    json_object_del(run_of(root, 1), "hypergrad");
}
static void hypergrad_a_string(json_t *root)
{
    json_object_set_new(run_of(root, 2), "hypergrad", json_string("big"));
}
static void drop_max_gap(json_t *root)
{
    json_object_del(json_object_get(root, "params"), "max_gap");
}

static void test_bad_fields_named(void)
{
    files_setup("report-conditioning");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    const char *dir = mutated("no-hypergrad", drop_hypergrad);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, dir) && strstr(c->err.msg, "conditioning.json") &&
               strstr(c->err.msg, "rows[1].run (lenet-T10-s0-bptt-f32)") &&
               strstr(c->err.msg, "'hypergrad' is missing"),
           "missing field: %s", c->err.msg);
    dir = mutated("hypergrad-string", hypergrad_a_string);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, "conditioning.json") &&
               strstr(c->err.msg, "rows[2].run (lenet-T10-s0-forward-f64)") &&
               strstr(c->err.msg, "field 'hypergrad' is a string, expected an object"),
           "wrong type: %s", c->err.msg);
    dir = mutated("no-max-gap", drop_max_gap);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, "params: field 'max_gap' is missing"),
           "missing param: %s", c->err.msg);
    free(c);
}

static void test_absent_results(void)
{
    files_setup("report-conditioning");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render(files_tmp("nothing-here"), &rc, c);
    EXPECT(rc == 0 && strstr(md, "**failed**: no results (`conditioning.json`"),
           "no results file: said (rc %d)", rc);
    free(md);
    free(c);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_cells_are_medians_over_seeds),
                              TEST(test_criterion_over_seeds), TEST(test_legacy_file_is_one_seed),
                              TEST(test_bad_fields_named), TEST(test_absent_results)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
