/* test_gradients.c — loss gradients and Hessian-vector products of every
 * layer and model against central finite differences, HVP symmetry, the
 * explicit Hessian of a tiny logistic regression, block R-op = single HVPs.
 *
 * Layers are tested inside small stacks built so that the layer's backward
 * and R-op passes sit between parameters and the loss. Finite-difference
 * steps stay on one smooth piece of the loss (model_kink_clearance), so
 * relu/maxpool kinks are avoided, not absorbed into a looser tolerance. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../common/rng.h"
#include "support_models.h"
#include "test.h"

typedef struct Stack {
    const char *name;
    Model *(*build)(void);
} Stack;

static Model *finish(Model *m)
{
    HgErr err;
    if (model_finish(m, &err)) {
        fprintf(stderr, "stack: %s\n", err.msg);
        abort();
    }
    return m;
}

static Model *stack_linear(void)
{
    Model *m = model_new("linear", (Shape){7, 1, 1}, 4);
    model_add_linear(m, 4);
    return finish(m);
}
static Model *stack_conv(void) /* conv -> conv: the second one's data gradient */
{
    Model *m = model_new("conv2d", (Shape){2, 6, 6}, 3);
    model_add_conv2d(m, 3, 3, 1);
    model_add_conv2d(m, 2, 3, 0);
    model_add_linear(m, 3);
    return finish(m);
}
static Model *stack_conv_pad2_rgb(void) /* 3-channel input, padding 2 */
{
    Model *m = model_new("conv2d-pad2-rgb", (Shape){3, 5, 5}, 3);
    model_add_conv2d(m, 2, 5, 2);
    model_add_tanh(m);
    model_add_conv2d(m, 2, 3, 1);
    model_add_linear(m, 3);
    return finish(m);
}
static Model *stack_maxpool(void)
{
    Model *m = model_new("maxpool", (Shape){2, 6, 6}, 3);
    model_add_conv2d(m, 3, 3, 1);
    model_add_maxpool(m);
    model_add_conv2d(m, 2, 2, 0);
    model_add_linear(m, 3);
    return finish(m);
}
static Model *stack_maxpool_odd(void) /* 7x7 -> 3x3 drops the last row/col */
{
    Model *m = model_new("maxpool-odd", (Shape){1, 7, 7}, 3);
    model_add_conv2d(m, 2, 3, 1);
    model_add_maxpool(m);
    model_add_linear(m, 3);
    return finish(m);
}
static Model *stack_relu(void)
{
    Model *m = model_new("relu", (Shape){8, 1, 1}, 3);
    model_add_linear(m, 6);
    model_add_relu(m);
    model_add_linear(m, 3);
    return finish(m);
}
static Model *stack_tanh(void)
{
    Model *m = model_new("tanh", (Shape){8, 1, 1}, 3);
    model_add_linear(m, 6);
    model_add_tanh(m);
    model_add_linear(m, 3);
    return finish(m);
}
static Model *stack_conv_relu_pool(void) /* LeNet's block, with flatten */
{
    Model *m = model_new("conv-relu-pool", (Shape){1, 8, 8}, 3);
    model_add_conv2d(m, 3, 3, 1);
    model_add_relu(m);
    model_add_maxpool(m);
    model_add_linear(m, 5);
    model_add_relu(m);
    model_add_linear(m, 3);
    return finish(m);
}

static const Stack STACKS[] = {
    {"linear", stack_linear},       {"conv2d", stack_conv},
    {"conv2d-pad2-rgb", stack_conv_pad2_rgb}, {"maxpool", stack_maxpool},
    {"maxpool-odd", stack_maxpool_odd}, {"relu", stack_relu},
    {"tanh", stack_tanh},           {"conv-relu-pool", stack_conv_relu_pool},
};

static const char *const MODELS[] = {"logreg", "mlp-tanh", "mlp-relu", "lenet",
                                     "lenet-rgb"};

/* In float32 a step small enough to stay between relu/maxpool kinks is too
 * small for float32's rounding: those models are checked against the float64
 * build instead (test_precision). */
static int fd_out_of_reach(const ModelCase *p, const char *what)
{
#ifdef HG_F64
    (void)p, (void)what;
    return 0;
#else
    for (int l = 0; l < p->m->nlayers; l++)
        if (p->m->layers[l].type == LAYER_RELU || p->m->layers[l].type == LAYER_MAXPOOL) {
            test_skip_part("%s: float32 finite differences cross kinks; checked against "
                           "float64 in test_precision", what);
            return 1;
        }
    return 0;
#endif
}

