/* report_perlayer.c — the perlayer section (scripts/bench-perlayer.sh):
 * learning-rate schedules learned per layer by hpo (lr:K/layer, and with
 * the momentum per layer, lr:K/layer,mom:K/layer) against the per-run
 * schedule (lr:K) learned from the same start, for the MLP and LeNet. From
 * perlayer-<model>.json (hgbench-runs: the envelope, the settings as
 * params, one row per hpo run, <model>-<method>-r<r>): per repeat each
 * method's best outer step (by validation accuracy), mean +- sd over the
 * repeats, paired 95% intervals of the test accuracy differences with their
 * verdicts (common/stats.h), and the learned schedules: a table and a plot
 * of each layer's learning rate over the windows (mean over the repeats).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/stats.h"
#include "report.h"
#include "report_hpo_run.h"
#include "report_md.h"
#include "report_plot.h"

#define HEADING "Per-layer learning-rate schedules"
#define PL_MAX_R 64
#define PL_MAX_L 16
#define PL_MAX_K 1000

enum { PL_LAYER, PL_RUN, PL_LAYERMOM, PL_METHODS };
static const char *const METHOD[PL_METHODS] = {"layer", "run", "layermom"};
static const char *const METHOD_TEXT[PL_METHODS] = {
    "per-layer lr (lr:K/layer)", "per-run lr (lr:K)", "per-layer lr and momentum (lr:K/layer,mom:K/layer)"};
static const char *const MODELS[] = {"mlp", "lenet"};

/* The parameterised layers' names, in w's order (models/zoo.c). */
static const char *layer_name(const char *model, int L, int l, char *buf, size_t n)
{
    static const char *const mlp[] = {"fc1 (784-256)", "fc2 (256-10)"};
    static const char *const lenet[] = {"conv1 (6 maps 5x5)", "conv2 (16 maps 5x5)", "fc1 (400-120)", "fc2 (120-84)",
                                        "fc3 (84-10)"};
    if (!strcmp(model, "mlp") && L == 2) return mlp[l];
    if (!strcmp(model, "lenet") && L == 5) return lenet[l];
    snprintf(buf, n, "layer %d", l + 1);
    return buf;
}

/* The schedules' plot: per layer its lr over the windows (the per-layer
 * method, mean over the repeats), the per-run schedule dashed; with
 * layermom, a second panel of its momentum per layer. */
static void plot_schedules(ReportCtx *c, const char *model, int K, int L, const double *lay,
                           const double *run, const double *mom, int R)
{
    char name[64], buf[32];
    snprintf(name, sizeof name, "perlayer-%s", model);
    Plot p;
    FILE *d = plot_begin(c, &p, name);
    if (!d) return;
    fprintf(d, "# learned schedules, mean over %d repeats; block l < %d: layer l's lr (lr:K/layer);\n"
               "# block %d: the per-run lr (lr:K)%s; columns: window lr\n",
            R, L, L, mom ? "; blocks after it: layer l's momentum (lr:K/layer,mom:K/layer)" : "");
    for (int l = 0; l < L; l++) {
        for (int k = 0; k < K; k++) fprintf(d, "%d %.6g\n", k, lay[k * L + l]);
        fprintf(d, "\n\n");
    }
    for (int k = 0; k < K; k++) fprintf(d, "%d %.6g\n", k, run[k]);
    fprintf(d, "\n\n");
    if (mom)
        for (int l = 0; l < L; l++) {
            for (int k = 0; k < K; k++) fprintf(d, "%d %.6g\n", k, mom[k * L + l]);
            fprintf(d, "\n\n");
        }
    FILE *g = plot_script(&p);
    if (mom) fprintf(g, "set multiplot layout 1,2 title 'Learned schedules, %s (mean of %d repeats)'\n", model, R);
    fprintf(g, "set xlabel 'window (of %d)'; set ylabel 'learning rate'; set xtics 1\n"
               "set key inside top left font ',8' box opaque; set offsets 0, 0, graph 0.35, 0\n"
               "set title 'learning rate per layer (lr:K/layer), %s'\n", K, model);
    fprintf(g, "plot ");
    for (int l = 0; l < L; l++)
        fprintf(g, "DAT index %d using 1:2 with linespoints lw 2 title '%s', ", l,
                layer_name(model, L, l, buf, sizeof buf));
    fprintf(g, "DAT index %d using 1:2 with lines ls 5 title 'per run (lr:K)'\n", L);
    if (mom) {
        fprintf(g, "set ylabel 'momentum'; set title 'momentum per layer (lr:K/layer,mom:K/layer)'\nplot ");
        for (int l = 0; l < L; l++)
            fprintf(g, "DAT index %d using 1:2 with linespoints lw 2 title '%s'%s", L + 1 + l,
                    layer_name(model, L, l, buf, sizeof buf), l + 1 < L ? ", " : "\n");
        fprintf(g, "unset multiplot\n");
    }
    plot_end(c, &p);
    char alt[96];
    snprintf(alt, sizeof alt, "learned learning rate per layer, %s", model);
    report_image(c, name, alt);
}

