/* inner.h — the inner training problem every engine differentiates.
 *
 *   g_t     = clamp(grad L_{B_t}(w_t))          elementwise to [-c, c] (c > 0)
 *   v_{t+1} = m_t v_t + g_t + l_t w_t           v_0 = 0
 *   w_{t+1} = w_t - a_t v_{t+1}                 w_0 = the problem's w0
 *   f       = L_val(w_T)                        mean loss over the validation set
 *
 * B_t is step t's batch of a seeded BatchOrder over the training set. The
 * clamp's Jacobian is the 0/1 mask M_t of entries with |grad| < c (an entry
 * exactly at c counts as clamped).
 */
#ifndef HG_INNER_H
#define HG_INNER_H

#include <signal.h>

#include "../backend/backend.h"
#include "../datasets/dataset.h"
#include "../models/model.h"
#include "hyper.h"
#include "round_noise.h"

typedef struct InnerProblem {
    Model *model;
    const Dataset *train; /* normalised, as fed to the model */
    const Dataset *val;
    int batch;
    uint64_t batch_seed;  /* order of the training batches */
    const real *w0;       /* [P] initial weights */
    int kahan;            /* 1: the weight update w -= a v is compensated
                           * (Kahan), so small late updates are not rounded
                           * away in float32; engines without a rounded
                           * update (reversible) refuse it */
    /* Not NULL and nonzero (a signal handler sets it): runs on this problem
     * stop at their next inner step, so a Ctrl-C ends them within a step. */
    const volatile sig_atomic_t *stop;
    RoundNoise round_noise; /* ROUND_NOISE_SR32: w and v rounded to float32's
                             * grid after every update (inner_round) */
    uint64_t round_seed;    /* its draws (problem_round_seed) */
} InnerProblem;

/* The batch-order seed that goes with initialisation seed `seed`: a stream
 * apart from model_init's for every seed (hgbench's --seed sets both). */
uint64_t inner_batch_seed(uint64_t seed);

/* Step t's batch, gathered into x [batch][C][H][W] and y [batch]. bo must
 * have been made by inner_batches for this problem. */
void inner_batch(const InnerProblem *p, BatchOrder *bo, long t, real *x, int32_t *y);
int inner_batches(const InnerProblem *p, BatchOrder *bo, HgErr *err);

/* The backend every op of the problem runs on (its model's). The clamp,
 * the update (with or without Kahan compensation), dots and finiteness
 * checks are its ops: clamp, sgd_step, dot, all_finite (backend.h). */
static inline const Backend *inner_backend(const InnerProblem *p) { return p->model->be; }

static inline int inner_stopped(const InnerProblem *p) { return p->stop && *p->stop; }

/* [P] zeroed compensation for p's update (sgd_step's comp), or NULL when
 * p->kahan is off. */
real *inner_comp_alloc(const InnerProblem *p);

/* After step t's update: w_{t+1} and v_{t+1} rounded stochastically to
 * float32's grid when p->round_noise is sr32 (round_noise.h), else nothing.
 * Host memory only (problem_load refuses sr32 on a device backend). The
 * engines store and differentiate the rounded run and count the rounding
 * as the identity in their reverse and tangent passes: the hypergradient
 * is the float64 one of that noisy run, up to terms of float32's size. */
void inner_round(const InnerProblem *p, long t, real *w, real *v);

/* Trains w (in place, from w0 copied by the caller) for the schedule's T
 * steps and evaluates f: val loss and accuracy at w_T. Divergence (a
 * non-finite gradient or weight) fails with the step where it appeared. */
int inner_train(const InnerProblem *p, const Schedule *s, real *w, double *val_loss,
                double *val_acc, HgErr *err);

/* What a layout changes in inner_train's step (inner_kinds.c): the batch's
 * example weights around step t's gradient (weigh: idx is the batch's
 * examples; unweigh: the plain mean again), and the update from the
 * clamped gradient g (which it may overwrite). NULL members: the plain run. */
typedef struct InnerStep {
    void *ctx;
    void (*weigh)(void *ctx, int t, const int *idx);
    void (*unweigh)(void *ctx);
    void (*update)(void *ctx, int t, real *w, real *v, real *comp, real *g);
} InnerStep;

/* inner_train with step's changes (step NULL: inner_train itself). */
int inner_train_steps(const InnerProblem *p, const Schedule *s, const InnerStep *step, real *w,
                      double *val_loss, double *val_acc, HgErr *err);

#endif
