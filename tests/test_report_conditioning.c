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
#include "report_fixture.h"
#include "test.h"

static char *render(const char *results, int *rc, ReportCtx *c)
{
    return render_section("conditioning", results, rc, c);
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
    EXPECT(c->nheads == 1 && strstr(c->heads[0].text, "not to be trusted (their gap to float64 above 0.1 at every T "
                                           "from there on) from T = 30 on for lenet (gap 0.14); "
                                           "they stay within it for mlp up to T = 30 (gap 8.9e-07)."),
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

static const char *mutated(const char *name, void (*change)(json_t *root))
{
    return mutated_fixture("conditioning", "conditioning.json", name, change);
}

static json_t *run_of(json_t *root, size_t i)
{
    return json_object_get(fixture_row(root, i), "run");
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
