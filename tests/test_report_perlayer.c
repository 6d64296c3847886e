/* test_report_perlayer.c — the perlayer section's renderer
 * (bench/report_perlayer.c) on fixture results
 * (tests/fixtures/report/perlayer/, trimmed from a QUICK run of
 * scripts/bench-perlayer.sh: R = 2, K = 5, T = 50 for the MLP and 30 for
 * LeNet, 4 outer steps, three methods; the logs' per-step theta and
 * hypergradients, the schedules, outer_state and the machine records left
 * out). Checks: each repeat's cells, the means, the paired interval and
 * verdict (common/stats.h) and the learned lr per layer and window, all
 * against the JSON's numbers (the expected text computed here from the
 * fixture); the layers named; the plot's data; identical bytes twice; a
 * failed run shown and left out; a removed field, a wrong-typed field and
 * a method list without the per-run schedule each named with the file.
 */
#define _GNU_SOURCE /* open_memstream */
#include "../bench/report_md.h"
#include "../common/stats.h"
#include "report_fixture.h"
#include "test.h"

#define FILE_MLP "perlayer-mlp.json"

static json_t *run_named(json_t *root, const char *name)
{
    json_t *rows = json_object_get(root, "rows"), *row;
    size_t i;
    json_array_foreach(rows, i, row) if (!strcmp(json_string_value(json_object_get(row, "name")), name))
        return json_object_get(row, "run");
    return NULL;
}

static double best_num(json_t *run, const char *key)
{
    return json_number_value(json_object_get(json_object_get(run, "best"), key));
}

static double theta_lr(json_t *run, size_t i)
{
    json_t *th = json_object_get(json_object_get(json_object_get(run, "best"), "theta"), "lr");
    return json_number_value(json_array_get(th, i));
}

/* the cells and claims of one model, against its fixture */
static void check_model(const char *md, const char *model, int L, const char *first_layer)
{
    char file[64], want[512], name[64], b[32];
    snprintf(file, sizeof file, "perlayer-%s.json", model);
    json_t *root = fixture_load(fixture_dir("perlayer"), file);
    static const char *const methods[3] = {"layer", "run", "layermom"};
    double test[3][2];
    int early[3] = {0};
    for (int r = 0; r < 2; r++) {
        int at = snprintf(want, sizeof want, "| %d |", r);
        for (int m = 0; m < 3; m++) {
            snprintf(name, sizeof name, "%s-%s-r%d", model, methods[m], r);
            json_t *run = run_named(root, name);
            EXPECT(run, "fixture has %s", name);
            if (!run) return;
            test[m][r] = best_num(run, "test_acc");
            early[m] += best_num(run, "outer") <= 1;
            at += snprintf(want + at, sizeof want - (size_t)at, " %.4f / %.4f (%ld) |", best_num(run, "val_acc"),
                           best_num(run, "test_acc"), (long)best_num(run, "outer"));
        }
        EXPECT(strstr(md, want), "%s repeat %d: %s", model, r, want);
    }
    StatsInterval iv = stats_paired_interval(test[0], test[1], 2, 0.95);
    snprintf(want, sizeof want, "| per-layer − per-run schedule | %+.4f [%+.4f, %+.4f] | %s |", iv.mean, iv.lo,
             iv.hi, stats_verdict_name(stats_verdict(iv)));
    EXPECT(strstr(md, want), "%s claim: %s", model, want);
    snprintf(want, sizeof want, "| %d of 2 |\n| per-layer lr and momentum", early[1]);
    EXPECT(strstr(md, want), "%s: the per-run schedule's runs best at outer step <= 1: %s", model, want);
    /* layer 0's lr in window 0 and the last layer's in window 4: theta[k L + l], mean of the repeats */
    json_t *r0 = run_named(root, (snprintf(name, sizeof name, "%s-layer-r0", model), name));
    json_t *r1 = run_named(root, (snprintf(name, sizeof name, "%s-layer-r1", model), name));
    snprintf(want, sizeof want, "| %s | %s |", first_layer, md_g(b, sizeof b, 3, (theta_lr(r0, 0) + theta_lr(r1, 0)) / 2));
    EXPECT(strstr(md, want), "%s first layer, window 0: %s", model, want);
    double last = (theta_lr(r0, (size_t)(4 * L + L - 1)) + theta_lr(r1, (size_t)(4 * L + L - 1))) / 2;
    snprintf(want, sizeof want, " %s |\n| per run (lr:K) |", md_g(b, sizeof b, 3, last));
    EXPECT(strstr(md, want), "%s last layer, window 4: %s", model, want);
    json_decref(root);
}

