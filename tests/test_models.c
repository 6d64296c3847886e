/* test_models.c — model construction and layout, parameter counts,
 * initialisation, determinism, evaluation, and the errors of bad specs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../common/rng.h"
#include "support_models.h"
#include "test.h"

static void test_parameter_counts_and_layout(void)
{
    static const struct {
        const char *spec;
        Shape in;
        long params;
        int tensors;
    } cases[] = {
        {"logreg", {1, 28, 28}, 784 * 10 + 10, 2},
        {"mlp", {1, 28, 28}, 784 * 256 + 256 + 256 * 10 + 10, 4},
        {"mlp:100,50:relu", {3, 4, 4}, 48 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10, 6},
        {"lenet", {1, 28, 28}, 61706, 10},
        {"lenet", {3, 32, 32}, 62006, 10},
    };
    for (int i = 0; i < ARRAY_LEN(cases); i++) {
        HgErr err;
        Model *m = model_by_name(cases[i].spec, cases[i].in, 10, &err);
        EXPECT(m, "%s: %s", cases[i].spec, err.msg);
        if (!m)
            continue;
        EXPECT(m->nparams == cases[i].params, "%s %dx%dx%d: %ld params, expected %ld",
               cases[i].spec, cases[i].in.c, cases[i].in.h, cases[i].in.w, m->nparams,
               cases[i].params);
        EXPECT(m->nparam_tensors == cases[i].tensors, "%s: %d tensors", cases[i].spec,
               m->nparam_tensors);
        long off = 0; /* tensors tile the vector in order */
        for (int t = 0; t < m->nparam_tensors; t++) {
            const ParamInfo *p = &m->params[t];
            long count = 1;
            for (int d = 0; d < p->ndim; d++)
                count *= p->shape[d];
            EXPECT(p->offset == off && p->count == count, "%s: tensor %s at %ld (want %ld)",
                   cases[i].spec, p->name, p->offset, off);
            off += count;
        }
        EXPECT(off == m->nparams, "%s: tensors cover %ld of %ld", cases[i].spec, off,
               m->nparams);
        model_free(m);
    }
}

static void test_lenet_layout_names(void)
{
    Model *m = test_model("lenet");
    static const char *const names[] = {"conv1.weight", "conv1.bias", "conv2.weight",
                                        "conv2.bias",   "fc1.weight", "fc1.bias",
                                        "fc2.weight",   "fc2.bias",   "fc3.weight",
                                        "fc3.bias"};
    static const int shapes[][4] = {{6, 1, 5, 5}, {6}, {16, 6, 5, 5}, {16}, {120, 400},
                                    {120}, {84, 120}, {84}, {10, 84}, {10}};
    for (int t = 0; t < 10; t++) {
        EXPECT(!strcmp(m->params[t].name, names[t]), "tensor %d is %s, want %s", t,
               m->params[t].name, names[t]);
        for (int d = 0; d < m->params[t].ndim; d++)
            EXPECT(m->params[t].shape[d] == shapes[t][d], "%s dim %d = %d, want %d",
                   names[t], d, m->params[t].shape[d], shapes[t][d]);
    }
    /* conv1 pads 28x28 to keep 28x28; the first linear layer sees 16x5x5 */
    EXPECT(m->layers[0].geom.pad == 2 && m->layers[0].geom.out.h == 28, "conv1 pad %d out %d",
           m->layers[0].geom.pad, m->layers[0].geom.out.h);
    model_free(m);
}

/* GEMM-shaped work of a LeNet batch of 128, counted by hand:
 * conv1 128*28*28*6*25, conv2 128*10*10*16*150, fc 128*(400*120+120*84+84*10)
 * multiply-adds. */
static void test_flop_counts(void)
{
    Model *m = test_model("lenet");
    const double c1 = 2.0 * 128 * 28 * 28 * 6 * 25, c2 = 2.0 * 128 * 10 * 10 * 16 * 150;
    const double fc = 2.0 * 128 * (400 * 120 + 120 * 84 + 84 * 10), rest = c2 + fc;
    EXPECT_REL(model_forward_flops(m, 128), c1 + rest, 1e-15, 0, "forward flops");
    EXPECT_REL(model_grad_flops(m, 128), 2 * c1 + 3 * rest, 1e-15, 0, "grad flops");
    EXPECT_REL(model_hvp_flops(m, 128, 1), c1 + 2 * rest + 2 * c1 + 6 * rest, 1e-15, 0,
               "hvp flops");
    EXPECT_REL(model_hvp_flops(m, 128, 4), c1 + 2 * rest + 4 * (2 * c1 + 6 * rest), 1e-15, 0,
               "block hvp flops");
    model_free(m);
}

