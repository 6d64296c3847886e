/* report_hpo_run.h — one `hgbench hpo --json` log inside an hgbench-runs
 * result file (a row's run; bench/report_runs.h), its numbers copied out:
 * the start, the best and final outer steps' accuracies, and the best
 * outer step's learned values of one kind (its theta, window-major: for a
 * kind per layer, theta[k L + l] is window k of layer l; per weight, w's
 * order). For the sections that compare hpo runs (perweight, perlayer).
 * Errors go to the file's Rj, positioned at the row, naming the field.
 */
#ifndef HG_REPORT_HPO_RUN_H
#define HG_REPORT_HPO_RUN_H

#include "report_runs.h"

typedef struct HpoRunNums {
    int ok;                 /* 1: the row's run is there; 0: failed or skipped (why) */
    const char *why;        /* the row's status and reason when !ok */
    long T, val_n, test_n, params, outer_steps;
    double lr, mom, wd;     /* the initial schedule's values */
    long best_outer, final_outer; /* -1: no outer step succeeded */
    double best_val, best_test, final_val, final_test;
    double s_per_outer;     /* mean wall time of the outer steps that ran an engine */
    int retrained;          /* 1: each outer step's test numbers came from retraining its
                             * schedule (test_at "retrained", or a log from before
                             * test_at), so s_per_outer includes that run */
    /* best.theta.<kind> for each kind asked (NULL if none or no best) */
    double *theta, *theta2; /* the first kind's, the second's */
    long ntheta, ntheta2;
} HpoRunNums;

/* Run `name` of f; kinds ("lr", "wd", "lr,mom": at most two, or NULL) say
 * whose learned values to copy. 0 (n->ok says whether it ran), or -1 with
 * the error in f->r. */
int hpo_run_read(RunsFile *f, const char *name, const char *kinds, HpoRunNums *n);
void hpo_run_free(HpoRunNums *n);

#endif
