/* report_fig2.c — the fig2 section of RESULTS.md (Figure 2 of the FDS paper:
 * hypergradient MSE against the sharing window W) from the JSON of the
 * three hgbench-fig2 runs scripts/fig2.sh makes: fig2.json (float64, the
 * curve, comparing the float32 runs), fig2-f32.json (float32, beside it) and
 * fig2-f32-kahan.json (its command only). Plots fig2 and fig2-steps.
 * report_fig2_body (report_fig2.h) is the part another section can repeat
 * on other files (the GPU section's Figure 2).
 * Intervals: a bootstrap over seeds from fig2.json's per-seed values
 * (per_seed.nongreedy, fig2_stats.h's fig2_bootstrap: MSE(W), the fitted
 * sigma^2 and eps^2, the best W), computed here with the fixed seed
 * FIG2_BOOT_SEED, so the same results render to the same bytes.
 */
#include "report_fig2.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fig2_stats.h"

#include "report_json.h"
#include "report_md.h"
#include "report_plot.h"

#define HEADING "Figure 2: hypergradient error vs sharing window (experiment 3)"
#define HEADING_PRECISION "Precision: is Figure 2 measuring rounding?"
#define MAX_FAILS_SHOWN 20 /* as hgbench-fig2's own table */
#define KAHAN_ROWS 3

/* One hgbench-fig2 --json, loaded. */
typedef struct Run {
    Rj r;
    json_t *root, *set, *paper, *rows, *rounding;
    RjEnvelope env;
    int present;
} Run;

/* path absent (or NULL): present = 0 and 0; unreadable or without its
 * envelope and settings: -1 with u->r.err. */
static int run_load(Run *u, const char *path)
{
    memset(u, 0, sizeof *u);
    if (!path || !rj_exists(path)) return 0;
    u->root = rj_load(&u->r, path);
    if (!u->root) return -1;
    u->present = 1;
    rj_envelope(&u->r, u->root, &u->env);
    u->set = rj_object(&u->r, u->root, "settings");
    u->paper = rj_object(&u->r, u->root, "paper");
    u->rows = rj_array(&u->r, u->root, "rows");
    u->rounding = rj_array(&u->r, u->root, "rounding");
    return u->r.bad ? -1 : 0;
}

static void run_close(Run *u)
{
    if (u->present) rj_close(&u->r);
}

/* printf's %.*g, "n/a" for NaN (a JSON null). */
static const char *g(char *b, size_t n, int digits, double x)
{
    return md_g(b, n, digits, x);
}

/* The bootstrap over seeds of run u (fig2_bootstrap), from its per-seed
 * values; have = 0 when they are absent and not required. */
typedef struct Boot {
    int have, nwin;
    int windows[MAX_WINDOWS];
    Fig2Boot b;
} Boot;

static void boot_compute(Run *u, int required, Boot *bt)
{
    memset(bt, 0, sizeof *bt);
    Rj *r = &u->r;
    if (r->bad || (!required && !rj_has(u->root, "per_seed")))
        return;
    json_t *ng = rj_array(r, rj_object(r, u->root, "per_seed"), "nongreedy");
    const long T = rj_int(r, u->set, "steps");
    const char *fit = rj_str(r, u->set, "fit");
    double w[MAX_WINDOWS];
    const long nw = rj_nums(r, u->root, "windows", w, MAX_WINDOWS);
    if (r->bad || T < 1 || nw < 1)
        return;
    const size_t S = json_array_size(ng);
    double *h = calloc(S ? S * (size_t)T : 1, sizeof *h);
    int *ok = calloc(S ? S : 1, sizeof *ok);
    HG_CHECK(h && ok, "calloc");
    for (size_t s = 0; s < S && !r->bad; s++) {
        json_t *row = json_array_get(ng, s);
        if (json_is_null(row)) /* a seed that failed */
            continue;
        if (!json_is_array(row) || (long)json_array_size(row) != T) {
            rj_fail(r, "per_seed.nongreedy[%zu]: expected null or %ld numbers (T)", s, T);
            break;
        }
        for (long t = 0; t < T && !r->bad; t++) {
            json_t *v = json_array_get(row, (size_t)t);
            if (!json_is_number(v))
                rj_fail(r, "per_seed.nongreedy[%zu][%ld]: expected a number", s, t);
            h[s * (size_t)T + (size_t)t] = json_number_value(v);
        }
        ok[s] = 1;
    }
    if (!r->bad) {
        bt->nwin = (int)nw;
        for (long i = 0; i < nw; i++) bt->windows[i] = (int)w[i];
        const Fig2Setup o = {.S = (int)S, .T = (int)T, .nwin = (int)nw, .windows = bt->windows,
                             .fit = strcmp(fit, "abs") ? FIT_REL : FIT_ABS};
        fig2_bootstrap(&o, h, ok, FIG2_BOOT_B, 0.95, FIG2_BOOT_SEED, &bt->b);
        bt->have = bt->b.n >= 2;
    }
    free(h);
    free(ok);
}

/* The bootstrap's index of window W; -1 if none. */
static int boot_index(const Boot *bt, long W)
{
    for (int i = 0; bt->have && i < bt->nwin; i++)
        if (bt->windows[i] == W) return i;
    return -1;
}

