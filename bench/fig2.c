/* fig2.c — hgbench-fig2: hypergradient MSE against the sharing window W
 * (FDS paper, Section 5.1 and Figure 2; the bound of Theorem 4.1).
 *
 * One fixed schedule (cosine-annealed learning rate, momentum, clamp) on
 * LeNet / Fashion-MNIST, run from S seeds (seed s: model_init seed s and the
 * batch order hgbench hypergrad derives from --seed s; the validation split
 * is the same for every seed). Per seed, the per-step learning-rate
 * hypergradients h_s[t] of f = L_val(w_T) from a non-greedy engine (bptt or
 * reversible, lr learned per step, K = T) and the greedy ones g_s[t] (one-step
 * look-ahead on the validation set, no online updates). Then
 *   truth[t]  = mean_s h_s[t]                      (includes each seed itself,
 *                                                   as the paper does)
 *   MSE(W)    = mean_{s,t} (hbar_s^W[t] - truth[t])^2,  hbar_s^W[t] the mean of
 *               h_s over t's window [jW, (j+1)W) (the last may be shorter)
 *   MSE_greedy = mean_{s,t} (g_s[t] - truth[t])^2
 * and Theorem 4.1's shape MSE(W) ~ sigma^2 / W + eps^2 (W^2 - 1) / 12, with
 * sigma^2, eps^2 >= 0 fitted to the measured curve (non-negative least
 * squares, relative residuals by default), also with the theorem's
 * correlation term, sigma^2 ((1 - c) / W + c) + eps^2 (W^2 - 1) / 12, and,
 * separately, estimated directly: sigma^2 = mean_t var_s h_s[t] (divided by
 * S, the convention of the MSE, so the estimate's W = 1 value is MSE(1)
 * exactly), eps = mean_t |truth[t+1] - truth[t]|.
 *
 * Outputs: a whitespace-column table with '#' context lines (stdout, and
 * --out FILE atomically), a JSON record (--json) with the per-step curves and
 * every seed's per-step values, and the per-step curves as columns
 * (--steps-out). Plots: plots/fig2.gp (scripts/fig2-plot.sh).
 * Leaves out: hyperparameters other than the learning rate, outer
 * optimisation, a direct estimate of the theorem's maximum correlation c.
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/mem.h"
#include "../common/real.h"
#include "../common/timer.h"
#include "../datasets/dataset.h"
#include "../engines/engine.h"
#include "atomic_file.h"
#include "json_writer.h"
#include "machine.h"
#include "progress.h"

#define PROG "hgbench-fig2"
#define MAX_WINDOWS 64
#define MAX_SEEDS 100000
#define MAX_STEPS 100000
#define MAX_THREADS 1024
#define MAX_FAILS_SHOWN 20
#define LENET_PARAMS 61706 /* 1x28x28 LeNet, for the memory check before loading */

/* The settings of the paper's Figure 2 (FDS, Section 5.1, Appendix C). */
#define PAPER_SEEDS 100
#define PAPER_STEPS 250
#define PAPER_BATCH 128
#define PAPER_VAL 2000
#define PAPER_LR 0.01

static const int PAPER_WINDOWS[] = {1, 2, 5, 10, 25, 50, 125, 250};
static const int QUICK_WINDOWS[] = {1, 2, 5, 10, 25, 50};

typedef enum FitKind { FIT_REL, FIT_ABS } FitKind;

typedef struct Fig2Options {
    int seeds, steps, batch, val, threads;
    uint64_t val_seed;
    double lr, mom, clamp;
    const char *data, *data_dir, *reverse, *out, *json, *steps_out, *commit;
    int nwin, windows[MAX_WINDOWS];
    int windows_given;  /* --windows on the command line */
    int windows_note;   /* 1: windows made for a T other than the paper's */
    FitKind fit;
    int quick, help;
} Fig2Options;

static Fig2Options fig2_defaults(void)
{
    Fig2Options o = {
        .seeds = 20, .steps = PAPER_STEPS, .batch = PAPER_BATCH, .val = PAPER_VAL,
        .threads = 2, .val_seed = 1, .lr = PAPER_LR, .mom = 0.9, .clamp = 1,
        .data = "fashion-mnist", .data_dir = NULL, .reverse = "bptt", .commit = "unknown",
        .fit = FIT_REL,
    };
    return o;
}

/* ------------------------------------------------------------ flags */

typedef struct FlagSpec {
    const char *name, *arg, *def, *help;
} FlagSpec;

static const FlagSpec FLAGS[] = {
    {"--seeds", "S", "20", "seeds (new init and batch order each; the paper used 100)"},
    {"--steps", "T", "250", "inner steps"},
    {"--batch", "B", "128", "training batch size"},
    {"--val", "N", "2000", "validation examples split off the training set"},
    {"--val-seed", "SEED", "1", "seed of the validation split (one for all seeds)"},
    {"--lr", "A", "0.01", "initial learning rate, cosine-annealed to 0 over T"},
    {"--mom", "M", "0.9", "momentum"},
    {"--clamp", "C", "1", "elementwise gradient clamp to [-C, C]; 0: off"},
    {"--windows", "W,W,..", "divisors of T", "sharing windows (each in 1..T)"},
    {"--fit", "rel|abs", "rel", "bound fit: least squares on relative (rel) or absolute "
                                "(abs) residuals of MSE(W)"},
    {"--data", "NAME", "fashion-mnist", "data set (fashion-mnist, mnist)"},
    {"--data-dir", "DIR", "the data set's default", "folder of the data set's files"},
    {"--reverse-engine", "E", "bptt", "non-greedy engine: bptt or reversible"},
    {"--threads", "N", "2", "OpenMP and OpenBLAS threads"},
    {"--out", "FILE", "stdout only", "also write the results table to FILE (atomically)"},
    {"--json", "FILE", "none", "JSON record: numbers, per-step curves, every seed"},
    {"--steps-out", "FILE", "none", "per-step truth, std and greedy mean as columns"},
    {"--commit", "STR", "unknown", "commit recorded in the outputs"},
    {"--quick", "", "off", "preset: T 50, S 4, validation 500, windows 1,2,5,10,25,50 "
                           "(other flags override it, wherever they stand)"},
    {"--help", "", "", "this text"},
};
#define NFLAGS ((int)(sizeof FLAGS / sizeof FLAGS[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: " PROG " [flags]\n\n"
               "Figure 2 of the FDS paper: the mean squared error of per-step learning-rate\n"
               "hypergradients averaged over sharing windows of W steps, against the ensemble\n"
               "mean over seeds, for W in a list; the greedy hypergradients' MSE; Theorem\n"
               "4.1's bound sigma^2/W + eps^2 (W^2-1)/12 fitted and estimated.\n"
               "LeNet, xavier init, cosine learning rate, weight decay 0.\n\nFlags:\n");
    for (int i = 0; i < NFLAGS; i++) {
        char head[48];
        snprintf(head, sizeof head, "%s%s%s", FLAGS[i].name, FLAGS[i].arg[0] ? " " : "",
                 FLAGS[i].arg);
        char text[256];
        snprintf(text, sizeof text, "%s%s%s%s", FLAGS[i].help, FLAGS[i].def[0] ? " [" : "",
                 FLAGS[i].def, FLAGS[i].def[0] ? "]" : "");
        fprintf(f, "  %-24s", head);
        /* words wrapped at 80 columns under the help column (27) */
        int col = 26;
        for (char *save = NULL, *wd = strtok_r(text, " ", &save); wd;
             wd = strtok_r(NULL, " ", &save)) {
            const int len = (int)strlen(wd);
            if (col > 26 && col + 1 + len > 80) {
                fprintf(f, "\n%26s", "");
                col = 26;
            }
            fprintf(f, " %s", wd);
            col += 1 + len;
        }
        fputc('\n', f);
    }
    fprintf(f, "\nProgress on stderr (one unit per engine run). Exit status: 0 done; 1 fewer\n"
               "than 2 seeds gave non-greedy hypergradients; 2 a usage error (nothing done);\n"
               "3 data not loaded or an output not written.\n");
}

