/* test_fig2.c — Figure 2's pipeline: its statistics on hand-computed cases
 * (fig2_stats.h), the .npy reader against the writer, bptt's trajectory
 * folder (record, replay, refusals), and build/<config>/hgbench-fig2 end to
 * end on a tiny IDX set the test writes: one seed's per-step values equal
 * `hgbench hypergrad --engine bptt --learn lr:T` bit for bit, a run compared
 * against its own --seeds-out differs by exactly 0 (directly and through
 * the replayed trajectories), and bad flags or folders are refused naming
 * the flag or file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../bench/fig2_stats.h"
#include "../io/npy.h"
#include "../io/trajectory_file.h"
#include "../common/mem.h"
#include "../common/real.h"
#include "support_files.h"
#include "test.h"

/* ------------------------------------------------------------ statistics */

/* S = 2, T = 2, h = [[1, 3], [3, 5]]: truth [2, 4]; MSE(1) = 1; W = 2 means
 * 2 and 4, so MSE(2) = (0 + 4 + 4 + 0) / 4 = 2. Greedy g = [[2, 4], [4, 6]]:
 * its seed mean [3, 5] is 1 off truth (bias^2 1), spread 1 each (variance 1),
 * MSE 2. The estimate's sigma^2 is MSE(1). */
static void test_stats_by_hand(void)
{
    const double h[] = {1, 3, 3, 5}, g[] = {2, 4, 4, 6};
    const int ok[] = {1, 1}, windows[] = {1, 2};
    const Fig2Setup o = {2, 2, 2, windows, FIT_REL};
    Fig2Stats st;
    fig2_stats(&o, h, ok, g, ok, &st);
    EXPECT(st.truth[0] == 2 && st.truth[1] == 4 && st.std[0] == 1 && st.std[1] == 1,
           "truth %g %g std %g %g", st.truth[0], st.truth[1], st.std[0], st.std[1]);
    EXPECT(st.mse[0] == 1 && st.mse[1] == 2 && st.one == 0 && st.best == 0,
           "MSE(1) %g MSE(2) %g", st.mse[0], st.mse[1]);
    EXPECT(st.sigma2_est == st.mse[0], "sigma^2 estimate %g vs MSE(1) %g", st.sigma2_est,
           st.mse[0]);
    EXPECT(st.greedy_mse == 2 && st.greedy_bias2 == 1 && st.greedy_var == 1,
           "greedy %g = %g + %g", st.greedy_mse, st.greedy_bias2, st.greedy_var);
    EXPECT(st.eps_est == 2, "eps %g", st.eps_est);
    fig2_stats_free(&st);

    /* a failed seed is left out of everything */
    const double h3[] = {1, 3, 3, 5, 1e9, -1e9};
    const int ok3[] = {1, 1, 0};
    const Fig2Setup o3 = {3, 2, 2, windows, FIT_REL};
    fig2_stats(&o3, h3, ok3, h3, ok3, &st);
    EXPECT(st.n_ng == 2 && st.mse[0] == 1 && st.mse[1] == 2 && st.greedy_mse == 1,
           "with a failed seed: n %d MSE %g %g greedy %g", st.n_ng, st.mse[0], st.mse[1],
           st.greedy_mse);
    fig2_stats_free(&st);
}

/* Fully correlated steps: seed 0 is +1 at every step, seed 1 is -1, so the
 * truth is 0 and every window mean is +-1: MSE(W) = 1 for every W, which
 * the fit with the correlation term explains exactly as sigma^2 = 1, c = 1,
 * eps^2 = 0. */
static void test_stats_fit_correlated(void)
{
    enum { S = 2, T = 8 };
    double h[S * T];
    const int ok[S] = {1, 1}, windows[] = {1, 2, 4, 8};
    for (int t = 0; t < T; t++) {
        h[t] = 1;
        h[T + t] = -1;
    }
    const Fig2Setup o = {S, T, 4, windows, FIT_ABS};
    Fig2Stats st;
    fig2_stats(&o, h, ok, h, ok, &st);
    for (int i = 0; i < 4; i++)
        EXPECT(st.mse[i] == 1, "MSE(%d) = %g, expected 1", windows[i], st.mse[i]);
    /* fully correlated steps: the correlation fit puts it all in c */
    EXPECT(fabs(st.sigma2_fitc - 1) < 1e-12 && fabs(st.c_fitc - 1) < 1e-12 &&
               st.eps2_fitc < 1e-12,
           "correlation fit: sigma^2 %g c %g eps^2 %g", st.sigma2_fitc, st.c_fitc,
           st.eps2_fitc);
    fig2_stats_free(&st);
}