/* The intervals under the bound's bullets. */
static void boot_bullets(FILE *f, const Boot *bt, long wbest)
{
    if (!bt->have) return;
    const Fig2Boot *b = &bt->b;
    char x[9][48];
    const int lo = (int)b->best.lo, hi = (int)b->best.hi, k = boot_index(bt, wbest);
    fprintf(f, "- 95%% intervals: a bootstrap over seeds, %d resamples of the %d seeds with "
               "replacement (each a seed's whole per-step row; the truth and the fits recomputed "
               "on each; percentile intervals; fixed seed 0x%llx, so the same results give the "
               "same numbers)%s\n", b->B, b->n, (unsigned long long)FIG2_BOOT_SEED,
            b->n < 10 ? "; with so few seeds they are rough: a resample that draws one seed n "
                        "times has MSE 0 at every W (its smallest counted at the first window)"
                      : "");
    fprintf(f, "- fitted sigma^2 = %s (95%%: %s – %s), eps^2 = %s (95%%: %s – %s)\n",
            g(x[0], 48, 4, b->sigma2.mean), g(x[1], 48, 4, b->sigma2.lo),
            g(x[2], 48, 4, b->sigma2.hi), g(x[3], 48, 4, b->eps2.mean),
            g(x[4], 48, 4, b->eps2.lo), g(x[5], 48, 4, b->eps2.hi));
    fprintf(f, "- best window W = %ld (95%%: W = %d – %d), the smallest MSE in %.0f%% of the "
               "resamples (each window's share is in the table)\n", wbest, bt->windows[lo],
            bt->windows[hi], k >= 0 ? 100 * b->best_share[k] : NAN);
}

/* The run's settings, as hgbench-fig2's table states them. */
static void settings_bullets(FILE *f, Run *u)
{
    Rj *r = &u->r;
    json_t *s = u->set, *p = u->paper;
    const char *init = rj_str(r, s, "init");
    const char *model = rj_str(r, s, "model"), *data = rj_str(r, s, "data");
    const char *dir = rj_str(r, s, "data_dir"), *rev = rj_str(r, s, "reverse_engine");
    long params = rj_int(r, s, "params"), train = rj_int(r, s, "train"), val = rj_int(r, s, "val");
    long pval = rj_int(r, p, "val"), vseed = rj_int(r, s, "val_seed");
    long T = rj_int(r, s, "steps"), pT = rj_int(r, p, "steps"), B = rj_int(r, s, "batch");
    long pB = rj_int(r, p, "batch"), S = rj_int(r, s, "seeds"), pS = rj_int(r, p, "seeds");
    double lr = rj_num(r, s, "lr"), plr = rj_num(r, p, "lr"), mom = rj_num(r, s, "mom");
    double clamp = rj_num(r, s, "clamp");
    int greedy = rj_bool(r, s, "greedy");
    json_t *ok = rj_object(r, u->root, "seeds_ok");
    long ok_ng = rj_int(r, ok, "nongreedy"), ok_g = rj_int(r, ok, "greedy");
    json_t *t = rj_object(r, u->root, "time_s");
    double t_ng = rj_num_or_null(r, t, "nongreedy_mean"), t_g = rj_num_or_null(r, t, "greedy_mean");
    double t_all = rj_num(r, t, "total");
    fprintf(f, "- model: %s (%ld parameters), %s%s init   data: %s (%s), train %ld, validation "
               "%ld (paper: %ld) split off the training set with val seed %ld, both normalised "
               "with the training part's per-channel statistics\n",
            model, params, init, strcmp(init, "xavier") ? "" : "-normal", data, dir, train, val,
            pval, vseed);
    fprintf(f, "- inner: T = %ld steps (paper: %ld), batch %ld (paper: %ld), learning rate "
               "cosine-annealed from %g (paper: %g), momentum %g, weight decay 0, gradient "
               "clamp %s%g\n", T, pT, B, pB, lr, plr, mom, clamp > 0 ? "+-" : "off ", clamp);
    fprintf(f, "- seeds: S = %ld (paper: %ld); seed s = 0..S-1 sets model_init's seed and the "
               "batch order (as hgbench hypergrad --seed s); the validation set is the same for "
               "all\n", S, pS);
    fprintf(f, "- engines: non-greedy = %s (learning rate learned per step, K = T), greedy = "
               "greedy (one-step look-ahead on the validation set, no online updates); both "
               "per-step values are d(validation loss)/d(a_t), same sign and scale\n", rev);
    if (greedy)
        fprintf(f, "- succeeded: %s %ld/%ld seeds, greedy %ld/%ld seeds\n", rev, ok_ng, S, ok_g, S);
    else
        fprintf(f, "- succeeded: %s %ld/%ld seeds, greedy not run (--greedy off: its numbers "
                   "are n/a)\n", rev, ok_ng, S);
    fprintf(f, "- time: %s %.2f s per seed, greedy %.2f s per seed (means over successful runs); "
               "%.1f s in all\n", rev, t_ng, t_g, t_all);
    fprintf(f, "- truth: the mean over the %ld non-greedy seeds of their per-step "
               "hypergradients; it includes each seed itself (as in the paper), so with few "
               "seeds every MSE is smaller by about a factor (S-1)/S\n", ok_ng);
}