static int parse_long(const char *flag, const char *s, long lo, long hi, long *out, HgErr *err)
{
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (!*s || *end || end == s || s[0] == ' ')
        return hg_fail(err, "%s '%s': not an integer", flag, s);
    if (errno == ERANGE || v < lo || v > hi)
        return hg_fail(err, "%s %s: out of range [%ld, %ld]", flag, s, lo, hi);
    *out = v;
    return 0;
}

static int parse_int(const char *flag, const char *s, int lo, int hi, int *out, HgErr *err)
{
    long v;
    if (parse_long(flag, s, lo, hi, &v, err))
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_double(const char *flag, const char *s, double lo, double hi, int lo_open,
                        double *out, HgErr *err)
{
    char *end;
    errno = 0;
    const double v = strtod(s, &end);
    if (!*s || *end || end == s || s[0] == ' ' || !isfinite(v))
        return hg_fail(err, "%s '%s': not a finite number", flag, s);
    if (v < lo || v > hi || (lo_open && v == lo))
        return hg_fail(err, "%s %s: out of range %s%g, %g]", flag, s, lo_open ? "(" : "[",
                       lo, hi);
    *out = v;
    return 0;
}

static int parse_windows(const char *flag, const char *s, Fig2Options *o, HgErr *err)
{
    char buf[1024];
    if (strlen(s) >= sizeof buf)
        return hg_fail(err, "%s: list too long", flag);
    memcpy(buf, s, strlen(s) + 1);
    o->nwin = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->nwin == MAX_WINDOWS)
            return hg_fail(err, "%s: more than %d windows", flag, MAX_WINDOWS);
        if (parse_int(flag, tok, 1, MAX_STEPS, &o->windows[o->nwin], err))
            return -1;
        for (int i = 0; i < o->nwin; i++)
            if (o->windows[i] == o->windows[o->nwin])
                return hg_fail(err, "%s %s: window %s given twice", flag, s, tok);
        o->nwin++;
    }
    if (o->nwin == 0)
        return hg_fail(err, "%s '%s': no windows", flag, s);
    o->windows_given = 1;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    const int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Windows for T when none were given: the paper's list at T = 250 (which is
 * every divisor of 250), the quick list at the quick preset's T = 50; other
 * T get their divisors, topped up with 1-2-5 steps <= T if there are fewer
 * than 6 (then some windows do not divide T and the last window of a seed is
 * shorter). */
static void default_windows(Fig2Options *o)
{
    const int T = o->steps;
    o->nwin = 0;
    if (T == PAPER_STEPS && !o->quick) {
        for (size_t i = 0; i < sizeof PAPER_WINDOWS / sizeof *PAPER_WINDOWS; i++)
            o->windows[o->nwin++] = PAPER_WINDOWS[i];
        return;
    }
    if (T == 50 && o->quick) {
        for (size_t i = 0; i < sizeof QUICK_WINDOWS / sizeof *QUICK_WINDOWS; i++)
            o->windows[o->nwin++] = QUICK_WINDOWS[i];
        return;
    }
    o->windows_note = 1;
    for (int w = 1; w <= T && o->nwin < MAX_WINDOWS; w++)
        if (T % w == 0)
            o->windows[o->nwin++] = w;
    if (o->nwin >= 6)
        return;
    for (long w = 1; w <= T && o->nwin < MAX_WINDOWS; w *= 10) {
        const long c[3] = {w, 2 * w, 5 * w};
        for (int i = 0; i < 3; i++) {
            int dup = c[i] > T;
            for (int j = 0; j < o->nwin && !dup; j++)
                dup = o->windows[j] == c[i];
            if (!dup && o->nwin < MAX_WINDOWS)
                o->windows[o->nwin++] = (int)c[i];
        }
    }
    qsort(o->windows, (size_t)o->nwin, sizeof *o->windows, cmp_int);
}