/* One model's subsection: 1, 0 when its file is absent, -1 with c->err. */
static int render_model(ReportCtx *c, const char *model)
{
    char file[64], b1[64], b2[64], b3[64];
    snprintf(file, sizeof file, "perlayer-%s.json", model);
    RunsFile f;
    int have = runs_load(c, file, &f);
    if (have <= 0) return have;
    FILE *md = c->md;
    long R = (long)runs_param(&f, "repeats"), T = (long)runs_param(&f, "T"), K = (long)runs_param(&f, "K");
    long outer = (long)runs_param(&f, "outer_steps"), batch = (long)runs_param(&f, "batch");
    long quick = (long)runs_param(&f, "quick");
    double sign = runs_param(&f, "sign_lr"), mom0 = runs_param(&f, "mom"), wd = runs_param(&f, "wd");
    char methods[64];
    snprintf(methods, sizeof methods, "%s", runs_param_str(&f, "methods"));
    int has[PL_METHODS] = {0};
    for (int m = 0; m < PL_METHODS; m++) {
        const char *s = strstr(methods, METHOD[m]);
        size_t len = strlen(METHOD[m]);
        while (s && ((s != methods && s[-1] != ' ') || (s[len] && s[len] != ' '))) s = strstr(s + 1, METHOD[m]);
        has[m] = s != NULL;
    }
    if (!f.r.bad && (!has[PL_LAYER] || !has[PL_RUN]))
        rj_fail(&f.r, "params: methods '%s' lacks layer or run (what the section compares)", methods);
    if (!f.r.bad && (R < 1 || R > PL_MAX_R)) rj_fail(&f.r, "params: repeats %ld: not in 1..%d", R, PL_MAX_R);
    if (!f.r.bad && (K < 1 || K > PL_MAX_K)) rj_fail(&f.r, "params: K %ld: not in 1..%d", K, PL_MAX_K);
    if (f.r.bad) { int rc = hg_fail(&c->err, "%s", f.r.err.msg); runs_close(&f); return rc; }

    HpoRunNums *run = calloc((size_t)(R * PL_METHODS), sizeof *run);
    HG_CHECK(run, "calloc");
    int L = 0, nfailed = 0;
    char failed[512] = "";
    long params = 0, val_n = 0, test_n = 0;
    double s_outer[PL_METHODS] = {0};
    int n_outer[PL_METHODS] = {0};
    for (long r = 0; r < R && !f.r.bad; r++)
        for (int m = 0; m < PL_METHODS && !f.r.bad; m++) {
            if (!has[m]) continue;
            char name[96];
            snprintf(name, sizeof name, "%s-%s-r%ld", model, METHOD[m], r);
            HpoRunNums *n = &run[r * PL_METHODS + m];
            if (hpo_run_read(&f, name, m == PL_LAYERMOM ? "lr,mom" : "lr", n)) break;
            if (!n->ok || n->best_outer < 0) {
                if (!nfailed++)
                    snprintf(failed, sizeof failed, "%s: %s", name, n->ok ? "no outer step succeeded" : n->why);
                n->ok = 0;
                continue;
            }
            params = n->params, val_n = n->val_n, test_n = n->test_n;
            if (!isnan(n->s_per_outer)) s_outer[m] += n->s_per_outer, n_outer[m]++;
            long want_per = m == PL_RUN ? 1 : 0;
            if (n->ntheta % K) rj_fail(&f.r, "best.theta.lr has %ld values, not a multiple of K = %ld", n->ntheta, K);
            else if (want_per && n->ntheta != K) rj_fail(&f.r, "best.theta.lr has %ld values, expected K = %ld", n->ntheta, K);
            else if (!want_per) {
                int l = (int)(n->ntheta / K);
                if (l > PL_MAX_L) rj_fail(&f.r, "best.theta.lr: %d layers, at most %d", l, PL_MAX_L);
                else if (L && l != L) rj_fail(&f.r, "best.theta.lr: %d layers, another run has %d", l, L);
                else if (m == PL_LAYERMOM && n->ntheta2 != n->ntheta)
                    rj_fail(&f.r, "best.theta.mom has %ld values, lr has %ld", n->ntheta2, n->ntheta);
                L = l;
            }
        }
    if (f.r.bad) {
        int rc = hg_fail(&c->err, "%s", f.r.err.msg);
        for (long i = 0; i < R * PL_METHODS; i++) hpo_run_free(&run[i]);
        free(run); runs_close(&f);
        return rc;
    }
    fprintf(md, "### %s\n\n", !strcmp(model, "mlp") ? "MLP" : "LeNet");
    fprintf(md, "%s (%ld parameters, %d parameterised layers) on Fashion-MNIST: T = %ld inner steps of batch %ld,\n"
                "%ld validation images held out of the train split (seeded by r), %ld test; every learning\n"
                "rate starts at 0, momentum %s, weight decay %s. Each method learns K = %ld windows by `hgbench hpo`\n"
                "(bptt) with sign steps lr %s (momentum 0.05; halved on a flip), %ld outer steps; each run's best\n"
                "outer step by validation accuracy. %ld repeat%s r (seeds r), the methods paired by r.\n\n",
            !strcmp(model, "mlp") ? "The MLP (one hidden layer of 256, tanh)" : "LeNet-5", params, L, T, batch,
            val_n, test_n, md_g(b1, sizeof b1, 4, mom0), md_g(b2, sizeof b2, 4, wd), K,
            md_g(b3, sizeof b3, 4, sign), outer, R, R == 1 ? "" : "s");
    if (quick)
        fprintf(md, "**QUICK run**, cut to seconds: T = %ld, K = %ld, %ld outer steps, %ld repeats (the full "
                    "run, scripts/bench-perlayer.sh without QUICK: T = 200 for the MLP and 150 for LeNet, "
                    "K = 10, 20 outer steps, 3 repeats).\n\n", T, K, outer, R);
    if (nfailed)
        fprintf(md, "**%d run%s failed**; repeats with a failed run are left out of the comparison. "
                    "First: %s.\n\n", nfailed, nfailed == 1 ? "" : "s", failed);

    /* per repeat */
    fprintf(md, "| repeat |");
    for (int m = 0; m < PL_METHODS; m++) if (has[m]) fprintf(md, " %s: val / test (best step) |", METHOD[m]);
    fprintf(md, "\n|--:|");
    for (int m = 0; m < PL_METHODS; m++) if (has[m]) fprintf(md, "--:|");
    fprintf(md, "\n");
    double val[PL_METHODS][PL_MAX_R], test[PL_METHODS][PL_MAX_R];
    int n = 0, early[PL_METHODS] = {0}, retrained = 0;
    double *lay = calloc((size_t)(K * (L ? L : 1)), sizeof *lay), *per = calloc((size_t)K, sizeof *per);
    double *mom = calloc((size_t)(K * (L ? L : 1)), sizeof *mom);
    HG_CHECK(lay && per && mom, "calloc");
    for (long r = 0; r < R; r++) {
        int ok = 1;
        for (int m = 0; m < PL_METHODS; m++) ok &= !has[m] || run[r * PL_METHODS + m].ok;
        fprintf(md, "| %ld |", r);
        for (int m = 0; m < PL_METHODS; m++) {
            if (!has[m]) continue;
            HpoRunNums *x = &run[r * PL_METHODS + m];
            if (x->ok) fprintf(md, " %.4f / %.4f (%ld) |", x->best_val, x->best_test, x->best_outer);
            else fprintf(md, " (failed) |");
        }
        fprintf(md, "\n");
        if (!ok) continue;
        for (int m = 0; m < PL_METHODS; m++) {
            if (!has[m]) continue;
            retrained |= run[r * PL_METHODS + m].retrained;
            val[m][n] = run[r * PL_METHODS + m].best_val;
            test[m][n] = run[r * PL_METHODS + m].best_test;
            early[m] += run[r * PL_METHODS + m].best_outer <= 1;
        }
        for (long i = 0; i < K * L; i++) lay[i] += run[r * PL_METHODS + PL_LAYER].theta[i];
        for (long i = 0; i < K; i++) per[i] += run[r * PL_METHODS + PL_RUN].theta[i];
        if (has[PL_LAYERMOM])
            for (long i = 0; i < K * L; i++) mom[i] += run[r * PL_METHODS + PL_LAYERMOM].theta2[i];
        n++;
    }
    fprintf(md, "\n");
    StatsInterval d = {NAN, NAN, NAN, 0};
    if (n) {
        fprintf(md, "Over the %d complete repeat%s (mean ± sd; time per outer step, with %sthe test "
                    "evaluation):\n\n", n, n == 1 ? "" : "s", retrained ? "the retraining and " : "");
        const char *sh[] = {"method", "val acc", "test acc", "s per outer step", "best at outer step ≤ 1",
                            NULL};
        md_table_head(md, "lrrrr", sh);
        for (int m = 0; m < PL_METHODS; m++) {
            if (!has[m]) continue;
            fprintf(md, "| %s | %.4f ± %.4f | %.4f ± %.4f | %s | %d of %d |\n", METHOD_TEXT[m],
                    stats_mean(val[m], n), stats_sd(val[m], n), stats_mean(test[m], n), stats_sd(test[m], n),
                    n_outer[m] ? md_num(b1, sizeof b1, s_outer[m] / n_outer[m]) : "n/a", early[m], n);
        }
        fprintf(md, "\n(A run whose best outer step is 1 never improved on its first trained schedule, every "
                    "learning rate at the first sign step: its later outer steps all scored lower on "
                    "validation.)\n");
        fprintf(md, "\nPaired differences of test accuracy over the repeats (95%% t interval; \"better\" holds "
                    "when the interval lies above 0):\n\n");
        const char *ch[] = {"claim", "mean [95% interval]", "verdict", NULL};
        md_table_head(md, "lrl", ch);
        fprintf(md, "| per-layer − per-run schedule | ");
        d = md_paired_claim(md, test[PL_LAYER], test[PL_RUN], n);
        fputc('\n', md);
        if (has[PL_LAYERMOM]) {
            fprintf(md, "| per-layer lr and momentum − per-run schedule | ");
            md_paired_claim(md, test[PL_LAYERMOM], test[PL_RUN], n);
            fputc('\n', md);
            fprintf(md, "| per-layer lr and momentum − per-layer lr | ");
            md_paired_claim(md, test[PL_LAYERMOM], test[PL_LAYER], n);
            fputc('\n', md);
        }
        fprintf(md, "\n");
        for (long i = 0; i < K * L; i++) lay[i] /= n, mom[i] /= n;
        for (long i = 0; i < K; i++) per[i] /= n;
        fprintf(md, "The learned learning rates (best outer step, mean over the %d repeats), one row per layer "
                    "and window:\n\n| schedule |", n);
        for (long k = 0; k < K; k++) fprintf(md, " w%ld |", k);
        fprintf(md, "\n|---|");
        for (long k = 0; k < K; k++) fprintf(md, "--:|");
        fprintf(md, "\n");
        for (int l = 0; l < L; l++) {
            fprintf(md, "| %s |", layer_name(model, L, l, b2, sizeof b2));
            for (long k = 0; k < K; k++) fprintf(md, " %s |", md_g(b1, sizeof b1, 3, lay[k * L + l]));
            fprintf(md, "\n");
        }
        fprintf(md, "| per run (lr:K) |");
        for (long k = 0; k < K; k++) fprintf(md, " %s |", md_g(b1, sizeof b1, 3, per[k]));
        fprintf(md, "\n\n");
        plot_schedules(c, model, (int)K, L, lay, per, has[PL_LAYERMOM] ? mom : NULL, n);
        fprintf(md, "\n\n");
    }
    md_provenance(md, &f.env);
    fprintf(md, "\n");
    md_reproduce(md, &f.env);
    fprintf(md, "\n");
    if (n)
        report_headline(c, HEADING,
                        "Per-layer learning-rate schedules (%s, Fashion-MNIST, %d repeats): test accuracy %.4f "
                        "against %.4f for the per-run schedule; difference %+.4f [%+.4f, %+.4f], %s.",
                        model, n, stats_mean(test[PL_LAYER], n), stats_mean(test[PL_RUN], n), d.mean, d.lo,
                        d.hi, n < 2 ? "one repeat" : stats_verdict_name(stats_verdict(d)));
    free(lay); free(per); free(mom);
    for (long i = 0; i < R * PL_METHODS; i++) hpo_run_free(&run[i]);
    free(run);
    runs_close(&f);
    return 1;
}

