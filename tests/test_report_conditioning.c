/* test_report_conditioning.c — the conditioning renderer
 * (bench/report_conditioning.c) on fixture JSON: tests/fixtures/report/
 * conditioning/conditioning.json, hgbench-runs' collection of a real run's
 * T = 10 and 30 rows (per_step and machine records trimmed, one run made a
 * failure). Its cells are the numbers the old awk pipeline printed for the
 * same runs (bench/results/conditioning.md of commit 9d52efe). Checks: the
 * gaps, cosines and losses as formatted, a failed run's cell, the verdicts,
 * the headline, a field removed or of the wrong type named with its file,
 * and the same bytes twice. */
#define _GNU_SOURCE /* open_memstream */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bench/report.h"
#include "support_files.h"
#include "test.h"

/* The fixtures' folder: from the repository root (make test runs there), or
 * found from the test binary (build/<config>/tests/x). */
static const char *fixture_dir(const char *section)
{
    static char dir[sizeof files_bin_dir + 128];
    snprintf(dir, sizeof dir, "tests/fixtures/report/%s", section);
    if (access(dir, R_OK) == 0) return dir;
    snprintf(dir, sizeof dir, "%s/../../tests/fixtures/report/%s", files_bin_dir, section);
    return dir;
}

/* Renders the section from results into a new string (free it); rc its result. */
static char *render(const char *results, int *rc, ReportCtx *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ReportOptions o = {.results = results, .plots = files_tmp_dir(), .out = "-"};
    memset(c, 0, sizeof *c);
    *rc = report_section(&o, "conditioning", f, c);
    fclose(f);
    return text;
}

static void test_cells_and_verdicts(void)
{
    files_setup("report-conditioning");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render(fixture_dir("conditioning"), &rc, c);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    EXPECT(strstr(md, "| 10 | 3.959e-07 | 4.524e-07 | 2.803e-07 | 1.469e-07 | 1 | 2.0561 / 2.0561 |"),
           "lenet T = 10 row:\n%s", md);
    EXPECT(strstr(md, "| 30 | 0.1366 | 0.1366 | 0.1366 | 1.155e-05 | 0.999812 | 0.83792 / 0.83807 |"),
           "lenet T = 30 row");
    EXPECT(strstr(md, "| 30 | 8.881e-07 | **failed** | 1.031e-06 | 2.516e-07 | 1 | 0.58608 / 0.58608 |"),
           "mlp T = 30 row, its forward run failed");
    EXPECT(strstr(md, "bptt float32 hypergradients are not to be trusted from T = 30 on (gap 0.14; "
                      "w0 moved by 1e-07 moves float64 by 1.2e-05, so the gap is float32's own "
                      "rounding through the run)"), "lenet verdict");
    EXPECT(strstr(md, "forward float32 stayed within 0.1 of float64 up to T = 30 (its run there "
                      "failed)"), "mlp forward verdict");
    EXPECT(strstr(md, "Machine: Intel(R) Xeon(R) Processor (2 cores, 2 PUs); commit 9d52efe; 1 thread"),
           "provenance");
    EXPECT(strstr(md, "Reproduce the section: `HORIZONS=10,30 PERTURB=1e-7 MAX_GAP=0.1 THREADS=1 "
                      "bash scripts/bench-conditioning.sh`"), "reproduce command from the envelope");
    EXPECT(c->nheads == 1 && strstr(c->heads[0].text, "lenet's from T = 30 (gap 0.14)") &&
               strstr(c->heads[0].text, "mlp's at no T measured (gap 8.9e-07 at T = 30)"),
           "headline: %s", c->nheads ? c->heads[0].text : "(none)");
    EXPECT(!strcmp(c->commit, "9d52efe") && c->threads == 1, "ran by %s", c->commit);

    ReportCtx *c2 = calloc(1, sizeof *c2);
    char *again = render(fixture_dir("conditioning"), &rc, c2);
    EXPECT(again && !strcmp(md, again), "rendering twice gives the same bytes");
    free(again);
    free(c2);
    free(md);
    free(c);
}

/* The fixture with one change, as <tmp>/<name>/conditioning.json. */
static const char *mutated(const char *name, void (*change)(json_t *root))
{
    char src[sizeof files_bin_dir + 256];
    snprintf(src, sizeof src, "%s/conditioning.json", fixture_dir("conditioning"));
    json_error_t e;
    json_t *root = json_load_file(src, 0, &e);
    HG_CHECK(root, "%s: %s", src, e.text);
    change(root);
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s", files_tmp(name));
    mkdir(dir, 0777);
    char path[1100];
    snprintf(path, sizeof path, "%s/conditioning.json", dir);
    HG_CHECK(json_dump_file(root, path, JSON_INDENT(1)) == 0, "%s", path);
    json_decref(root);
    return dir;
}

static json_t *run_of(json_t *root, size_t i)
{
    return json_object_get(json_array_get(json_object_get(root, "rows"), i), "run");
}
static void drop_val_loss(json_t *root)
{
    json_object_del(run_of(root, 1), "val_loss");
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
    const char *dir = mutated("no-val-loss", drop_val_loss);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, dir) && strstr(c->err.msg, "conditioning.json") &&
               strstr(c->err.msg, "rows[1].run (lenet-T10-bptt-f32)") &&
               strstr(c->err.msg, "field 'val_loss' is missing"),
           "missing field: %s", c->err.msg);
    dir = mutated("hypergrad-string", hypergrad_a_string);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, "conditioning.json") &&
               strstr(c->err.msg, "rows[2].run (lenet-T10-forward-f64)") &&
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
    const TestCase tests[] = {TEST(test_cells_and_verdicts), TEST(test_bad_fields_named),
                              TEST(test_absent_results)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
