/* test_theta.c — hgbench hypergrad --theta FILE (cli/theta_file.h) and
 * --learn's per-layer and per-weight kinds, end to end through the binary.
 *
 * Round trip: a run's --json fed back as --theta gives the same run, bit
 * for bit (theta, hypergradient, per-step values and validation loss, as
 * the record prints them), for per-run, per-layer and per-weight kinds. A
 * .npy of N values sets theta. Bad files are refused before any work with
 * exit status 2 and a message naming the file and the field: wrong length,
 * NaN or null, a wrong kind or granularity, no file. --learn's refusals.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/npy.h"
#include "support_files.h"
#include "test.h"

/* mlp:8 on synthetic:12 (10 classes): layers fc1 (104 values), fc2 (90);
 * P = 194 */
#define PROBLEM "hypergrad --model mlp:8 --data synthetic:12 --steps 6 --batch 4 --val 20"
#define P_MLP8 194

/* text of path from the member key up to (not including) the member until */
static char *member_text(const char *path, const char *key, const char *until)
{
    size_t len;
    char *t = files_slurp(path, &len);
    if (!t)
        return NULL;
    char *a = strstr(t, key), *b = a ? strstr(a, until) : NULL;
    if (!b) {
        free(t);
        return NULL;
    }
    const size_t n = (size_t)(b - a);
    memmove(t, a, n);
    t[n] = '\0';
    return t;
}

static int run_ok(const char *args)
{
    Run r = run_bin("hgbench", args);
    const int ok = r.status == 0;
    if (!ok)
        test_fail_at(__FILE__, __LINE__, "hgbench %s: exit %d: %s", args, r.status, r.err);
    run_free(&r);
    return ok;
}

static void test_round_trip(void)
{
    static const char *const runs[] = {
        "--engine bptt --learn lr:3,mom:2,wd:T",
        "--engine bptt --learn lr:2/layer,mom:1/layer,wd:1/weight --clamp 0.05",
        "--engine forward --learn lr:2/layer,wd:2/layer",
        "--engine reversible --learn lr:1,wd:1/weight",
        "--engine checkpoint --checkpoints 2 --learn mom:T/layer --schedule cosine",
        "--engine bptt --learn lr:2/layer --example-weights 12",
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char args[4096], a[512], b[512];
        snprintf(a, sizeof a, "%s", files_tmp("a.json"));
        snprintf(b, sizeof b, "%s", files_tmp("b.json"));
        snprintf(args, sizeof args, PROBLEM " %s --json %s", runs[i], a);
        if (!run_ok(args))
            continue;
        snprintf(args, sizeof args, PROBLEM " %s --theta %s --json %s", runs[i], a, b);
        if (!run_ok(args))
            continue;
        static const char *const members[][2] = {
            {"\"theta\"", "\"val_acc\""}, {"\"hypergrad\"", "\"time_s\""}};
        for (int m = 0; m < 2; m++) {
            char *x = member_text(a, members[m][0], members[m][1]);
            char *y = member_text(b, members[m][0], members[m][1]);
            EXPECT(x && y && !strcmp(x, y), "%s: %s differs after --theta", runs[i],
                   members[m][0]);
            free(x);
            free(y);
        }
    }
}

/* A .npy of N values: theta in the record is that array. */
static void test_npy(void)
{
    const int N = 2 * 2 + 1 + P_MLP8; /* lr:2/layer (2 layers), mom:1, wd:1/weight */
    double theta[2 * 2 + 1 + P_MLP8];
    for (int q = 0; q < N; q++)
        theta[q] = q < 4 ? 0.05 + 0.01 * q : q == 4 ? 0.8 : 1e-3 * (1 + q % 7);
    const char *npy = files_tmp("theta.npy");
    char path[512], json[512], args[4096];
    snprintf(path, sizeof path, "%s", npy);
    snprintf(json, sizeof json, "%s", files_tmp("c.json"));
    HgErr err = {{0}};
    HG_CHECK(npy_write(path, NPY_F8, (long[]){N}, 1, theta, &err) == 0, "%s", err.msg);
    snprintf(args, sizeof args, PROBLEM " --learn lr:2/layer,mom:1,wd:1/weight --theta %s "
             "--json %s", path, json);
    if (!run_ok(args))
        return;
    char *v = member_text(json, "\"values\"", "]");
    int same = v != NULL, n = 0;
    for (char *p = v ? strchr(v, '[') + 1 : NULL; p && n < N; n++) {
        char *end;
        const double x = strtod(p, &end);
        same &= end != p && x == theta[n];
        p = strchr(end, ',');
        p = p ? p + 1 : NULL;
    }
    EXPECT(same && n == N, "the record's theta is the .npy's (%d of %d read)", n, N);
    free(v);
}