static int fig2_parse(int argc, char **argv, Fig2Options *o, HgErr *err)
{
    *o = fig2_defaults();
    /* --quick first, so that any other flag overrides it wherever it stands */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            o->help = 1;
            return 0;
        }
        if (!strcmp(argv[i], "--quick")) {
            o->quick = 1;
            o->steps = 50;
            o->seeds = 4;
            o->val = 500;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quick"))
            continue;
        char name[64];
        const char *eq = strchr(a, '='), *v = NULL;
        const size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        if (strncmp(a, "--", 2) || nlen >= sizeof name)
            return hg_fail(err, "unexpected argument '%s' (flags start with --; see --help)", a);
        memcpy(name, a, nlen);
        name[nlen] = 0;
        int known = 0;
        for (int f = 0; f < NFLAGS; f++)
            known |= !strcmp(FLAGS[f].name, name);
        if (!known)
            return hg_fail(err, "unknown flag '%s' (see --help)", name);
        if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            return hg_fail(err, "%s needs a value", name);
        }
        int rc = 0;
        if (!strcmp(name, "--seeds"))
            rc = parse_int(name, v, 2, MAX_SEEDS, &o->seeds, err);
        else if (!strcmp(name, "--steps"))
            rc = parse_int(name, v, 1, MAX_STEPS, &o->steps, err);
        else if (!strcmp(name, "--batch"))
            rc = parse_int(name, v, 1, 1000000, &o->batch, err);
        else if (!strcmp(name, "--val"))
            rc = parse_int(name, v, 1, 10000000, &o->val, err);
        else if (!strcmp(name, "--val-seed")) {
            long s;
            rc = parse_long(name, v, 0, 0x7fffffffffffffffL, &s, err);
            o->val_seed = (uint64_t)s;
        } else if (!strcmp(name, "--lr"))
            rc = parse_double(name, v, 0, 1e6, 1, &o->lr, err);
        else if (!strcmp(name, "--mom"))
            rc = parse_double(name, v, 0, 1, 0, &o->mom, err);
        else if (!strcmp(name, "--clamp"))
            rc = parse_double(name, v, 0, 1e30, 0, &o->clamp, err);
        else if (!strcmp(name, "--windows"))
            rc = parse_windows(name, v, o, err);
        else if (!strcmp(name, "--fit")) {
            if (!strcmp(v, "rel"))
                o->fit = FIT_REL;
            else if (!strcmp(v, "abs"))
                o->fit = FIT_ABS;
            else
                rc = hg_fail(err, "--fit '%s': expected rel or abs", v);
        } else if (!strcmp(name, "--data")) {
            if (strcmp(v, "fashion-mnist") && strcmp(v, "mnist"))
                rc = hg_fail(err, "--data '%s': expected fashion-mnist or mnist (28x28 LeNet)", v);
            o->data = v;
        } else if (!strcmp(name, "--data-dir"))
            o->data_dir = v;
        else if (!strcmp(name, "--reverse-engine")) {
            if (strcmp(v, "bptt") && strcmp(v, "reversible"))
                rc = hg_fail(err, "--reverse-engine '%s': expected bptt or reversible", v);
            else if (!engine_find(v))
                rc = hg_fail(err, "--reverse-engine '%s': not in this build (engines: %s)", v,
                             engine_names());
            o->reverse = v;
        } else if (!strcmp(name, "--threads"))
            rc = parse_int(name, v, 1, MAX_THREADS, &o->threads, err);
        else if (!strcmp(name, "--out"))
            o->out = v;
        else if (!strcmp(name, "--json"))
            o->json = v;
        else if (!strcmp(name, "--steps-out"))
            o->steps_out = v;
        else if (!strcmp(name, "--commit"))
            o->commit = v;
        else /* --help, --quick: no value */
            rc = hg_fail(err, "%s takes no value", name);
        if (rc)
            return -1;
        if (!*v && strcmp(name, "--commit"))
            return hg_fail(err, "%s: empty value", name);
    }
    if (!o->windows_given)
        default_windows(o);
    for (int i = 0; i < o->nwin; i++)
        if (o->windows[i] > o->steps)
            return hg_fail(err, "--windows: window %d is longer than --steps %d", o->windows[i],
                           o->steps);
    if (o->windows_given)
        qsort(o->windows, (size_t)o->nwin, sizeof *o->windows, cmp_int);
    /* the per-seed arrays [S][T] twice, and bptt's trajectory, must fit */
    const double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    const double per_seed = 2.0 * o->seeds * o->steps * sizeof(double);
    if (phys > 0 && per_seed > 0.25 * phys)
        return hg_fail(err, "--seeds %d x --steps %d: the per-step values need %.2f GiB; use "
                       "fewer", o->seeds, o->steps, per_seed / (1 << 30));
    const double traj = (double)bptt_trajectory_bytes(LENET_PARAMS, o->steps, o->clamp > 0);
    if (!strcmp(o->reverse, "bptt") && engine_memory_limit() > 0 && traj > engine_memory_limit())
        return hg_fail(err, "--steps %d: bptt's trajectory needs %.2f GiB, over the engines' "
                       "limit of %.2f GiB on this machine; use fewer steps or --reverse-engine "
                       "reversible", o->steps, traj / (1 << 30),
                       engine_memory_limit() / (1 << 30));
    return 0;
}

/* ------------------------------------------------------------ statistics */


typedef struct Fig2Stats {
    int T, nwin, n_ng, n_gr;          /* successful seeds of each engine */
    double *truth, *std;              /* [T] mean and std (divided by n_ng) over seeds */
    double *gr_mean, *gr_std;         /* [T] greedy mean and std over its seeds */
    double mse[MAX_WINDOWS];          /* measured MSE(W) */
    double bound_fit[MAX_WINDOWS], bound_est[MAX_WINDOWS], bound_fitc[MAX_WINDOWS];
    double sigma2_fit, eps2_fit, sigma2_est, eps_est;
    double sigma2_fitc, c_fitc, eps2_fitc; /* the fit with the correlation term */
    double fit_wstar, est_wstar, fitc_wstar; /* continuous minimisers of the bounds (inf: none) */
    int best;                         /* index of the smallest measured MSE */
    int one;                          /* index of W = 1, -1 if not measured */
    double greedy_mse, greedy_bias2, greedy_var;
    double last_step_rel;             /* max over seeds |g[T-1] - h[T-1]| / |h[T-1]| */
    char fit_note[160];
} Fig2Stats;

static double bound(double s2, double e2, int W)
{
    return s2 / W + e2 * ((double)W * W - 1) / 12;
}

/* with correlation c between steps: the noise term sigma^2 (1 + c (W-1)) / W */
static double bound_c(double s2, double c, double e2, int W)
{
    return s2 * ((1 - c) / W + c) + e2 * ((double)W * W - 1) / 12;
}

#define FIT_MAXK 3

/* Weighted least squares y ~ sum_j coef_j X[j] over the columns in `mask`
 * (others 0), by the normal equations and Gaussian elimination with partial
 * pivoting. Returns the weighted squared residual, or INFINITY if singular. */
static double ls_subset(int k, unsigned mask, const double (*X)[MAX_WINDOWS], const double *y,
                        const double *wt, int n, double *coef)
{
    int idx[FIT_MAXK], m = 0;
    for (int j = 0; j < k; j++) {
        coef[j] = 0;
        if (mask >> j & 1)
            idx[m++] = j;
    }
    double A[FIT_MAXK][FIT_MAXK + 1] = {{0}};
    for (int r = 0; r < m; r++) {
        for (int c = 0; c < m; c++)
            for (int i = 0; i < n; i++)
                A[r][c] += wt[i] * X[idx[r]][i] * X[idx[c]][i];
        for (int i = 0; i < n; i++)
            A[r][m] += wt[i] * X[idx[r]][i] * y[i];
    }
    for (int c = 0; c < m; c++) {
        int piv = c;
        for (int r = c + 1; r < m; r++)
            if (fabs(A[r][c]) > fabs(A[piv][c]))
                piv = r;
        if (!(fabs(A[piv][c]) > 1e-13 * fabs(A[c][c]) && A[piv][c] != 0))
            return INFINITY;
        for (int q = 0; q <= m; q++) {
            const double t = A[c][q];
            A[c][q] = A[piv][q];
            A[piv][q] = t;
        }
        for (int r = 0; r < m; r++) {
            if (r == c)
                continue;
            const double f = A[r][c] / A[c][c];
            for (int q = c; q <= m; q++)
                A[r][q] -= f * A[c][q];
        }
    }
    for (int r = 0; r < m; r++)
        coef[idx[r]] = A[r][m] / A[r][r];
    double res = 0;
    for (int i = 0; i < n; i++) {
        double d = y[i];
        for (int j = 0; j < k; j++)
            d -= coef[j] * X[j][i];
        res += wt[i] * d * d;
    }
    return res;
}

