/* outer.h — outer optimisers: move theta [N] (the learned hyperparameters,
 * hyper.h's layout) against its hypergradient g [N], once per outer step.
 *
 *   sign  theta_i -= s_i sign(g_i);  s_i starts at the initial step of i's kind
 *         and is multiplied by `decay` whenever sign(g_i) is opposite to its
 *         sign at the previous outer step (FDS, appendix G; RPROP-like). The
 *         decay is applied before the move, so a flip moves by the decayed
 *         step. g_i = 0 does not move and does not count as a flip (the next
 *         nonzero sign is compared with the last nonzero one). With S outer
 *         steps a value stays within its initial value +- s_0 S: the search
 *         range (outer_sign_range).
 *   sgd   theta_i -= lr clip(g_i, -c, c)   (c = 0: no clipping; HD's rule)
 *   adam  Adam (Kingma & Ba 2015) with bias correction: beta1 0.9, beta2
 *         0.999, eps 1e-8 by default, outer learning rate lr.
 *
 * Every entry of theta moves by its own rule, whatever its kind's layout:
 * per run, per layer or per weight (K x width values), and the example
 * weights' gamma (group "ex", after the kinds). The sign optimiser's initial
 * step is per group (sign_step[OUTER_EX] for the gammas).
 *
 * Bounds (on by default): after every update lr and wd are clamped to >= 0
 * and momentum to [0, OUTER_MOM_MAX], entrywise; the gammas are unbounded
 * (sigmoid keeps the weight in (0, 1)); outer_step reports how many values
 * it clamped. Leaves out: per-kind learning rates for sgd/adam, schedules of the
 * outer learning rate, and online (per inner step) updates, which the greedy
 * engine does itself (EngineConfig.greedy_online_lr).
 */
#ifndef HG_OUTER_H
#define HG_OUTER_H

#include "../common/check.h"
#include "hyper.h"

/* Momentum's upper bound: m = 1 would let v grow without decay. */
#define OUTER_MOM_MAX 0.999

/* theta's groups: kinds lr, mom, wd (HyperKind), then the example weights. */
#define OUTER_EX HYPER_KINDS
#define OUTER_GROUPS (HYPER_KINDS + 1)

const char *outer_group_name(int g);                      /* "lr", "mom", "wd", "ex" */
long outer_group_count(const HyperLayout *h, int g);      /* K x width, or E; 0: not learned */
long outer_group_offset(const HyperLayout *h, int g);     /* where it starts in theta */

typedef enum OuterKind { OUTER_SIGN, OUTER_SGD, OUTER_ADAM, OUTER_KINDS } OuterKind;

const char *outer_kind_name(OuterKind k);            /* "sign", "sgd", "adam" */
int outer_kind_parse(const char *name, OuterKind *out); /* 0 ok, -1 unknown */

typedef struct OuterConfig {
    OuterKind kind;
    double sign_step[OUTER_GROUPS]; /* sign: initial step per group, > 0 for learned ones */
    double sign_decay;             /* sign: factor on a flip, in (0, 1] */
    double lr;                     /* sgd, adam: outer learning rate, > 0 */
    double clip;                   /* sgd: |g_i| clipped to clip; 0: off */
    double beta1, beta2, eps;      /* adam */
    int bounded;                   /* clamp to the kinds' ranges after each update */
} OuterConfig;

/* sign, steps lr 0.02, mom 0.05, wd 1e-4, ex 0.5, decay 0.5; lr 0.01 (sgd, adam),
 * clip 0, Adam's 0.9, 0.999, 1e-8; bounded. */
OuterConfig outer_defaults(void);

typedef struct OuterOpt {
    OuterConfig cfg;
    HyperLayout layout;
    long t;                /* updates done */
    double *step;          /* sign: current step [N] */
    signed char *last;     /* sign: last nonzero sign of g [N], 0 before any */
    double *m, *v;         /* adam: moments [N] */
} OuterOpt;

typedef struct OuterStepInfo {
    int flips;   /* sign: entries whose step decayed at this update */
    int clamped; /* entries moved back inside their bounds */
} OuterStepInfo;

/* Checks the settings for this layout (messages name the setting and the
 * valid range), then allocates the state. *o is zeroed first, so
 * outer_free is safe after a failure. */
int outer_init(OuterOpt *o, const OuterConfig *c, const HyperLayout *h, HgErr *err);
/* One update of theta [N] by grad [N]; info may be NULL. A non-finite
 * gradient entry is refused (-1, theta unchanged). */
int outer_step(OuterOpt *o, double *theta, const double *grad, OuterStepInfo *info,
               HgErr *err);
void outer_free(OuterOpt *o);

/* The bounds of group g: lo and hi (+inf for lr and wd; -inf, +inf for ex). */
void outer_bounds(int g, double *lo, double *hi);
/* Sign: the interval group g can reach from initial value x0 in `steps` outer
 * steps, x0 -+ sign_step[g] * steps, intersected with the bounds if on. */
void outer_sign_range(const OuterConfig *c, int g, double x0, int steps, double *lo,
                      double *hi);

#endif