/* exit 2, the message holding each of want[] */
static void expect_refused(const char *args, const char *const *want, int nwant)
{
    Run r = run_bin("hgbench", args);
    int has = 1;
    for (int i = 0; i < nwant; i++)
        has &= strstr(r.err, want[i]) != NULL;
    EXPECT(r.status == 2 && has, "hgbench %s: exit %d (want 2), stderr: %s", args, r.status,
           r.err);
    run_free(&r);
}

static void test_bad_files(void)
{
    char good[512], args[4096], path[512];
    snprintf(good, sizeof good, "%s", files_tmp("good.json"));
    snprintf(args, sizeof args, PROBLEM " --learn lr:2/layer,wd:1/weight --json %s", good);
    if (!run_ok(args))
        return;
    HgErr err = {{0}};
    /* a .npy one short, and one with a NaN */
    const int N = 4 + P_MLP8;
    double *v = calloc(N, sizeof *v);
    snprintf(path, sizeof path, "%s", files_tmp("short.npy"));
    HG_CHECK(npy_write(path, NPY_F8, (long[]){N - 1}, 1, v, &err) == 0, "%s", err.msg);
    snprintf(args, sizeof args, PROBLEM " --learn lr:2/layer,wd:1/weight --theta %s", path);
    expect_refused(args, (const char *[]){path, "197 entries", "N = 198"}, 3);
    v[5] = NAN;
    snprintf(path, sizeof path, "%s", files_tmp("nan.npy"));
    HG_CHECK(npy_write(path, NPY_F8, (long[]){N}, 1, v, &err) == 0, "%s", err.msg);
    snprintf(args, sizeof args, PROBLEM " --learn lr:2/layer,wd:1/weight --theta %s", path);
    expect_refused(args, (const char *[]){path, "entry 5", "finite"}, 3);
    free(v);
    /* the record for another layout: a kind, a granularity, a window count */
    snprintf(args, sizeof args, PROBLEM " --learn mom:2/layer,wd:1/weight --theta %s", good);
    expect_refused(args, (const char *[]){good, "theta.layout[0].kind", "\"lr\"", "\"mom\""}, 4);
    snprintf(args, sizeof args, PROBLEM " --learn lr:2,wd:1/weight --theta %s", good);
    expect_refused(args, (const char *[]){good, "theta.layout[0].per", "\"layer\"", "\"run\""},
                   4);
    snprintf(args, sizeof args, PROBLEM " --learn lr:3/layer,wd:1/weight --theta %s", good);
    expect_refused(args, (const char *[]){good, "theta.layout[0].windows: 2", "has 3"}, 3);
    snprintf(args, sizeof args, PROBLEM " --learn lr:2/layer --theta %s", good);
    expect_refused(args, (const char *[]){good, "theta.layout", "learns 1"}, 3);
    snprintf(args, sizeof args, PROBLEM " --learn lr:2/layer --example-weights 3 --theta %s",
             good);
    expect_refused(args, (const char *[]){good, "theta.layout[1].kind", "\"ex\""}, 3);
    snprintf(args, sizeof args, PROBLEM " --example-weights 25");
    expect_refused(args, (const char *[]){"--example-weights 25", "24 examples"}, 2);
    /* a null (a non-finite number as --json writes it) among the values */
    size_t len;
    char *t = files_slurp(good, &len);
    char *vals = t ? strstr(t, "\"values\": [") : NULL;
    if (vals) {
        vals += strlen("\"values\": [");
        char *comma = strchr(vals, ',');
        snprintf(path, sizeof path, "%s", files_tmp("null.json"));
        FILE *f = fopen(path, "w");
        HG_CHECK(f, "cannot write %s", path);
        fprintf(f, "%.*snull%s", (int)(vals - t), t, comma);
        fclose(f);
        snprintf(args, sizeof args, PROBLEM " --learn lr:2/layer,wd:1/weight --theta %s", path);
        expect_refused(args, (const char *[]){path, "theta.values[0]: null", "finite"}, 3);
    }
    EXPECT(vals != NULL, "the record holds theta.values");
    free(t);
    snprintf(args, sizeof args, PROBLEM " --theta %s", files_tmp("absent.json"));
    expect_refused(args, (const char *[]){"absent.json", "cannot open"}, 2);
}

static void test_learn_refusals(void)
{
    expect_refused(PROBLEM " --learn lr:1/weight", (const char *[]){"lr/weight", "only wd"}, 2);
    expect_refused(PROBLEM " --learn wd:1/block", (const char *[]){"unknown granularity"}, 1);
    expect_refused(PROBLEM " --learn wd:/layer", (const char *[]){"needs a count"}, 1);
    /* hpo takes the per-layer and per-weight kinds: tests/test_hpo_kinds.c */
}

int main(int argc, char **argv)
{
    files_setup("theta");
    const TestCase tests[] = {
        TEST(test_round_trip),
        TEST(test_npy),
        TEST(test_bad_files),
        TEST(test_learn_refusals),
    };
    const int rc = test_main(tests, (int)(sizeof tests / sizeof tests[0]), argc, argv);
    files_cleanup();
    return rc;
}
