/* test_report_models.c — the models section's renderer
 * (bench/report_models.c) on fixture JSON (tests/fixtures/report/models/:
 * hgbench-models --json of a small real run, logreg and lenet, float32 and
 * float64 (float64's planned mlp left a .failed note instead, as a crash does),
 * LeNet at one thread, and hgbench-conv-dnnl --json trimmed to four rows):
 * table cells are the JSON's numbers as the old scripts formatted them, the
 * speed-target headlines have their numbers, a field removed or of the
 * wrong type is an error naming the file and the field, and rendering twice
 * gives the same bytes. */
#define _GNU_SOURCE /* open_memstream */
#include "report_fixture.h"
#include "test.h"

/* The models section rendered from results folder dir: its result, and
 * the Markdown in *md (free it). */
static int render(const char *dir, char **md, ReportCtx *c)
{
    return render_into("models", dir, md, c);
}

/* The fixtures copied into a new folder sub, in file name the first `from`
 * replaced by `to`. */
static const char *edited_results(const char *sub, const char *name, const char *from,
                                  const char *to)
{
    return fixture_copy("models", sub, (FixtureEdit){.target = name, .from = from, .to = to});
}

/* Cells of the fixture's numbers, as rendered (the speed targets: the
 * fixture's lenet MFLOP over its GEMM ceiling, 2.62 GFLOP/s on a loaded
 * machine) */
#define EXPECT_LOGREG_ROW "| logreg | 7850 | HVP | 1 | 190 | 172–244 | 190 | 1.36 | 0.0317 |\n"
#define EXPECT_TARGET_STEP \
    "| step (loss+grad) | 110.584 ms | ≤ 1.5x | 1511.934 ms (13.67x) | **no** (9.11x the goal) |\n"
#define EXPECT_TARGET_HVP \
    "| HVP (model_hvp) | 268.084 ms | ≤ 1.5x | 2691.696 ms (10.04x) | **no** (6.69x the goal) |\n"
#define EXPECT_THREADS_ROW "| hvp_block | 16 | 4795.245 | 21756.102 | 0.22x |\n"
#define EXPECT_HEAD_STEP "1511.934 ms per call"
/* float64's targets against the float64 ceiling (1.414 GFLOP/s): floors
 * 289.78176 / 1.414220 = 204.906 ms and 702.50496 / 1.414220 = 496.744 ms;
 * its block HVP per tangent (216.077 ms) beats even its own floor, one
 * sixteenth of the gradient's and all of the R passes' (496.744 - 204.906
 * x 15/16 = 304.645 ms), so gets no verdict */
#define EXPECT_F64_STEP \
    "| step (loss+grad) | 204.906 ms | ≤ 1.5x | 369.910 ms (1.81x) | **no** (1.20x the goal) |\n"
#define EXPECT_F64_HVP \
    "| HVP (model_hvp) | 496.744 ms | ≤ 1.5x | 975.877 ms (1.96x) | **no** (1.31x the goal) |\n"
#define EXPECT_F64_BLOCK                                                                   \
    "| block HVP k = 16, per tangent, vs one HVP's floor | 496.744 ms | ≤ 1.0x | 216.077 ms " \
    "(0.43x) | **unknown** (below 1x: the ceiling was not measured right) |\n"

static ReportCtx ctx;