static void test_init(void)
{
    Model *m = test_model("lenet");
    const long P = m->nparams;
    real *a = mem_alloc(MEM_PARAMS, sizeof(real) * P), *b = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    model_init(m, a, INIT_XAVIER, 0, 42);
    model_init(m, b, INIT_XAVIER, 0, 42);
    EXPECT(!memcmp(a, b, sizeof(real) * P), "same seed, different bytes");
    model_init(m, b, INIT_XAVIER, 0, 43);
    EXPECT(memcmp(a, b, sizeof(real) * P), "different seeds, same bytes");
    /* fc1.weight: xavier std sqrt(2 / (400 + 120)); 48,000 draws */
    const ParamInfo *fc1 = &m->params[4], *fc1b = &m->params[5];
    double s2 = 0;
    for (long i = 0; i < fc1->count; i++)
        s2 += (double)a[fc1->offset + i] * a[fc1->offset + i];
    EXPECT_REL(sqrt(s2 / fc1->count), sqrt(2.0 / 520), 0.02, 0, "xavier std of fc1");
    for (long i = 0; i < fc1b->count; i++)
        EXPECT(a[fc1b->offset + i] == 0, "bias %ld not zero", i);
    /* conv2.weight: kaiming std sqrt(2 / (6 * 25)) */
    model_init(m, b, INIT_KAIMING, 0, 1);
    const ParamInfo *c2 = &m->params[2];
    s2 = 0;
    for (long i = 0; i < c2->count; i++)
        s2 += (double)b[c2->offset + i] * b[c2->offset + i];
    EXPECT_REL(sqrt(s2 / c2->count), sqrt(2.0 / 150), 0.05, 0, "kaiming std of conv2");
    model_init(m, b, INIT_NORMAL, 0.25, 1);
    s2 = 0;
    for (long i = 0; i < fc1->count; i++)
        s2 += (double)b[fc1->offset + i] * b[fc1->offset + i];
    EXPECT_REL(sqrt(s2 / fc1->count), 0.25, 0.02, 0, "normal(0.25) std of fc1");
    InitKind k;
    EXPECT(init_kind_parse("kaiming", &k) == 0 && k == INIT_KAIMING, "parse kaiming");
    EXPECT(init_kind_parse("he", &k) == -1, "unknown init accepted");
    mem_free(a);
    mem_free(b);
    model_free(m);
}

/* Same inputs, same bytes: repeated calls, and a freshly built model. */
static void test_determinism(void)
{
    static const char *const models[] = {"mlp-relu", "lenet", "lenet-rgb"};
    for (int i = 0; i < ARRAY_LEN(models); i++) {
        ModelCase p = model_case_make(test_model(models[i]), 32, 3);
        Model *fresh = test_model(models[i]);
        const long P = p.m->nparams;
        const int k = 5;
        real *g1 = mem_alloc(MEM_PARAMS, sizeof(real) * P), *g2 = mem_alloc(MEM_PARAMS, sizeof(real) * P);
        real *V = mem_alloc(MEM_TANGENTS, sizeof(real) * k * P);
        real *H1 = mem_alloc(MEM_TANGENTS, sizeof(real) * k * P);
        real *H2 = mem_alloc(MEM_TANGENTS, sizeof(real) * k * P);
        for (int j = 0; j < k; j++)
            random_unit(V + j * P, P, 60 + j);
        double l1 = model_hvp_block(p.m, p.w, p.x, p.y, p.n, k, V, H1, g1);
        double l2 = model_hvp_block(p.m, p.w, p.x, p.y, p.n, k, V, H2, g2);
        EXPECT(l1 == l2 && !memcmp(g1, g2, sizeof(real) * P) &&
                   !memcmp(H1, H2, sizeof(real) * k * P),
               "%s: two calls differ", models[i]);
        double l3 = model_hvp_block(fresh, p.w, p.x, p.y, p.n, k, V, H2, g2);
        EXPECT(l1 == l3 && !memcmp(g1, g2, sizeof(real) * P) &&
                   !memcmp(H1, H2, sizeof(real) * k * P),
               "%s: a second model instance differs", models[i]);
        /* a larger batch in between must not change later results */
        ModelCase big = model_case_make(test_model(models[i]), 64, 4);
        model_loss_grad(p.m, big.w, big.x, big.y, big.n, g2);
        model_loss_grad(p.m, p.w, p.x, p.y, p.n, g2);
        EXPECT(!memcmp(g1, g2, sizeof(real) * P), "%s: gradient changed after a larger batch",
               models[i]);
        model_case_free(&big);
        mem_free(g1);
        mem_free(g2);
        mem_free(V);
        mem_free(H1);
        mem_free(H2);
        model_free(fresh);
        model_case_free(&p);
    }
}

/* model_evaluate in chunks agrees with one direct pass and a hand count. */
static void test_evaluate(void)
{
    ModelCase p = model_case_make(test_model("mlp-tanh"), 1234, 9);
    double loss, acc;
    model_evaluate(p.m, p.w, p.x, p.y, p.n, &loss, &acc);
    double direct = model_loss(p.m, p.w, p.x, p.y, p.n);
    EXPECT_REL(loss, direct, TOL_EXACT, 0, "chunked vs direct loss");
    /* one example at a time: accuracy 1 or 0 each */
    long correct = 0;
    const long dim = shape_size(p.m->input);
    for (int i = 0; i < p.n; i++)
        correct += model_accuracy(p.m, p.w, p.x + i * dim, p.y + i, 1) == 1.0;
    EXPECT(fabs(acc - (double)correct / p.n) < 1e-12, "accuracy %.6f vs %.6f", acc,
           (double)correct / p.n);
    EXPECT(acc > 0.05 && acc < 0.5, "accuracy %.3f of an untrained 5-class model", acc);
    model_case_free(&p);
}

