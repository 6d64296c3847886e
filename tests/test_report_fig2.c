/* test_report_fig2.c — the fig2 renderer (bench/report_fig2.c) on fixture
 * JSON trimmed from a QUICK run of scripts/fig2.sh
 * (tests/fixtures/report/fig2/): its table cells are the JSON's numbers as
 * formatted, its headlines carry them, a missing or mistyped field fails
 * naming the file and the field, and rendering twice gives the same bytes.
 * The expected numbers are read from the fixture here, never typed. */
#define _GNU_SOURCE /* open_memstream */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
        snprintf(line, sizeof line, "| %lld | %.4g | %.4g | %.4g | %.4g | %.4g |\n",
                 json_integer_value(json_object_get(r, "W")), num(r, "mse"), num(r32, "mse"),
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
                              TEST(test_bad_fields_are_named), TEST(test_no_results_says_so)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
