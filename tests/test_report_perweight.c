/* test_report_perweight.c — the perweight section's renderer
 * (bench/report_perweight.c) on fixture results
 * (tests/fixtures/report/perweight/): perweight-fashion-mnist.json trimmed
 * from a QUICK run of scripts/bench-perweight.sh (R = 2, T = 200, 10 outer
 * steps; best.theta rounded to 6 digits; final.theta, the schedules and
 * the runs' machine records left out), perweight-mnist-subset.json a real
 * skipped data set (MNIST_SUBSET=0). Checks: the grid's pick and every
 * cell against the JSON's numbers (the expected text computed here from the
 * fixture), the paired interval and verdict by common/stats.h, the
 * penalties' range, the skipped data set, the plot's data (the mean over
 * the repeats), identical bytes twice; a removed field, a wrong-typed
 * field, a run that does not start from the grid's pick and a theta of the
 * wrong length each named with the file.
 */
#define _GNU_SOURCE /* open_memstream */
#include "../bench/report_md.h"
#include "../common/stats.h"
#include "report_fixture.h"
#include "test.h"

#define FILE_FM "perweight-fashion-mnist.json"
static const char *const GRID[] = {"0", "1e-3", "3e-3", "1e-2", "3e-2", "1e-1"};
#define NGRID 6

/* The run `name` of a collected file's rows (NULL if absent). */
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

static json_t *best_theta(json_t *run)
{
    return json_object_get(json_object_get(json_object_get(run, "best"), "theta"), "wd");
}

static void test_perweight_numbers_are_the_json(void)
{
    files_setup("report-perweight");
    json_t *root = fixture_load(fixture_dir("perweight"), FILE_FM);
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render_section("perweight", fixture_dir("perweight"), &rc, c);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    double st[2], wt[2], wv[2];
    char want[512], name[96], b1[32], b2[32];
    for (int r = 0; r < 2; r++) {
        int pick = -1;
        double pv = 0, pt = 0;
        for (int x = 0; x < NGRID; x++) {
            snprintf(name, sizeof name, "fashion-mnist-grid-wd%s-r%d", GRID[x], r);
            json_t *g = run_named(root, name);
            EXPECT(g, "fixture has %s", name);
            if (!g) continue;
            if (pick < 0 || best_num(g, "val_acc") > pv) pick = x, pv = best_num(g, "val_acc"), pt = best_num(g, "test_acc");
        }
        snprintf(name, sizeof name, "fashion-mnist-weight-r%d", r);
        json_t *w = run_named(root, name);
        snprintf(name, sizeof name, "fashion-mnist-single-r%d", r);
        json_t *s = run_named(root, name);
        if (!w || !s || pick < 0) { EXPECT(0, "fixture runs of repeat %d", r); continue; }
        st[r] = pt, wt[r] = best_num(w, "test_acc"), wv[r] = best_num(w, "val_acc");
        snprintf(want, sizeof want, "| %d | %s | %.4f / %.4f | ", r, GRID[pick], pv, pt);
        EXPECT(strstr(md, want), "repeat %d's pick and its accuracies: %s\n%s", r, want, md);
        snprintf(want, sizeof want, " | %.4f / %.4f | %ld of %ld | %.4f / %.4f |\n", best_num(s, "val_acc"),
                 best_num(s, "test_acc"), (long)best_num(w, "outer"),
                 (long)json_integer_value(json_object_get(json_object_get(w, "outer"), "steps")),
                 best_num(w, "val_acc"), best_num(w, "test_acc"));
        EXPECT(strstr(md, want), "repeat %d's learned runs: %s", r, want);
        /* the penalties' range, the weights only (the last 10 entries are the biases') */
        json_t *th = best_theta(w);
        EXPECT(json_array_size(th) == 7850, "theta of 7850, got %zu", json_array_size(th));
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < 7840 && i < json_array_size(th); i++) {
            double v = json_number_value(json_array_get(th, i));
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
        snprintf(want, sizeof want, "| %d | %s | %s | %s |", r, GRID[pick], md_g(b1, sizeof b1, 3, lo),
                 md_g(b2, sizeof b2, 3, hi));
        EXPECT(strstr(md, want), "repeat %d's penalty range: %s", r, want);
    }
    StatsInterval iv = stats_paired_interval(wt, st, 2, 0.95);
    snprintf(want, sizeof want, "| per-weight − single L2, test accuracy | %+.4f [%+.4f, %+.4f] | %s |", iv.mean,
             iv.lo, iv.hi, stats_verdict_name(stats_verdict(iv)));
    EXPECT(strstr(md, want), "the claim's interval and verdict: %s", want);
    snprintf(want, sizeof want, "| per-weight L2 (wd:1/weight) | %.4f ± %.4f | %.4f ± %.4f |\n",
             (wv[0] + wv[1]) / 2, stats_sd(wv, 2), (wt[0] + wt[1]) / 2, stats_sd(wt, 2));
    EXPECT(strstr(md, want), "the summary row: %s", want);
    EXPECT(strstr(md, "**QUICK run**, cut to seconds: T = 200, 10 outer steps, 2 repeats"), "the QUICK cut said");
    EXPECT(strstr(md, "Skipped: no MNIST in $DATA_DIR/mnist and MNIST_SUBSET=0."), "the skipped data set");
    EXPECT(strstr(md, "Reproduce: `QUICK=1 REPEATS=2 OUTER_STEPS=10 INNER_STEPS=200"), "reproduce line");
    EXPECT(strstr(md, "perweight-fashion-mnist.png"), "the plot linked");
    EXPECT(c->nheads == 1 && strstr(c->heads[0].text, "(fashion-mnist, 2 repeats)"), "headline: %s",
           c->nheads ? c->heads[0].text : "(none)");
    EXPECT(!strncmp(c->commit, "2d2297b", 7) && c->threads == 1, "ran by %s x %ld", c->commit, c->threads);
    /* the plot's data: block 0, pixel (0, 0), the mean of the two repeats' weight 0 */
    char path[4400];
    snprintf(path, sizeof path, "%s/perweight-fashion-mnist.dat", files_tmp_dir());
    size_t n;
    char *dat = files_slurp(path, &n);
    EXPECT(dat, "%s written", path);
    double m0 = (json_number_value(json_array_get(best_theta(run_named(root, "fashion-mnist-weight-r0")), 0)) +
                 json_number_value(json_array_get(best_theta(run_named(root, "fashion-mnist-weight-r1")), 0))) / 2;
    snprintf(want, sizeof want, "\n0 0 %.6g\n", m0);
    EXPECT(dat && strstr(dat, want), "the first pixel's mean penalty %s", want);
    free(dat);
    int rc2;
    char *md2 = render_section("perweight", fixture_dir("perweight"), &rc2, c);
    EXPECT(md2 && !strcmp(md, md2), "same results, same bytes");
    free(md);
    free(md2);
    free(c);
    json_decref(root);
}