static int render(ReportCtx *c)
{
    fprintf(c->md, "## " HEADING "\n\n");
    fprintf(c->md,
            "Issue 23, experiment 3: a learning rate per parameterised layer and window, learned by\n"
            "hypergradients through the whole training run, against one schedule shared by all layers\n"
            "(the same K windows) learned from the same start. Maclaurin et al. (2015) learned per-layer\n"
            "learning-rate and momentum schedules by reversible learning with gradient descent with\n"
            "momentum over meta-iterations; here the hypergradient is bptt's (the same exact number), the\n"
            "outer optimiser sign steps (FDS appendix G), the data Fashion-MNIST, the horizons short (T\n"
            "below: a fraction of an epoch, cut for the time a CPU bench allows), and the schedules are\n"
            "shared over K windows rather than one value per step.\n\n");
    int any = 0;
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++) {
        int rc = render_model(c, MODELS[i]);
        if (rc < 0) return -1;
        any |= rc;
    }
    if (!any) {
        snprintf(c->skipped, sizeof c->skipped, "no perlayer-*.json results (scripts/bench-perlayer.sh)");
        fprintf(c->md, "Not run: no perlayer-*.json results.\n\n");
    }
    return 0;
}

const ReportSection REPORT_PERLAYER = {"perlayer", render};