/* The failed runs, as bold bullets (the first MAX_FAILS_SHOWN). */
static void failure_bullets(FILE *f, Run *u)
{
    Rj *r = &u->r;
    json_t *fails = rj_array(r, u->root, "failures");
    size_t n = json_array_size(fails);
    for (size_t i = 0; i < n && i < MAX_FAILS_SHOWN && !r->bad; i++) {
        json_t *e = rj_row(r, fails, "failures", i);
        fprintf(f, "- **FAILED: seed %ld %s: %s**\n", rj_int(r, e, "seed"), rj_str(r, e, "engine"),
                rj_str(r, e, "error"));
    }
    rj_at(r, "%s", "");
    if (n > MAX_FAILS_SHOWN)
        fprintf(f, "- **FAILED: ... %zu more (see the JSON)**\n", n - MAX_FAILS_SHOWN);
}

/* The measured minimum and greedy's MSE, as hgbench-fig2 states them;
 * prefix "float32 run: " for the run beside the curve. */
static void minimum_bullets(FILE *f, Run *u, const char *prefix)
{
    Rj *r = &u->r;
    char b[5][48];
    double best = rj_num(r, u->root, "mse_best"), mse1 = rj_num_or_null(r, u->root, "mse1");
    long wbest = rj_int(r, u->root, "w_best");
    double gm = rj_num_or_null(r, u->root, "greedy_mse");
    double gb = rj_num_or_null(r, u->root, "greedy_bias2");
    double gv = rj_num_or_null(r, u->root, "greedy_var");
    fprintf(f, "- %smeasured minimum: MSE = %s at W = %ld (MSE(1) = %s, MSE(1) / minimum = %s)\n",
            prefix, g(b[0], 48, 6, best), wbest, g(b[1], 48, 6, mse1), g(b[2], 48, 3, mse1 / best));
    fprintf(f, "- %sgreedy: MSE = %s = squared bias of its seed mean %s + its across-seed "
               "variance %s; greedy / MSE(1) = %s, greedy / minimum = %s\n",
            prefix, g(b[0], 48, 6, gm), g(b[1], 48, 6, gb), g(b[2], 48, 6, gv),
            g(b[3], 48, 3, gm / mse1), g(b[4], 48, 3, gm / best));
}

/* The bound's fits and the checks under the MSE(W) table. */
static void bound_bullets(FILE *f, Run *u)
{
    Rj *r = &u->r;
    json_t *o = u->root;
    char b[6][48];
    const char *fit = rj_str(r, u->set, "fit"), *note = rj_str(r, o, "fit_note");
    double s2 = rj_num_or_null(r, o, "fit_sigma2"), e2 = rj_num_or_null(r, o, "fit_eps2");
    double wmin = rj_num_or_null(r, o, "fit_w_min");
    double cs2 = rj_num_or_null(r, o, "fit_c_sigma2"), cc = rj_num_or_null(r, o, "fit_c_c");
    double ce2 = rj_num_or_null(r, o, "fit_c_eps2"), cw = rj_num_or_null(r, o, "fit_c_w_min");
    double es2 = rj_num_or_null(r, o, "est_sigma2"), ee = rj_num_or_null(r, o, "est_eps");
    double ew = rj_num_or_null(r, o, "est_w_min");
    double check = rj_num_or_null(r, o, "last_step_max_rel_diff");
    fprintf(f, "- bound (Theorem 4.1, iid case): MSE(W) ~ sigma^2/W + eps^2 (W^2-1)/12\n");
    fprintf(f, "- fit (least squares on %s residuals of MSE(W), sigma^2, eps^2 >= 0%s%s): "
               "sigma^2 = %s, eps^2 = %s (eps = %s), minimum at W = (6 sigma^2/eps^2)^(1/3) = %s\n",
            strcmp(fit, "rel") ? "absolute" : "relative", note[0] ? "; " : "", note,
            g(b[0], 48, 6, s2), g(b[1], 48, 6, e2), g(b[2], 48, 6, sqrt(e2)), g(b[3], 48, 4, wmin));
    fprintf(f, "- fit with Theorem 4.1's correlation term, MSE(W) ~ sigma^2 ((1-c)/W + c) + eps^2 "
               "(W^2-1)/12 (same least squares, all terms >= 0): sigma^2 = %s, c = %s, eps^2 = "
               "%s, minimum at W = (6 sigma^2 (1-c)/eps^2)^(1/3) = %s (c is the fit's, not the "
               "theorem's maximum correlation)\n",
            g(b[0], 48, 6, cs2), g(b[1], 48, 4, cc), g(b[2], 48, 6, ce2), g(b[3], 48, 4, cw));
    fprintf(f, "- estimated directly: sigma^2 = mean over steps of the across-seed variance "
               "(divided by S) = %s, eps = mean over steps of |truth[t+1]-truth[t]| = %s (eps^2 = "
               "%s; truth's own noise inflates it when S is small), minimum at W = %s\n",
            g(b[0], 48, 6, es2), g(b[1], 48, 6, ee), g(b[2], 48, 6, ee * ee), g(b[3], 48, 4, ew));
    minimum_bullets(f, u, "");
    fprintf(f, "- check: at the last step greedy and non-greedy are the same derivative; max "
               "relative difference over seeds %s\n", g(b[0], 48, 3, check));
}