static void test_perlayer_numbers_are_the_json(void)
{
    files_setup("report-perlayer");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render_section("perlayer", fixture_dir("perlayer"), &rc, c);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    if (rc) { free(md); free(c); return; }
    check_model(md, "mlp", 2, "fc1 (784-256)");
    check_model(md, "lenet", 5, "conv1 (6 maps 5x5)");
    EXPECT(strstr(md, "(203530 parameters, 2 parameterised layers)") &&
               strstr(md, "(61706 parameters, 5 parameterised layers)"),
           "models and their layers from the JSON");
    EXPECT(strstr(md, "Reproduce: `QUICK=1 REPEATS=2 OUTER_STEPS=4 WINDOWS=5"), "reproduce line");
    EXPECT(strstr(md, "**QUICK run**, cut to seconds: T = 50, K = 5, 4 outer steps, 2 repeats") &&
               strstr(md, "**QUICK run**, cut to seconds: T = 30, K = 5"),
           "the QUICK cuts said, per model");
    EXPECT(c->nheads == 2 && strstr(c->heads[0].text, "(mlp, Fashion-MNIST, 2 repeats)"), "headlines: %d", c->nheads);
    char path[4400];
    snprintf(path, sizeof path, "%s/perlayer-lenet.dat", files_tmp_dir());
    size_t n;
    char *dat = files_slurp(path, &n);
    EXPECT(dat && strstr(dat, "block 5: the per-run lr"), "the plot's data written: %s", path);
    free(dat);
    int rc2;
    char *md2 = render_section("perlayer", fixture_dir("perlayer"), &rc2, c);
    EXPECT(md2 && !strcmp(md, md2), "same results, same bytes");
    free(md);
    free(md2);
    free(c);
}

static const char *edited(const char *sub, void (*fn)(json_t *root))
{
    return fixture_copy("perlayer", sub, (FixtureEdit){.target = FILE_MLP, .edit = fn});
}
static void drop_val(json_t *root)
{
    json_object_del(json_object_get(run_named(root, "mlp-run-r1"), "best"), "val_acc");
}
static void string_k(json_t *root)
{
    json_object_set_new(json_object_get(root, "params"), "K", json_string("five"));
}
static void no_run_method(json_t *root)
{
    json_object_set_new(json_object_get(root, "params"), "methods", json_string("layer layermom"));
}
static void failed_run(json_t *root)
{
    json_t *row = json_array_get(json_object_get(root, "rows"), 0); /* mlp-layer-r0 */
    json_object_del(row, "run");
    json_object_set_new(row, "status", json_string("failed"));
    json_object_set_new(row, "reason", json_string("the inner run diverged at step 3"));
}

static void test_perlayer_bad_fields_named(void)
{
    files_setup("report-perlayer");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render_section("perlayer", edited("no-val", drop_val), &rc, c);
    EXPECT(rc == -1 && strstr(c->err.msg, "no-val/" FILE_MLP) && strstr(c->err.msg, "(mlp-run-r1)") &&
               strstr(c->err.msg, "field 'val_acc' is missing"),
           "missing field: %s", c->err.msg);
    free(md);
    md = render_section("perlayer", edited("str-k", string_k), &rc, c);
    EXPECT(rc == -1 && strstr(c->err.msg, FILE_MLP) && strstr(c->err.msg, "field 'K' is a string, expected a number"),
           "wrong type: %s", c->err.msg);
    free(md);
    md = render_section("perlayer", edited("methods", no_run_method), &rc, c);
    EXPECT(rc == -1 && strstr(c->err.msg, "lacks layer or run"), "methods without run: %s", c->err.msg);
    free(md);
    md = render_section("perlayer", edited("failed", failed_run), &rc, c);
    EXPECT(rc == 0 && md && strstr(md, "**1 run failed**") && strstr(md, "the inner run diverged at step 3") &&
               strstr(md, "| 0 | (failed) |") && strstr(md, "Over the 1 complete repeat "),
           "a failed run shown, its repeat left out:\n%s", md ? md : "");
    free(md);
    free(c);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_perlayer_numbers_are_the_json), TEST(test_perlayer_bad_fields_named)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
