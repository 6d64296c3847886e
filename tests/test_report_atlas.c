/* test_report_atlas.c — the atlas renderer (bench/report_atlas.c) on fixture
 * JSON: tests/fixtures/report/atlas/atlas.json, hgbench-runs' collection of
 * the committed full run's T = 100 runs (per_step kept for hd only, machine
 * records trimmed; forward-N100 left out by FWD_MAX_NT = 1000 and one
 * float32 greedy run made a failure). The cells are the numbers the old
 * pipeline printed for the same runs (bench/results/atlas.md of commit
 * 8a7d22b), save reversible's engine MiB, 5.78 here (5.785 MiB, which the old
 * awk rounded twice, to 5.79). Checks: cells of each layout (step, windows,
 * online), the skip with its estimate, a failed run, the front in words, the
 * checkpoint counts, the plot's Pareto front, the headline, a field removed
 * or of the wrong type named with its file, and the same bytes twice. */
#define _GNU_SOURCE /* open_memstream */
#include "report_fixture.h"
#include "test.h"

static char *render(const char *results, int *rc, ReportCtx *c)
{
    return render_section("atlas", results, rc, c);
}

static void test_cells_front_and_plots(void)
{
    files_setup("report-atlas");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render(fixture_dir("atlas"), &rc, c);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    EXPECT(strstr(md, "| checkpoint-C7 | step | 100 | 3.99 | 13.7 | 6.59 | 218 | 0.44451 | 0 | 1 | 245 |"),
           "checkpoint row:\n%s", md);
    EXPECT(strstr(md, "| reversible | step | 100 | 2.84 | 5.78 | 0.121 | 218 | 0.44451 | 8.898e-10 | 1 |  |"),
           "reversible row");
    EXPECT(strstr(md, "| forward-N10 | windows | 10 | 6.83 | 14.6 | 11.3 | 498 | 0.44451 | 1.229e-14 | 1 |  |"),
           "forward row, compared over its windows");
    EXPECT(strstr(md, "| hd | online | 100 | 1.43 | 3.31 | 0 | 217 | 0.4258 | 6.55 | -0.419081 |  |"),
           "HD row, compared by its per-step values");
    EXPECT(strstr(md, "| forward-N100 | windows | 100 | **skipped**: N T = 10000 > FWD_MAX_NT = 1000 "
                      "(estimated about 68 s, N / 10 times the N = 10 row) |"),
           "skipped forward row with its estimate");
    EXPECT(strstr(md, "| greedy-val | step | 100 | **failed**: greedy: the inner run diverged at "
                      "step 61 (loss not finite) |"), "failed row");
    EXPECT(strstr(md, "Checkpoints: C = 7 (log2 T), C = 10 (sqrt T, T/10)."), "checkpoint counts");
    EXPECT(strstr(md, "the fastest is bptt (99.3 MiB, 2.43 s), and with the least memory reversible "
                      "(5.78 MiB, 2.84 s)."), "front in words");
    EXPECT(strstr(md, "no per-step method came within 1e-3 of g\\* here."), "float32: no front");
    EXPECT(strstr(md, "forward is skipped where N T > 1000"), "FWD_MAX_NT from the params");
    EXPECT(strstr(md, "Reproduce the section: `HORIZONS=100 HD_RATE=1e-5 FWD_MAX_NT=1000 THREADS=2 "
                      "bash scripts/bench-atlas.sh`"), "reproduce from the envelope");
    EXPECT(c->nheads == 1 && strstr(c->heads[0].text, "T = 100, float64") &&
               strstr(c->heads[0].text, "with the least memory reversible (5.78 MiB, 2.84 s)"),
           "headline: %s", c->nheads ? c->heads[0].text : "(none)");

    /* the memory plot's front: truncated-K1 (fastest) and hd (least memory) */
    char path[1200];
    snprintf(path, sizeof path, "%s/atlas-T100-f64-memory.dat", files_tmp_dir());
    char *dat = files_slurp(path, NULL);
    const char *front = dat ? strstr(dat, "# index 1") : NULL;
    EXPECT(front && strstr(front, " truncated-K1\n") && strstr(front, " hd\n") &&
               !strstr(front, " bptt\n") && !strstr(front, " greedy-train\n"),
           "Pareto front of the memory plot:\n%s", dat ? dat : "(no file)");
    free(dat);
    snprintf(path, sizeof path, "%s/atlas-T100-f32-error.gp", files_tmp_dir());
    char *gp = files_slurp(path, NULL);
    EXPECT(gp && strstr(gp, "Error vs time, T = 100, float32"), "error plot's script");
    free(gp);

    ReportCtx *c2 = calloc(1, sizeof *c2);
    char *again = render(fixture_dir("atlas"), &rc, c2);
    EXPECT(again && !strcmp(md, again), "rendering twice gives the same bytes");
    free(again);
    free(c2);
    free(md);
    free(c);
}

static const char *mutated(const char *name, void (*change)(json_t *root))
{
    return mutated_fixture("atlas", "atlas.json", name, change);
}
static void drop_infobuf(json_t *root)
{
    json_t *run = json_object_get(fixture_row(root, 3), "run");
    json_object_del(json_object_get(run, "mem"), "infobuf");
}
static void time_a_string(json_t *root)
{
    json_object_set_new(json_object_get(fixture_row(root, 0), "run"), "time_s",
                        json_string("fast"));
}
static void bad_name(json_t *root)
{
    json_object_set_new(fixture_row(root, 1), "name", json_string("checkpoint"));
}

static void test_bad_fields_named(void)
{
    files_setup("report-atlas");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    const char *dir = mutated("no-infobuf", drop_infobuf);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, dir) && strstr(c->err.msg, "atlas.json") &&
               strstr(c->err.msg, "rows[3].run.mem (T100-f64-reversible)") &&
               strstr(c->err.msg, "field 'infobuf' is missing"),
           "missing field: %s", c->err.msg);
    dir = mutated("time-string", time_a_string);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, "atlas.json: rows[0].run (T100-f64-bptt): field "
                                          "'time_s' is a string, expected a number"),
           "wrong type: %s", c->err.msg);
    dir = mutated("bad-name", bad_name);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, "rows[1]: name 'checkpoint' is not T<T>-f<32|64>-<method>"),
           "bad run name: %s", c->err.msg);
    free(c);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_cells_front_and_plots), TEST(test_bad_fields_named)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