/* MSE(W) of run u at window W; NaN if u has no such row. */
static double mse_at(Run *u, long W)
{
    if (!u->present) return NAN;
    size_t n = json_array_size(u->rows);
    for (size_t i = 0; i < n; i++) {
        json_t *row = rj_row(&u->r, u->rows, "rows", i);
        if (rj_int(&u->r, row, "W") == W) {
            double m = rj_num_or_null(&u->r, row, "mse");
            rj_at(&u->r, "%s", "");
            return m;
        }
    }
    rj_at(&u->r, "%s", "");
    return NAN;
}

static void mse_table(FILE *f, Run *u, Run *u32, const Boot *bt)
{
    static const char *const names[] = {
        "W", "MSE(W) float64", "95% interval over seeds", "best in (resamples)",
        "MSE(W) float32", "bound σ²/W + ε²(W²−1)/12, fitted", "same, estimated",
        "with correlation term, fitted"};
    static const char *const plain[] = {
        "W", "MSE(W) float64", "MSE(W) float32", "bound σ²/W + ε²(W²−1)/12, fitted",
        "same, estimated", "with correlation term, fitted"};
    if (bt->have) md_table_head(f, "rrrrrrrr", names);
    else md_table_head(f, "rrrrrr", plain); /* no per-seed values: no intervals */
    Rj *r = &u->r;
    size_t n = json_array_size(u->rows);
    for (size_t i = 0; i < n && !r->bad; i++) {
        json_t *row = rj_row(r, u->rows, "rows", i);
        long W = rj_int(r, row, "W");
        char b[5][48], iv[112] = "-", share[32] = "-";
        double m32 = mse_at(u32, W);
        const int k = boot_index(bt, W);
        if (k >= 0) {
            char lo[48], hi[48];
            snprintf(iv, sizeof iv, "%s – %s", g(lo, 48, 4, bt->b.mse[k].lo),
                     g(hi, 48, 4, bt->b.mse[k].hi));
            snprintf(share, sizeof share, "%.0f%%", 100 * bt->b.best_share[k]);
        }
        fprintf(f, "| %ld | %s |", W, g(b[0], 48, 4, rj_num_or_null(r, row, "mse")));
        if (bt->have) fprintf(f, " %s | %s |", iv, share);
        fprintf(f, " %s | %s | %s | %s |\n",
                isnan(m32) ? "-" : g(b[1], 48, 4, m32),
                g(b[2], 48, 4, rj_num_or_null(r, row, "bound_fit")),
                g(b[3], 48, 4, rj_num_or_null(r, row, "bound_est")),
                g(b[4], 48, 4, rj_num_or_null(r, row, "bound_fit_c")));
    }
    rj_at(r, "%s", "");
}

/* One rounding row of the float64 run: label's row of kind (0 all seeds, 1
 * the replayed seeds, 2 the replays); NULL if absent or over no seeds. */
static json_t *rounding_row(Run *u, const char *label, int kind)
{
    Rj *r = &u->r;
    size_t n = json_array_size(u->rounding);
    json_t *hit = NULL;
    for (size_t i = 0; i < n && !hit && !r->bad; i++) {
        json_t *row = rj_row(r, u->rounding, "rounding", i);
        int k = !strcmp(rj_str(r, row, "seeds_used"), "all") ? 0
              : rj_bool(r, row, "reverse_here") ? 2 : 1;
        if (k == kind && !strcmp(rj_str(r, row, "label"), label) && rj_int(r, row, "seeds") > 0)
            hit = row;
    }
    rj_at(r, "%s", "");
    return hit;
}

static double rounding_num(Run *u, const char *label, int kind, const char *key)
{
    json_t *row = rounding_row(u, label, kind);
    return row ? rj_num_or_null(&u->r, row, key) : NAN;
}