/* Non-negative weighted least squares in k <= 3 unknowns, exactly: the
 * optimum is the unconstrained fit on its own support, so the best of the
 * feasible fits over all supports is it. Returns the mask of the support;
 * a column left out is one the unconstrained fit would make negative ("clipped
 * to 0 and the others refitted"). */
static unsigned nnls_small(int k, const double (*X)[MAX_WINDOWS], const double *y,
                           const double *wt, int n, double *coef)
{
    double best = INFINITY, c[FIT_MAXK];
    unsigned best_mask = 0;
    for (int j = 0; j < k; j++)
        coef[j] = 0;
    for (unsigned mask = 1; mask < 1u << k; mask++) {
        const double r = ls_subset(k, mask, X, y, wt, n, c);
        int ok = isfinite(r);
        for (int j = 0; j < k && ok; j++)
            ok = c[j] >= 0;
        if (ok && r < best) {
            best = r;
            best_mask = mask;
            memcpy(coef, c, sizeof(double) * k);
        }
    }
    return best_mask;
}

/* h, g: [S][T] per-step values; ok_h, ok_g: which seeds gave them. */
static void fig2_stats(const Fig2Options *o, const double *h, const int *ok_h, const double *g,
                       const int *ok_g, Fig2Stats *st)
{
    const int S = o->seeds, T = o->steps;
    memset(st, 0, sizeof *st);
    st->T = T;
    st->nwin = o->nwin;
    st->truth = mem_alloc(MEM_OTHER, sizeof(double) * T);
    st->std = mem_alloc(MEM_OTHER, sizeof(double) * T);
    st->gr_mean = mem_alloc(MEM_OTHER, sizeof(double) * T);
    st->gr_std = mem_alloc(MEM_OTHER, sizeof(double) * T);
    for (int s = 0; s < S; s++) {
        st->n_ng += ok_h[s];
        st->n_gr += ok_g[s];
    }
    /* per-step ensemble mean and (population) variance */
    double var_sum = 0;
    for (int t = 0; t < T; t++) {
        double m = 0, v = 0, gm = 0, gv = 0;
        for (int s = 0; s < S; s++) {
            if (ok_h[s])
                m += h[(long)s * T + t];
            if (ok_g[s])
                gm += g[(long)s * T + t];
        }
        m = st->n_ng ? m / st->n_ng : NAN;
        gm = st->n_gr ? gm / st->n_gr : NAN;
        for (int s = 0; s < S; s++) {
            if (ok_h[s])
                v += (h[(long)s * T + t] - m) * (h[(long)s * T + t] - m);
            if (ok_g[s])
                gv += (g[(long)s * T + t] - gm) * (g[(long)s * T + t] - gm);
        }
        v = st->n_ng ? v / st->n_ng : NAN;
        gv = st->n_gr ? gv / st->n_gr : NAN;
        st->truth[t] = m;
        st->std[t] = sqrt(v);
        st->gr_mean[t] = gm;
        st->gr_std[t] = sqrt(gv);
        var_sum += v;
    }
    st->sigma2_est = var_sum / T;
    double dsum = 0;
    for (int t = 0; t + 1 < T; t++)
        dsum += fabs(st->truth[t + 1] - st->truth[t]);
    st->eps_est = T > 1 ? dsum / (T - 1) : 0;

    /* MSE(W) of window-averaged hypergradients */
    st->one = -1;
    for (int i = 0; i < o->nwin; i++) {
        const int W = o->windows[i];
        if (W == 1)
            st->one = i;
        double sum = 0;
        for (int s = 0; s < S; s++) {
            if (!ok_h[s])
                continue;
            const double *hs = h + (long)s * T;
            for (int t0 = 0; t0 < T; t0 += W) {
                const int t1 = t0 + W < T ? t0 + W : T;
                double avg = 0;
                for (int t = t0; t < t1; t++)
                    avg += hs[t];
                avg /= t1 - t0;
                for (int t = t0; t < t1; t++)
                    sum += (avg - st->truth[t]) * (avg - st->truth[t]);
            }
        }
        st->mse[i] = st->n_ng ? sum / ((double)st->n_ng * T) : NAN;
        if (i == 0 || st->mse[i] < st->mse[st->best])
            st->best = i;
    }

    /* greedy: MSE, split into the squared bias of its mean and its spread */
    double gsum = 0, b2 = 0, gvar = 0;
    for (int s = 0; s < S; s++)
        for (int t = 0; ok_g[s] && t < T; t++) {
            const double d = g[(long)s * T + t] - st->truth[t];
            gsum += d * d;
        }
    for (int t = 0; t < T; t++) {
        b2 += (st->gr_mean[t] - st->truth[t]) * (st->gr_mean[t] - st->truth[t]);
        gvar += st->gr_std[t] * st->gr_std[t];
    }
    st->greedy_mse = st->n_gr && st->n_ng ? gsum / ((double)st->n_gr * T) : NAN;
    st->greedy_bias2 = b2 / T;
    st->greedy_var = gvar / T;

    /* at the last step both engines differentiate L_val(w_T) through w_T only:
     * the same number (up to the reverse engine's arithmetic) */
    st->last_step_rel = 0;
    for (int s = 0; s < S; s++) {
        if (!ok_h[s] || !ok_g[s])
            continue;
        const double a = h[(long)s * T + T - 1], b = g[(long)s * T + T - 1];
        const double r = fabs(a - b) / (fabs(a) > 1e-300 ? fabs(a) : 1e-300);
        if (r > st->last_step_rel)
            st->last_step_rel = r;
    }

    /* Theorem 4.1's shape fitted: MSE(W) ~ sigma^2 / W + eps^2 (W^2 - 1) / 12
     * (independent steps), and with its correlation term:
     * MSE(W) ~ sigma^2 ((1 - c) / W + c) + eps^2 (W^2 - 1) / 12 */
    double X[FIT_MAXK][MAX_WINDOWS], wt[MAX_WINDOWS], coef[FIT_MAXK];
    for (int i = 0; i < o->nwin; i++) {
        const double W = o->windows[i];
        X[0][i] = 1 / W;
        X[1][i] = (W * W - 1) / 12;
        X[2][i] = 1;
        wt[i] = o->fit == FIT_REL ? 1 / (st->mse[i] * st->mse[i] + 1e-300) : 1;
    }
    unsigned sup = nnls_small(2, (const double (*)[MAX_WINDOWS])X, st->mse, wt, o->nwin, coef);
    st->sigma2_fit = coef[0];
    st->eps2_fit = coef[1];
    if (sup != 3)
        snprintf(st->fit_note, sizeof st->fit_note, "%s clipped to 0 and the other refitted",
                 sup == 1 ? "eps^2" : sup == 2 ? "sigma^2" : "both");
    /* columns 1/W, (W^2-1)/12, 1: coefficients sigma^2 (1-c), eps^2, sigma^2 c */
    nnls_small(3, (const double (*)[MAX_WINDOWS])X, st->mse, wt, o->nwin, coef);
    st->sigma2_fitc = coef[0] + coef[2];
    st->c_fitc = st->sigma2_fitc > 0 ? coef[2] / st->sigma2_fitc : 0;
    st->eps2_fitc = coef[1];
    for (int i = 0; i < o->nwin; i++) {
        st->bound_fit[i] = bound(st->sigma2_fit, st->eps2_fit, o->windows[i]);
        st->bound_fitc[i] = bound_c(st->sigma2_fitc, st->c_fitc, st->eps2_fitc, o->windows[i]);
        st->bound_est[i] = bound(st->sigma2_est, st->eps_est * st->eps_est, o->windows[i]);
    }
    /* d/dW (s2/W + e2 (W^2-1)/12) = 0 at W = (6 s2 / e2)^(1/3) */
    st->fit_wstar = st->eps2_fit > 0 ? cbrt(6 * st->sigma2_fit / st->eps2_fit) : INFINITY;
    st->fitc_wstar = st->eps2_fitc > 0 ? cbrt(6 * st->sigma2_fitc * (1 - st->c_fitc) / st->eps2_fitc)
                                       : INFINITY;
    st->est_wstar = st->eps_est > 0 ? cbrt(6 * st->sigma2_est / (st->eps_est * st->eps_est))
                                    : INFINITY;
}

