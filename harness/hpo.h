/* hpo.h — the HPO outer loop (paper Figure 3): theta_{s+1} = outer(theta_s,
 * g_s) for outer steps s = 0 .. S-1, g_s the hypergradient of the inner run
 * under theta_s; then a plain training run evaluates theta_S.
 *
 * The hypergradient comes from the caller (HpoConfig.hypergrad: an engine
 * run, or anything else), so the harness knows no engine. Each outer step,
 * the final evaluation and a failure are handed to HpoConfig.on_step as an
 * HpoStep, in order, and kept in the loop's log.
 *
 * Outer step s: HpoConfig.resample (when set) makes outer step s's problem
 * (hgbench hpo --resample: a new batch order, validation split and/or w_0,
 * problem.h's problem_resample), then the schedule of theta_s (hyper_unpack), its hypergradient
 * g_s and validation loss/accuracy at w_T; with a test set, w_T is
 * evaluated on it: the hypergradient run's own (HpoConfig.run_wT), else
 * the schedule retrained from w_0;
 * then the outer optimiser's update (outer.h) to theta_{s+1}, its flips and
 * clamps recorded in entry s; the final evaluation is outer step S's problem.
 * best: the entry of highest validation accuracy (the first of equals), each
 * measured on its own outer step's validation set: with a resampled split
 * these are different samples of the same size, so the best is chosen
 * through their sampling noise too, as early stopping on a fresh
 * validation sample does. patience > 0 stops after that many outer
 * steps without a better one; a failed hypergradient or retraining stops the
 * loop (stop HPO_FAILED, the failing step's message kept), never a number.
 *
 * Resuming (hpo_restore): the state after outer step s is theta_{s+1}, the
 * outer optimiser's state (outer.h: its update count, sign steps and last
 * signs, Adam moments), the best entry and the patience count. All of it
 * follows from theta_0 and the hypergradients g_0 .. g_s, because the
 * update is deterministic and nothing else carries over between outer
 * steps (every inner run starts from the same w_0 and seeds, or with
 * resampling from outer step s's, which follow from s alone). So the loop
 * is restored by replaying outer_step over a log's g_s, checking each
 * logged theta_s bit for bit on the way; the resumed loop then computes
 * exactly what the uninterrupted one would have.
 */
#ifndef HG_HPO_H
#define HG_HPO_H

#include "../common/check.h"
#include "hyper.h"
#include "inner.h"
#include "outer.h"

typedef enum HpoStatus {
    HPO_STEP_OK,     /* an outer step: the hypergradient, then the update */
    HPO_STEP_FINAL,  /* theta_S evaluated by a plain training run */
    HPO_STEP_FAILED  /* its run failed: msg says why; nothing else is set */
} HpoStatus;

typedef struct HpoStep {
    int outer;              /* s */
    HpoStatus status;
    double *theta;          /* [N] theta_s, the schedule this step ran */
    double *grad;           /* [N] g_s; NULL unless HPO_STEP_OK */
    double hg_norm;         /* |g_s| */
    double val_loss, val_acc;
    int has_test;
    double test_loss, test_acc;
    double retrain_val_acc; /* with a test set: the retraining's validation accuracy
                             * (it may differ from the engine's in summation order);
                             * with run_wT, the engine's */
    int flips, clamped;     /* of the update theta_s -> theta_{s+1} */
    double time_s;          /* the whole outer step */
    double engine_time_s;   /* the hypergradient's run */
    const char *msg;        /* HPO_STEP_FAILED: the error */
} HpoStep;

/* The hypergradient g [N] of the run under sched (learned kinds hold theta),
 * with the validation loss and accuracy at w_T and the run's time; wT
 * non-NULL (HpoConfig.run_wT and a test set): the run's w_T copied there
 * ([P], the problem's backend memory). 0, or -1 with err set. */
typedef int (*HpoHypergradFn)(void *ctx, const Schedule *sched, double *grad, double *val_loss,
                              double *val_acc, double *time_s, real *wT, HgErr *err);

typedef struct HpoConfig {
    const InnerProblem *prob;     /* for retraining (test set, final evaluation) */
    const HyperLayout *layout;
    OuterConfig outer;
    int outer_steps;              /* S >= 0 */
    int patience;                 /* 0: off */
    const Dataset *test;          /* NULL: no test evaluation; normalised as prob's,
                                   * in its backend's memory (problem_place_set) */
    HpoHypergradFn hypergrad;
    void *hypergrad_ctx;
    /* 1: the hypergradient run's w_T is bit for bit a plain training run's
     * of the schedule (EngineOps.plain_wT, no option moving the schedule),
     * so the test set is evaluated at it and nothing is retrained (the
     * final evaluation still trains). 0: every outer step retrains. */
    int run_wT;
    /* Sets prob up for outer step s (s = S: the final evaluation) before its
     * runs: 0, or -1 with err set (the loop stops, failed). NULL: every
     * outer step runs the same problem. */
    int (*resample)(void *ctx, int outer, HgErr *err);
    void *resample_ctx;
    void (*on_step)(void *ctx, const HpoStep *step); /* may be NULL */
    void *ctx;
} HpoConfig;

typedef enum HpoStop { HPO_COMPLETED, HPO_PATIENCE, HPO_FAILED } HpoStop;

typedef struct Hpo {
    HpoConfig cfg;
    OuterOpt opt;
    double *theta;          /* [N] current */
    Schedule *sched;        /* the caller's: the learned kinds are rewritten */
    real *w;                /* [P] retraining scratch (or the run's w_T), in the
                             * problem's backend memory */
    HpoStep *log;           /* entries 0 .. nlog-1 (outer steps, then the final one) */
    int nlog, best;         /* best: index into log, -1 none */
    HpoStop stop;
    int fail_outer;
    char fail_msg[512];
    char fail_status[16];   /* "diverged" (a non-finite run), "interrupted" (the
                             * problem's stop flag was raised) or "failed" */
    double total_s;
} Hpo;

/* Checks the outer settings (outer_init's messages), copies theta0 [N] and
 * allocates the log. sched is the schedule whose learned kinds the loop
 * rewrites from theta. *h is zeroed first: hpo_free is safe after a failure. */
int hpo_init(Hpo *h, const HpoConfig *c, const double *theta0, Schedule *sched, HgErr *err);
/* Restores the first n outer steps of an earlier run of this loop from
 * their entries done[0 .. n-1] (outer s, status HPO_STEP_OK, theta, grad,
 * hg_norm, the accuracies, flips and clamped; times are kept as logged):
 * replays the updates from theta0, and refuses (-1, err naming the entry)
 * an entry whose theta, flips or clamped differ from the replay's, whose
 * hg_norm is not its grad's norm bit for bit, or a log that
 * goes on after its patience ran out. Call after hpo_init, before hpo_run,
 * which then emits the restored entries and goes on at outer step n. */
int hpo_restore(Hpo *h, const HpoStep *done, int n, HgErr *err);
/* The loop; its outcome is in h (stop, log, best). */
void hpo_run(Hpo *h);
void hpo_free(Hpo *h);

#endif