static void rounding_section(ReportCtx *c, Run *u, const Fig2Files *files)
{
    FILE *f = c->md;
    Rj *r = &u->r;
    const char *prec = u->env.precision;
    fprintf(f, "### %s\n\n", HEADING_PRECISION);
    fprintf(f, "Each float32 run's per-step learning-rate hypergradients against the %s run's "
               "for\nthe same seeds (mean square difference, in the units of MSE(W)), next to "
               "the\nacross-seed spread MSE(1) that the figure measures. `:reverse64` rows take "
               "the\nfloat32 run's stored trajectory (w_t, v_t, clamp masks) and redo bptt's "
               "reverse pass\nin float64: what is left is the float32 *training run* being a "
               "different run;\nthe rest is the float32 reverse pass.\n\n", prec);
    fprintf(f, "Rows: `float32` over all seeds; `:replayed-seeds` the same over the seeds whose\n"
               "trajectory was kept; `:reverse64` those trajectories differentiated in float64.\n\n");
    char head0[64];
    snprintf(head0, sizeof head0, "run vs %s", prec);
    const char *const names[] = {head0, "seeds", "mean square difference", "÷ MSE(1)",
                                 "relative rms", "worst seed", "correlation",
                                 "validation loss difference"};
    md_table_head(f, "lrrrrrrr", names);
    size_t n = json_array_size(u->rounding);
    for (size_t i = 0; i < n && !r->bad; i++) {
        json_t *row = rj_row(r, u->rounding, "rounding", i);
        if (rj_int(r, row, "seeds") <= 0) continue;
        char b[7][48];
        fprintf(f, "| %s | %ld | %s | %s | %s | %s | %s | %s |\n", rj_str(r, row, "name"),
                rj_int(r, row, "seeds"), g(b[0], 48, 3, rj_num_or_null(r, row, "mse_diff")),
                g(b[1], 48, 3, rj_num_or_null(r, row, "per_mse1")),
                g(b[2], 48, 3, rj_num_or_null(r, row, "rel_rms")),
                g(b[3], 48, 3, rj_num_or_null(r, row, "max_rel")),
                md_f(b[4], 48, 4, rj_num_or_null(r, row, "corr")),
                g(b[5], 48, 3, rj_num_or_null(r, row, "val_diff")));
    }
    rj_at(r, "%s", "");
    fprintf(f, "\n");
    md_provenance(f, &u->env);
    fprintf(f, "\n");

    double d = rounding_num(u, "float32", 0, "per_mse1");
    double m = rounding_num(u, "float32", 0, "mse_diff");
    double same = rounding_num(u, "float32", 1, "mse_diff");
    double rev = rounding_num(u, "float32", 2, "mse_diff");
    double k = rounding_num(u, "float32-kahan", 0, "mse_diff");
    double krev = rounding_num(u, "float32-kahan", 2, "mse_diff");
    if (isnan(d)) return;
    char b[4][48];
    if (d >= 0.1)
        fprintf(f, "- **Decision**: float32 differs from float64 by %s × MSE(1) (mean square %s), "
                   "not well below the spread the figure measures (the rule: under 0.1 ×), so "
                   "Figure 2 runs in float64; the float32 curve is drawn beside it.\n",
                g(b[0], 48, 3, d), g(b[1], 48, 3, m));
    else
        fprintf(f, "- **Decision**: float32 differs from float64 by %s × MSE(1) (mean square %s), "
                   "under the 0.1 × rule: float32 would suffice at these settings; the figure "
                   "stays in float64, with the float32 curve beside it.\n",
                g(b[0], 48, 3, d), g(b[1], 48, 3, m));
    if (files->anchor_precision)
        report_headline(c, files->anchor_precision,
                        "Figure 2's float32 run differs from its float64 run by %s × MSE(1), "
                        "the across-seed spread the figure measures (rule: under 0.1 ×), so "
                        "Figure 2 %s.", g(b[0], 48, 3, d),
                        d >= 0.1 ? "runs in float64" : "would be as good in float32");
    if (!isnan(rev) && same > 0) {
        double q = rev / same;
        fprintf(f, "- Where the difference comes from, on the seeds with a kept trajectory: "
                   "float32 differs by %s; with the reverse pass redone in float64 on the float32 "
                   "trajectory, %s (%.0f%%): %s.\n", g(b[0], 48, 3, same), g(b[1], 48, 3, rev),
                100 * q,
                q > 0.8 ? "the float32 *training run* (a different run) makes almost all of it, "
                          "not the float32 reverse pass"
                : q < 0.2 ? "the float32 *reverse pass* makes most of it"
                          : "the training run and the reverse pass both contribute");
    }
    if (!isnan(k)) {
        char kr[96] = "";
        if (!isnan(krev)) snprintf(kr, sizeof kr, "; its training run alone, %s", g(b[3], 48, 3, krev));
        fprintf(f, "- `--kahan` (compensated weight update, same seeds as its run): float32 "
                   "differs by %s (plain float32 on those seeds: %s)%s.\n",
                g(b[0], 48, 3, k), g(b[1], 48, 3, same), kr);
    }
}

/* ------------------------------------------------------------ plots */

static void mse_range(Run *u, double *lo, double *hi)
{
    size_t n = json_array_size(u->rows);
    for (size_t i = 0; i < n; i++) {
        double m = rj_num_or_null(&u->r, rj_row(&u->r, u->rows, "rows", i), "mse");
        if (m > 0 && m < *lo) *lo = m;
        if (m > 0 && m > *hi) *hi = m;
    }
    double gm = rj_num_or_null(&u->r, u->root, "greedy_mse");
    if (gm > 0 && gm < *lo) *lo = gm;
    if (gm > 0 && gm > *hi) *hi = gm;
    rj_at(&u->r, "%s", "");
}

/* MSE against W (log-log): the float64 curve, the float32 one thinner, the
 * greedy MSEs as lines, and the bound fitted, with its correlation term,
 * and estimated. */
