/* test_report_sweep.c — the sweep section's renderer (bench/report_sweep.c)
 * on fixture results (tests/fixtures/report/sweep/: the summaries of a QUICK
 * bench-sweep.sh run, a fig2.json and two fig3 hpo logs): the table's wall
 * times and efficiencies are the summaries' numbers, the projections are
 * list scheduling of the measured job times, and a missing or mistyped field
 * is named with its file. */
#include "report_fixture.h"
#include "test.h"

/* The fixture folder copied to <tmp>/<name>, file `which` changed by fn
 * (NULL: removed). */
static const char *copy_with(const char *name, const char *which, void (*fn)(json_t *))
{
    return fixture_copy("sweep", name, (FixtureEdit){.target = which, .edit = fn});
}

static void test_sweep_numbers_are_the_json(void)
{
    files_setup("report-sweep");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render_section("sweep", fixture_dir("sweep"), &rc, c);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    /* 1x2: wall 107.0506 s, jobs 107.049 s; 2x1: wall 18.5766 s, jobs 33.6624 s.
     * Efficiency = 33.6624 / (2 x wall): 0.157 and 0.906 */
    EXPECT(strstr(md, "| 107.1 s | 107.0 s | 0.16 | 8/8 |"), "1 x 2 row:\n%s", md);
    EXPECT(strstr(md, "| 2 x 1 |") && strstr(md, "| 18.6 s | 33.7 s | 0.91 | 8/8 |"), "2 x 1 row");
    /* fig2: a seed is nongreedy_mean + greedy_mean = 221.26 s; 100 seeds on 16
     * ranks: 7 rounds = 1548.9 s = 25.8 min, speed-up 14.3 */
    EXPECT(strstr(md, "a seed takes\n  3.7 min at 2 threads"), "fig2 seed time");
    EXPECT(strstr(md, "one after another: 6.1 h"), "100 seeds in a row");
    EXPECT(strstr(md, "16 ranks x 2 threads: 25.8 min (speed-up 14)"), "16 ranks");
    EXPECT(strstr(md, "256 ranks x 2 threads: 3.7 min (speed-up 100)"), "256 ranks");
    /* fig3: 2 logs (20.49 s, 21.02 s) x 5 repeats = 10 jobs, 207.6 s = 3.5 min;
     * on 16 ranks every job has its own: 21 s, speed-up 9.9 */
    EXPECT(strstr(md, "10 hpo jobs") && strstr(md, "3.5 min one after another"), "fig3 total");
    EXPECT(strstr(md, "16 ranks: 21 s (speed-up 9.9)"), "fig3 on 16 ranks");
    EXPECT(c->nheads == 1 && strstr(c->heads[0].text, "107.1 s as 1 process x 2 threads and 18.6 s "
                                                        "as 2 MPI ranks"),
           "headline: %s", c->nheads ? c->heads[0].text : "(none)");
    EXPECT(c->ranks == 2 && c->threads == 1, "ran by %ld x %ld", c->ranks, c->threads);
    int rc2;
    char *md2 = render_section("sweep", fixture_dir("sweep"), &rc2, c);
    EXPECT(md2 && !strcmp(md, md2), "same results, same bytes");
    free(md);
    free(md2);
    free(c);
}

static void drop_wall(json_t *root) { json_object_del(root, "wall_s"); }
static void string_mean(json_t *root)
{
    json_object_set_new(json_object_get(root, "time_s"), "greedy_mean", json_string("slow"));
}

static void test_sweep_bad_fields_named(void)
{
    files_setup("report-sweep");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render_section("sweep", copy_with("no-wall", "sweep-2x1.json", drop_wall), &rc, c);
    EXPECT(rc == -1 && strstr(c->err.msg, "no-wall/sweep-2x1.json: field 'wall_s' is missing"),
           "missing field: %s", c->err.msg);
    free(md);
    md = render_section("sweep", copy_with("string-mean", "fig2.json", string_mean), &rc, c);
    EXPECT(rc == -1 && strstr(c->err.msg, "string-mean/fig2.json: time_s: field 'greedy_mean' is a "
                                          "string, expected a number"),
           "wrong type: %s", c->err.msg);
    free(md);
    md = render_section("sweep", copy_with("no-2x1", "sweep-2x1.json", NULL), &rc, c);
    EXPECT(rc == 0 && strstr(md, "| 2 x 1 | - | - | - | - | **no summary**"),
           "a sweep that left no summary is a row that says so");
    EXPECT(strstr(md, "| 1 x 2 |") && strstr(md, "| - | 8/8 |"),
           "no 1-thread time, no efficiency:\n%s", md);
    free(md);
    free(c);
}

/* Figure 3's logs named by repeat (fig3-<data>-<method>-r<r>.json): repeat
 * 0's are the jobs projected, the others and the protocol's left out, so
 * the projection is the unrepeated fixture's. */
static void test_sweep_fig3_repeats(void)
{
    files_setup("report-sweep");
    const char *dir = copy_with("repeats", NULL, NULL);
    static const char *const m[] = {"fds", "greedy"};
    for (int i = 0; i < 2; i++) {
        char a[4400], b[4400], c2[4400];
        snprintf(a, sizeof a, "%s/fig3-mnist-subset-%s.json", dir, m[i]);
        snprintf(b, sizeof b, "%s/fig3-mnist-subset-%s-r0.json", dir, m[i]);
        snprintf(c2, sizeof c2, "%s/fig3-mnist-subset-%s-r1.json", dir, m[i]);
        HG_CHECK(rename(a, b) == 0, "%s", a);
        size_t n;
        char *text = files_slurp(b, &n);
        HG_CHECK(text, "%s", b);
        FILE *f = fopen(c2, "w");
        HG_CHECK(f, "%s", c2);
        fwrite(text, 1, n, f);
        fclose(f);
        snprintf(c2, sizeof c2, "%s/fig3-protocol-base-%s-r0.json", dir, m[i]);
        f = fopen(c2, "w");
        HG_CHECK(f, "%s", c2);
        fwrite(text, 1, n, f);
        fclose(f);
        free(text);
    }
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render_section("sweep", dir, &rc, c);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    EXPECT(md && strstr(md, "10 hpo jobs") && strstr(md, "3.5 min one after another"),
           "fig3 total from repeat 0's logs:\n%s", md);
    free(md);
    free(c);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_sweep_numbers_are_the_json),
                              TEST(test_sweep_bad_fields_named), TEST(test_sweep_fig3_repeats)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