static void fig2_stats_free(Fig2Stats *st)
{
    mem_free(st->truth);
    mem_free(st->std);
    mem_free(st->gr_mean);
    mem_free(st->gr_std);
    memset(st, 0, sizeof *st);
}

/* ------------------------------------------------------------ the run */

typedef char ErrMsg[sizeof ((HgErr *)0)->msg];

typedef struct Fig2Run {
    const Fig2Options *o;
    Machine mc;
    char date[32];
    long P;
    int n_train, n_val;
    const char *data_dir;
    double *lr;                /* [T] the schedule's learning rates */
    double *h, *g;             /* [S][T] per-step hypergradients */
    int *ok_h, *ok_g;          /* [S] */
    ErrMsg *fail_h, *fail_g;   /* [S] why a run failed */
    double *time_h, *time_g;   /* [S] seconds per run */
    double total_s;
} Fig2Run;

static void fmt_ints(char *buf, size_t cap, const int *a, int n)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%d", i ? "," : "", a[i]);
}

static double mean_ok(const double *x, const int *ok, int n)
{
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (ok[i]) {
            s += x[i];
            k++;
        }
    return k ? s / k : NAN;
}

static void write_context(const Fig2Run *r, const Fig2Stats *st, FILE *f)
{
    const Fig2Options *o = r->o;
    char wins[512];
    fmt_ints(wins, sizeof wins, o->windows, o->nwin);
    fprintf(f, "# hgbench-fig2: hypergradient MSE vs sharing window W (FDS paper, Figure 2 and "
               "Theorem 4.1)\n");
    fprintf(f, "# date: %s   commit: %s   precision: %s   threads: %d%s\n", r->date, o->commit,
            HG_REAL_NAME, o->threads, o->quick ? "   preset: --quick" : "");
    machine_print(&r->mc, f, "# machine ");
    fprintf(f, "# model: lenet (%ld parameters), xavier-normal init   data: %s (%s), train %d, "
               "validation %d (paper: %d) split off the training set with val seed %llu, both "
               "normalised with the training part's per-channel statistics\n",
            r->P, o->data, r->data_dir ? r->data_dir : "?", r->n_train, r->n_val, PAPER_VAL,
            (unsigned long long)o->val_seed);
    fprintf(f, "# inner: T = %d steps (paper: %d), batch %d (paper: %d), learning rate cosine-"
               "annealed from %g (paper: %g), momentum %g, weight decay 0, gradient clamp "
               "%s%g\n",
            o->steps, PAPER_STEPS, o->batch, PAPER_BATCH, o->lr, PAPER_LR, o->mom,
            o->clamp > 0 ? "+-" : "off ", o->clamp);
    fprintf(f, "# seeds: S = %d (paper: %d); seed s = 0..S-1 sets model_init's seed and the batch "
               "order (as hgbench hypergrad --seed s); the validation set is the same for all\n",
            o->seeds, PAPER_SEEDS);
    fprintf(f, "# engines: non-greedy = %s (learning rate learned per step, K = T), greedy = "
               "greedy (one-step look-ahead on the validation set, no online updates); both "
               "per-step values are d(validation loss)/d(a_t), same sign and scale\n",
            o->reverse);
    fprintf(f, "# succeeded: %s %d/%d seeds, greedy %d/%d seeds\n", o->reverse, st->n_ng,
            o->seeds, st->n_gr, o->seeds);
    int shown = 0;
    for (int s = 0; s < o->seeds; s++) {
        if (!r->ok_h[s] && shown++ < MAX_FAILS_SHOWN)
            fprintf(f, "# FAILED: seed %d %s: %s\n", s, o->reverse, r->fail_h[s]);
        if (!r->ok_g[s] && shown++ < MAX_FAILS_SHOWN)
            fprintf(f, "# FAILED: seed %d greedy: %s\n", s, r->fail_g[s]);
    }
    if (shown > MAX_FAILS_SHOWN)
        fprintf(f, "# FAILED: ... %d more (see the JSON)\n", shown - MAX_FAILS_SHOWN);
    fprintf(f, "# time: %s %.2f s per seed, greedy %.2f s per seed (means over successful "
               "runs); %.1f s in all\n",
            o->reverse, mean_ok(r->time_h, r->ok_h, o->seeds), mean_ok(r->time_g, r->ok_g, o->seeds),
            r->total_s);
    fprintf(f, "# truth: the mean over the %d non-greedy seeds of their per-step "
               "hypergradients; it includes each seed itself (as in the paper), so with few "
               "seeds every MSE is smaller by about a factor (S-1)/S\n", st->n_ng);
    fprintf(f, "# windows W: %s%s; a seed's hypergradient at step t is its mean over t's window "
               "[jW, (j+1)W) (the last may be shorter); MSE(W) = mean over seeds and steps of "
               "(that - truth)^2\n",
            wins, o->windows_given ? " (--windows)" :
                  o->windows_note ? " (T is not the paper's 250: the divisors of T, topped up "
                                    "with 1-2-5 steps if fewer than 6)" :
                  o->quick ? " (the --quick list; paper: 1,2,5,10,25,50,125,250)" :
                             " (the paper's list: the divisors of 250)");
    fprintf(f, "# bound (Theorem 4.1, iid case): MSE(W) ~ sigma^2/W + eps^2 (W^2-1)/12\n");
    fprintf(f, "#   fit (least squares on %s residuals of MSE(W), sigma^2, eps^2 >= 0%s%s): "
               "sigma^2 = %.6g, eps^2 = %.6g (eps = %.6g), minimum at W = (6 sigma^2/eps^2)^(1/3)"
               " = %.4g\n",
            o->fit == FIT_REL ? "relative" : "absolute", st->fit_note[0] ? "; " : "",
            st->fit_note, st->sigma2_fit, st->eps2_fit, sqrt(st->eps2_fit), st->fit_wstar);
    fprintf(f, "#   fit with Theorem 4.1's correlation term, MSE(W) ~ sigma^2 ((1-c)/W + c) + eps^2 "
               "(W^2-1)/12 (same least squares, all terms >= 0): sigma^2 = %.6g, c = %.4g, eps^2 = "
               "%.6g, minimum at W = (6 sigma^2 (1-c)/eps^2)^(1/3) = %.4g (c is the fit's, not "
               "the theorem's maximum correlation)\n",
            st->sigma2_fitc, st->c_fitc, st->eps2_fitc, st->fitc_wstar);
    fprintf(f, "#   estimated directly: sigma^2 = mean over steps of the across-seed variance "
               "(divided by S) = %.6g, eps = mean over steps of |truth[t+1]-truth[t]| = %.6g "
               "(eps^2 = %.6g; truth's own noise inflates it when S is small), minimum at W = "
               "%.4g\n",
            st->sigma2_est, st->eps_est, st->eps_est * st->eps_est, st->est_wstar);
    const double mse1 = st->one >= 0 ? st->mse[st->one] : NAN;
    fprintf(f, "# measured minimum: MSE = %.6g at W = %d (MSE(1) = %.6g, MSE(1) / minimum = "
               "%.3g)\n",
            st->mse[st->best], o->windows[st->best], mse1, mse1 / st->mse[st->best]);
    fprintf(f, "# greedy: MSE = %.6g = squared bias of its seed mean %.6g + its across-seed "
               "variance %.6g; greedy / MSE(1) = %.3g, greedy / minimum = %.3g\n",
            st->greedy_mse, st->greedy_bias2, st->greedy_var, st->greedy_mse / mse1,
            st->greedy_mse / st->mse[st->best]);
    fprintf(f, "# check: at the last step greedy and non-greedy are the same derivative; max "
               "relative difference over seeds %.3g\n", st->last_step_rel);
}

