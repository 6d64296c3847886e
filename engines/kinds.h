/* kinds.h — the engines' per-parameter path: hyperparameters learned per
 * layer or per weight (harness/hyper.h), used by every engine when
 * hyper_layout_vector(layout) holds; otherwise the engines keep their
 * scalar code, so the arithmetic of the per-run kinds does not change.
 *
 * Step t's values are vectors over w: a_t, m_t, l_t (DESIGN.md, "per layer
 * or per weight"). Cheaply, without a P-vector per step:
 *   - per layer: a value per block of w (a layer's weight and bias), so
 *     each vector op runs once per block with that block's scalar;
 *   - per weight (weight decay): window k(t)'s P values, uploaded once per
 *     run ([K][P] reals, tagged params), used as l (.) w by one mul.
 * The inner step, with g' = g + l_w (.) w for a per-weight decay l_w:
 *   v_{t+1}[b] = m_{t,b} v_t[b] + g'[b] + l_{t,b} w_t[b]     per block b
 *   w_{t+1}[b] = w_t[b] - a_{t,b} v_{t+1}[b]
 * Reverse mode (bptt, checkpoint; reversible for lr per layer and weight
 * decay), after
 * vb[b] -= a_{t,b} wb[b]:
 *   dF/da_{t,b} = - sum_{i in b} wb_i v_{t+1,i}
 *   dF/dm_{t,b} =   sum_{i in b} vb_i v_{t,i}
 *   dF/dl_{t,b} =   sum_{i in b} vb_i w_{t,i}       (per weight: vb_i w_{t,i})
 *   wb += H_t (M_t vb) + l_t (.) vb;  vb = m_t (.) vb
 * each summed over its window's steps (a per-run kind: one block, all of w).
 * Forward mode's tangent column c (kinds_fold):
 *   U_c = m_t (.) U_c + M_t H_t Z_c + l_t (.) Z_c + [v_t, w_t on c's range]
 *   Z_c -= a_t (.) U_c;  after the step Z_c -= v_{t+1} on an lr column's range
 *
 * Per-example loss weights c_i = sigmoid(gamma_i) (DESIGN.md, "inside the
 * loss"): every training-batch pass runs on the weighted loss (kinds_weigh:
 * the model scales each example's delta and R-delta by c_i), and
 *   reverse (after vb -= a_t wb):  dF/dc_i += (M_t vb) . grad l_i(w_t) / |B_t|
 *   greedy:    dF_t/dc_i = - (a_t (.) M_t grad f_t) . grad l_i(w_t) / |B_t|
 *   forward:   U_c += M_t grad l_i(w_t) / |B_t| in example i's column
 *   dF/dgamma_i = sigmoid'(gamma_i) dF/dc_i
 * (M_t vb) . grad l_i is example i's loss along the HVP's own tangent: the
 * R-forward pass that makes H_t (M_t vb) gives it for every example of the
 * batch at once (model_example_rdots), no pass per example. Forward mode
 * needs grad l_i itself, one single-example gradient per weighted example
 * of the batch (|B| P reals of scratch).
 */
#ifndef HG_KINDS_H
#define HG_KINDS_H

#include "engine.h"

typedef struct Kinds {
    const Backend *be;
    const HyperLayout *h;
    const Schedule *s;
    long P;
    int L;                            /* blocks: the layout's layers, or 1 (all of w) */
    long start[HYPER_MAX_BLOCKS + 1];
    real *lw;                         /* [K][P] per-weight decay (backend); NULL */
    double *gw;                       /* [K][P] its hypergradient sums (backend); NULL */
    real *tmp;                        /* [P] scratch (backend) */
    real *host[3];                    /* [P] host scratch for kinds_expand */
    double *hg;                       /* the result's hypergradient [N] (host) */
    /* per-example weights (layout E > 0) */
    Model *model;
    int B;                            /* batch size */
    real *cb, *rd;                    /* [B] the batch's weights, its rdots (backend) */
    real *hcb, *hrd;                  /* [B] host copies */
} Kinds;

/* Allocates, uploads the per-weight decay, zeroes hypergrad [N]. 0, or -1
 * (out of memory) with err set; kinds_free either way. */
int kinds_init(Kinds *k, const EngineConfig *cfg, double *hypergrad, HgErr *err);
void kinds_free(Kinds *k);

/* Kind k's value at step t on block b (per weight: 0, see kinds_decay). */
double kinds_value(const Kinds *k, HyperKind kind, int t, int b);
/* Step t's per-weight decay [P] (backend), or NULL. */
const real *kinds_decay(const Kinds *k, int t);

/* The inner step above: v, w (comp: sgd_step's Kahan compensation or NULL). */
void kinds_sgd_step(Kinds *k, int t, real *w, real *v, real *comp, const real *g);
/* vb -= a_t (.) wb */
void kinds_adjoint_lr(Kinds *k, int t, real *wb, real *vb);
/* kind's step-t hypergradient += sign (a_{t,b} if by_lr) sum over each of
 * its ranges of x (.) y (per weight: entrywise). */
void kinds_accumulate(Kinds *k, HyperKind kind, int t, const real *x, const real *y,
                      double sign, int by_lr);
/* wb += hu + l_t (.) vb;  vb = m_t (.) vb (hu is overwritten with a per-weight decay) */
void kinds_adjoint(Kinds *k, int t, real *wb, real *vb, real *hu);
/* x += l_t (.) y: a per-layer or per-weight decay only (a per-run one is 0
 * here: the caller's scalar op has it). The reversible engine folds the
 * decay into the gradient with it, so its fixed-point step stays scalar. */
void kinds_decay_add(Kinds *k, int t, real *x, const real *y);
/* Adds the per-weight sums into hypergrad (once, at the end). */
void kinds_finish(Kinds *k);

/* The batch idx [B]'s weights c_i (1 outside 0..E-1) set on the model for
 * the passes that follow; kinds_unweigh: the plain mean again (the
 * validation set's passes). No-ops without example weights. */
void kinds_weigh(Kinds *k, const int *idx);
void kinds_unweigh(Kinds *k);
/* After an HVP pass along u on batch idx with labels y [B]: each weighted
 * example's gamma hypergradient += sign sigmoid'(gamma_i) (u . grad l_i) / B. */
void kinds_example_grads(Kinds *k, const int *idx, const int32_t *y, double sign);
/* sigmoid'(gamma_i) / B of example i (forward's column term's scale). */
double kinds_example_scale(const Kinds *k, int i);
/* u[b] *= a_{t,b} on each block (greedy's a_t (.) tangent). */
void kinds_scale_lr(Kinds *k, int t, real *u);

/* Step t's values as P-vectors on the backend: a, m, l (forward mode). */
void kinds_expand(Kinds *k, int t, real *a, real *m, real *l);
/* Theta index q's kind, window and range [*o, *o + *n) of w. */
HyperKind kinds_of_column(const Kinds *k, long q, int *window, long *o, long *n);

#endif
