/* test_report_pytorch.c — the pytorch section's renderer
 * (bench/report_pytorch.c) on fixture JSON (tests/fixtures/report/pytorch/:
 * hgbench hypergrad --json runs, 3 repeats per engine, and
 * pytorch_baseline.py's files, trimmed from a real run, T = 100): the
 * tables' cells are the numbers the old script printed from the same
 * files, the headline has its ratio, a field removed or of the wrong type
 * is an error naming the file and the field, a missing torch is a skipped
 * section, and rendering twice gives the same bytes. */
#define _GNU_SOURCE /* open_memstream */
#include "report_fixture.h"
#include "test.h"

/* The pytorch section rendered from results folder dir: its result, and
 * the Markdown in *md (free it). */
static int render(const char *dir, char **md, ReportCtx *c)
{
    return render_into("pytorch", dir, md, c);
}

/* The fixtures copied into a new folder sub, in file name the first `from`
 * replaced by `to`. */
static const char *edited_results(const char *sub, const char *name, const char *from,
                                  const char *to)
{
    return fixture_copy("pytorch", sub, (FixtureEdit){.target = name, .from = from, .to = to});
}

static ReportCtx ctx;

static void test_tables(void)
{
    files_setup("report-pytorch");
    char *md = NULL;
    int rc = render(fixture_dir("pytorch"), &md, &ctx);
    EXPECT(rc == 0, "renders: %s", ctx.err.msg);
    if (rc) { free(md); return; }
    /* rows as scripts/bench-pytorch.sh printed them from the same files
     * (times: the median of the 3 repeats) */
    EXPECT(strstr(md, "| hgbench bptt | float64 | 1.38 | 13.8 | 0 |\n") &&
               strstr(md, "| hgbench reversible | float64 | 1.89 | 18.9 | 1.1e-09 |\n") &&
               strstr(md, "| hgbench forward | float64 | 4.02 | 40.2 | 6.2e-15 |\n") &&
               strstr(md, "| hgbench reversible | float32 | 1.15 | 11.5 | 6.9 |\n"),
           "hgbench rows:\n%s", md);
    EXPECT(strstr(md, "| PyTorch autograd (unrolled loop) | float64 | 5.10 | 51.0 | 3.1e-14 |\n") &&
               strstr(md, "| PyTorch forward mode, columns looped (FDS code) | float32 | 7.28 | "
                          "72.8 | 5.1 |\n"),
           "PyTorch rows");
    EXPECT(strstr(md, "| float32 | bptt | 7.0 | autograd (unrolled loop) | 21.1 | 3.02x | **not met** "
                      "(1.32x short) |\n") &&
               strstr(md, "| float64 | forward | 40.2 | forward mode, columns looped | 184.1 | "
                          "4.58x | met |\n"),
           "speed rows");
    EXPECT(strstr(md, "LeNet on Fashion-MNIST, T = 100,\nbatch 128, lr 0.05 / momentum 0.9 / wd "
                      "0.0005, lr learned in 10 windows, seed 1") &&
               strstr(md, "PyTorch 1.13.0a0 (2 threads)") && strstr(md, "median of 3 runs"),
           "the problem from the results");
    EXPECT(strstr(md, "Machine: Intel(R) Xeon(R) Processor (2 cores, 2 PUs); commit f57b4d4") &&
               strstr(md, "then `/usr/bin/python3 scripts/pytorch_baseline.py"),
           "provenance and reproduce");
    EXPECT(ctx.nheads == 2 && strstr(ctx.heads[0].text, "3.02x as fast as PyTorch's autograd") &&
               strstr(ctx.heads[0].text, "7.0 against 21.1 ms") &&
               strstr(ctx.heads[0].text, "goal >= 4x: not met"),
           "headline: %s", ctx.nheads ? ctx.heads[0].text : "(none)");
    char *md2 = NULL;
    render(fixture_dir("pytorch"), &md2, &ctx);
    EXPECT(md2 && !strcmp(md, md2), "rendering twice gives the same bytes");
    free(md2);
    free(md);
}

static void test_bad_fields_and_skip(void)
{
    files_setup("report-pytorch");
    char *md = NULL;
    const char *dir = edited_results("missing", "pytorch-hgbench-forward-f32.r2.json",
                                     "\"time_s\"", "\"time\"");
    int rc = render(dir, &md, &ctx);
    EXPECT(rc == -1 && strstr(ctx.err.msg, "pytorch-hgbench-forward-f32.r2.json") &&
               strstr(ctx.err.msg, "field 'time_s' is missing"),
           "missing field named: %s", ctx.err.msg);
    free(md);

    dir = edited_results("wrongtype", "pytorch-f64.json", "\"ms_per_step\": ",
                         "\"ms_per_step\": \"fast\", \"x\": ");
    rc = render(dir, &md, &ctx);
    EXPECT(rc == -1 && strstr(ctx.err.msg, "pytorch-f64.json") &&
               strstr(ctx.err.msg, "methods.autograd: field 'ms_per_step' is a string"),
           "wrong type named: %s", ctx.err.msg);
    free(md);

    dir = fixture_copy("pytorch", "skipped", (FixtureEdit){0}); /* unchanged */
    char p[8500];
    snprintf(p, sizeof p, "%s/pytorch.skipped", dir);
    FILE *f = fopen(p, "w");
    HG_CHECK(f, "%s", p);
    fputs("no torch here\n", f);
    fclose(f);
    rc = render(dir, &md, &ctx);
    EXPECT(rc == 0 && strstr(md, "**skipped**: Debian's `python3-torch` is not installed "
                                 "(`no torch here`)") && ctx.skipped[0],
           "skipped said (rc %d): %s", rc, md);
    free(md);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_tables), TEST(test_bad_fields_and_skip)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
