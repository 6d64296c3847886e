/* test_report_hyperclean.c — the hyperclean renderer (bench/report_hyperclean*.c)
 * on tests/fixtures/report/hyperclean/hyperclean.json: hgbench-runs'
 * collection of a real QUICK run (scripts/bench-hyperclean.sh, T = 100, 5
 * outer steps, 2 repeats, 1 thread; 2026-12-07), trimmed: each run's
 * gammas (final.theta.ex) cut to the first 400 examples and its corrupted
 * examples to those below 400, the final schedules and machine records
 * left out, and one run (mnist-subset-mlp-cleaned-r1) made a failure.
 * Checks, each against numbers the test reads from the fixture and works
 * out itself: the accuracy cells (mean ± sd in percent), the paired
 * interval (t(0.975, 1) = 12.7062) and its verdict, the detector's
 * precision, recall and F1, the criterion said either way, the
 * repeat left out, forward mode's extrapolation to N = 5000 by least
 * squares, the headline; a removed field and a wrong-typed one named with
 * the file, a bad example index; the same bytes when rendered twice. */
#define _GNU_SOURCE /* open_memstream */
#include <math.h>

#include "report_fixture.h"
#include "test.h"

#define T975_1 12.706204736174698 /* Student's t, 0.975 quantile, 1 degree of freedom */

static char *render(const char *results, int *rc, ReportCtx *c)
{
    return render_section("hyperclean", results, rc, c);
}

static json_t *run_of(json_t *root, const char *name)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(root, "rows"), i, row)
        if (!strcmp(json_string_value(json_object_get(row, "name")), name))
            return json_object_get(row, "run");
    HG_CHECK(0, "fixture: no row %s", name);
    return NULL;
}

static double acc_of(json_t *root, const char *prefix, const char *arm, int r)
{
    char name[128];
    snprintf(name, sizeof name, "%s-%s-r%d", prefix, arm, r);
    return json_real_value(json_object_get(json_object_get(run_of(root, name), "final"), "test_acc"));
}

/* precision, recall, F1 of gamma < 0 against the corrupted examples */
static void detect(json_t *root, const char *name, double out[3])
{
    json_t *run = run_of(root, name);
    json_t *ex = json_object_get(json_object_get(json_object_get(run, "final"), "theta"), "ex");
    json_t *bad = json_object_get(json_object_get(run, "label_noise"), "changed_examples");
    long flagged = 0, hit = 0;
    for (size_t i = 0; i < json_array_size(ex); i++) {
        if (json_number_value(json_array_get(ex, i)) >= 0) continue;
        flagged++;
        for (size_t k = 0; k < json_array_size(bad); k++)
            hit += (size_t)json_integer_value(json_array_get(bad, k)) == i;
    }
    out[0] = (double)hit / (double)flagged;
    out[1] = (double)hit / (double)json_array_size(bad);
    out[2] = 2 * out[0] * out[1] / (out[0] + out[1]);
}

static void mean_sd2(double a, double b, double *m, double *sd)
{
    *m = (a + b) / 2;
    *sd = fabs(a - b) / sqrt(2.0);
}

/* The share of each group (0 clean, 1 corrupted) of the cleaned runs r0,
 * r1 whose sigma(gamma) falls in each of 20 bins over [0, 1]. */
static void weight_shares(json_t *root, const char *prefix, double share[2][20])
{
    long count[2][20] = {{0}}, n[2] = {0};
    for (int r = 0; r < 2; r++) {
        char name[128];
        snprintf(name, sizeof name, "%s-cleaned-r%d", prefix, r);
        json_t *run = run_of(root, name);
        json_t *ex = json_object_get(json_object_get(json_object_get(run, "final"), "theta"), "ex");
        json_t *bad = json_object_get(json_object_get(run, "label_noise"), "changed_examples");
        for (size_t i = 0; i < json_array_size(ex); i++) {
            int g = 0;
            for (size_t k = 0; k < json_array_size(bad); k++)
                g |= (size_t)json_integer_value(json_array_get(bad, k)) == i;
            const double sg = 1 / (1 + exp(-json_number_value(json_array_get(ex, i))));
            count[g][sg >= 1 ? 19 : (int)(sg * 20)]++;
            n[g]++;
        }
    }
    for (int g = 0; g < 2; g++)
        for (int b = 0; b < 20; b++) share[g][b] = n[g] ? (double)count[g][b] / (double)n[g] : 0;
}

