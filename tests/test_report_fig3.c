/* test_report_fig3.c — the fig3 renderer (bench/report_fig3*.c) on fixture
 * JSON trimmed from a tiny real run of scripts/fig3.sh (OUTER_STEPS=2
 * INNER_STEPS=10 VAL=200 REPEATS=2 THREADS=1, and the same with
 * FIG3_PROTOCOL=1; tests/fixtures/report/fig3/: the manifests and the hpo
 * logs of each repeat). Checked against numbers computed here from the
 * fixture's per-run values: each method's mean ± sd over the repeats, the
 * paired differences' 95% t intervals (common/stats.h) and their verdicts
 * (holds, fails, not resolved by R runs, the first two by editing FDS's test
 * accuracies), the collapse counts (one validation accuracy set to chance
 * adds one, and its point in the plot's data), the protocol table's rows and
 * skipped variant; a missing or mistyped field fails naming the file and the
 * field, single-run results are refused, and rendering twice gives the same
 * bytes. The threshold, count noise and bands against hand-computed cases.
 * And build/hgbench-manifest, which writes the manifests: the envelope and
 * the typed members read back, bad members refused naming the flag. */
#define _GNU_SOURCE /* open_memstream */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bench/report_fig3.h"
#include "../bench/report_json.h"
#include "../common/stats.h"
#include "report_fixture.h"
#include "test.h"

#define REPEATS_IN_FIXTURE 2

static const char *const METHODS[] = {"greedy", "nongreedy", "fds", "cosine"};

/* The fixture folder (files_setup first: the renders write to its
 * temporary folder). */
static const char *fixtures(void)
{
    files_setup("report-fig3");
    return fixture_dir("fig3");
}

typedef struct Out {
    int rc;
    char *md;
    ReportCtx c;
} Out;