static void test_tables(void)
{
    files_setup("report-models");
    char *md = NULL;
    int rc = render(fixture_dir("models"), &md, &ctx);
    EXPECT(rc == 0, "renders: %s", ctx.err.msg);
    if (rc) { free(md); return; }
    /* oneDNN's rows as scripts/conv-dnnl-table.py printed them from the same
     * JSON */
    EXPECT(strstr(md, "| conv1 | 128 | fwd |  | 45.8 (im2col) | 19.5 | 39.6 | 48 | 0.96 | "
                      "1.5e-07 | yes |\n") &&
               strstr(md, "| conv1 | 128 | fwd |  | 18 (direct) | 19.5 | 39.6 | 48 | 0.37 | "
                          "2.3e-07 | yes |\n") &&
               strstr(md, "| conv1 | 128 | bwd_data |  | 78.5 (im2col) | 103 | 100 | 189 | 0.42 "
                          "| 4.5e-07 | yes |\n") &&
               strstr(md, "| conv1 | 128 | rfwd | 16 | 180 (im2col) | 36.1 | 101 | 128 | 1.41 | "
                          "1.8e-07 | yes |\n"),
           "oneDNN rows:\n%s", md);
    EXPECT(strstr(md, "oneDNN 2.6.3, 2 threads, medians of 9 repeats; errors within 0.0001 "
                      "required (0 checks failed)."),
           "oneDNN's line");
    /* the models' facts and rows (the fixture's numbers, md_num's formats) */
    EXPECT(strstr(md, "- `logreg`: logreg, 7850 params, forward 0.01568 MFLOP per example; "
                      "layers: linear(10)\n") &&
               strstr(md, "- `lenet`: lenet, 61706 params, forward 0.833 MFLOP per example; "
                          "layers: conv2d(6@5x5,p2) relu maxpool"),
           "the models list");
    EXPECT(strstr(md, EXPECT_LOGREG_ROW), "logreg's loss+grad row:\n%s", md);
    EXPECT(strstr(md, "| mlp |  | all ops |  | **failed**: hgbench-models: out of memory "
                      "(killed by signal 9) | | | | |\n"),
           "a model that left no results is a failed row");
    /* the speed targets: floors from the fixture's MFLOP and ceiling */
    EXPECT(strstr(md, EXPECT_TARGET_STEP), "step target row");
    EXPECT(strstr(md, EXPECT_TARGET_HVP), "HVP target row");
    EXPECT(strstr(md, EXPECT_THREADS_ROW), "threads row");
    /* float64's own table, below float32's, against its own ceiling */
    const char *t32 = strstr(md, "## Speed targets (LeNet, float32, batch 128)\n"),
               *t64 = strstr(md, "## Speed targets (LeNet, float64, batch 128)\n");
    EXPECT(t32 && t64 && t32 < t64, "float32 then float64 targets");
    EXPECT(t64 && strstr(t64, "Issue 26's goals, each against the float64 GEMM floor") &&
               strstr(t64, "GEMM ceiling measured in this run: 1.4 GFLOP/s (float64"),
           "float64's ceiling stated:\n%s", t64 ? t64 : "");
    EXPECT(t64 && strstr(t64, EXPECT_F64_STEP) && strstr(t64, EXPECT_F64_HVP) &&
               strstr(t64, EXPECT_F64_BLOCK),
           "float64 target rows:\n%s", t64 ? t64 : "");
    EXPECT(strstr(md, "## Machine and build\n\n- CPU: Intel(R) Xeon(R) Processor — 2 cores, 2 "
                      "PUs, 1 package\n"),
           "machine and build");
    /* long tables below the main results */
    const char *models = strstr(md, "## Models"), *onednn = strstr(md, "## oneDNN"),
               *mach = strstr(md, "## Machine and build"), *targets = strstr(md, "## Speed targets");
    EXPECT(targets && models && onednn && mach && targets < models && models < onednn &&
               onednn < mach,
           "order: targets, models, oneDNN, machine");
    EXPECT(ctx.nheads == 4 && strstr(ctx.heads[0].text, EXPECT_HEAD_STEP) &&
               strstr(ctx.heads[0].text, "13.67x its GEMM floor of 110.584 ms") &&
               strstr(ctx.heads[1].text, "HVP (model_hvp)") &&
               strstr(ctx.heads[2].text, "LeNet float64 step (loss+grad): 369.910 ms per call") &&
               strstr(ctx.heads[2].text, "1.81x its GEMM floor of 204.906 ms") &&
               !strcmp(ctx.heads[2].anchor, "Speed targets (LeNet, float64, batch 128)") &&
               strstr(ctx.heads[3].text, "LeNet float64 HVP (model_hvp)"),
           "headlines (%d): %s", ctx.nheads, ctx.nheads ? ctx.heads[0].text : "(none)");
    EXPECT(!strcmp(ctx.commit, "fixture") && ctx.threads == 2, "ran by %s", ctx.commit);
    char *md2 = NULL;
    render(fixture_dir("models"), &md2, &ctx);
    EXPECT(md2 && !strcmp(md, md2), "rendering twice gives the same bytes");
    free(md2);
    free(md);
}