/* A copy of the fixture folder, perweight-fashion-mnist.json edited by fn. */
static const char *edited(const char *sub, void (*fn)(json_t *root))
{
    return fixture_copy("perweight", sub, (FixtureEdit){.target = FILE_FM, .edit = fn});
}

static json_t *row_run(json_t *root, const char *name) { return run_named(root, name); }
static void drop_val(json_t *root)
{
    json_object_del(json_object_get(row_run(root, "fashion-mnist-weight-r0"), "best"), "val_acc");
}
static void string_repeats(json_t *root)
{
    json_object_set_new(json_object_get(root, "params"), "repeats", json_string("two"));
}
static void other_start(json_t *root)
{
    json_object_set_new(row_run(root, "fashion-mnist-weight-r1"), "wd", json_real(0.5));
}
static void short_theta(json_t *root)
{
    json_t *th = best_theta(row_run(root, "fashion-mnist-weight-r0"));
    json_array_remove(th, 0);
}

static void test_perweight_bad_fields_named(void)
{
    files_setup("report-perweight");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render_section("perweight", edited("no-val", drop_val),
                              &rc, c);
    EXPECT(rc == -1 && strstr(c->err.msg, "no-val/" FILE_FM) && strstr(c->err.msg, "(fashion-mnist-weight-r0)") &&
               strstr(c->err.msg, "field 'val_acc' is missing"),
           "missing field: %s", c->err.msg);
    free(md);
    md = render_section("perweight", edited("str-rep", string_repeats),
                        &rc, c);
    EXPECT(rc == -1 && strstr(c->err.msg, FILE_FM) &&
               strstr(c->err.msg, "field 'repeats' is a string, expected a number"),
           "wrong type: %s", c->err.msg);
    free(md);
    md = render_section("perweight", edited("start", other_start),
                        &rc, c);
    EXPECT(rc == -1 && strstr(c->err.msg, "(fashion-mnist-weight-r1)") && strstr(c->err.msg, "not the grid's pick"),
           "a run not from the pick: %s", c->err.msg);
    free(md);
    md = render_section("perweight", edited("short", short_theta), &rc,
                        c);
    EXPECT(rc == -1 && strstr(c->err.msg, "7849 values, expected 7850"), "theta's length: %s", c->err.msg);
    free(md);
    free(c);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_perweight_numbers_are_the_json), TEST(test_perweight_bad_fields_named)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
