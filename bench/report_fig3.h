/* report_fig3.h — what the fig3 section's files share (report_fig3.c the
 * text, report_fig3_load.c the JSON, report_fig3_stats.c the numbers,
 * report_fig3_plots.c the plots, report_fig3_protocol.c the protocol table).
 *
 * scripts/fig3.sh leaves, per data set (or protocol variant), a manifest
 * (hgbench-manifest: envelope, settings, repeats R, state ran or skipped)
 * and one `hgbench hpo --json` log per method and repeat r = 0..R-1,
 * <base>-<method>-r<r>.json. Repeat r of every method has the same seeds
 * (--seed r --val-seed r), so the methods are compared paired by r.
 */
#ifndef HG_REPORT_FIG3_H
#define HG_REPORT_FIG3_H

#include "report.h"
#include "report_json.h"

#define FIG3_METHODS 4
enum { FIG3_GREEDY, FIG3_NONGREEDY, FIG3_FDS, FIG3_COSINE };
extern const char *const FIG3_METHOD_NAMES[FIG3_METHODS];

/* One hpo log, its numbers copied out (the JSON is closed after loading). */
typedef struct Fig3Run {
    int present;                  /* 0: no log (the run failed) */
    char status[64];              /* stop reason: completed, patience, or another */
    int has_best;                 /* 0: no outer step succeeded */
    long best_outer, final_outer; /* -1 when absent */
    double best_val, best_test, final_val, s_per_outer;
    long nlog;                    /* log entries (outer steps 0..S, and the final one) */
    long *outer;                  /* [nlog] */
    double *val, *test;           /* [nlog] accuracies, NaN where null */
    long nlr;                     /* inner steps T */
    double *lr_best, *lr_final;   /* [nlr] the best and final schedules' learning rates */
    int classes;
    long n_val, n_test;           /* images the accuracies count */
    char best_rule[200];          /* hpo's rule for the best step; "" in older logs */
} Fig3Run;

/* A data set's (or a protocol variant's) manifest and its runs. */
typedef struct Fig3Set {
    Rj r;
    int present, ran, runs_ok;
    json_t *root;
    RjEnvelope env;
    const char *name, *label, *base; /* data set or variant; label; runs' file prefix */
    int repeats;
    Fig3Run *runs[FIG3_METHODS];     /* [repeats] each; NULL: the method is not run here */
} Fig3Set;

/* ---- report_fig3_load.c */

/* <results>/<file>: absent gives present = 0; methods_mask says which
 * methods' logs to read (1 << FIG3_FDS for a protocol variant). 0, or -1
 * with err naming the file and field. Results of the single-run pipeline
 * (no repeats) are refused: rerun scripts/fig3.sh. */
int fig3_set_load(Fig3Set *s, const ReportCtx *c, const char *file, unsigned methods_mask,
                  HgErr *err);
void fig3_set_close(Fig3Set *s);
/* The set's first run with a log (any method), or NULL. */
const Fig3Run *fig3_first_run(const Fig3Set *s);

/* ---- report_fig3_stats.c: numbers only, no JSON */

/* The class-imbalance allowance of the chance threshold: a dead network
 * predicts one class and scores that class's share, up to 11.2% on MNIST
 * (digit 1) against 1/10. */
#define FIG3_IMBALANCE 0.02
/* Validation accuracy at or below this is chance (a collapsed inner run):
 * 1/classes + FIG3_IMBALANCE + 3 standard errors of a chance-level
 * accuracy counted on n images, 3 sqrt(p (1 - p) / n) at p = 1/classes. */
double fig3_chance_threshold(int classes, long n);
/* The standard error of one accuracy p counted on n images. */
double fig3_count_se(double p, long n);
/* Entries with outer step >= 1 (step 0 runs every lr = 0, untrained by
 * construction) whose validation accuracy is at or below thr; *stepped gets
 * the number of such entries. */
int fig3_collapses(const Fig3Run *run, double thr, int *stepped);
/* The sample sd of the validation accuracy over outer steps >= 1 (the
 * paper's "varies more across outer steps"); NaN with fewer than 2. */
double fig3_val_spread(const Fig3Run *run);
/* The mean learning rate of a schedule. */
double fig3_lr_mean(const double *lr, long n);
/* Validation accuracy at outer step 1 (the first step that trains): NaN if none. */
double fig3_first_val(const Fig3Run *run);

/* Per index i < n: the mean, min and max of the rows that have it. */
typedef struct Fig3Band {
    long n;
    double *mean, *lo, *hi;
    int *count;
} Fig3Band;
void fig3_band_add(Fig3Band *b, const double *x, long n);
void fig3_band_finish(Fig3Band *b);
void fig3_band_free(Fig3Band *b);

/* ---- report_fig3_plots.c */

/* The data set's plots <base>-schedules and <base>-accuracy: the mean over
 * the repeats with a min-max band; collapses marked in the accuracy plot.
 * Methods with no finished run are left out; 0 (nothing drawn) when no
 * learning method has one. */
int fig3_plots(ReportCtx *c, Fig3Set *s);

/* ---- report_fig3_protocol.c */

/* The protocol comparison (FIG3_PROTOCOL=1 scripts/fig3.sh): its table when
 * fig3-protocol.json is there, nothing otherwise. 0, or -1 with c->err. */
int fig3_protocol(ReportCtx *c);

#endif
