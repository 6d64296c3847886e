/* report_hyperclean.h — the hyperclean section's results read back
 * (scripts/bench-hyperclean.sh, one hgbench-runs file hyperclean.json):
 * per data set and model the three arms' test accuracies paired by repeat
 * and the detector "sigma(gamma_i) < 1/2" scored against the corrupted
 * examples; benchopt's variant the same way; the engines' time and memory
 * per hypergradient, and forward mode's linear fit in N.
 *
 * Errors go through the file's Rj (report_json.h): they name the file, the
 * row ("rows[7].run (fashion-mnist-logreg-cleaned-r1)") and the field.
 * Leaves out: the Markdown (report_hyperclean.c).
 */
#ifndef HG_REPORT_HYPERCLEAN_H
#define HG_REPORT_HYPERCLEAN_H

#include "report_runs.h"

#define HC_MAX_R 64     /* repeats */
#define HC_MAX_SETS 4   /* data sets */
#define HC_MAX_MODELS 4
#define HC_MAX_ENGINES 32
#define HC_BINS 20      /* the histogram of sigma(gamma) over [0, 1] */

enum { HC_ORACLE, HC_BASELINE, HC_CLEANED, HC_ARMS };
extern const char *const HC_ARM_NAMES[HC_ARMS]; /* "oracle", "baseline", "cleaned" */

/* One data set and model: the repeats whose three arms all ran, in order. */
typedef struct HcCell {
    char data[32], model[32];
    double acc[HC_ARMS][HC_MAX_R]; /* test accuracy (final outer step), in [0, 1] */
    double prec[HC_MAX_R], rec[HC_MAX_R], f1[HC_MAX_R]; /* the detector; NaN: none flagged */
    int n;            /* repeats with every arm ok */
    int left_out;     /* repeats without */
    char why[400];    /* the first left-out arm's row: "cleaned r1: failed: ..." */
    long train_n, oracle_n, changed; /* of the first repeat: examples, the oracle's, corrupted */
    long hist[2][HC_BINS]; /* final sigma(gamma_i), every repeat: [0] clean, [1] corrupted */
} HcCell;

/* One engine row: a method at one setting, its repeats. */
typedef struct HcEngine {
    char method[48];  /* bptt, checkpoint-C17, reversible, truncated-K10, forward-E8 */
    long E;           /* example weights learned (forward: its E; else the setup's N) */
    int n;            /* repeats read */
    double time_s;    /* median of the runs' time_s (the engine's run, data loading left out) */
    double engine_mib, state_mib, act_mib, rss_mib; /* of the first repeat (report_atlas's terms) */
    long recomputed;  /* checkpoint's recomputed steps */
    char why[400];    /* n == 0: the first repeat's status and reason */
} HcEngine;

typedef struct Hc {
    RunsFile f;
    int quick;
    long R, T, S, eng_R, bo_R, bo_T, bo_S, C;
    double sign_step;
    char sets[HC_MAX_SETS][32];
    int nsets;
    char models[HC_MAX_MODELS][32];
    int nmodels;
    HcCell cell[HC_MAX_SETS][HC_MAX_MODELS];
    HcCell bo;        /* benchopt's variant (Fashion-MNIST, logreg) */
    HcEngine eng[HC_MAX_ENGINES];
    int neng;
    long N;           /* example weights of the engines' setup (bptt's run) */
    /* forward mode in N over its rows: time_s = t0 + t1 N, engine + activation
     * MiB = m0 + m1 N (least squares); nfit rows; NaN when nfit < 2 */
    double t0, t1, m0, m1;
    int nfit;
} Hc;

/* Loads <results>/hyperclean.json into h (zeroed first): 1, 0 when the file
 * is absent, -1 with c->err naming the file, row and field. */
int hc_load(ReportCtx *c, Hc *h);

#endif