/* x = h + d on one seed: mean square d^2 / (S T), rel_rms by hand; a seed
 * missing on either side and a shorter x are left out. */
static void test_rounding_by_hand(void)
{
    enum { T = 2 };
    const double h[] = {3, 4, 1, 1, 7, 7}, hv[] = {0.5, 0.25, 9};
    const double x[] = {3, 4, 1, 2}, xv[] = {0.5, 0.5};
    const int ok_h[] = {1, 1, 1}, ok_x[] = {1, 1};
    Fig2Rounding r;
    fig2_rounding(T, 3, h, ok_h, hv, 2, x, ok_x, xv, &r);
    EXPECT(r.seeds == 2, "seeds %d", r.seeds);
    EXPECT(r.mse_diff == 0.25, "mse_diff %g, expected 1/4", r.mse_diff);
    EXPECT(fabs(r.rel_rms - sqrt(1.0 / 27)) < 1e-15, "rel_rms %g, expected sqrt(1/27)",
           r.rel_rms);
    EXPECT(fabs(r.max_rel - sqrt(0.5)) < 1e-15, "max_rel %g", r.max_rel);
    EXPECT(r.val_diff == 0.125, "val_diff %g", r.val_diff);
    const int ok_x1[] = {1, 0};
    fig2_rounding(T, 3, h, ok_h, hv, 2, x, ok_x1, NULL, &r);
    EXPECT(r.seeds == 1 && r.mse_diff == 0 && r.rel_rms == 0 && isnan(r.val_diff) &&
               r.corr > 0.999999,
           "one seed, equal: seeds %d mse %g corr %g", r.seeds, r.mse_diff, r.corr);
    const int none[] = {0, 0};
    fig2_rounding(T, 3, h, ok_h, hv, 2, x, none, xv, &r);
    EXPECT(r.seeds == 0 && isnan(r.mse_diff), "no common seed: %d %g", r.seeds, r.mse_diff);
}

/* ------------------------------------------------------------ .npy and trajectories */

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    HG_CHECK(f, "cannot write %s", path);
    fwrite(b, 1, n, f);
    fclose(f);
}

/* What npy_write writes, npy_read reads back, dtypes and shapes included;
 * a bad magic, a short file, a header that does not parse and an unknown
 * dtype are refused naming the file. */
static void test_npy_round_trip(void)
{
    files_setup("fig2");
    HgErr err;
    const double d[6] = {1, -2.5, NAN, 1e300, 0, 7};
    const float f[3] = {1.5f, -0.0f, 3e-38f};
    const uint64_t u[2] = {0, UINT64_MAX};
    const long s23[2] = {2, 3}, s3[1] = {3}, s0[1] = {0}, s2[1] = {2};
    const char *pd = files_tmp("d.npy"), *pf = files_tmp("f.npy"), *pu = files_tmp("u.npy"),
               *pe = files_tmp("e.npy");
    EXPECT(npy_write(pd, NPY_F8, s23, 2, d, &err) == 0 &&
               npy_write(pf, NPY_F4, s3, 1, f, &err) == 0 &&
               npy_write(pu, NPY_U8, s2, 1, u, &err) == 0 &&
               npy_write(pe, NPY_F8, s0, 1, d, &err) == 0,
           "writes: %s", err.msg);
    NpyArray a;
    if (npy_read(pd, &a, &err) == 0) {
        EXPECT(!strcmp(a.descr, NPY_F8) && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 &&
                   a.count == 6 && !memcmp(a.data, d, sizeof d),
               "f8 round trip");
        EXPECT(npy_expect(&a, pd, NULL, s23, 2, &err) == 0, "expect f8: %s", err.msg);
        EXPECT(npy_expect(&a, pd, NPY_F4, s23, 2, &err) == -1 && strstr(err.msg, pd) &&
                   strstr(err.msg, "dtype"),
               "expect wrong dtype: '%s'", err.msg);
        EXPECT(npy_expect(&a, pd, NULL, s3, 1, &err) == -1 && strstr(err.msg, "shape 2x3"),
               "expect wrong shape: '%s'", err.msg);
        npy_array_free(&a);
    } else {
        test_fail_at(__FILE__, __LINE__, "read f8: %s", err.msg);
    }
    if (npy_read(pf, &a, &err) == 0) {
        EXPECT(a.count == 3 && npy_get_double(&a, 0) == 1.5 && npy_get_double(&a, 2) == (double)f[2],
               "f4 round trip");
        npy_array_free(&a);
    }
    if (npy_read(pu, &a, &err) == 0) {
        EXPECT(a.count == 2 && !memcmp(a.data, u, sizeof u), "u8 round trip");
        npy_array_free(&a);
    }
    if (npy_read(pe, &a, &err) == 0) {
        EXPECT(a.count == 0 && a.ndim == 1 && a.shape[0] == 0, "empty array");
        npy_array_free(&a);
    }

    size_t len;
    char *good = files_slurp(pd, &len);
    HG_CHECK(good && len > 64, "read back %s", pd);
    const char *pb = files_tmp("bad.npy");
    static const struct { const char *what; long at; char c; long cut; } bad[] = {
        {"bad magic", 1, 'X', 0},       {"data", 0, 0, 8},     {"version", 6, 2, 0},
        {"descr", 12, 'X', 0},          {"dtype", 22, '2', 0}, {"shape", -1, 'x', 0},
        {"header length", 8, 0x30, 0},
    };
    for (int i = 0; i < ARRAY_LEN(bad); i++) {
        char *b = malloc(len);
        memcpy(b, good, len);
        /* -1: the shape's first digit */
        const long at = bad[i].at >= 0 ? bad[i].at : (long)(strstr(good + 10, "'shape': (") -
                                                           good) + 10;
        if (!bad[i].cut)
            b[at] = bad[i].c;
        write_bytes(pb, b, len - (size_t)bad[i].cut);
        free(b);
        err.msg[0] = 0;
        const int rc = npy_read(pb, &a, &err);
        EXPECT(rc == -1 && strstr(err.msg, pb) && a.data == NULL,
               "%s: rc %d, '%s'", bad[i].what, rc, err.msg);
    }
    free(good);
    EXPECT(npy_read(files_tmp("missing.npy"), &a, &err) == -1 && strstr(err.msg, "missing.npy"),
           "missing file: '%s'", err.msg);
}