static void plot_mse(ReportCtx *c, Run *u, Run *u32, const Boot *bt, const char *name)
{
    Rj *r = &u->r;
    json_t *o = u->root;
    const char *rev = rj_str(r, u->set, "reverse_engine"), *data = rj_str(r, u->set, "data");
    long T = rj_int(r, u->set, "steps"), S = rj_int(r, rj_object(r, o, "seeds_ok"), "nongreedy");
    long wbest = rj_int(r, o, "w_best");
    double gm = rj_num_or_null(r, o, "greedy_mse");
    double s2f = rj_num_or_null(r, o, "fit_sigma2"), e2f = rj_num_or_null(r, o, "fit_eps2");
    double s2c = rj_num_or_null(r, o, "fit_c_sigma2"), cc = rj_num_or_null(r, o, "fit_c_c");
    double e2c = rj_num_or_null(r, o, "fit_c_eps2");
    double s2e = rj_num_or_null(r, o, "est_sigma2"), ee = rj_num_or_null(r, o, "est_eps");
    double lo = INFINITY, hi = 0;
    mse_range(u, &lo, &hi);
    if (u32->present) mse_range(u32, &lo, &hi);
    if (r->bad || !(hi > 0)) return;
    Plot p;
    FILE *d = plot_begin(c, &p, name);
    if (!d) return;
    Run *runs[2] = {u, u32};
    for (int k = 0; k < 1 + u32->present; k++) {
        Rj *rk = &runs[k]->r;
        fprintf(d, "%s# %s run: W mse bound_fit bound_est bound_fit_c%s\n", k ? "\n\n" : "",
                runs[k]->env.precision, k ? "" : " mse_lo mse_hi (95%, bootstrap over seeds)");
        size_t n = json_array_size(runs[k]->rows);
        for (size_t i = 0; i < n; i++) {
            json_t *row = rj_row(rk, runs[k]->rows, "rows", i);
            const long W = rj_int(rk, row, "W");
            const double m = rj_num_or_null(rk, row, "mse");
            fprintf(d, "%ld %.17g %.17g %.17g %.17g", W, m, rj_num_or_null(rk, row, "bound_fit"),
                    rj_num_or_null(rk, row, "bound_est"), rj_num_or_null(rk, row, "bound_fit_c"));
            const int q = k ? -1 : boot_index(bt, W);
            if (!k) fprintf(d, " %.17g %.17g", q >= 0 ? bt->b.mse[q].lo : m, q >= 0 ? bt->b.mse[q].hi : m);
            fprintf(d, "\n");
        }
        rj_at(rk, "%s", "");
    }
    double gm32 = u32->present ? rj_num_or_null(&u32->r, u32->root, "greedy_mse") : NAN;
    FILE *s = plot_script(&p);
    double ylo = lo / 5, yhi = hi * pow(10, 0.8 * log10(hi / ylo));
    fprintf(s, "set encoding utf8\nset logscale xy\nset xrange [0.8 : %.17g]\n"
               "set yrange [%.17g : %.17g]\nset samples 400\nset format y '10^{%%L}'\n"
               "set xlabel 'sharing window W (steps averaged per hyperparameter)'\n"
               "set ylabel 'MSE of per-step learning-rate hypergradients'\n"
               "set title 'Hypergradient MSE vs sharing window (LeNet, %s, T = %ld, S = %ld "
               "seeds)' noenhanced\nset key top left box opaque\n"
               "bound(w, s2, e2) = s2 / w + e2 * (w * w - 1) / 12.0\n"
               "bound_c(w, s2, c, e2) = s2 * ((1 - c) / w + c) + e2 * (w * w - 1) / 12.0\n",
            T * 1.25, ylo, yhi, data, T, S);
    fprintf(s, "plot DAT index 0 using 1:2 with linespoints ls ENGINE_LS('%s') "
               "title '%s %s, window-averaged (min at W = %ld)' noenhanced",
            rev, rev, u->env.precision, wbest);
    if (bt->have)
        fprintf(s, ", \\\n  DAT index 0 using 1:2:6:7 with yerrorbars ls ENGINE_LS('%s') pt 0 "
                   "title '95%% interval, bootstrap over seeds'", rev);
    if (!isnan(gm))
        fprintf(s, ", \\\n  %.17g with lines ls 4 title 'greedy %s (one-step look-ahead)'", gm,
                u->env.precision);
    if (u32->present)
        fprintf(s, ", \\\n  DAT index 1 using 1:2 with linespoints ls ENGINE_LS('%s') lw 1 dt 2 "
                   "pt 6 title '%s float32 (as the paper ran it)' noenhanced", rev, rev);
    if (!isnan(gm32))
        fprintf(s, ", \\\n  %.17g with lines ls 4 lw 1 dt 3 title 'greedy float32'", gm32);
    fprintf(s, ", \\\n  bound(x, %.17g, %.17g) with lines ls 6 dt 2 title 'fit: σ^2/W + ε^2 "
               "(W^2-1)/12, σ^2 = %.3g, ε^2 = %.3g'", s2f, e2f, s2f, e2f);
    fprintf(s, ", \\\n  bound_c(x, %.17g, %.17g, %.17g) with lines ls 6 dt 3 title 'fit with "
               "correlation: σ^2 = %.3g, c = %.2f, ε^2 = %.3g'", s2c, cc, e2c, s2c, cc, e2c);
    fprintf(s, ", \\\n  bound(x, %.17g, %.17g) with lines ls 5 lw 1 title 'estimated: σ^2 = "
               "%.3g, ε^2 = %.3g'\n", s2e, ee * ee, s2e, ee * ee);
    plot_end(c, &p);
}

