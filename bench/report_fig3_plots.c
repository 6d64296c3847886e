/* report_fig3_plots.c — Figure 3's two plots per data set (report_fig3.h):
 * <base>-schedules, each method's learned learning rate per inner step at
 * its best outer step (top) and its last (bottom), and <base>-accuracy, the
 * validation accuracy per outer step; both the mean over the repeats with a
 * band from the smallest to the largest run (min-max: with R = 3 an sd says
 * little), the collapsed steps marked. Data and scripts via report_plot.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_fig3.h"
#include "report_plot.h"

static const char *const STYLE[FIG3_METHODS] = {"greedy", "bptt", "forward", "plain"};
static const char *const TITLE[FIG3_METHODS] = {"greedy (K = T, look-ahead on val)",
                                                "non-greedy (K = T)", "FDS", "cosine baseline"};

static void band_row(FILE *f, const Fig3Band *b, long i)
{
    fprintf(f, " %.17g %.17g %.17g", b->mean[i], b->lo[i], b->hi[i]);
}

static void plot_schedules(ReportCtx *c, Fig3Set *s, const char *title, const char *name)
{
    Plot p;
    FILE *f = plot_begin(c, &p, name);
    if (!f) return;
    int has[FIG3_METHODS] = {0};
    for (int k = 0; k < FIG3_METHODS; k++) {
        Fig3Band best = {0}, fin = {0};
        for (int i = 0; i < s->repeats; i++) {
            Fig3Run *run = &s->runs[k][i];
            if (run->lr_best) fig3_band_add(&best, run->lr_best, run->nlr);
            if (run->lr_final) fig3_band_add(&fin, run->lr_final, run->nlr);
        }
        fig3_band_finish(&best);
        fig3_band_finish(&fin);
        fprintf(f, "%s# %s: t best_mean best_min best_max final_mean final_min final_max\n",
                k ? "\n\n" : "", FIG3_METHOD_NAMES[k]);
        for (long t = 0; t < best.n && t < fin.n; t++) {
            fprintf(f, "%ld", t);
            band_row(f, &best, t);
            band_row(f, &fin, t);
            fprintf(f, "\n");
        }
        if (!best.n || !fin.n) fprintf(f, "0 NaN NaN NaN NaN NaN NaN\n");
        has[k] = best.n && fin.n;
        fig3_band_free(&best);
        fig3_band_free(&fin);
    }
    long T = rj_int(&s->r, s->root, "T"), K = rj_int(&s->r, s->root, "fds_k");
    FILE *g = plot_script(&p);
    fprintf(g, "if (GPVAL_TERM eq 'svg') { set terminal svg size 800,860 dynamic enhanced font "
               "'Helvetica,12' } else { set terminal pngcairo size 800,860 enhanced font "
               "'Helvetica,10' }\n");
    fprintf(g, "set encoding utf8\nset title \"%s\" noenhanced\nset xlabel 'inner step t'\n"
               "set key top right box opaque font ',8' samplen 2\nset xrange [0:%ld]\n"
               "set yrange [0:*]\nset style fill transparent solid 0.18 noborder\n"
               "set multiplot layout 2,1\n", title, T > 1 ? T - 1 : 1);
    for (int panel = 0; panel < 2; panel++) {
        int col = panel ? 5 : 2;
        fprintf(g, "%sset ylabel 'learning rate, %s outer step'\nplot ", panel ? "unset title\n" : "",
                panel ? "last" : "best");
        int first = 1;
        for (int k = 0; k < FIG3_METHODS; k++) {
            if (!has[k]) continue; /* no run finished: gnuplot refuses an all-NaN block */
            char lab[96];
            if (k != FIG3_FDS) snprintf(lab, sizeof lab, "%s", TITLE[k]);
            else snprintf(lab, sizeof lab, "FDS (K = %ld)", K);
            fprintf(g, "%sDAT index %d using 1:%d:%d with filledcurves ls ENGINE_LS('%s') notitle, "
                       "\\\n  DAT index %d using 1:%d with lines ls ENGINE_LS('%s') title '%s: mean, "
                       "min-max band'", first ? "" : ", \\\n  ", k, col + 1, col + 2, STYLE[k], k, col,
                    STYLE[k], lab);
            first = 0;
        }
        fprintf(g, "\n");
    }
    fprintf(g, "unset multiplot\n");
    plot_end(c, &p);
}