/* A recorded folder replays to the same arrays; a replay whose T, P or
 * clamp differ is refused naming the file. */
static void test_trajectory_folder(void)
{
    files_setup("fig2");
    enum { T = 3, P = 70, WORDS = 2 };
    real W[T * P], V[T * P], wT[P], W2[T * P], V2[T * P], wT2[P];
    uint64_t M[T * WORDS], M2[T * WORDS];
    for (long i = 0; i < T * P; i++) {
        W[i] = (real)(0.001 * i - 0.1);
        V[i] = (real)(1.0 / (i + 1));
    }
    for (long i = 0; i < P; i++)
        wT[i] = (real)(i * 0.5);
    for (int i = 0; i < T * WORDS; i++)
        M[i] = 0x0123456789abcdefULL * (uint64_t)(i + 1);
    const char *dir = files_tmp("traj");
    TrajectoryFolder tf;
    HgErr err = {{0}};
    const TrajectoryHook *rec = trajectory_folder(&tf, dir, 1);
    EXPECT(rec->record && !rec->replay && rec->record(rec->ctx, T, P, W, V, M, wT, &err) == 0,
           "record: %s", err.msg);
    TrajectoryFolder tf2;
    const TrajectoryHook *rep = trajectory_folder(&tf2, dir, 0);
    EXPECT(rep->replay && !rep->record && rep->replay(rep->ctx, T, P, W2, V2, M2, wT2, &err) == 0,
           "replay: %s", err.msg);
    EXPECT(!memcmp(W, W2, sizeof W) && !memcmp(V, V2, sizeof V) && !memcmp(wT, wT2, sizeof wT) &&
               !memcmp(M, M2, sizeof M),
           "replayed arrays differ from the recorded ones");
    err.msg[0] = 0;
    EXPECT(rep->replay(rep->ctx, T, P + 1, W2, V2, M2, wT2, &err) == -1 &&
               strstr(err.msg, "w.npy") && strstr(err.msg, "shape"),
           "other P: '%s'", err.msg);
    err.msg[0] = 0;
    EXPECT(rep->replay(rep->ctx, T, P, W2, V2, NULL, wT2, &err) == -1 &&
               strstr(err.msg, "mask.npy") && strstr(err.msg, "clamp"),
           "replay without a clamp of a clamped run: '%s'", err.msg);
    /* re-recorded without a clamp: the stale mask goes, a clamped replay is refused */
    EXPECT(rec->record(rec->ctx, T, P, W, V, NULL, wT, &err) == 0, "record unclamped: %s",
           err.msg);
    err.msg[0] = 0;
    EXPECT(rep->replay(rep->ctx, T, P, W2, V2, M2, wT2, &err) == -1 &&
               strstr(err.msg, "mask.npy") && strstr(err.msg, "missing"),
           "clamped replay of an unclamped run: '%s'", err.msg);
    EXPECT(rep->replay(rep->ctx, T, P, W2, V2, NULL, wT2, &err) == 0, "unclamped replay: %s",
           err.msg);
}

