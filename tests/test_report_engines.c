/* test_report_engines.c — the engines renderer (bench/report_engines.c) on
 * fixture JSON: tests/fixtures/report/engines/engines-{horizon,count}.json,
 * the committed full run's results (commit f90b602) in the format
 * hgbench-engines writes now (the envelope added; the plain step's min, max
 * and loop count from that run's columns). Its cells are the numbers of the
 * old pipeline's bench/results/engines.md, times aside (the old awk rounded
 * them twice). Checks: cells of both tables, the reversible buffer lines,
 * the crossovers in words, both headlines, the plots' data, a failed run's
 * row, a field removed or of the wrong type named with its file, and the
 * same bytes twice. */
#define _GNU_SOURCE /* open_memstream */
#include "report_fixture.h"
#include "test.h"

static char *render(const char *results, int *rc, ReportCtx *c)
{
    return render_section("engines", results, rc, c);
}

static void test_tables_and_crossover(void)
{
    files_setup("report-engines");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render(fixture_dir("engines"), &rc, c);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    EXPECT(strstr(md, "| bptt | 10000 | 10 | 81.82 | 8.18 | 3.44 | 4707.79 | 0.0000 | 0.00 | 4707.794 | 5202 |"),
           "bptt T = 10000 row:\n%s", md);
    EXPECT(strstr(md, "| reversible | 10000 | 10 | 109.86 | 10.99 | 4.63 | 0.00 | 12.0804 | 0.00 | 11.181 | 5202 |"),
           "reversible T = 10000 row");
    EXPECT(strstr(md, "| checkpoint | 1000 | 10 | 12.48 | 12.48 | 5.26 | 15.06 | 0.0000 | 0.00 | 15.065 | 965 |"),
           "checkpoint row: its checkpoints in the trajectory column");
    EXPECT(strstr(md, "| forward | 1000 | 100 | 184.81 | 184.81 | 76.75 | 0.00 | 0.0000 | 48.02 | 47.078 | 919 |"),
           "count table's forward N = 100 row");
    EXPECT(strstr(md, "- reversible T=10000 K=10: information buffer 12367616 bytes = 1.055 x its floor "
                      "11724379 bytes"), "buffer line");
    EXPECT(strstr(md, "Plain step (gradient + update): median 2.375 ms, min 2.252, max 2.539 over 18 "
                      "loops of 20 steps"), "plain step line");
    EXPECT(strstr(md, "- **Time**: forward is faster than the fastest reverse engine below N = 10 and "
                      "slower from N = 10 on"), "time crossover");
    EXPECT(strstr(md, "- **Memory**: forward tangents stay below the bptt trajectory for every N "
                      "measured (up to 100)"), "memory crossover");
    EXPECT(strstr(md, "Seeds: init 0, batch order 110480933630891298"), "seeds");
    EXPECT(strstr(md, "Reproduce: `build/f32/hgbench-engines --label count --threads 2 --commit "
                      "f90b602 --steps 1000 --lr-windows 1,10,100"), "reproduce from the envelope");
    EXPECT(strstr(md, "Machine: Intel(R) Xeon(R) Processor (2 cores, 2 PUs); commit f90b602; 2 "
                      "threads; float32; 2026-12-03T11:44:21Z."), "provenance");
    EXPECT(!strstr(md, "Cut for time"), "the full sizes are not called cut");
    EXPECT(c->nheads == 2, "two headlines, got %d", c->nheads);
    if (c->nheads == 2) {
        EXPECT(strstr(c->heads[0].text, "At T = 10000 the reversible engine keeps 12.1 MiB of state "
                                        "against bptt's 4708 MiB (390x less), at 1.34x bptt's time"),
               "memory headline: %s", c->heads[0].text);
        EXPECT(strstr(c->heads[1].text, "below N = 10 and slower from N = 10 on; at N = 100 it takes "
                                        "185 s against bptt's 7.03 s"),
               "crossover headline: %s", c->heads[1].text);
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/engines-horizon-memory.dat", files_tmp_dir());
    char *dat = files_slurp(path, NULL);
    EXPECT(dat && strstr(dat, "# bptt\n10 4.70779419 4.70779419\n") &&
               strstr(dat, "\n\n\n# reversible\n") && !strstr(dat, "greedy"),
           "memory plot's data, a block per engine with state:\n%s", dat ? dat : "(none)");
    free(dat);

    ReportCtx *c2 = calloc(1, sizeof *c2);
    char *again = render(fixture_dir("engines"), &rc, c2);
    EXPECT(again && !strcmp(md, again), "rendering twice gives the same bytes");
    free(again);
    free(c2);
    free(md);
    free(c);
}

static void drop_tangents(json_t *root)
{
    json_object_del(fixture_row(root, 3), "tangents");
}
static void time_a_string(json_t *root)
{
    json_object_set_new(fixture_row(root, 0), "time_s", json_string("slow"));
}
static void drop_commit(json_t *root)
{
    json_object_del(root, "commit");
}
static void forward_failed(json_t *root)
{
    json_t *row = fixture_row(root, 0); /* forward, N = 1 */
    json_object_set_new(row, "status", json_string("failed"));
    json_object_set_new(row, "message", json_string("out of memory"));
}

static void test_bad_fields_named(void)
{
    files_setup("report-engines");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    const char *dir = mutated_fixture("engines", "engines-horizon.json", "no-tangents", drop_tangents);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, dir) &&
               strstr(c->err.msg, "engines-horizon.json: rows[3]: field 'tangents' is missing"),
           "missing field: %s", c->err.msg);
    dir = mutated_fixture("engines", "engines-count.json", "time-string", time_a_string);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, "engines-count.json: rows[0]: field 'time_s' is a "
                                          "string, expected a number"),
           "wrong type: %s", c->err.msg);
    dir = mutated_fixture("engines", "engines-count.json", "no-commit", drop_commit);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, "engines-count.json: field 'commit' is missing"),
           "envelope field: %s", c->err.msg);
    free(c);
}

static void test_failed_run_and_absent_file(void)
{
    files_setup("report-engines");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    const char *dir = mutated_fixture("engines", "engines-count.json", "forward-failed",
                                      forward_failed);
    char *md = render(dir, &rc, c);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    EXPECT(strstr(md, "| forward | 1000 | 1 | **failed**: out of memory | | | | | | | |"),
           "failed row:\n%s", md);
    EXPECT(strstr(md, "## Horizon scaling (experiment 1)\n\n**failed**: no results "
                      "(`engines-horizon.json`"), "absent file said");
    EXPECT(strstr(md, "- **Time**: forward is already slower than the fastest reverse engine at the "
                      "smallest N measured (N = 10: 23.28 s vs 7.49 s)"),
           "crossover from the runs that ran");
    free(md);
    free(c);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_tables_and_crossover), TEST(test_bad_fields_named),
                              TEST(test_failed_run_and_absent_file)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
