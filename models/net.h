/* net.h — the passes over a model's layers (internal to models/).
 *
 * net_forward stores every activation; net_backward stores the deltas
 * (dL/d activation) and optionally the gradient: with a gradient, every
 * delta down to the first parameterised layer (but those a fused kernel
 * reads from further up: a relu + pool over a direct first conv); without,
 * only those net_rbackward reads (an HVP needs no more); net_rforward and
 * net_rbackward run Pearlmutter's R-operator for a chunk of kc tangents on
 * top of the stored primal passes: R{a} forward, then R{delta} backward,
 * whose parameter-shaped part is H v.
 */
#ifndef HG_NET_H
#define HG_NET_H

#include "model.h"

enum {
    NET_FORWARD = PASS_FORWARD,
    NET_BACKWARD = PASS_BACKWARD,
    NET_RFORWARD = PASS_RFORWARD,
    NET_RBACKWARD = PASS_RBACKWARD,
    NET_PASSES = PASS_COUNT
};

ModelWork *net_work_new(const Model *m);
void net_work_free(const Model *m, ModelWork *wk);
/* Tangents per R pass for batch n: bounds the memory of the tangent
 * activations (at most 16; fewer where one tangent's are large). */
int net_tangent_chunk(const Model *m, int n);

/* Sizes scratch for batch n and kc tangents; call before net_forward. */
void net_reserve(Model *m, int n, int kc);
/* y may be NULL (no loss: returns 0). */
double net_forward(Model *m, const real *w, const real *x, const int32_t *y, int n);
void net_backward(Model *m, const real *w, const int32_t *y, int n, real *grad);
void net_rforward(Model *m, const real *w, int n, int kc, const real *V);
void net_rbackward(Model *m, const real *w, int n, int kc, const real *V, real *HV);

/* Logits of the last forward pass, [n][classes]. */
const real *net_logits(const Model *m);
/* Smallest first-order distance to a kink along the last R-forward tangent
 * (see model_kink_clearance). */
double net_kink_clearance(const Model *m, int n);


#endif