/* ------------------------------------------------------------ hgbench-fig2 end to end */

#define FIG2_FLAGS "--data mnist --steps 4 --batch 16 --val 40 --threads 1"

static const char *idx_dir(void)
{
    static char dir[600];
    if (!dir[0]) {
        files_setup("fig2");
        snprintf(dir, sizeof dir, "%s", files_tmp("idx"));
        mkdir(dir, 0755);
        files_write_idx(dir, "train", 200, 0);
    }
    return dir;
}

static int run_ok(const char *prog, const char *args, Run *r)
{
    *r = run_bin(prog, args);
    if (r->status) {
        test_fail_at(__FILE__, __LINE__, "%s %s: exit %d: %s", prog, args, r->status, r->err);
        return 0;
    }
    return 1;
}

/* Row `row` of an [S][T] float64 file, or NULL. */
static double *npy_row(const char *path, int row, int T)
{
    NpyArray a;
    HgErr err;
    if (npy_read(path, &a, &err)) {
        test_fail_at(__FILE__, __LINE__, "%s", err.msg);
        return NULL;
    }
    double *out = NULL;
    if (strcmp(a.descr, NPY_F8) || a.ndim != 2 || a.shape[1] != T || row >= a.shape[0]) {
        test_fail_at(__FILE__, __LINE__, "%s: %s %dd, expected [>%d][%d] <f8", path, a.descr,
                     a.ndim, row, T);
    } else {
        out = malloc(sizeof(double) * T);
        memcpy(out, (double *)a.data + (long)row * T, sizeof(double) * T);
    }
    npy_array_free(&a);
    return out;
}

/* Figure 2's per-step values of seed 1 are `hgbench hypergrad`'s for
 * --seed 1 with Figure 2's settings, bit for bit (its --export per_step.npy). */
static void test_fig2_equals_hypergrad(void)
{
    const char *dir = idx_dir();
    char args[2048], out[600], exp[600];
    snprintf(out, sizeof out, "%s", files_tmp("eq-seeds"));
    snprintf(exp, sizeof exp, "%s", files_tmp("eq-export"));
    snprintf(args, sizeof args, FIG2_FLAGS " --data-dir %s --seeds 2 --greedy off --seeds-out %s",
             dir, out);
    Run r;
    if (!run_ok("hgbench-fig2", args, &r)) {
        run_free(&r);
        return;
    }
    run_free(&r);
    snprintf(args, sizeof args, "hypergrad --engine bptt --model lenet " FIG2_FLAGS
             " --data-dir %s --learn lr:T --lr 0.01 --mom 0.9 --wd 0 --schedule cosine "
             "--clamp 1 --seed 1 --init xavier --export %s", dir, exp);
    if (run_ok("hgbench", args, &r)) {
        char p1[700], p2[700];
        snprintf(p1, sizeof p1, "%s/per_step.npy", out);
        snprintf(p2, sizeof p2, "%s/per_step.npy", exp);
        double *a = npy_row(p1, 1, 4), *b = npy_row(p2, 0, 4);
        EXPECT(a && b && !memcmp(a, b, sizeof(double) * 4),
               "fig2 seed 1 vs hypergrad --seed 1: %.17g %.17g ... vs %.17g %.17g",
               a ? a[0] : NAN, a ? a[1] : NAN, b ? b[0] : NAN, b ? b[1] : NAN);
        free(a);
        free(b);
    }
    run_free(&r);
}

/* A row of block 2 ("label seeds mse_diff ...") of a results table. */
static int rounding_row(const char *table, const char *label, int *seeds, double *mse_diff)
{
    char key[64];
    snprintf(key, sizeof key, "\n%s ", label);
    const char *p = strstr(table, key);
    return p && sscanf(p + strlen(key), "%d %lf", seeds, mse_diff) == 2;
}

/* A run compared against its own --seeds-out: 0 difference, directly and
 * through the replayed (recorded) trajectories; Kahan's run is another one. */
