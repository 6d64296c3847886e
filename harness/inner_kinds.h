/* inner_kinds.h — the inner training run (inner.h) under a layout whose
 * kinds are learned per layer or per weight, or with example weights
 * (hyper_layout_vector): the plain run that hpo's retraining and final
 * evaluation make, the same arithmetic as the engines' forward pass
 * (engines/kinds.h):
 *   g' = clamp(grad sum_i c_i l_i / |B_t|) + l_w (.) w      (per-weight decay l_w)
 *   v[b] = m_{t,b} v[b] + g'[b] + l_{t,b} w[b];  w[b] -= a_{t,b} v[b]   per block b
 * with c_i = sigmoid(gamma_i) on training examples 0..E-1 (1 beyond).
 * Any other layout runs inner_train itself, bit for bit.
 */
#ifndef HG_INNER_KINDS_H
#define HG_INNER_KINDS_H

#include "inner.h"

/* inner_train's contract, with s's values read through layout h
 * (s->vec, s->gamma as hyper_unpack sets them). */
int inner_train_layout(const InnerProblem *p, const HyperLayout *h, const Schedule *s, real *w,
                       double *val_loss, double *val_acc, HgErr *err);

#endif