/* A per-step array of run u ("truth", ...) of T entries, malloc'd; NULL on error. */
static double *steps_array(Run *u, const char *key, long T)
{
    double *a = calloc((size_t)(T > 0 ? T : 1), sizeof *a);
    HG_CHECK(a, "calloc");
    long n = rj_nums(&u->r, u->root, key, a, T);
    if (n != T && !u->r.bad)
        rj_fail(&u->r, "field '%s' has %ld entries, expected T = %ld", key, n, T);
    return a;
}

/* The per-step hypergradients: truth +- std, float32's truth, greedy's
 * mean, and the learning rate on the right axis. */
static void plot_steps(ReportCtx *c, Run *u, Run *u32, const char *name)
{
    Rj *r = &u->r;
    const char *rev = rj_str(r, u->set, "reverse_engine"), *data = rj_str(r, u->set, "data");
    long T = rj_int(r, u->set, "steps"), S = rj_int(r, rj_object(r, u->root, "seeds_ok"), "nongreedy");
    if (r->bad || T < 1) return;
    const char *keys[5] = {"lr_schedule", "truth", "std", "greedy_mean", "greedy_std"};
    double *col[5], *t32 = NULL;
    for (int k = 0; k < 5; k++) col[k] = steps_array(u, keys[k], T);
    int with32 = u32->present && rj_int(&u32->r, u32->set, "steps") == T;
    if (with32) t32 = steps_array(u32, "truth", T);
    Plot p;
    FILE *d = r->bad || (with32 && u32->r.bad) ? NULL : plot_begin(c, &p, name);
    if (d) {
        fprintf(d, "# %s run: t lr truth std greedy_mean greedy_std\n", u->env.precision);
        for (long t = 0; t < T; t++)
            fprintf(d, "%ld %.17g %.17g %.17g %.17g %.17g\n", t, col[0][t], col[1][t], col[2][t],
                    col[3][t], col[4][t]);
        if (with32) {
            fprintf(d, "\n\n# float32 run: t truth\n");
            for (long t = 0; t < T; t++) fprintf(d, "%ld %.17g\n", t, t32[t]);
        }
        FILE *s = plot_script(&p);
        fprintf(s, "set encoding utf8\nset xlabel 'inner step t'\n"
                   "set ylabel 'hypergradient dL_{val}/da_t'\nset y2label 'learning rate a_t'\n"
                   "set ytics nomirror\nset y2tics\nset xrange [0 : %ld]\n"
                   "set key top left box opaque\nset style fill transparent solid 0.2 noborder\n"
                   "set title 'Per-step learning-rate hypergradients (LeNet, %s, T = %ld, S = %ld "
                   "seeds)' noenhanced\n", T - 1 > 0 ? T - 1 : 1, data, T, S);
        fprintf(s, "plot DAT index 0 using 1:($3 - $4):($3 + $4) with filledcurves ls "
                   "ENGINE_LS('%s') notitle, \\\n  DAT index 0 using 1:3 with lines ls "
                   "ENGINE_LS('%s') title '%s %s: seed mean (truth) ± std' noenhanced",
                rev, rev, rev, u->env.precision);
        if (with32)
            fprintf(s, ", \\\n  DAT index 1 using 1:2 with lines ls ENGINE_LS('%s') lw 1 dt 2 "
                       "title '%s float32: seed mean' noenhanced", rev, rev);
        fprintf(s, ", \\\n  DAT index 0 using 1:5 with lines ls 4 title 'greedy: seed mean'"
                   ", \\\n  DAT index 0 using 1:2 axes x1y2 with lines ls 5 lw 1 "
                   "title 'learning rate (right axis)'\n");
        plot_end(c, &p);
    }
    for (int k = 0; k < 5; k++) free(col[k]);
    free(t32);
}

/* ------------------------------------------------------------ commands */

/* s with every `from` replaced by `to`, into buf. */
static void replace_all(char *buf, size_t n, const char *s, const char *from, const char *to)
{
    size_t k = 0, lf = strlen(from), lt = strlen(to);
    while (*s && k + 1 < n) {
        if (lf && !strncmp(s, from, lf) && k + lt + 1 < n) {
            memcpy(buf + k, to, lt);
            k += lt;
            s += lf;
        } else {
            buf[k++] = *s++;
        }
    }
    buf[k] = '\0';
}

/* The runs' commands, with their scratch folder (the float32 runs'
 * --seeds-out, the parent of the float64 run's --compare folders) as $TMP. */
static void commands(FILE *f, Run *u, Run *u32, Run *uk)
{
    char scratch[4096] = "";
    json_t *row = json_array_size(u->rounding) ? rj_row(&u->r, u->rounding, "rounding", 0) : NULL;
    if (row) {
        snprintf(scratch, sizeof scratch, "%s", rj_str(&u->r, row, "dir"));
        char *slash = strrchr(scratch, '/');
        if (slash && slash != scratch) *slash = '\0';
        else scratch[0] = '\0';
    }
    rj_at(&u->r, "%s", "");
    fprintf(f, "Reproduce ($TMP: any scratch folder; the float32 runs keep their values and "
               "trajectories there):\n\n");
    Run *runs[3] = {u32, uk, u};
    for (int i = 0; i < 3; i++) {
        if (!runs[i]->present) continue;
        char cmd[8192];
        replace_all(cmd, sizeof cmd, runs[i]->env.command, scratch[0] ? scratch : "\x01", "$TMP");
        fprintf(f, "    %s\n", cmd);
    }
    fprintf(f, "\nthen `build/hgbench-report` renders this section and its plots from their "
               "JSON.\n\n");
}