/* Checks grad . u against the finite difference along u, for `ndir` random
 * directions that admit a smooth step, and unit coordinate directions: all
 * of them when P <= all_coords, else `ncoords` spread over every tensor. */
static void check_gradient(ModelCase *p, const char *what, int ndir, long all_coords,
                           int ncoords)
{
    if (fd_out_of_reach(p, what))
        return;
    const long P = p->m->nparams;
    real *g = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *u = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    model_loss_grad(p->m, p->w, p->x, p->y, p->n, g);
    double scale = sqrt(dot_r(g, g, P)); /* the floor for near-zero entries */

    int done = 0;
    for (int attempt = 0; attempt < 8 * ndir && done < ndir; attempt++) {
        random_unit(u, P, 77 + attempt);
        double h = fd_step(p, u);
        if (h == 0)
            continue;
        char label[96];
        snprintf(label, sizeof label, "%s: grad.u (dir %d, h %.0e)", what, attempt, h);
        EXPECT_REL(dot_r(g, u, P), fd_loss(p, u, h), TOL_FD, 1e-3 * scale, label);
        done++;
    }
    EXPECT(done == ndir, "%s: only %d of %d directions admit a smooth step", what,
           done, ndir);

    long count = P <= all_coords ? P : ncoords;
    int skipped = 0;
    for (long c = 0; c < count; c++) {
        long i = P <= all_coords ? c : (c * 7919 + c / 3) % P;
        if (P > all_coords && c < 2L * p->m->nparam_tensors) /* every tensor's ends */
            i = c % 2 ? p->m->params[c / 2].offset + p->m->params[c / 2].count - 1
                      : p->m->params[c / 2].offset;
        memset(u, 0, sizeof(real) * P);
        u[i] = 1;
        double h = fd_step(p, u);
        if (h == 0) {
            skipped++;
            continue;
        }
        char label[96];
        snprintf(label, sizeof label, "%s: dL/dw[%ld]", what, i);
        EXPECT_REL(g[i], fd_loss(p, u, h), TOL_FD, 1e-3 * scale, label);
    }
    EXPECT(skipped <= count / 10, "%s: %d of %ld coordinates sit on a kink", what,
           skipped, count);
    mem_free(g);
    mem_free(u);
}

/* H v against the central difference of the gradient along v. */
static void check_hvp(ModelCase *p, const char *what, int ndir)
{
    if (fd_out_of_reach(p, what))
        return;
    const long P = p->m->nparams;
    real *v = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *hv = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    double *fd = malloc(sizeof(double) * P), *ex = malloc(sizeof(double) * P);
    int done = 0;
    for (int attempt = 0; attempt < 8 * ndir && done < ndir; attempt++) {
        random_unit(v, P, 500 + attempt);
        double h = fd_step(p, v);
        if (h == 0)
            continue;
        model_hvp(p->m, p->w, p->x, p->y, p->n, v, hv);
        fd_grad(p, v, h, fd);
        for (long i = 0; i < P; i++)
            ex[i] = hv[i];
        double e = max_rel_err_d(ex, fd, P, 0);
        EXPECT(e <= TOL_FD, "%s: Hv vs finite difference of the gradient: max rel err "
               "%.3g > %.3g (h %.0e)", what, e, TOL_FD, h);
        done++;
    }
    EXPECT(done == ndir, "%s: only %d of %d directions admit a smooth step", what,
           done, ndir);
    mem_free(v);
    mem_free(hv);
    free(fd);
    free(ex);
}

static void check_symmetry(ModelCase *p, const char *what)
{
    const long P = p->m->nparams;
    real *u = mem_alloc(MEM_PARAMS, sizeof(real) * P), *v = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *hu = mem_alloc(MEM_PARAMS, sizeof(real) * P), *hv = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    random_unit(u, P, 11);
    random_unit(v, P, 12);
    model_hvp(p->m, p->w, p->x, p->y, p->n, u, hu);
    model_hvp(p->m, p->w, p->x, p->y, p->n, v, hv);
    double scale = sqrt(dot_r(hu, hu, P) * dot_r(hv, hv, P));
    char label[96];
    snprintf(label, sizeof label, "%s: u.Hv vs v.Hu", what);
    EXPECT_REL(dot_r(u, hv, P), dot_r(v, hu, P), 10 * TOL_EXACT, 1e-2 * sqrt(scale), label);
    mem_free(u);
    mem_free(v);
    mem_free(hu);
    mem_free(hv);
}

static void test_layer_gradients(void)
{
    for (int s = 0; s < ARRAY_LEN(STACKS); s++) {
        ModelCase p = model_case_make(STACKS[s].build(), 5, 1 + s);
        check_gradient(&p, STACKS[s].name, 3, 5000, 0);
        model_case_free(&p);
    }
}