static void test_cells(void)
{
    files_setup("report-hyperclean");
    json_t *root = fixture_load(fixture_dir("hyperclean"), "hyperclean.json");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render(fixture_dir("hyperclean"), &rc, c);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    if (rc) {
        free(md); free(c); json_decref(root);
        return;
    }
    /* Fashion-MNIST logreg: the three arms and the paired difference */
    static const char *const arms[3] = {"oracle", "baseline", "cleaned"};
    char want[512];
    size_t len = (size_t)snprintf(want, sizeof want, "| logreg |");
    double acc[3][2];
    for (int a = 0; a < 3; a++) {
        double m, sd;
        for (int r = 0; r < 2; r++) acc[a][r] = acc_of(root, "fashion-mnist-logreg", arms[a], r);
        mean_sd2(acc[a][0], acc[a][1], &m, &sd);
        len += (size_t)snprintf(want + len, sizeof want - len, " %.2f ± %.2f |", 100 * m, 100 * sd);
    }
    double dm, dsd;
    mean_sd2(acc[2][0] - acc[1][0], acc[2][1] - acc[1][1], &dm, &dsd);
    const double half = T975_1 * dsd / sqrt(2.0);
    EXPECT(dm - half > 0, "the fixture's logreg gain is resolved (%g +- %g)", dm, half);
    len += (size_t)snprintf(want + len, sizeof want - len, " %+.2f [%.2f, %.2f] | holds |", 100 * dm,
                            100 * (dm - half), 100 * (dm + half));
    EXPECT(strstr(md, want), "Fashion-MNIST logreg cells: want '%s' in\n%s", want, md);
    /* its detector, repeat by repeat */
    double d0[3], d1[3];
    detect(root, "fashion-mnist-logreg-cleaned-r0", d0);
    detect(root, "fashion-mnist-logreg-cleaned-r1", d1);
    len = 0;
    for (int k = 0; k < 3; k++) {
        double m, sd;
        mean_sd2(d0[k], d1[k], &m, &sd);
        len += (size_t)snprintf(want + len, sizeof want - len, " %.3f ± %.3f |", m, sd);
    }
    snprintf(want + len, sizeof want - len, " 2 |");
    EXPECT(strstr(md, want), "detector cells: want '%s'", want);
    snprintf(want, sizeof want, "- logreg: the hyper-cleaned test accuracy is above the baseline's "
             "by %.2f points, more than the spread over the 2 repeats", 100 * dm);
    EXPECT(strstr(md, want), "criterion met, said: want '%s'", want);
    EXPECT(strstr(md, "- mlp: **not** above the baseline's by more than the spread over repeats: "
                      "the gain, +4.55 points, is within the spread"),
           "criterion not met, said plainly with why");
    EXPECT(strstr(md, "| 1 (1 left out: cleaned r1: failed: the inner run diverged at outer step 3 "
                      "(loss not finite)) |") &&
               strstr(md, "| not resolved (one repeat) |"),
           "the failed run's repeat left out, the one left unresolved");
    EXPECT(strstr(md, "5000 training examples, 2500 of their labels corrupted; the oracle trained "
                      "on the other 2500."), "the counts from the runs");

    /* forward mode: least squares over its rows, at N = 5000 */
    double x[4], t[4], sx = 0, st = 0, sxx = 0, sxt = 0;
    static const int es[4] = {8, 16, 32, 64};
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "engines-forward-E%d-i0", es[i]);
        x[i] = es[i];
        t[i] = json_number_value(json_object_get(run_of(root, name), "time_s"));
        sx += x[i]; st += t[i];
    }
    for (int i = 0; i < 4; i++) {
        sxx += (x[i] - sx / 4) * (x[i] - sx / 4);
        sxt += (x[i] - sx / 4) * (t[i] - st / 4);
    }
    const double at5000 = st / 4 + sxt / sxx * (5000 - sx / 4);
    const char *row = strstr(md, "| forward (extrapolated) | 5000 | ");
    double shown = NAN;
    EXPECT(row && sscanf(row + strlen("| forward (extrapolated) | 5000 | "), "%lf", &shown) == 1 &&
               fabs(shown - at5000) <= 5e-3 * at5000,
           "forward at N = 5000: shown %g, least squares %g", shown, at5000);
    EXPECT(strstr(md, "| checkpoint-C10 | 5000 |") && strstr(md, "209 steps recomputed"),
           "checkpoint row");
    EXPECT(strstr(md, "Reproduce: `QUICK=1 bash scripts/bench-hyperclean.sh`"), "reproduce line");
    EXPECT(strstr(md, "`build/hgbench hpo --precision 32 --model M --data fashion-mnist "
                      "--train-size 5000 --val 1000 --label-noise 0.5:other --steps 100"),
           "the arms' command beside the table");
    EXPECT(c->nheads == 1 && strstr(c->heads[0].text, "(fashion-mnist, logreg,") &&
               strstr(c->heads[0].text, "2 repeats, holds"),
           "headline: %s", c->nheads ? c->heads[0].text : "(none)");

    /* the learned weights' plot: logreg's two blocks (clean, corrupted) */
    double share[2][20];
    weight_shares(root, "fashion-mnist-logreg", share);
    char dat[4096];
    snprintf(dat, sizeof dat, "%s/hyperclean-fashion-mnist.dat", files_tmp_dir());
    FILE *f = fopen(dat, "r");
    EXPECT(f != NULL, "the plot's data %s is written", dat);
    int rows = 0, off = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f) && rows < 40) {
        double centre, got;
        if (line[0] == '#' || sscanf(line, "%lf %lf", &centre, &got) != 2) continue;
        const int g = rows / 20, b = rows % 20;
        off += fabs(centre - (b + 0.5) / 20) > 1e-9 || fabs(got - share[g][b]) > 1e-5;
        rows++;
    }
    if (f) fclose(f);
    EXPECT(rows == 40 && off == 0, "logreg's weight shares against the fixture's gammas: %d rows, "
           "%d differ", rows, off);
    EXPECT(strstr(md, "hyperclean-fashion-mnist.png)"), "the plot is shown");

    ReportCtx *c2 = calloc(1, sizeof *c2);
    char *again = render(fixture_dir("hyperclean"), &rc, c2);
    EXPECT(again && !strcmp(md, again), "rendering twice gives the same bytes");
    free(again);
    free(c2);
    free(md);
    free(c);
    json_decref(root);
}