static void test_bad_fields(void)
{
    files_setup("report-models");
    char *md = NULL;
    const char *dir = edited_results("missing", "models-f32-lenet.json", "\"grad_mflop\"",
                                     "\"grad_mflops\"");
    int rc = render(dir, &md, &ctx);
    EXPECT(rc == -1 && strstr(ctx.err.msg, "models-f32-lenet.json") &&
               strstr(ctx.err.msg, "models[0]: field 'grad_mflop' is missing"),
           "missing field named: %s", ctx.err.msg);
    free(md);

    dir = edited_results("wrongtype", "conv-dnnl.json", "\"repeats\": 9", "\"repeats\": \"9\"");
    rc = render(dir, &md, &ctx);
    EXPECT(rc == -1 && strstr(ctx.err.msg, "conv-dnnl.json") &&
               strstr(ctx.err.msg, "field 'repeats' is a string"),
           "wrong type named: %s", ctx.err.msg);
    free(md);

    dir = edited_results("rowtype", "models-f64-logreg.json", "\"median_ms\": ",
                         "\"median_ms\": null, \"x\": ");
    rc = render(dir, &md, &ctx);
    EXPECT(rc == -1 && strstr(ctx.err.msg, "models-f64-logreg.json") &&
               strstr(ctx.err.msg, "models[0].rows[0]: field 'median_ms'"),
           "a row's field named: %s", ctx.err.msg);
    free(md);
}

/* A ceiling that makes an op beat its own floor (a slowed ceiling run, or a
 * BLAS on slow kernels) gives no verdict, in the table or the headline. */
static void test_implausible_floor(void)
{
    files_setup("report-models");
    char *md = NULL;
    const char *dir = edited_results("slowceiling", "models-f32.json", "\"gemm_ceiling_gflops\": ",
                                     "\"gemm_ceiling_gflops\": 1e-3, \"was\": ");
    int rc = render(dir, &md, &ctx);
    EXPECT(rc == 0, "renders: %s", ctx.err.msg);
    EXPECT(md && strstr(md, "**unknown** (below 1x: the ceiling was not measured right)") &&
               !strstr(md, "| **yes** |"),
           "no verdict below 1x:\n%s", md ? md : "");
    int said = 0;
    for (int i = 0; i < ctx.nheads; i++)
        said += strstr(ctx.heads[i].text, "unknown: below 1x its floor") != NULL;
    EXPECT(said == 2, "both target headlines say unknown (%d)", said);
    free(md);
}

/* The block HVP per tangent below one HVP's floor but above its own (the
 * block shares one gradient pass) gets its verdict: at a float64 ceiling
 * of 2.5 GFLOP/s, one HVP's floor is 702.50496 / 2.5 = 281.002 ms and its
 * own 172.3 ms, so 216.077 ms is 0.77x the goal's floor: met. */
static void test_block_below_hvp_floor(void)
{
    files_setup("report-models");
    char *md = NULL;
    const char *dir = edited_results("blockfloor", "models-f64.json", "\"gemm_ceiling_gflops\": ",
                                     "\"gemm_ceiling_gflops\": 2.5, \"was\": ");
    int rc = render(dir, &md, &ctx);
    EXPECT(rc == 0, "renders: %s", ctx.err.msg);
    EXPECT(md && strstr(md, "| block HVP k = 16, per tangent, vs one HVP's floor | 281.002 ms | "
                            "≤ 1.0x | 216.077 ms (0.77x) | **yes** |\n"),
           "a verdict below one HVP's floor:\n%s", md ? md : "");
    free(md);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_tables), TEST(test_bad_fields),
                              TEST(test_implausible_floor), TEST(test_block_below_hvp_floor)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