static void test_layer_hvps(void)
{
    for (int s = 0; s < ARRAY_LEN(STACKS); s++) {
        ModelCase p = model_case_make(STACKS[s].build(), 5, 1 + s);
        check_hvp(&p, STACKS[s].name, 3);
        check_symmetry(&p, STACKS[s].name);
        model_case_free(&p);
    }
}

static void test_model_gradients(void)
{
    for (int i = 0; i < ARRAY_LEN(MODELS); i++) {
        const int n = strncmp(MODELS[i], "lenet", 5) ? 16 : 3;
        ModelCase p = model_case_make(test_model(MODELS[i]), n, 40 + i);
        check_gradient(&p, MODELS[i], 3, 3000, 60);
        model_case_free(&p);
    }
}

static void test_model_hvps(void)
{
    for (int i = 0; i < ARRAY_LEN(MODELS); i++) {
        const int n = strncmp(MODELS[i], "lenet", 5) ? 16 : 3;
        ModelCase p = model_case_make(test_model(MODELS[i]), n, 40 + i);
        check_hvp(&p, MODELS[i], 2);
        check_symmetry(&p, MODELS[i]);
        model_case_free(&p);
    }
}

/* Softmax regression, W [K][D], b [K]: per example the Hessian of the loss in
 * (W, b) is (diag(p) - p p^T) (x) [x; 1][x; 1]^T; the mean over the batch. */
static void test_logreg_explicit_hessian(void)
{
    const int D = 3, K = 3, n = 4;
    ModelCase p = model_case_make(model_logreg((Shape){D, 1, 1}, K, NULL), n, 5);
    const long P = p.m->nparams; /* K*D weights then K biases */
    double *H = calloc((size_t)P * P, sizeof(double));
    for (int i = 0; i < n; i++) {
        double z[3], pr[3], xa[4], mx = -INFINITY, s = 0;
        for (int k = 0; k < K; k++) {
            z[k] = p.w[K * D + k];
            for (int d = 0; d < D; d++)
                z[k] += p.w[k * D + d] * p.x[i * D + d];
            mx = fmax(mx, z[k]);
        }
        for (int k = 0; k < K; k++)
            s += exp(z[k] - mx);
        for (int k = 0; k < K; k++)
            pr[k] = exp(z[k] - mx) / s;
        for (int d = 0; d < D; d++)
            xa[d] = p.x[i * D + d];
        xa[D] = 1;
        for (int k = 0; k < K; k++)
            for (int a = 0; a <= D; a++)
                for (int l = 0; l < K; l++)
                    for (int b = 0; b <= D; b++) {
                        long r = a < D ? k * D + a : K * D + k;
                        long c = b < D ? l * D + b : K * D + l;
                        H[r * P + c] += ((k == l) * pr[k] - pr[k] * pr[l]) * xa[a] * xa[b] / n;
                    }
    }
    real *e = mem_alloc(MEM_PARAMS, sizeof(real) * P), *he = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    double *col = malloc(sizeof(double) * P), *ref = malloc(sizeof(double) * P);
    for (long j = 0; j < P; j++) {
        memset(e, 0, sizeof(real) * P);
        e[j] = 1;
        model_hvp(p.m, p.w, p.x, p.y, n, e, he);
        for (long i = 0; i < P; i++) {
            col[i] = he[i];
            ref[i] = H[i * P + j];
        }
        double err = max_rel_err_d(col, ref, P, 1e-3);
        EXPECT(err <= 10 * TOL_EXACT, "column %ld of the Hessian: max rel err %.3g", j, err);
    }
    free(H);
    free(col);
    free(ref);
    mem_free(e);
    mem_free(he);
    model_case_free(&p);
}

/* k tangents in one block = k single HVPs; the block's gradient = the
 * gradient. k = 17 spans two tangent chunks. */