static void test_fig2_compare_self(void)
{
    const char *dir = idx_dir();
    char args[2048], out[600], tab[600];
    snprintf(out, sizeof out, "%s", files_tmp("self-seeds"));
    snprintf(tab, sizeof tab, "%s", files_tmp("self.txt"));
    snprintf(args, sizeof args, FIG2_FLAGS " --data-dir %s --seeds 3 --greedy off --seeds-out %s "
             "--record 2", dir, out);
    Run r;
    if (!run_ok("hgbench-fig2", args, &r)) {
        run_free(&r);
        return;
    }
    run_free(&r);
    snprintf(args, sizeof args, FIG2_FLAGS " --data-dir %s --seeds 3 --compare self=%s --out %s",
             dir, out, tab);
    if (run_ok("hgbench-fig2", args, &r)) {
        char *t = files_slurp(tab, NULL);
        int n1 = -1, n2 = -1;
        double d1 = NAN, d2 = NAN;
        const char *rev = HG_PRECISION == 64 ? "self:reverse64" : "self:reverse32";
        int n3 = -1;
        double d3 = NAN;
        EXPECT(t && rounding_row(t, "self", &n1, &d1) && rounding_row(t, rev, &n2, &d2) &&
                   rounding_row(t, "self:replayed-seeds", &n3, &d3) && n1 == 3 && n2 == 2 &&
                   n3 == 2 && d1 == 0 && d2 == 0 && d3 == 0,
               "self comparison: %d seeds %g, replayed %d seeds %g, same seeds %d %g", n1, d1,
               n2, d2, n3, d3);
        free(t);
    }
    run_free(&r);
    snprintf(args, sizeof args, FIG2_FLAGS " --data-dir %s --seeds 3 --greedy off --kahan "
             "--compare self=%s --out %s", dir, out, tab);
    if (run_ok("hgbench-fig2", args, &r)) {
        char *t = files_slurp(tab, NULL);
        int n1 = -1;
        double d1 = NAN;
        EXPECT(t && strstr(t, "# weight update: compensated") && rounding_row(t, "self", &n1, &d1) &&
                   n1 == 3 && isfinite(d1),
               "Kahan run compared: %d seeds %g", n1, d1);
        free(t);
    }
    run_free(&r);
}

/* Bad flags (exit 2, nothing run) and bad --compare folders (exit 3), each
 * named in the message. */
static void test_fig2_refusals(void)
{
    const char *dir = idx_dir();
    char args[2048], cmp_dir[600];
    snprintf(cmp_dir, sizeof cmp_dir, "%s", files_tmp("self-seeds"));
    static const struct { const char *flags; int status; const char *names; } cases[] = {
        {"--record 2", 2, "--seeds-out"},
        {"--compare nolabel", 2, "--compare"},
        {"--compare =dir", 2, "--compare"},
        {"--greedy maybe", 2, "--greedy"},
        {"--kahan=1", 2, "--kahan"},
        {"--kahan --reverse-engine reversible", 2, "--kahan"},
        {"--compare x=/nonexistent/folder", 3, "per_step.npy"},
        {"--steps 100000 --windows 1", 2, "bptt: the trajectory"},
    };
    for (int i = 0; i < ARRAY_LEN(cases); i++) {
        snprintf(args, sizeof args, FIG2_FLAGS " --data-dir %s --seeds 2 %s", dir,
                 cases[i].flags);
        Run r = run_bin("hgbench-fig2", args);
        EXPECT(r.status == cases[i].status && strstr(r.err, cases[i].names) && !r.out[0],
               "%s: exit %d, '%s'", cases[i].flags, r.status, r.err);
        run_free(&r);
    }
    /* another --steps than the compared run's */
    snprintf(args, sizeof args, "--data mnist --steps 5 --batch 16 --val 40 --threads 1 "
             "--data-dir %s --seeds 2 --compare x=%s", dir, cmp_dir);
    Run r = run_bin("hgbench-fig2", args);
    EXPECT(r.status == 3 && strstr(r.err, "per_step.npy") && strstr(r.err, "--steps"),
           "compare with other T: exit %d, '%s'", r.status, r.err);
    run_free(&r);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_stats_by_hand),     TEST(test_stats_fit_correlated),
        TEST(test_rounding_by_hand),  TEST(test_npy_round_trip),
        TEST(test_trajectory_folder), TEST(test_fig2_equals_hypergrad),
        TEST(test_fig2_compare_self), TEST(test_fig2_refusals),
    };
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