/* One run's validation accuracy indexed by outer step. */
static long val_by_step(const Fig3Run *run, double **x)
{
    long n = 0;
    for (long i = 0; i < run->nlog; i++)
        if (run->outer[i] + 1 > n) n = run->outer[i] + 1;
    *x = malloc((size_t)(n > 0 ? n : 1) * sizeof **x);
    HG_CHECK(*x, "malloc");
    for (long i = 0; i < n; i++) (*x)[i] = NAN;
    for (long i = 0; i < run->nlog; i++)
        if (run->outer[i] >= 0) (*x)[run->outer[i]] = run->val[i];
    return n;
}

static void plot_accuracy(ReportCtx *c, Fig3Set *s, const char *title, const char *name)
{
    Plot p;
    FILE *f = plot_begin(c, &p, name);
    if (!f) return;
    double thr = NAN, cos_sum = 0;
    int cos_n = 0, has[FIG3_COSINE] = {0};
    long smax = 1;
    for (int k = 0; k < FIG3_COSINE; k++) {
        Fig3Band b = {0};
        for (int i = 0; i < s->repeats; i++) {
            Fig3Run *run = &s->runs[k][i];
            if (!run->present) continue;
            if (isnan(thr)) thr = fig3_chance_threshold(run->classes, run->n_val);
            double *x;
            long n = val_by_step(run, &x);
            fig3_band_add(&b, x, n);
            free(x);
        }
        fig3_band_finish(&b);
        fprintf(f, "%s# %s: outer val_mean val_min val_max runs\n", k ? "\n\n" : "",
                FIG3_METHOD_NAMES[k]);
        for (long o = 0; o < b.n; o++) {
            fprintf(f, "%ld", o);
            band_row(f, &b, o);
            fprintf(f, " %d\n", b.count[o]);
        }
        if (!b.n) fprintf(f, "0 NaN NaN NaN 0\n");
        has[k] = b.n > 0;
        if (b.n - 1 > smax) smax = b.n - 1;
        fig3_band_free(&b);
    }
    /* index 3: the collapsed steps of every learning method and repeat */
    fprintf(f, "\n\n# collapses: outer val_acc method repeat (val_acc <= %.17g)\n", thr);
    int any = 0;
    for (int k = 0; k < FIG3_COSINE; k++)
        for (int i = 0; i < s->repeats; i++) {
            Fig3Run *run = &s->runs[k][i];
            for (long j = 0; j < run->nlog; j++)
                if (run->outer[j] >= 1 && run->val[j] <= thr) {
                    fprintf(f, "%ld %.17g %s %d\n", run->outer[j], run->val[j], FIG3_METHOD_NAMES[k], i);
                    any = 1;
                }
        }
    if (!any) fprintf(f, "0 NaN none 0\n");
    for (int i = 0; i < s->repeats; i++) {
        Fig3Run *run = &s->runs[FIG3_COSINE][i];
        if (run->present && !isnan(run->best_val)) { cos_sum += run->best_val; cos_n++; }
    }
    long K = rj_int(&s->r, s->root, "fds_k");
    FILE *g = plot_script(&p);
    fprintf(g, "if (GPVAL_TERM eq 'svg') { set terminal svg size 800,620 dynamic enhanced font "
               "'Helvetica,12' } else { set terminal pngcairo size 800,620 enhanced font "
               "'Helvetica,10' }\n");
    fprintf(g, "set encoding utf8\nset title \"%s\" noenhanced\nset xlabel 'outer step'\n"
               "set ylabel 'validation accuracy'\nset bmargin 10\n" /* the key below: collapses lie low */
               "set key at screen 0.5, screen 0.02 center bottom horizontal maxcols 2 box font ',8' "
               "samplen 2\n"
               "set xrange [0:%ld]\nset xtics %d\nset yrange [0:1]\n"
               "set style fill transparent solid 0.18 noborder\n",
            title, smax, smax <= 10 ? 1 : smax <= 25 ? 2 : 5);
    if (!isnan(thr))
        fprintf(g, "set arrow 1 from graph 0, first %.17g to graph 1, first %.17g nohead dt 2 lc "
                   "rgb 'gray50'\nset label 1 'chance (collapse) threshold %.3f' at graph 0.02, "
                   "first %.17g offset 0,0.6 font ',8' tc rgb 'gray40'\n",
                thr, thr, thr, thr);
    fprintf(g, "plot ");
    for (int k = 0; k < FIG3_COSINE; k++) {
        if (!has[k]) continue; /* no run finished: gnuplot refuses an all-NaN block */
        char lab[96];
        if (k == FIG3_FDS) snprintf(lab, sizeof lab, "FDS (K = %ld)", K);
        else snprintf(lab, sizeof lab, "%s", TITLE[k]);
        fprintf(g, "DAT index %d using 1:3:4 with filledcurves ls ENGINE_LS('%s') notitle, \\\n"
                   "  DAT index %d using 1:2 with linespoints ls ENGINE_LS('%s') title '%s: mean, "
                   "min-max band', \\\n  ", k, STYLE[k], k, STYLE[k], lab);
    }
    /* always there: an empty block is one NaN row, drawn as nothing */
    fprintf(g, "DAT index 3 using 1:2 with points pt 2 ps 1.6 lw 2 lc rgb 'black' title "
               "'collapse (an inner run at chance)'");
    if (cos_n)
        fprintf(g, ", \\\n  %.17g with lines ls ENGINE_LS('plain') title 'cosine baseline: mean "
                   "val %.3f'", cos_sum / cos_n, cos_sum / cos_n);
    fprintf(g, "\n");
    plot_end(c, &p);
}