static Out render(const char *results)
{
    Out o;
    memset(&o, 0, sizeof o);
    o.rc = render_into("fig3", results, &o.md, &o.c);
    return o;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_t *run_log(const char *dir, const char *base, const char *m, int r)
{
    char name[512];
    snprintf(name, sizeof name, "%s-%s-r%d.json", base, m, r);
    return fixture_load(dir, name);
}

/* The threshold as report_fig3.h states it, written out again here. */
static double chance(json_t *log)
{
    double p = 1.0 / (double)json_integer_value(json_object_get(log, "classes"));
    double n = (double)json_integer_value(json_object_get(log, "val_examples"));
    return p + 0.02 + 3 * sqrt(p * (1 - p) / n);
}

/* Outer steps >= 1 of one log at or below its chance threshold; *steps those >= 1. */
static int collapses(json_t *log, int *steps)
{
    json_t *l = json_object_get(log, "log");
    int c = 0;
    *steps = 0;
    for (size_t i = 0; i < json_array_size(l); i++) {
        json_t *e = json_array_get(l, i);
        if (json_integer_value(json_object_get(e, "outer")) < 1) continue;
        (*steps)++;
        c += num(e, "val_acc") <= chance(log);
    }
    return c;
}

/* A data set's summary rows: "| method | R of R | ... | mean ± sd | mean ± sd | c of n |". */
static void check_rows(const char *dir, const char *md, json_t *man)
{
    const char *base = str(man, "base");
    for (int k = 0; k < 4; k++) {
        double val[REPEATS_IN_FIXTURE], test[REPEATS_IN_FIXTURE];
        char steps[64] = "";
        int coll = 0, stepped = 0;
        for (int r = 0; r < REPEATS_IN_FIXTURE; r++) {
            json_t *j = run_log(dir, base, METHODS[k], r);
            json_t *best = json_object_get(j, "best");
            val[r] = num(best, "val_acc");
            test[r] = num(best, "test_acc");
            snprintf(steps + strlen(steps), sizeof steps - strlen(steps), "%s%lld", r ? ", " : "",
                     json_integer_value(json_object_get(best, "outer")));
            int s;
            coll += collapses(j, &s);
            stepped += s;
            json_decref(j);
        }
        char line[512], col[32] = "-";
        if (k != 3) snprintf(col, sizeof col, "%d of %d", coll, stepped);
        snprintf(line, sizeof line, "| %s | %d of %d | %s | %.4f ± %.4f | %.4f ± %.4f | %s |",
                 METHODS[k], REPEATS_IN_FIXTURE, REPEATS_IN_FIXTURE, steps,
                 stats_mean(val, REPEATS_IN_FIXTURE), stats_sd(val, REPEATS_IN_FIXTURE),
                 stats_mean(test, REPEATS_IN_FIXTURE), stats_sd(test, REPEATS_IN_FIXTURE), col);
        EXPECT(strstr(md, line) != NULL, "summary row: %s", line);
    }
}

/* The claim row "| <what> | d0, d1 | mean | [lo, hi] | **verdict** |" from the
 * fixture's best test accuracies of methods a and b, paired by repeat. */
static void expected_claim(const char *dir, const char *base, const char *what, const char *a,
                           const char *b, char *line, size_t n, StatsVerdict *v)
{
    double x[REPEATS_IN_FIXTURE], y[REPEATS_IN_FIXTURE];
    char per[128] = "";
    for (int r = 0; r < REPEATS_IN_FIXTURE; r++) {
        json_t *ja = run_log(dir, base, a, r), *jb = run_log(dir, base, b, r);
        x[r] = num(json_object_get(ja, "best"), "test_acc");
        y[r] = num(json_object_get(jb, "best"), "test_acc");
        snprintf(per + strlen(per), sizeof per - strlen(per), "%s%.4g", r ? ", " : "", x[r] - y[r]);
        json_decref(ja);
        json_decref(jb);
    }
    StatsInterval iv = stats_paired_interval(x, y, REPEATS_IN_FIXTURE, 0.95);
    *v = stats_verdict(iv);
    char verdict[64];
    if (*v == STATS_UNRESOLVED) snprintf(verdict, sizeof verdict, "not resolved by %d runs", REPEATS_IN_FIXTURE);
    else snprintf(verdict, sizeof verdict, "%s", stats_verdict_name(*v));
    snprintf(line, n, "| %s | %s | %.4g | [%.4g, %.4g] | **%s** |", what, per, iv.mean, iv.lo, iv.hi,
             verdict);
}

static json_t *ran_manifest(const char *dir, const char *data)
{
    char name[128];
    snprintf(name, sizeof name, "fig3-%s.json", data);
    json_t *m = fixture_load(dir, name);
    HG_CHECK(!strcmp(str(m, "state"), "ran"), "the fixture's %s ran", data);
    return m;
}

static void test_tables_are_the_json_numbers(void)
{
    const char *dir = fixtures();
    Out o = render(dir);
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    if (o.rc) { free(o.md); return; }
    static const char *const data[] = {"fashion-mnist", "mnist"};
    for (int i = 0; i < 2; i++) {
        json_t *man = ran_manifest(dir, data[i]);
        char line[1024];
        snprintf(line, sizeof line, "### %s\n", str(man, "label"));
        EXPECT(strstr(o.md, line) != NULL, "the data set's heading: %s", line);
        check_rows(dir, o.md, man);
        StatsVerdict v;
        expected_claim(dir, str(man, "base"), "test acc, FDS - cosine", "fds", "cosine", line,
                       sizeof line, &v);
        EXPECT(strstr(o.md, line) != NULL, "claim row: %s", line);
        expected_claim(dir, str(man, "base"), "test acc, FDS - greedy", "fds", "greedy", line,
                       sizeof line, &v);
        EXPECT(strstr(o.md, line) != NULL, "claim row: %s", line);
        snprintf(line, sizeof line, "%s-schedules.png)", str(man, "base"));
        EXPECT(strstr(o.md, line) != NULL, "schedules plot linked: %s", line);
        json_decref(man);
    }
    /* the count noise of one test accuracy: FDS's mean on the subset's test images */
    json_t *man = ran_manifest(dir, "mnist");
    double t[REPEATS_IN_FIXTURE];
    long n_test = 0;
    for (int r = 0; r < REPEATS_IN_FIXTURE; r++) {
        json_t *j = run_log(dir, str(man, "base"), "fds", r);
        t[r] = num(json_object_get(j, "best"), "test_acc");
        n_test = (long)json_integer_value(json_object_get(j, "test_examples"));
        json_decref(j);
    }
    double p = stats_mean(t, REPEATS_IN_FIXTURE);
    char line[256];
    snprintf(line, sizeof line, "that is %.4f on the %ld test images (p = %.4f)",
             sqrt(p * (1 - p) / (double)n_test), n_test, p);
    EXPECT(strstr(o.md, line) != NULL, "count noise: %s", line);
    EXPECT(n_test == 2000, "the subset's whole test split: %ld", n_test);
    json_decref(man);
    /* a skipped data set says why */
    json_t *sv = fixture_load(dir, "fig3-svhn.json");
    snprintf(line, sizeof line, "- **svhn**: skipped: %s\n", str(sv, "reason"));
    EXPECT(strstr(o.md, line) != NULL, "skipped: %s", line);
    json_decref(sv);
    EXPECT(strstr(o.md, "Machine: ") && strstr(o.md, "Reproduce: `"), "provenance and command");
    int found = 0;
    for (int i = 0; i < o.c.nheads; i++) found |= strstr(o.c.heads[i].text, "FDS - cosine") != NULL;
    EXPECT(found, "a headline has the FDS - cosine interval");
    Out again = render(dir);
    EXPECT(again.rc == 0 && !strcmp(o.md, again.md), "rendering twice gives the same bytes");
    free(again.md);
    free(o.md);
}

/* ---- edits of the fixture: a copy, then files changed in it */

static void edit_file(const char *dir, const char *name, void (*edit)(json_t *))
{
    json_t *j = fixture_load(dir, name);
    edit(j);
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    HG_CHECK(json_dump_file(j, path, JSON_INDENT(1)) == 0, "%s", path);
    json_decref(j);
}

static void nothing(json_t *j)
{
    (void)j;
}

static const char *copy(const char *sub)
{
    fixtures();
    return fixture_copy("fig3", sub, (FixtureEdit){.target = NULL, .edit = nothing});
}

/* FDS's best test accuracy set to cosine's of the same repeat + delta[r] */
static double delta[REPEATS_IN_FIXTURE], cos_test[REPEATS_IN_FIXTURE];
static int edit_r;
static void set_fds_test(json_t *j)
{
    json_object_set_new(json_object_get(j, "best"), "test_acc",
                        json_real(cos_test[edit_r] + delta[edit_r]));
}

static void verdict_with(double d0, double d1, StatsVerdict want)
{
    const char *dir = copy(want == STATS_HOLDS ? "holds" : "fails");
    json_t *man = ran_manifest(dir, "mnist");
    const char *base = str(man, "base");
    delta[0] = d0;
    delta[1] = d1;
    for (edit_r = 0; edit_r < REPEATS_IN_FIXTURE; edit_r++) {
        json_t *c = run_log(dir, base, "cosine", edit_r);
        cos_test[edit_r] = num(json_object_get(c, "best"), "test_acc");
        json_decref(c);
        char name[512];
        snprintf(name, sizeof name, "%s-fds-r%d.json", base, edit_r);
        edit_file(dir, name, set_fds_test);
    }
    char line[1024];
    StatsVerdict v;
    expected_claim(dir, base, "test acc, FDS - cosine", "fds", "cosine", line, sizeof line, &v);
    EXPECT(v == want, "the edit gives verdict %s", stats_verdict_name(want));
    Out o = render(dir);
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    EXPECT(o.md && strstr(o.md, line) != NULL, "claim row: %s", line);
    free(o.md);
    json_decref(man);
}

static void test_verdicts(void)
{
    /* d = 0.100, 0.101: mean 0.1005, sd 0.000707, t(0.975, 1) = 12.71: [0.094, 0.107] */
    verdict_with(0.100, 0.101, STATS_HOLDS);
    verdict_with(-0.100, -0.101, STATS_FAILS);
    /* the unedited fixture: 2 runs with differences of both signs or zero */
    const char *dir = fixtures();
    Out o = render(dir);
    EXPECT(o.rc == 0 && strstr(o.md, "**not resolved by 2 runs**"), "not resolved by 2 runs");
    free(o.md);
}

static void set_chance(json_t *j)
{
    json_object_set_new(json_array_get(json_object_get(j, "log"), 1), "val_acc", json_real(0.1));
}

static void test_collapses_are_counted(void)
{
    const char *dir = copy("collapse");
    json_t *man = ran_manifest(dir, "mnist");
    const char *base = str(man, "base");
    char name[512];
    snprintf(name, sizeof name, "%s-greedy-r0.json", base);
    json_t *before = fixture_load(dir, name);
    int steps0, c0 = collapses(before, &steps0);
    json_decref(before);
    edit_file(dir, name, set_chance);
    Out o = render(dir);
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    /* the other repeat's count as it is */
    json_t *other = run_log(dir, base, "greedy", 1);
    int steps1, c1 = collapses(other, &steps1);
    json_decref(other);
    char line[128];
    snprintf(line, sizeof line, "| %d of %d |", c0 + 1 + c1, steps0 + steps1);
    EXPECT(o.md && strstr(o.md, line) && c0 == 0, "greedy's collapses one more (%d before): %s", c0,
           line);
    /* and its point in the accuracy plot's data */
    char dat[4400];
    snprintf(dat, sizeof dat, "%s/%s-accuracy.dat", files_tmp_dir(), base);
    size_t n;
    char *text = files_slurp(dat, &n);
    EXPECT(text && strstr(text, "\n1 0.10000000000000001 greedy 0\n"), "collapse point in %s", dat);
    free(text);
    free(o.md);
    json_decref(man);
}

static void judge_per_sample(json_t *j)
{
    json_object_set_new(j, "best_rule",
                        json_string("the highest val_acc, each outer step's on its own "
                                    "validation sample (--resample val: different samples)"));
}

static void test_protocol_table(void)
{
    const char *dir = fixtures();
    Out o = render(dir);
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    if (o.rc) { free(o.md); return; }
    json_t *list = fixture_load(dir, "fig3-protocol.json");
    EXPECT(strstr(o.md, "### Protocol comparison (FDS on mnist-subset, 2 repeats per variant)") != NULL,
           "protocol heading");
    /* base's row: runs past step 1, the gain best - step 1 as mean ± sd */
    json_t *bm = fixture_load(dir, "fig3-protocol-base.json");
    double g[REPEATS_IN_FIXTURE];
    int better = 0;
    for (int r = 0; r < REPEATS_IN_FIXTURE; r++) {
        json_t *j = run_log(dir, str(bm, "base"), "fds", r);
        json_t *best = json_object_get(j, "best"), *l = json_object_get(j, "log");
        double first = NAN;
        for (size_t i = 0; i < json_array_size(l); i++)
            if (json_integer_value(json_object_get(json_array_get(l, i), "outer")) == 1)
                first = num(json_array_get(l, i), "val_acc");
        g[r] = num(best, "val_acc") - first;
        better += json_integer_value(json_object_get(best, "outer")) > 1;
        json_decref(j);
    }
    char line[512];
    snprintf(line, sizeof line, "| %d of %d |", better, REPEATS_IN_FIXTURE);
    EXPECT(strstr(o.md, "| base | none") && strstr(o.md, line), "base's row: %s", line);
    snprintf(line, sizeof line, "| %.4f ± %.4f |", stats_mean(g, REPEATS_IN_FIXTURE),
             stats_sd(g, REPEATS_IN_FIXTURE));
    EXPECT(strstr(o.md, line) != NULL, "base's gain: %s", line);
    /* the rule for the figure's protocol: a variant whose best val acc is
     * above base's by a paired 95% interval (computed here from the logs)
     * would replace it; base's own runs past step 1 are counted */
    int beats = 0;
    static const char *const others[] = {"clamped", "float64", "small-step"};
    for (int v = 0; v < ARRAY_LEN(others); v++) {
        char file[128];
        snprintf(file, sizeof file, "fig3-protocol-%s.json", others[v]);
        json_t *vm = fixture_load(dir, file);
        double a[REPEATS_IN_FIXTURE], b[REPEATS_IN_FIXTURE];
        for (int r = 0; r < REPEATS_IN_FIXTURE; r++) {
            json_t *x = run_log(dir, str(vm, "base"), "fds", r), *y = run_log(dir, str(bm, "base"), "fds", r);
            a[r] = num(json_object_get(x, "best"), "val_acc");
            b[r] = num(json_object_get(y, "best"), "val_acc");
            json_decref(x);
            json_decref(y);
        }
        beats += stats_paired_interval(a, b, REPEATS_IN_FIXTURE, 0.95).lo > 0;
        json_decref(vm);
    }
    snprintf(line, sizeof line, "Here %s, and base's runs improve past step 1 in %d of %d: %s.",
             beats ? "a variant beats it" : "no variant beats it by that measure", better,
             REPEATS_IN_FIXTURE,
             beats ? "the figure should change its settings to that variant's"
             : better ? "the figure keeps base's settings" : "base does not improve, so the choice is open");
    EXPECT(strstr(o.md, "**The figure's protocol** is base's by construction.") && strstr(o.md, line),
           "the figure's protocol: %s", line);
    /* a variant the fixture's hpo could not run */
    json_t *rs = fixture_load(dir, "fig3-protocol-resampled.json");
    snprintf(line, sizeof line, "skipped: %s |", str(rs, "reason"));
    EXPECT(!strcmp(str(rs, "state"), "skipped") && strstr(o.md, line), "skipped variant: %s", line);
    json_decref(rs);
    json_decref(bm);
    json_decref(list);
    EXPECT(!strstr(o.md, "the best outer step is the highest"), "no per-sample note by default");
    free(o.md);
    /* a variant whose hpo picked its best step on each step's own sample
     * (hpo's best_rule under --resample val) is named, with the rule */
    o = render(fixture_copy("fig3", "per-sample",
                            (FixtureEdit){.target = "fig3-protocol-base-fds-r0.json",
                                          .edit = judge_per_sample}));
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    EXPECT(o.md && strstr(o.md, "In **base** the best outer step is the highest val_acc, each "
                                "outer step's on its own validation sample"),
           "the variant judged per sample is named with its rule");
    free(o.md);
    /* the same in the main figure's runs: the intro says so */
    o = render(fixture_copy("fig3", "per-sample-main",
                            (FixtureEdit){.target = "fig3-fashion-mnist-greedy-r0.json",
                                          .edit = judge_per_sample}));
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    EXPECT(o.md && strstr(o.md, "Here the best outer step is the highest val_acc, each outer "
                                "step's on its own validation sample"),
           "the intro states the per-sample rule");
    free(o.md);
}

/* The fixture copied to a scratch folder, the file `target` changed by edit. */
static const char *broken(const char *name, const char *target, void (*edit)(json_t *))
{
    fixtures();
    return fixture_copy("fig3", name, (FixtureEdit){.target = target, .edit = edit});
}

static void drop_T(json_t *j)
{
    json_object_del(j, "T");
}

static void drop_repeats(json_t *j)
{
    json_object_del(j, "repeats");
}

static void drop_val_acc(json_t *j)
{
    json_object_del(json_array_get(json_object_get(j, "log"), 1), "val_acc");
}

static void mistype_val_acc(json_t *j)
{
    json_object_set_new(json_array_get(json_object_get(j, "log"), 1), "val_acc",
                        json_string("high"));
}

static void test_bad_fields_are_named(void)
{
    fixtures();
    const char *mname = "fig3-mnist.json", *fname = "fig3-mnist-subset-nongreedy-r1.json";
    Out o = render(broken("missing", mname, drop_T));
    EXPECT(o.rc == -1, "a missing field fails");
    EXPECT(strstr(o.c.err.msg, mname) && strstr(o.c.err.msg, "'T' is missing"),
           "names the file and field: %s", o.c.err.msg);
    free(o.md);

    o = render(broken("single-run", mname, drop_repeats));
    EXPECT(o.rc == -1 && strstr(o.c.err.msg, mname) && strstr(o.c.err.msg, "'repeats' is missing"),
           "single-run results refused, naming the file and field: %s", o.c.err.msg);
    free(o.md);

    o = render(broken("no-val-acc", fname, drop_val_acc));
    EXPECT(o.rc == -1 && strstr(o.c.err.msg, fname) && strstr(o.c.err.msg, "log[1]") &&
               strstr(o.c.err.msg, "'val_acc' is missing"),
           "a run's missing field names the file, entry and field: %s", o.c.err.msg);
    free(o.md);

    o = render(broken("mistyped", fname, mistype_val_acc));
    EXPECT(o.rc == -1, "a field of the wrong type fails");
    EXPECT(strstr(o.c.err.msg, fname) && strstr(o.c.err.msg, "log[1]") &&
               strstr(o.c.err.msg, "'val_acc'"),
           "names the file, entry and field: %s", o.c.err.msg);
    free(o.md);
}

/* A run whose log is missing (it failed): its method's row says so, the
 * mean is the other repeat's alone, and a claim with one pair is not resolved. */
static void test_a_failed_run(void)
{
    fixtures();
    const char *dir = fixture_copy("fig3", "failed-run",
                                   (FixtureEdit){.target = "fig3-mnist-subset-fds-r1.json"});
    Out o = render(dir);
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    json_t *j = run_log(dir, "fig3-mnist-subset", "fds", 0);
    json_t *best = json_object_get(j, "best");
    char line[256];
    snprintf(line, sizeof line, "| fds | 1 of 2 | %lld, failed | %.4f (1 run) | %.4f (1 run) |",
             json_integer_value(json_object_get(best, "outer")), num(best, "val_acc"),
             num(best, "test_acc"));
    EXPECT(o.md && strstr(o.md, line), "the failed run's row: %s", line);
    EXPECT(o.md && strstr(o.md, "none (1 pair) | **not resolved (1 paired run)** |"),
           "one pair: no interval");
    EXPECT(o.md && strstr(o.md, "Some runs failed on mnist-subset"), "says runs failed");
    json_decref(j);
    free(o.md);
}

/* Hand-computed: the threshold, the count noise, and a band over rows of
 * different lengths. */
static void test_fig3_numbers(void)
{
    /* 1/10 + 0.02 + 3 sqrt(0.1 * 0.9 / 1000) = 0.12 + 3 * 0.0094868 = 0.1484605 */
    EXPECT_REL(fig3_chance_threshold(10, 1000), 0.14846050, 1e-7, 0, "threshold, 10 classes, 1000 images");
    EXPECT(fabs(fig3_count_se(0.5, 10000) - 0.005) < 1e-15, "se(0.5, 10000) = 0.005");
    EXPECT(isnan(fig3_count_se(0.5, 0)) && isnan(fig3_chance_threshold(1, 100)), "no images, no classes: NaN");
    Fig3Band b = {0};
    const double r0[] = {1, 2, 3}, r1[] = {3, NAN, 5, 7};
    fig3_band_add(&b, r0, 3);
    fig3_band_add(&b, r1, 4);
    fig3_band_finish(&b);
    const double mean[] = {2, 2, 4, 7}, lo[] = {1, 2, 3, 7}, hi[] = {3, 2, 5, 7};
    const int count[] = {2, 1, 2, 1};
    int ok = b.n == 4;
    for (int i = 0; ok && i < 4; i++)
        ok = b.mean[i] == mean[i] && b.lo[i] == lo[i] && b.hi[i] == hi[i] && b.count[i] == count[i];
    EXPECT(ok, "band of {1,2,3} and {3,-,5,7}: mean 2 2 4 7, min 1 2 3 7, max 3 2 5 7");
    fig3_band_free(&b);
    /* collapses: steps >= 1 at or below the threshold; step 0 never counts */
    long outer[] = {0, 1, 2, 3};
    double val[] = {0.1, 0.1, 0.5, 0.15};
    Fig3Run run = {.present = 1, .nlog = 4, .outer = outer, .val = val};
    int steps;
    EXPECT(fig3_collapses(&run, 0.15, &steps) == 2 && steps == 3, "2 of 3 steps at <= 0.15");
    EXPECT(fabs(fig3_first_val(&run) - 0.1) < 1e-15, "the first training step's accuracy");
}

static void test_no_results_says_so(void)
{
    files_setup("report-fig3");
    char *dir = files_tmp("empty");
    mkdir(dir, 0777);
    Out o = render(dir);
    EXPECT(o.rc == 0 && strstr(o.md, "**failed**: no results"), "no results: %s", o.md);
    free(o.md);
}

static void test_manifest_writes_the_envelope(void)
{
    files_setup("report-fig3");
    char prog[4200], out[4200], args[4800];
    snprintf(prog, sizeof prog, "%s/../hgbench-manifest", files_bin_dir);
    if (access(prog, X_OK)) {
        test_skip_part("%s is not built (make builds it with hgbench-report)", prog);
        return;
    }
    snprintf(out, sizeof out, "%s", files_tmp("manifest.json"));
    snprintf(args, sizeof args, "--out %s --program scripts/fig3.sh --commit abc --threads 3 "
             "--str data=mnist --int T=50 --num lr=0.02 -- QUICK=1 scripts/fig3.sh", out);
    Run r = run_prog(prog, args);
    EXPECT(r.status == 0, "exit %d: %s", r.status, r.err);
    run_free(&r);
    Rj rj;
    json_t *root = rj_load(&rj, out);
    EXPECT(root != NULL, "written: %s", rj.err.msg);
    if (!root) return;
    RjEnvelope e;
    rj_envelope(&rj, root, &e);
    EXPECT(!rj.bad, "an envelope: %s", rj.err.msg);
    EXPECT(!strcmp(e.program, "scripts/fig3.sh") && !strcmp(e.commit, "abc") && e.threads == 3,
           "program %s commit %s threads %ld", e.program, e.commit, e.threads);
    EXPECT(!strcmp(e.command, "QUICK=1 scripts/fig3.sh"), "command '%s'", e.command);
    EXPECT(!strcmp(rj_str(&rj, root, "data"), "mnist") && rj_int(&rj, root, "T") == 50 &&
               rj_num(&rj, root, "lr") == 0.02 && !rj.bad,
           "members typed: %s", rj.err.msg);
    rj_close(&rj);

    snprintf(args, sizeof args, "--out %s --program x --int T=5x -- a", out);
    r = run_prog(prog, args);
    EXPECT(r.status == 2 && strstr(r.err, "--int 'T=5x'"), "a bad integer: exit %d, %s",
           r.status, r.err);
    run_free(&r);
    snprintf(args, sizeof args, "--out %s --program x --int T=5 --str T=6 -- a", out);
    r = run_prog(prog, args);
    EXPECT(r.status == 2 && strstr(r.err, "given twice"), "a key twice: exit %d, %s", r.status,
           r.err);
    run_free(&r);
    snprintf(args, sizeof args, "--out %s --program x --str commit=y -- a", out);
    r = run_prog(prog, args);
    EXPECT(r.status == 2 && strstr(r.err, "envelope"), "an envelope key: exit %d, %s", r.status,
           r.err);
    run_free(&r);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_tables_are_the_json_numbers), TEST(test_verdicts),
                              TEST(test_collapses_are_counted), TEST(test_a_failed_run),
                              TEST(test_protocol_table),
                              TEST(test_bad_fields_are_named), TEST(test_fig3_numbers),
                              TEST(test_no_results_says_so),
                              TEST(test_manifest_writes_the_envelope)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