static void write_table(const Fig2Run *r, const Fig2Stats *st, FILE *f)
{
    const Fig2Options *o = r->o;
    write_context(r, st, f);
    fprintf(f, "# block 0 (gnuplot index 0)\n");
    fprintf(f, "# %4s %24s %24s %24s %24s\n", "W", "mse", "bound_fit", "bound_est",
            "bound_fit_c");
    for (int i = 0; i < o->nwin; i++)
        fprintf(f, "%6d %24.17g %24.17g %24.17g %24.17g\n", o->windows[i], st->mse[i],
                st->bound_fit[i], st->bound_est[i], st->bound_fitc[i]);
    fprintf(f, "\n\n# block 1 (gnuplot index 1): the greedy MSE and the summary numbers\n");
    fprintf(f, "# greedy_mse greedy_bias2 greedy_var T S_ok sigma2_fit eps2_fit sigma2_est "
               "eps2_est W_best mse_best S_greedy_ok sigma2_fit_c c_fit_c eps2_fit_c\n");
    fprintf(f, "%.17g %.17g %.17g %d %d %.17g %.17g %.17g %.17g %d %.17g %d %.17g %.17g %.17g\n",
            st->greedy_mse, st->greedy_bias2, st->greedy_var, o->steps, st->n_ng, st->sigma2_fit,
            st->eps2_fit, st->sigma2_est, st->eps_est * st->eps_est, o->windows[st->best],
            st->mse[st->best], st->n_gr, st->sigma2_fitc, st->c_fitc, st->eps2_fitc);
}

static void write_steps(const Fig2Run *r, const Fig2Stats *st, FILE *f)
{
    const Fig2Options *o = r->o;
    fprintf(f, "# hgbench-fig2 per-step learning-rate hypergradients: T = %d, S = %d (%s %d "
               "ok, greedy %d ok), %s, commit %s, %s\n",
            o->steps, o->seeds, o->reverse, st->n_ng, st->n_gr, HG_REAL_NAME, o->commit, r->date);
    fprintf(f, "# truth = mean over seeds of the non-greedy values, std = their across-seed "
               "standard deviation (divided by S); greedy_mean/std the same for greedy\n");
    fprintf(f, "# %4s %14s %24s %24s %24s %24s\n", "t", "lr", "truth", "std", "greedy_mean",
            "greedy_std");
    for (int t = 0; t < o->steps; t++)
        fprintf(f, "%6d %14.8g %24.17g %24.17g %24.17g %24.17g\n", t, r->lr[t], st->truth[t],
                st->std[t], st->gr_mean[t], st->gr_std[t]);
}