/* The chunked set gradient equals one pass over the whole set. */
static void test_set_grad(void)
{
    ModelCase p = model_case_make(test_model("mlp-relu"), 1234, 10);
    const long P = p.m->nparams;
    real *g1 = mem_alloc(MEM_PARAMS, sizeof(real) * P), *g2 = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    double loss, acc, acc_direct;
    model_set_grad(p.m, p.w, p.x, p.y, p.n, g1, &loss, &acc);
    double direct = model_loss_grad(p.m, p.w, p.x, p.y, p.n, g2);
    model_evaluate(p.m, p.w, p.x, p.y, p.n, NULL, &acc_direct);
    EXPECT_REL(loss, direct, TOL_EXACT, 0, "set loss");
    EXPECT(acc == acc_direct, "set accuracy %.6f vs %.6f", acc, acc_direct);
    double *a = malloc(sizeof(double) * P), *b = malloc(sizeof(double) * P);
    for (long i = 0; i < P; i++) {
        a[i] = g1[i];
        b[i] = g2[i];
    }
    double e = max_rel_err_d(a, b, P, 0);
    EXPECT(e <= TOL_EXACT, "chunked vs one-pass set gradient: max rel err %.3g", e);
    free(a);
    free(b);
    mem_free(g1);
    mem_free(g2);
    model_case_free(&p);
}

static void test_bad_specs(void)
{
    static const struct {
        const char *spec;
        Shape in;
        const char *expect;
    } cases[] = {
        {"resnet", {1, 28, 28}, "unknown model 'resnet'"},
        {"lenet", {1, 20, 20}, "needs 28x28 or 32x32"},
        {"mlp:12,x", {1, 28, 28}, "bad hidden layer list"},
        {"mlp:0", {1, 28, 28}, "bad hidden layer list"},
        {"mlp:64:sigmoid", {1, 28, 28}, "activation 'sigmoid'"},
        {"logreg", {0, 28, 28}, "input shape"},
    };
    for (int i = 0; i < ARRAY_LEN(cases); i++) {
        HgErr err = {{0}};
        Model *m = model_by_name(cases[i].spec, cases[i].in, 10, &err);
        EXPECT(!m, "%s: accepted", cases[i].spec);
        EXPECT(strstr(err.msg, cases[i].expect), "%s: message '%s' lacks '%s'",
               cases[i].spec, err.msg, cases[i].expect);
        model_free(m);
    }
    /* builder errors: a kernel larger than its input, conv after linear, a
     * last layer that is not the class count */
    HgErr err = {{0}};
    Model *m = model_new("big-kernel", (Shape){1, 4, 4}, 3);
    model_add_conv2d(m, 2, 7, 0);
    model_add_linear(m, 3);
    EXPECT(model_finish(m, &err) == -1 && strstr(err.msg, "does not fit"), "'%s'", err.msg);
    model_free(m);
    m = model_new("conv-after-linear", (Shape){1, 4, 4}, 3);
    model_add_linear(m, 16);
    model_add_conv2d(m, 2, 3, 1);
    EXPECT(model_finish(m, &err) == -1 && strstr(err.msg, "conv2d after a flat layer"),
           "'%s'", err.msg);
    model_free(m);
    m = model_new("wrong-out", (Shape){5, 1, 1}, 3);
    model_add_linear(m, 4);
    EXPECT(model_finish(m, &err) == -1 && strstr(err.msg, "expected 3 classes"), "'%s'",
           err.msg);
    model_free(m);
}

/* The kink clearance is +inf for smooth models and positive and finite for
 * relu ones (test_gradients relies on it to place its steps). */
static void test_kink_clearance(void)
{
    ModelCase smooth = model_case_make(test_model("mlp-tanh"), 8, 1);
    ModelCase kinked = model_case_make(test_model("mlp-relu"), 8, 1);
    real *u = mem_alloc(MEM_PARAMS, sizeof(real) * kinked.m->nparams);
    random_unit(u, smooth.m->nparams, 5);
    EXPECT(isinf(model_kink_clearance(smooth.m, smooth.w, smooth.x, smooth.n, u)),
           "tanh model has a kink");
    double c = model_kink_clearance(kinked.m, kinked.w, kinked.x, kinked.n, u);
    EXPECT(c > 0 && isfinite(c), "relu clearance %g", c);
    mem_free(u);
    model_case_free(&smooth);
    model_case_free(&kinked);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_parameter_counts_and_layout), TEST(test_lenet_layout_names),
        TEST(test_flop_counts),
        TEST(test_init),       TEST(test_determinism),
        TEST(test_evaluate),   TEST(test_set_grad),   TEST(test_bad_specs),
        TEST(test_kink_clearance),
    };
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