/* ------------------------------------------------------------ the section */

int report_fig2_body(ReportCtx *c, const Fig2Files *files)
{
    FILE *f = c->md;
    Run u, u32, uk;
    int rc = 0;
    if (run_load(&u, files->f64) || !u.present) {
        rc = u.present ? hg_fail(&c->err, "%s", u.r.err.msg)
                       : hg_fail(&c->err, "%s: missing", files->f64);
        run_close(&u);
        return rc;
    }
    if (run_load(&u32, files->f32)) {
        rc = hg_fail(&c->err, "%s", u32.r.err.msg);
        run_close(&u);
        run_close(&u32);
        return rc;
    }
    if (run_load(&uk, files->kahan)) {
        rc = hg_fail(&c->err, "%s", uk.r.err.msg);
        run_close(&u);
        run_close(&u32);
        run_close(&uk);
        return rc;
    }
    report_ran_by(c, &u.env);
    Rj *r = &u.r;
    long ok_ng = rj_int(r, rj_object(r, u.root, "seeds_ok"), "nongreedy");
    fprintf(f, "Float64 (the curve), with the paper's float32 run drawn beside it; why, below.\n\n");
    settings_bullets(f, &u);
    Boot bt;
    boot_compute(&u, files->intervals, &bt);
    if (ok_ng < 2) {
        fprintf(f, "\n**failed**: only %ld of the seeds gave non-greedy hypergradients; no MSE.\n",
                ok_ng);
        failure_bullets(f, &u);
    } else {
        fprintf(f, "\n");
        mse_table(f, &u, &u32, &bt);
        fprintf(f, "\n");
        md_provenance(f, &u.env);
        fprintf(f, "\n");
        bound_bullets(f, &u);
        boot_bullets(f, &bt, rj_int(r, u.root, "w_best"));
        if (u32.present) minimum_bullets(f, &u32, "float32 run: ");
        failure_bullets(f, &u);
        fprintf(f, "\n");
        if (files->anchor && !r->bad) {
            char b[3][48];
            double best = rj_num(r, u.root, "mse_best"), mse1 = rj_num_or_null(r, u.root, "mse1");
            long wbest = rj_int(r, u.root, "w_best");
            char iv[160] = "";
            if (bt.have)
                snprintf(iv, sizeof iv, " Over seeds (bootstrap, 95%%) the best window is W = "
                         "%d – %d.", bt.windows[(int)bt.b.best.lo], bt.windows[(int)bt.b.best.hi]);
            if (wbest == 1)
                report_headline(c, files->anchor,
                                "Figure 2 (%s, S = %ld seeds, T = %ld): no sharing window beats "
                                "W = 1, where the hypergradient MSE is lowest (%s).%s",
                                u.env.precision, ok_ng, rj_int(r, u.set, "steps"),
                                g(b[0], 48, 3, best), iv);
            else
                report_headline(c, files->anchor,
                                "Figure 2 (%s, S = %ld seeds, T = %ld): the hypergradient MSE "
                                "is lowest at a sharing window of W = %ld, %s against %s at "
                                "W = 1 (%s× lower).%s", u.env.precision, ok_ng,
                                rj_int(r, u.set, "steps"), wbest, g(b[0], 48, 3, best),
                                g(b[1], 48, 3, mse1), g(b[2], 48, 3, mse1 / best), iv);
        }
        rounding_section(c, &u, files);
        fprintf(f, "\n");
        char steps[160];
        snprintf(steps, sizeof steps, "%s-steps", files->plot);
        plot_mse(c, &u, &u32, &bt, files->plot);
        plot_steps(c, &u, &u32, steps);
        report_image(c, files->plot, "MSE vs window");
        report_image(c, steps, "per-step hypergradients");
        fprintf(f, "\n");
    }
    commands(f, &u, &u32, &uk);
    Run *bad = u.r.bad ? &u : u32.r.bad ? &u32 : uk.r.bad ? &uk : NULL;
    if (bad) rc = hg_fail(&c->err, "%s", bad->r.err.msg);
    run_close(&u);
    run_close(&u32);
    run_close(&uk);
    return rc;
}

static int render(ReportCtx *c)
{
    char p64[4096], p32[4096], pk[4096];
    report_path(c, "fig2.json", p64, sizeof p64);
    report_path(c, "fig2-f32.json", p32, sizeof p32);
    report_path(c, "fig2-f32-kahan.json", pk, sizeof pk);
    fprintf(c->md, "## %s\n\n", HEADING);
    if (!rj_exists(p64)) {
        fprintf(c->md, "**failed**: no results (%s is missing; see %s/fig2.log).\n\n", p64,
                c->results);
        return 0;
    }
    const Fig2Files files = {.f64 = p64, .f32 = p32, .kahan = pk, .plot = "fig2",
                             .anchor = HEADING, .anchor_precision = HEADING_PRECISION,
                             .intervals = 1};
    return report_fig2_body(c, &files);
}

const ReportSection REPORT_FIG2 = {"fig2", render};