static void write_json(const Fig2Run *r, const Fig2Stats *st, FILE *f)
{
    const Fig2Options *o = r->o;
    const int S = o->seeds, T = o->steps;
    JsonWriter j;
    json_init(&j, f);
    json_object_begin(&j, 0);
    json_key(&j, "experiment");
    json_string(&j, "fig2");
    json_key(&j, "date");
    json_string(&j, r->date);
    json_key(&j, "commit");
    json_string(&j, o->commit);
    json_key(&j, "precision");
    json_int(&j, HG_PRECISION);
    json_key(&j, "threads");
    json_int(&j, o->threads);
    json_key(&j, "quick");
    json_bool(&j, o->quick);
    json_key(&j, "settings");
    json_object_begin(&j, 0);
    json_key(&j, "model");
    json_string(&j, "lenet");
    json_key(&j, "params");
    json_int(&j, r->P);
    json_key(&j, "data");
    json_string(&j, o->data);
    json_key(&j, "train");
    json_int(&j, r->n_train);
    json_key(&j, "val");
    json_int(&j, r->n_val);
    json_key(&j, "val_seed");
    json_uint(&j, o->val_seed);
    json_key(&j, "steps");
    json_int(&j, T);
    json_key(&j, "batch");
    json_int(&j, o->batch);
    json_key(&j, "seeds");
    json_int(&j, S);
    json_key(&j, "init");
    json_string(&j, "xavier");
    json_key(&j, "schedule");
    json_string(&j, "cosine");
    json_key(&j, "lr");
    json_double(&j, o->lr);
    json_key(&j, "mom");
    json_double(&j, o->mom);
    json_key(&j, "wd");
    json_double(&j, 0);
    json_key(&j, "clamp");
    json_double(&j, o->clamp);
    json_key(&j, "reverse_engine");
    json_string(&j, o->reverse);
    json_key(&j, "fit");
    json_string(&j, o->fit == FIT_REL ? "rel" : "abs");
    json_object_end(&j);
    json_key(&j, "paper");
    json_object_begin(&j, 1);
    json_key(&j, "seeds");
    json_int(&j, PAPER_SEEDS);
    json_key(&j, "steps");
    json_int(&j, PAPER_STEPS);
    json_key(&j, "batch");
    json_int(&j, PAPER_BATCH);
    json_key(&j, "val");
    json_int(&j, PAPER_VAL);
    json_key(&j, "lr");
    json_double(&j, PAPER_LR);
    json_object_end(&j);
    json_key(&j, "seeds_ok");
    json_object_begin(&j, 1);
    json_key(&j, "nongreedy");
    json_int(&j, st->n_ng);
    json_key(&j, "greedy");
    json_int(&j, st->n_gr);
    json_object_end(&j);
    long wl[MAX_WINDOWS];
    for (int i = 0; i < o->nwin; i++)
        wl[i] = o->windows[i];
    json_key(&j, "windows");
    json_longs(&j, wl, o->nwin);
    json_key(&j, "mse");
    json_doubles(&j, st->mse, o->nwin);
    json_key(&j, "bound_fit");
    json_doubles(&j, st->bound_fit, o->nwin);
    json_key(&j, "bound_est");
    json_doubles(&j, st->bound_est, o->nwin);
    json_key(&j, "bound_fit_c");
    json_doubles(&j, st->bound_fitc, o->nwin);
    json_key(&j, "greedy_mse");
    json_double(&j, st->greedy_mse);
    json_key(&j, "greedy_bias2");
    json_double(&j, st->greedy_bias2);
    json_key(&j, "greedy_var");
    json_double(&j, st->greedy_var);
    json_key(&j, "fit_sigma2");
    json_double(&j, st->sigma2_fit);
    json_key(&j, "fit_eps2");
    json_double(&j, st->eps2_fit);
    json_key(&j, "fit_note");
    json_string(&j, st->fit_note);
    json_key(&j, "fit_c_sigma2");
    json_double(&j, st->sigma2_fitc);
    json_key(&j, "fit_c_c");
    json_double(&j, st->c_fitc);
    json_key(&j, "fit_c_eps2");
    json_double(&j, st->eps2_fitc);
    json_key(&j, "fit_c_w_min");
    json_double(&j, st->fitc_wstar);
    json_key(&j, "est_sigma2");
    json_double(&j, st->sigma2_est);
    json_key(&j, "est_eps");
    json_double(&j, st->eps_est);
    json_key(&j, "fit_w_min");
    json_double(&j, st->fit_wstar);
    json_key(&j, "est_w_min");
    json_double(&j, st->est_wstar);
    json_key(&j, "w_best");
    json_int(&j, o->windows[st->best]);
    json_key(&j, "mse_best");
    json_double(&j, st->mse[st->best]);
    json_key(&j, "last_step_max_rel_diff");
    json_double(&j, st->last_step_rel);
    json_key(&j, "lr_schedule");
    json_doubles(&j, r->lr, T);
    json_key(&j, "truth");
    json_doubles(&j, st->truth, T);
    json_key(&j, "std");
    json_doubles(&j, st->std, T);
    json_key(&j, "greedy_mean");
    json_doubles(&j, st->gr_mean, T);
    json_key(&j, "greedy_std");
    json_doubles(&j, st->gr_std, T);
    json_key(&j, "time_s");
    json_object_begin(&j, 0);
    json_key(&j, "nongreedy");
    json_doubles(&j, r->time_h, S);
    json_key(&j, "greedy");
    json_doubles(&j, r->time_g, S);
    json_key(&j, "total");
    json_double(&j, r->total_s);
    json_object_end(&j);
    json_key(&j, "per_seed");
    json_object_begin(&j, 0);
    for (int e = 0; e < 2; e++) {
        json_key(&j, e ? "greedy" : "nongreedy");
        json_array_begin(&j, 0);
        for (int s = 0; s < S; s++)
            json_doubles(&j, (e ? r->ok_g[s] : r->ok_h[s]) ? (e ? r->g : r->h) + (long)s * T
                                                           : NULL, T);
        json_array_end(&j);
    }
    json_object_end(&j);
    json_key(&j, "failures");
    json_array_begin(&j, 0);
    for (int s = 0; s < S; s++)
        for (int e = 0; e < 2; e++) {
            if (e ? r->ok_g[s] : r->ok_h[s])
                continue;
            json_object_begin(&j, 1);
            json_key(&j, "seed");
            json_int(&j, s);
            json_key(&j, "engine");
            json_string(&j, e ? "greedy" : o->reverse);
            json_key(&j, "error");
            json_string(&j, e ? r->fail_g[s] : r->fail_h[s]);
            json_object_end(&j);
        }
    json_array_end(&j);
    json_key(&j, "machine");
    json_object_begin(&j, 0);
    json_key(&j, "host");
    json_string(&j, r->mc.host);
    json_key(&j, "cpu");
    json_string(&j, r->mc.cpu);
    json_key(&j, "cores");
    json_int(&j, r->mc.cores);
    json_key(&j, "pus");
    json_int(&j, r->mc.pus);
    json_key(&j, "memory_bytes");
    json_double(&j, r->mc.memory_bytes);
    json_object_end(&j);
    json_object_end(&j);
}

typedef void (*Writer)(const Fig2Run *, const Fig2Stats *, FILE *);

static int write_atomic(const char *flag, const char *path, Writer w, const Fig2Run *r,
                        const Fig2Stats *st)
{
    AtomicFile af;
    HgErr err = {{0}};
    if (atomic_open(&af, path, &err)) {
        fprintf(stderr, PROG ": %s %s\n", flag, err.msg);
        return -1;
    }
    w(r, st, af.f);
    if (atomic_commit(&af, &err)) {
        fprintf(stderr, PROG ": %s %s\n", flag, err.msg);
        return -1;
    }
    return 0;
}

/* A long run must not end unable to write: try each output's temporary now. */
static int check_writable(const char *flag, const char *path)
{
    AtomicFile af;
    HgErr err = {{0}};
    if (!path)
        return 0;
    if (atomic_open(&af, path, &err)) {
        fprintf(stderr, PROG ": %s %s\n", flag, err.msg);
        return -1;
    }
    atomic_abort(&af);
    return 0;
}