static void test_block_equals_single(void)
{
    enum { KMAX = 17 };
    const int ks[] = {1, 4, KMAX};
    for (int i = 0; i < ARRAY_LEN(MODELS); i++) {
        ModelCase p = model_case_make(test_model(MODELS[i]), 3, 90 + i);
        const long P = p.m->nparams;
        real *V = mem_alloc(MEM_TANGENTS, sizeof(real) * KMAX * P);
        real *HV = mem_alloc(MEM_TANGENTS, sizeof(real) * KMAX * P);
        real *single = mem_alloc(MEM_TANGENTS, sizeof(real) * KMAX * P);
        real *g = mem_alloc(MEM_PARAMS, sizeof(real) * P), *gb = mem_alloc(MEM_PARAMS, sizeof(real) * P);
        double *a = malloc(sizeof(double) * P), *b = malloc(sizeof(double) * P);
        for (int j = 0; j < KMAX; j++) {
            random_unit(V + j * P, P, 300 + j);
            model_hvp(p.m, p.w, p.x, p.y, p.n, V + j * P, single + j * P);
        }
        double loss = model_loss_grad(p.m, p.w, p.x, p.y, p.n, g);
        for (int q = 0; q < ARRAY_LEN(ks); q++) {
            double lb = model_hvp_block(p.m, p.w, p.x, p.y, p.n, ks[q], V, HV, gb);
            EXPECT(lb == loss, "%s k=%d: block loss %.17g != loss %.17g", MODELS[i],
                   ks[q], lb, loss);
            EXPECT(!memcmp(g, gb, sizeof(real) * P), "%s k=%d: block gradient differs",
                   MODELS[i], ks[q]);
            for (int j = 0; j < ks[q]; j++) {
                for (long t = 0; t < P; t++) {
                    a[t] = HV[j * P + t];
                    b[t] = single[j * P + t];
                }
                double e = max_rel_err_d(a, b, P, 0);
                EXPECT(e <= TOL_EXACT, "%s k=%d tangent %d: block vs single HVP max rel "
                       "err %.3g", MODELS[i], ks[q], j, e);
            }
        }
        free(a);
        free(b);
        mem_free(V);
        mem_free(HV);
        mem_free(single);
        mem_free(g);
        mem_free(gb);
        model_case_free(&p);
    }
}

/* Chunked delivery (model_hvp_block_each) hands over every tangent's product
 * once, in order, equal to the single HVP; the gradient is complete before
 * the first chunk. */
typedef struct EachCheck {
    const real *single, *g_ref, *g;
    long P;
    int next, bad_order, grad_ready;
    double worst;
} EachCheck;

static void each_check(void *ctx, int j0, int kc, const real *HV)
{
    EachCheck *c = ctx;
    c->bad_order |= j0 != c->next;
    c->grad_ready &= !memcmp(c->g, c->g_ref, sizeof(real) * c->P);
    for (int j = 0; j < kc; j++) {
        double num = 0, den = 0;
        for (long t = 0; t < c->P; t++) {
            num = fmax(num, fabs((double)HV[j * c->P + t] - c->single[(j0 + j) * c->P + t]));
            den = fmax(den, fabs((double)c->single[(j0 + j) * c->P + t]));
        }
        c->worst = fmax(c->worst, num / den);
    }
    c->next = j0 + kc;
}

static void test_block_each_chunks(void)
{
    enum { K = 11 };
    for (int i = 0; i < ARRAY_LEN(MODELS); i++) {
        ModelCase p = model_case_make(test_model(MODELS[i]), 3, 190 + i);
        const long P = p.m->nparams;
        real *V = mem_alloc(MEM_TANGENTS, sizeof(real) * K * P);
        real *single = mem_alloc(MEM_TANGENTS, sizeof(real) * K * P);
        real *HV = mem_alloc(MEM_TANGENTS, sizeof(real) * 4 * P);
        real *g = mem_alloc(MEM_PARAMS, sizeof(real) * P), *gref = mem_alloc(MEM_PARAMS, sizeof(real) * P);
        for (int j = 0; j < K; j++) {
            random_unit(V + j * P, P, 500 + j);
            model_hvp(p.m, p.w, p.x, p.y, p.n, V + j * P, single + j * P);
        }
        model_loss_grad(p.m, p.w, p.x, p.y, p.n, gref);
        EachCheck c = {single, gref, g, P, 0, 0, 1, 0};
        model_hvp_block_each(p.m, p.w, p.x, p.y, p.n, K, 4, V, HV, g, each_check, &c);
        EXPECT(c.next == K && !c.bad_order, "%s: chunks covered %d of %d tangents%s",
               MODELS[i], c.next, K, c.bad_order ? ", out of order" : "");
        EXPECT(c.grad_ready, "%s: gradient not complete at the first chunk", MODELS[i]);
        EXPECT(c.worst <= TOL_EXACT, "%s: chunked vs single HVP max rel err %.3g", MODELS[i],
               c.worst);
        mem_free(V);
        mem_free(single);
        mem_free(HV);
        mem_free(g);
        mem_free(gref);
        model_case_free(&p);
    }
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_layer_gradients),     TEST(test_layer_hvps),
        TEST(test_model_gradients),     TEST(test_model_hvps),
        TEST(test_logreg_explicit_hessian), TEST(test_block_equals_single),
        TEST(test_block_each_chunks),
    };
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