static const char *mutated(const char *name, void (*change)(json_t *root))
{
    return mutated_fixture("hyperclean", "hyperclean.json", name, change);
}
static void drop_test_acc(json_t *root)
{
    json_object_del(json_object_get(run_of(root, "fashion-mnist-mlp-cleaned-r0"), "final"), "test_acc");
}
static void time_a_string(json_t *root)
{
    json_object_set_new(run_of(root, "engines-reversible-i0"), "time_s", json_string("fast"));
}
static void bad_index(json_t *root)
{
    json_t *ln = json_object_get(run_of(root, "benchopt-cleaned-r0"), "label_noise");
    json_array_append_new(json_object_get(ln, "changed_examples"), json_integer(400));
}

static void test_bad_fields_named(void)
{
    files_setup("report-hyperclean");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    const char *dir = mutated("no-test-acc", drop_test_acc);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, dir) && strstr(c->err.msg, "hyperclean.json") &&
               strstr(c->err.msg, ".run (fashion-mnist-mlp-cleaned-r0)") &&
               strstr(c->err.msg, "field 'test_acc' is missing"),
           "missing field: %s", c->err.msg);
    dir = mutated("time-string", time_a_string);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, "hyperclean.json: ") &&
               strstr(c->err.msg, ".run (engines-reversible-i0): field 'time_s' is a string, "
                                  "expected a number"),
           "wrong type: %s", c->err.msg);
    dir = mutated("bad-index", bad_index);
    free(render(dir, &rc, c));
    EXPECT(rc == -1 && strstr(c->err.msg, "(benchopt-cleaned-r0)") &&
               strstr(c->err.msg, "is not an example index below 400"),
           "an index past the gammas: %s", c->err.msg);
    free(c);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_cells), TEST(test_bad_fields_named)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