/* 0 done; -1 data not loaded (exit 3); -2 --val or --batch do not fit it (exit 2). */
static int load_data(const Fig2Options *o, Dataset *train, Dataset *val, HgErr *err)
{
    Dataset full;
    if (dataset_load(o->data, o->data_dir, 0, &full, err))
        return -1;
    if (full.c != 1 || full.h != 28 || full.w != 28 || full.classes != 10) {
        hg_fail(err, "--data %s: %dx%dx%d examples of %d classes, expected 1x28x28 of 10",
                o->data, full.c, full.h, full.w, full.classes);
        dataset_free(&full);
        return -1;
    }
    if (o->val >= full.n || full.n - o->val < o->batch) {
        hg_fail(err, "--val %d: %s has %d training examples, which must leave at least --batch "
                "%d; use --val %d or less", o->val, o->data, full.n, o->batch,
                full.n - o->batch);
        dataset_free(&full);
        return -2; /* a usage error */
    }
    const int rc = dataset_split(&full, o->val, o->val_seed, train, val, err);
    dataset_free(&full);
    if (rc)
        return -1;
    double mean[1], std[1];
    dataset_channel_stats(train, mean, std);
    dataset_normalize(train, mean, std);
    dataset_normalize(val, mean, std);
    return 0;
}

static int fig2_run(const Fig2Options *o)
{
    const int S = o->seeds, T = o->steps;
    const double t_start = now_s();
    omp_set_num_threads(o->threads);
    openblas_set_num_threads(o->threads);
    if (check_writable("--out", o->out) || check_writable("--json", o->json) ||
        check_writable("--steps-out", o->steps_out))
        return 3;

    HgErr err = {{0}};
    Fig2Run r = {.o = o};
    machine_probe(&r.mc);
    const time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(r.date, sizeof r.date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    r.data_dir = o->data_dir ? o->data_dir : dataset_default_dir(o->data);

    Dataset train = {0}, val = {0};
    const int lrc = load_data(o, &train, &val, &err);
    if (lrc) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return lrc == -2 ? 2 : 3;
    }
    r.n_train = train.n;
    r.n_val = val.n;
    Model *m = model_lenet((Shape){1, 28, 28}, 10, &err);
    HG_CHECK(m, "LeNet 1x28x28: %s", err.msg);
    r.P = m->nparams;
    HG_CHECK(r.P == LENET_PARAMS, "LeNet 1x28x28 has %ld parameters", r.P);

    HyperLayout layout;
    Schedule sched = {0};
    const int K[HYPER_KINDS] = {T, 0, 0};
    if (hyper_layout_init(&layout, T, K, &err) ||
        schedule_init(&sched, T, SCHEDULE_COSINE, o->lr, o->mom, 0, o->clamp, &err)) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        dataset_free(&train);
        dataset_free(&val);
        model_free(m);
        return 2;
    }
    r.lr = sched.v[HYPER_LR];
    if (!strcmp(o->reverse, "bptt"))
        fprintf(stderr, PROG ": bptt stores its trajectory: %.3f GiB per run\n",
                (double)bptt_trajectory_bytes(r.P, T, o->clamp > 0) / (1 << 30));

    r.h = mem_alloc(MEM_OTHER, sizeof(double) * S * T);
    r.g = mem_alloc(MEM_OTHER, sizeof(double) * S * T);
    r.ok_h = mem_alloc(MEM_OTHER, sizeof(int) * S);
    r.ok_g = mem_alloc(MEM_OTHER, sizeof(int) * S);
    r.fail_h = mem_alloc(MEM_OTHER, sizeof *r.fail_h * S);
    r.fail_g = mem_alloc(MEM_OTHER, sizeof *r.fail_g * S);
    r.time_h = mem_alloc(MEM_OTHER, sizeof(double) * S);
    r.time_g = mem_alloc(MEM_OTHER, sizeof(double) * S);
    real *w0 = mem_alloc(MEM_PARAMS, sizeof(real) * r.P);
    const EngineOps *ops[2] = {engine_find(o->reverse), engine_find("greedy")};
    HG_CHECK(ops[0] && ops[1], "engines %s and greedy are registered", o->reverse);

    Progress pg;
    progress_start(&pg, "fig2", 2L * S);
    for (int s = 0; s < S; s++) {
        model_init(m, w0, INIT_XAVIER, 0, (uint64_t)s);
        const InnerProblem prob = {m, &train, &val, o->batch, inner_batch_seed((uint64_t)s) /* as hgbench hypergrad --seed s */, w0};
        const EngineConfig cfg = {.prob = &prob, .layout = &layout, .sched = &sched};
        for (int e = 0; e < 2; e++) {
            EngineResult res;
            HgErr e_err = {{0}};
            double *dst = (e ? r.g : r.h) + (long)s * T;
            int *ok = e ? r.ok_g : r.ok_h;
            if (engine_run(ops[e], &cfg, &res, &e_err) == 0) {
                HG_CHECK(res.per_step[HYPER_LR], "%s returns per-step lr values", ops[e]->name);
                memcpy(dst, res.per_step[HYPER_LR], sizeof(double) * T);
                ok[s] = 1;
                (e ? r.time_g : r.time_h)[s] = res.time_s;
                engine_result_free(&res);
            } else {
                memcpy((e ? r.fail_g : r.fail_h)[s], e_err.msg, sizeof e_err.msg);
                (e ? r.time_g : r.time_h)[s] = NAN;
                fprintf(stderr, "%s" PROG ": seed %d, %s failed: %s\n", pg.tty ? "\n" : "", s,
                        ops[e]->name, e_err.msg);
            }
            progress_update(&pg, 2L * s + e + 1);
        }
    }
    progress_end(&pg);
    r.total_s = now_s() - t_start;

    int status = 0;
    Fig2Stats st;
    fig2_stats(o, r.h, r.ok_h, r.g, r.ok_g, &st);
    if (st.n_ng < 2) {
        fprintf(stderr, PROG ": only %d of %d seeds gave non-greedy hypergradients; no MSE\n",
                st.n_ng, S);
        status = 1;
    } else {
        write_table(&r, &st, stdout);
        fflush(stdout);
        if (o->out && write_atomic("--out", o->out, write_table, &r, &st))
            status = 3;
        if (o->steps_out && write_atomic("--steps-out", o->steps_out, write_steps, &r, &st))
            status = 3;
    }
    if (o->json && write_atomic("--json", o->json, write_json, &r, &st))
        status = 3;

    fig2_stats_free(&st);
    mem_free(w0);
    mem_free(r.h);
    mem_free(r.g);
    mem_free(r.ok_h);
    mem_free(r.ok_g);
    mem_free(r.fail_h);
    mem_free(r.fail_g);
    mem_free(r.time_h);
    mem_free(r.time_g);
    schedule_free(&sched);
    dataset_free(&train);
    dataset_free(&val);
    model_free(m);
    return status;
}

int main(int argc, char **argv)
{
    Fig2Options o;
    HgErr err = {{0}};
    if (fig2_parse(argc, argv, &o, &err)) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    if (o.help) {
        usage(stdout);
        return 0;
    }
    return fig2_run(&o);
}
