/* test_report_micro.c — the micro section's renderer (bench/report_micro.c)
 * on fixture JSON (tests/fixtures/report/micro/: hgbench-micro's envelope
 * files and Google Benchmark's JSON, trimmed from a real run): its table
 * cells are the JSON's numbers in the formats scripts/gbench-table.sh
 * printed, its headline has its numbers, a field removed or of the wrong
 * type is an error naming the file and the field, and rendering twice gives
 * the same bytes. */
#define _GNU_SOURCE /* open_memstream */
#include "report_fixture.h"
#include "test.h"

/* The micro section rendered from results folder dir: its result, and
 * the Markdown in *md (free it). */
static int render(const char *dir, char **md, ReportCtx *c)
{
    return render_into("micro", dir, md, c);
}

/* The fixtures copied into a new folder sub, in file name the first `from`
 * replaced by `to`. */
static const char *edited_results(const char *sub, const char *name, const char *from,
                                  const char *to)
{
    return fixture_copy("micro", sub, (FixtureEdit){.target = name, .from = from, .to = to});
}

static ReportCtx ctx;

static void test_table_cells(void)
{
    files_setup("report-micro");
    char *md = NULL;
    int rc = render(fixture_dir("micro"), &md, &ctx);
    EXPECT(rc == 0, "renders: %s", ctx.err.msg);
    if (rc) { free(md); return; }
    /* the rows as gbench-table.sh printed them from the same JSON */
    EXPECT(strstr(md, "| hvp/lenet | 4280 µs | 27.27 µs (0.6%) | – | 5 | busy_others 0.00, "
                      "gemm_gflops 164.2 |\n"),
           "hvp/lenet row:\n%s", md);
    EXPECT(strstr(md, "| loss_grad/logreg | 45.97 µs | 1.701 µs (3.7%) | – | 5 | busy_others "
                      "0.00, gemm_gflops 87.32 |\n"),
           "loss_grad/logreg row");
    EXPECT(strstr(md, "| hvp_block/lenet/k:64 | 257291 µs | 3797 µs (1.5%) | – | 5 | "
                      "busy_others 0.02, gemm_gflops 129.9, per_tangent 4.020 ms |\n"),
           "hvp_block k:64 row");
    EXPECT(strstr(md, "| infobuf/info_div/m:0.9/P:61706 | **error**: round trip \\| lost bits "
                      "| | | | |\n"),
           "an error row with its message, | escaped");
    EXPECT(strstr(md, "## Microbenchmarks (experiment 5)\n") && strstr(md, "### float32\n") &&
               strstr(md, "### float64\n"),
           "headings");
    EXPECT(strstr(md, "Google Benchmark 1.7.1-1 called from C") &&
               strstr(md, "(k = 1, 4, 16, 64)") && strstr(md, "P = 61706, m = 0.9") &&
               strstr(md, "T = 8 LeNet steps") &&
               strstr(md, "2 threads,\n--benchmark_repetitions=5 "
                          "--benchmark_report_aggregates_only=true.\n"),
           "the text's settings from the envelope:\n%s", md);
    EXPECT(strstr(md, "- hg_precision: float32\n"), "context lines");
    EXPECT(strstr(md, "Machine: Intel(R) Xeon(R) Processor (2 cores, 2 PUs); commit 97d0950") &&
               strstr(md, "Reproduce: `build/f32/hgbench-micro --threads 2"),
           "provenance and reproduce lines");
    EXPECT(!strcmp(ctx.commit, "97d0950") && ctx.threads == 2, "ran by %s x %ld", ctx.commit,
           ctx.threads);
    /* headline: 257291 µs / 64 = 4.020 ms per tangent against 4.280 ms */
    EXPECT(ctx.nheads == 1 && strstr(ctx.heads[0].text, "4.020 ms per tangent") &&
               strstr(ctx.heads[0].text, "4.280 ms for one HVP") &&
               strstr(ctx.heads[0].text, "1.06x"),
           "headline: %s", ctx.nheads ? ctx.heads[0].text : "(none)");

    char *md2 = NULL;
    render(fixture_dir("micro"), &md2, &ctx);
    EXPECT(md2 && !strcmp(md, md2), "rendering twice gives the same bytes");
    free(md2);
    free(md);
}

static void test_bad_fields(void)
{
    files_setup("report-micro");
    char *md = NULL;
    const char *dir = edited_results("missing", "micro-f32.gbench.json",
                                     "\"real_time\": 4279.599046881799,", "");
    int rc = render(dir, &md, &ctx);
    EXPECT(rc == -1 && strstr(ctx.err.msg, "micro-f32.gbench.json") &&
               strstr(ctx.err.msg, "field 'real_time' is missing"),
           "missing real_time named: %s", ctx.err.msg);
    free(md);

    dir = edited_results("wrongtype", "micro-f64.json", "\"batch\": 128", "\"batch\": \"128\"");
    rc = render(dir, &md, &ctx);
    EXPECT(rc == -1 && strstr(ctx.err.msg, "micro-f64.json") &&
               strstr(ctx.err.msg, "settings: field 'batch' is a string"),
           "wrong type named: %s", ctx.err.msg);
    free(md);

    dir = edited_results("noenvelope", "micro-f32.json", "\"commit\": \"97d0950\",", "");
    rc = render(dir, &md, &ctx);
    EXPECT(rc == -1 && strstr(ctx.err.msg, "micro-f32.json") &&
               strstr(ctx.err.msg, "field 'commit' is missing"),
           "envelope field named: %s", ctx.err.msg);
    free(md);

    /* a precision whose results are absent is said, not an error */
    dir = fixture_copy("micro", "absent", (FixtureEdit){.target = "micro-f64.gbench.json"});
    rc = render(dir, &md, &ctx);
    EXPECT(rc == 0 && strstr(md, "### float64\n\n**failed**: no results"),
           "absent results said (rc %d): %s", rc, ctx.err.msg);
    free(md);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_table_cells), TEST(test_bad_fields)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
