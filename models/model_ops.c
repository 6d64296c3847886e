/* model_ops.c — the public evaluation API of model.h on top of net.c's
 * passes: loss, gradient, HVP (one tangent or a block), accuracy, and the
 * kink-clearance diagnostic for finite-difference tests. */
#include <math.h>
#include <string.h>

#include "../backend/backend.h"
#include "../common/mem.h"
#include "net.h"

/* Batches larger than this are evaluated in pieces (bounds scratch). The
 * suite's usual training batch: a validation set then needs no larger arena
 * than training did (at 500, LeNet's 1000-example validation gradient grew
 * it to 110 MiB, and touching that fresh memory took ~70 ms, four times the
 * arithmetic). A constant, so the bytes do not depend on what ran before. */
#define EVAL_CHUNK 128

double model_loss(Model *m, const real *w, const real *x, const int32_t *y, int n)
{
    return net_forward(m, w, x, y, n);
}

double model_loss_grad(Model *m, const real *w, const real *x, const int32_t *y,
                       int n, real *grad)
{
    const double loss = net_forward(m, w, x, y, n);
    net_backward(m, w, y, n, grad);
    return loss;
}

/* The R passes over V in chunks of at most `chunk` tangents; chunk j0's
 * products go to HV + j0 P (advance) or to HV itself, handed to each(). */
static double hvp_chunks(Model *m, const real *w, const real *x, const int32_t *y, int n, int k,
                         int chunk, const real *V, real *HV, int advance, real *grad,
                         void (*each)(void *ctx, int j0, int kc, const real *HV), void *ctx)
{
    const long P = m->nparams;
    net_reserve(m, n, k < chunk ? k : chunk);
    const double loss = net_forward(m, w, x, y, n);
    net_backward(m, w, y, n, grad);
    for (int j0 = 0; j0 < k; j0 += chunk) {
        const int kc = k - j0 < chunk ? k - j0 : chunk;
        real *out = advance ? HV + (long)j0 * P : HV;
        net_rforward(m, w, n, kc, V + (long)j0 * P);
        net_rbackward(m, w, n, kc, V + (long)j0 * P, out);
        if (each)
            each(ctx, j0, kc, out);
    }
    return loss;
}

double model_hvp_block(Model *m, const real *w, const real *x, const int32_t *y,
                       int n, int k, const real *V, real *HV, real *grad)
{
    return hvp_chunks(m, w, x, y, n, k, net_tangent_chunk(m, n), V, HV, 1, grad, NULL, NULL);
}

double model_hvp_block_each(Model *m, const real *w, const real *x, const int32_t *y, int n,
                            int k, int chunk, const real *V, real *HV, real *grad,
                            void (*each)(void *ctx, int j0, int kc, const real *HV), void *ctx)
{
    const int most = net_tangent_chunk(m, n);
    return hvp_chunks(m, w, x, y, n, k, chunk < 1 || chunk > most ? most : chunk, V, HV, 0,
                      grad, each, ctx);
}

void model_hvp(Model *m, const real *w, const real *x, const int32_t *y, int n,
               const real *v, real *hv)
{
    model_hvp_block(m, w, x, y, n, 1, v, hv, NULL);
}

int model_set_example_weights(Model *m, const real *c)
{
    if (c && !(m->be->layer.xent_weigh_rows && m->be->layer.xent_rdot))
        return -1;
    m->ex_weight = c;
    return 0;
}

void model_evaluate(Model *m, const real *w, const real *x, const int32_t *y,
                    int n, double *loss, double *accuracy)
{
    const long dim = shape_size(m->input);
    double total = 0;
    long correct = 0;
    for (int i0 = 0; i0 < n; i0 += EVAL_CHUNK) {
        const int b = n - i0 < EVAL_CHUNK ? n - i0 : EVAL_CHUNK;
        total += b * net_forward(m, w, x + i0 * dim, y + i0, b);
        correct += m->be->layer.xent_correct(net_logits(m), y + i0, b, m->classes);
    }
    if (loss)
        *loss = n > 0 ? total / n : NAN;
    if (accuracy)
        *accuracy = n > 0 ? (double)correct / n : NAN;
}

void model_set_grad(Model *m, const real *w, const real *x, const int32_t *y, int n,
                    real *grad, double *loss, double *accuracy)
{
    const long P = m->nparams, dim = shape_size(m->input);
    const Backend *be = m->be;
    double *sum = mem_check(be->mem.alloc(MEM_PARAMS, sizeof(double) * P), MEM_PARAMS,
                            sizeof(double) * P); /* zeroed */
    real *g = mem_check(be->mem.alloc(MEM_PARAMS, sizeof(real) * P), MEM_PARAMS, sizeof(real) * P);
    double total = 0;
    long correct = 0;
    for (int i0 = 0; i0 < n; i0 += EVAL_CHUNK) {
        const int b = n - i0 < EVAL_CHUNK ? n - i0 : EVAL_CHUNK;
        total += b * model_loss_grad(m, w, x + i0 * dim, y + i0, b, g);
        correct += m->be->layer.xent_correct(net_logits(m), y + i0, b, m->classes);
        be->vec.grad_accumulate(sum, g, b, P);
    }
    be->vec.grad_average(grad, sum, n, P);
    if (loss)
        *loss = total / n;
    if (accuracy)
        *accuracy = (double)correct / n;
    be->mem.free(sum);
    be->mem.free(g);
}

double model_accuracy(Model *m, const real *w, const real *x, const int32_t *y, int n)
{
    double acc;
    model_evaluate(m, w, x, y, n, NULL, &acc);
    return acc;
}

double model_kink_clearance(Model *m, const real *w, const real *x, int n,
                            const real *u)
{
    net_reserve(m, n, 1);
    net_forward(m, w, x, NULL, n);
    net_rforward(m, w, n, 1, u);
    return net_kink_clearance(m, n);
}