int fig3_plots(ReportCtx *c, Fig3Set *s)
{
    int any = 0;
    for (int k = 0; k < FIG3_COSINE; k++)
        for (int i = 0; i < s->repeats; i++) any |= s->runs[k][i].has_best;
    if (!any) return 0;
    Rj *r = &s->r;
    json_t *o = s->root;
    long T = rj_int(r, o, "T"), B = rj_int(r, o, "batch"), left = rj_int(r, o, "train_after_val");
    const char *cut = rj_str(r, o, "steps_cut");
    char span[128], title[600], name[640];
    if (!strcmp(cut, "quick")) snprintf(span, sizeof span, "QUICK: %ld of %ld examples", T * B, left);
    else if (!strcmp(cut, "inner_steps")) snprintf(span, sizeof span, "cut: %ld of %ld examples", T * B, left);
    else snprintf(span, sizeof span, "one epoch");
    snprintf(title, sizeof title, "FDS Fig. 3: LeNet on %s, T = %ld steps (%s), %d repeats\\n"
             "val %ld, mom %g and wd %g fixed, lr from 0; sign steps lr %g (x%g on flips), "
             "%ld outer steps; FDS by %s", s->label, T, span, s->repeats, rj_int(r, o, "val"),
             rj_num(r, o, "mom"), rj_num(r, o, "wd"), rj_num(r, o, "sign_lr"),
             rj_num(r, o, "sign_decay"), rj_int(r, o, "outer_steps"), rj_str(r, o, "fds_engine"));
    if (r->bad) return 1;
    snprintf(name, sizeof name, "%s-schedules", s->base);
    plot_schedules(c, s, title, name);
    snprintf(name, sizeof name, "%s-accuracy", s->base);
    plot_accuracy(c, s, title, name);
    return 1;
}
