/* test_kinds.c — hyperparameters learned per layer and per weight
 * (harness/hyper.h layouts, engines/kinds.h's per-parameter path).
 *
 * The layout: blocks of a model, widths, columns, pack and unpack, the
 * refusals. The run: per-layer values all equal to the per-run value give
 * the per-run run bit for bit, and its hypergradient summed over layers
 * (weights) equals the per-run one. The derivative: float64 central
 * differences of f = L_val(w_T) through the whole run, per kind, against
 * bptt. The engines: checkpoint, forward, reversible (lr per layer, weight
 * decay per layer or weight; it refuses mom per layer) against bptt, greedy against
 * bptt at T = 1, each learned kind against its own scale; per-example loss
 * weights (gamma of examples 0 .. E-1) among them, alone and with the other
 * kinds (forward mode computes them from per-example gradients, the reverse
 * engines from the R-forward pass's per-example directional derivatives: two
 * routes held to each other). Forward's N tangents are refused, with the
 * estimate, before any work.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../engines/engine.h"
#include "support_models.h"
#include "test.h"


#ifdef HG_F64
/* each about 10x the gap measured here (printed by the tests) */
#define TOL_SAME 4e-15       /* same arithmetic, sums over blocks: measured 3.9e-16 */
#define TOL_WEIGHT_SUM 2e-14 /* per-weight decay vs per run (g + l w rounded apart): 1.6e-15 */
#define TOL_KINDS_FD 7e-7    /* central differences, on the kind's scale: measured 6.6e-8 */
#define TOL_AGREE 2e-14      /* checkpoint, forward, greedy at T = 1: measured 1.8e-15 */
#define TOL_REVERSIBLE 1e-11 /* fixed point, radix 2^-44: measured 1e-12 */
#define TOL_REV_LOSS 1.5e-12 /* its validation loss: measured 1.3e-13 */
#else
#define TOL_SAME 4e-15       /* measured 3.1e-16 */
#define TOL_WEIGHT_SUM 2e-7  /* measured 2e-8 */
#define TOL_KINDS_FD 0       /* float64 only */
#define TOL_AGREE 2e-6       /* measured 2.2e-7 */
#define TOL_REVERSIBLE 3e-6  /* measured 2.8e-7 */
#define TOL_REV_LOSS 3e-7    /* measured 3e-8 */
#endif

typedef struct KCase {
    EngineCase c;
    double *theta; /* [N] */
} KCase;

/* mlp-tanh or logreg on seeded synthetic data, T steps, the kinds learned
 * per per[]; theta = the schedule's window means, each entry then scaled by
 * 1 + spread sin(q + 1), so that layers and weights differ. */
static void kcase_make(KCase *k, const char *model, int T, const int K[HYPER_KINDS],
                       const HyperPer per[HYPER_KINDS], int E, double clamp, double spread)
{
    HgErr err = {{0}};
    engine_case_make(&k->c, model, 16 * 8 + 32, 32, T, K, clamp, 16, 0);
    HyperBlocks b;
    HG_CHECK(hyper_blocks_of_model(k->c.model, &b, &err) == 0 &&
                 hyper_layout_init_per(&k->c.layout, T, K, per, &b, &err) == 0 &&
                 hyper_layout_examples(&k->c.layout, E, &err) == 0,
             "kinds case: %s", err.msg);
    k->theta = mem_alloc(MEM_OTHER, sizeof(double) * (k->c.layout.N ? k->c.layout.N : 1));
    hyper_pack(&k->c.layout, &k->c.sched, k->theta);
    const HyperLayout *h = &k->c.layout;
    /* momentum per layer moves less, so it stays below 1; per run it stays
     * 0.9, which the reversible engine runs exactly (9/10) */
    const double mom_spread = h->per[HYPER_MOM] == HYPER_PER_LAYER ? spread / 10 : 0;
    for (int q = 0; q < h->N; q++)
        k->theta[q] *= 1 + (h->K[HYPER_MOM] && q >= h->offset[HYPER_MOM] &&
                                    q < h->offset[HYPER_MOM] + h->K[HYPER_MOM] * h->width[HYPER_MOM]
                                ? mom_spread
                                : spread) * sin(q + 1.0);
    for (int i = 0; i < h->E; i++) /* gamma in +-3 spread: weights 0.3 .. 0.7 at 0.3 */
        k->theta[h->ex_offset + i] = 3 * spread * sin(2.0 * i + 1);
    hyper_unpack(&k->c.layout, k->theta, &k->c.sched);
}

static void kcase_free(KCase *k)
{
    mem_free(k->theta);
    engine_case_free(&k->c);
}

static int krun(KCase *k, const EngineOps *ops, EngineSettings opt, EngineResult *r)
{
    hyper_unpack(&k->c.layout, k->theta, &k->c.sched);
    EngineConfig cfg = {.prob = &k->c.prob, .layout = &k->c.layout, .sched = &k->c.sched,
                        .opt = opt};
    HgErr err = {{0}};
    const int rc = engine_run(ops, &cfg, r, &err);
    if (rc)
        test_fail_at(__FILE__, __LINE__, "%s: %s", ops->name, err.msg);
    return rc;
}

/* max over learned kinds of max|a - b| / max|a| within the kind */
static double kind_err(const HyperLayout *h, const double *a, const double *b)
{
    double e = 0;
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k])
            e = fmax(e, max_rel_err_d(a + h->offset[k], b + h->offset[k],
                                      (long)h->K[k] * h->width[k], 1e-300));
    if (h->E) /* the example weights' gamma, on their own scale */
        e = fmax(e, max_rel_err_d(a + h->ex_offset, b + h->ex_offset, h->E, 1e-300));
    return e;
}

static void test_layout(void)
{
    HgErr err = {{0}};
    Model *m = test_model("mlp-tanh"); /* 12 -> 9 -> 7 -> 5 */
    HyperBlocks b;
    EXPECT(hyper_blocks_of_model(m, &b, &err) == 0 && b.L == 3, "mlp blocks: %d (%s)", b.L,
           err.msg);
    EXPECT(b.start[0] == 0 && b.start[1] == 12 * 9 + 9 && b.start[2] == b.start[1] + 9 * 7 + 7 &&
               b.start[3] == m->nparams && !strcmp(b.name[0], "fc1") && !strcmp(b.name[2], "fc3"),
           "mlp block starts %ld %ld %ld %ld, names %s %s", b.start[0], b.start[1], b.start[2],
           b.start[3], b.name[0], b.name[2]);
    const long P = m->nparams;
    HyperLayout h;
    const int K[HYPER_KINDS] = {4, 1, 2};
    const HyperPer per[HYPER_KINDS] = {HYPER_PER_LAYER, HYPER_PER_RUN, HYPER_PER_WEIGHT};
    EXPECT(hyper_layout_init_per(&h, 8, K, per, &b, &err) == 0 && h.N == 4 * 3 + 1 + 2 * P &&
               h.width[HYPER_LR] == 3 && h.width[HYPER_WD] == P && h.offset[HYPER_MOM] == 12 &&
               h.offset[HYPER_WD] == 13 && hyper_layout_vector(&h),
           "layout N %d (want %ld): %s", h.N, 13 + 2 * P, err.msg);
    EXPECT(hyper_count(K, per, 3, P) == h.N, "hyper_count %ld vs N %d", hyper_count(K, per, 3, P),
           h.N);
    /* step 5: lr window 2 (floor(5 4 / 8)), wd window 1 */
    EXPECT(hyper_column_at(&h, HYPER_LR, 5, 1) == 2 * 3 + 1 &&
               hyper_column_at(&h, HYPER_WD, 5, 7) == 13 + P + 7 &&
               hyper_column(&h, HYPER_LR, 5) == 6 && hyper_column_at(&h, HYPER_MOM, 7, 0) == 12,
           "columns %ld %ld %d", hyper_column_at(&h, HYPER_LR, 5, 1),
           hyper_column_at(&h, HYPER_WD, 5, 7), hyper_column(&h, HYPER_LR, 5));
    /* pack broadcasts the window mean; unpack keeps per-layer values apart */
    Schedule s;
    HG_CHECK(schedule_init(&s, 8, SCHEDULE_COSINE, 0.1, 0.9, 1e-3, 0, &err) == 0, "%s", err.msg);
    double *theta = mem_alloc(MEM_OTHER, sizeof(double) * h.N);
    hyper_pack(&h, &s, theta);
    const double mean01 = (s.v[HYPER_LR][0] + s.v[HYPER_LR][1]) / 2;
    EXPECT(theta[0] == mean01 && theta[1] == mean01 && theta[2] == mean01 &&
               theta[13] == 1e-3 && theta[13 + 2 * P - 1] == 1e-3,
           "pack: %g %g %g vs %g; wd %g", theta[0], theta[1], theta[2], mean01, theta[13]);
    theta[4] = 0.25;
    theta[13 + P + 3] = 0.5;
    hyper_unpack(&h, theta, &s);
    EXPECT(s.vec[HYPER_LR] && s.vec[HYPER_LR][4] == 0.25 && s.vec[HYPER_WD][P + 3] == 0.5 &&
               !s.vec[HYPER_MOM],
           "unpack into vec");
    double *again = mem_alloc(MEM_OTHER, sizeof(double) * h.N);
    hyper_pack(&h, &s, again);
    /* per layer and weight bit for bit; per run the window's mean of equal values */
    EXPECT(!memcmp(again, theta, sizeof(double) * 12) &&
               !memcmp(again + 13, theta + 13, sizeof(double) * 2 * P) &&
               fabs(again[12] - theta[12]) <= 1e-15,
           "pack(unpack(theta)) == theta");
    mem_free(again);
    mem_free(theta);
    schedule_free(&s);
    /* refusals */
    EXPECT(hyper_layout_init_per(&h, 8, K, (HyperPer[]){HYPER_PER_WEIGHT, 0, 0}, &b, &err) == -1 &&
               strstr(err.msg, "lr/weight"),
           "lr per weight refused: '%s'", err.msg);
    EXPECT(hyper_layout_init_per(&h, 8, K, per, NULL, &err) == -1 &&
               strstr(err.msg, "layers are not known"),
           "per layer without blocks: '%s'", err.msg);
    model_free(m);
}

/* Per-layer values equal to the per-run ones: the same run, bit for bit,
 * and the per-run hypergradient as the sum over layers (or weights). */
static void test_same_run(void)
{
    const int K[HYPER_KINDS] = {2, 2, 1}, T = 6;
    const HyperPer run[HYPER_KINDS] = {0, 0, 0};
    const HyperPer layer[HYPER_KINDS] = {HYPER_PER_LAYER, HYPER_PER_LAYER, HYPER_PER_LAYER};
    const HyperPer weight[HYPER_KINDS] = {HYPER_PER_LAYER, HYPER_PER_RUN, HYPER_PER_WEIGHT};
    KCase a, b, c;
    kcase_make(&a, "mlp-tanh", T, K, run, 0, 0.05, 0);
    kcase_make(&b, "mlp-tanh", T, K, layer, 0, 0.05, 0);
    kcase_make(&c, "mlp-tanh", T, K, weight, 0, 0.05, 0);
    EngineResult ra, rb, rc;
    const EngineSettings def = engine_settings_defaults();
    if (krun(&a, &BPTT_OPS, def, &ra) || krun(&b, &BPTT_OPS, def, &rb) ||
        krun(&c, &BPTT_OPS, def, &rc))
        goto done;
    EXPECT(ra.val_loss == rb.val_loss, "per layer, equal values: val loss %.17g vs %.17g",
           rb.val_loss, ra.val_loss);
    printf("# per weight, equal values: val loss %.2g relative\n",
           fabs(rc.val_loss - ra.val_loss) / ra.val_loss);
    EXPECT(fabs(rc.val_loss - ra.val_loss) <= TOL_WEIGHT_SUM * ra.val_loss,
           "per weight, equal values: val loss %.17g vs %.17g", rc.val_loss, ra.val_loss);
    double worst = 0, worst_w = 0;
    for (int k = 0; k < HYPER_KINDS; k++)
        for (int j = 0; j < K[k]; j++) {
            const HyperLayout *hb = &b.c.layout, *hc = &c.c.layout;
            double sb = 0, sc = 0;
            for (long i = 0; i < hb->width[k]; i++)
                sb += rb.hypergrad[hb->offset[k] + j * hb->width[k] + i];
            for (long i = 0; i < hc->width[k]; i++)
                sc += rc.hypergrad[hc->offset[k] + j * hc->width[k] + i];
            const double want = ra.hypergrad[a.c.layout.offset[k] + j];
            const double eb = fabs(sb - want) / fabs(want), ec = fabs(sc - want) / fabs(want);
            worst = fmax(worst, eb);
            worst_w = fmax(worst_w, ec);
            EXPECT(eb <= TOL_SAME, "%s window %d: sum over layers %.17g vs per run %.17g",
                   hyper_kind_name(k), j, sb, want);
            EXPECT(ec <= TOL_WEIGHT_SUM, "%s window %d: sum over weights %.17g vs per run %.17g",
                   hyper_kind_name(k), j, sc, want);
        }
    printf("# sums over layers vs per run: %.2g; over weights: %.2g\n", worst, worst_w);
    engine_result_free(&ra);
    engine_result_free(&rb);
    engine_result_free(&rc);
done:
    kcase_free(&a);
    kcase_free(&b);
    kcase_free(&c);
}

/* The reversible engine with lr per layer, all layers equal to the per-run
 * value: W's half of the fixed-point step, split per block, is the same
 * run bit for bit (its validation loss), and the lr hypergradient summed
 * over layers is the per-run one. */
static void test_reversible_lr_blocks(void)
{
    const int K[HYPER_KINDS] = {3, 1, 1}, T = 6;
    const HyperPer run[HYPER_KINDS] = {0, 0, 0};
    /* weight decay stays per run: per layer it is folded into g in real
     * arithmetic (g + l w rounds apart from the step's double), not the split */
    const HyperPer layer[HYPER_KINDS] = {HYPER_PER_LAYER, HYPER_PER_RUN, HYPER_PER_RUN};
    KCase a, b;
    kcase_make(&a, "mlp-tanh", T, K, run, 0, 0, 0);
    kcase_make(&b, "mlp-tanh", T, K, layer, 0, 0, 0);
    EngineResult ra, rb;
    const EngineSettings def = engine_settings_defaults();
    if (krun(&a, &REVERSIBLE_OPS, def, &ra) == 0) {
        if (krun(&b, &REVERSIBLE_OPS, def, &rb) == 0) {
            EXPECT(ra.val_loss == rb.val_loss, "reversible, lr per layer, equal values: val loss "
                   "%.17g vs per run %.17g", rb.val_loss, ra.val_loss);
            double worst = 0;
            const HyperLayout *hb = &b.c.layout;
            for (int k = 0; k < HYPER_KINDS; k++)
                for (int j = 0; j < K[k]; j++) {
                    double sum = 0;
                    for (long i = 0; i < hb->width[k]; i++)
                        sum += rb.hypergrad[hb->offset[k] + j * hb->width[k] + i];
                    const double want = ra.hypergrad[a.c.layout.offset[k] + j];
                    const double e = fabs(sum - want) / fabs(want);
                    worst = fmax(worst, e);
                    EXPECT(e <= TOL_SAME, "reversible %s window %d: sum over layers %.17g vs "
                           "per run %.17g", hyper_kind_name(k), j, sum, want);
                }
            printf("# reversible, lr per layer: sums over layers vs per run: %.2g\n", worst);
            engine_result_free(&rb);
        }
        engine_result_free(&ra);
    }
    kcase_free(&a);
    kcase_free(&b);
}

/* The configurations the derivative and agreement tests run. */
typedef struct Config {
    const char *model;
    int T, K[HYPER_KINDS];
    HyperPer per[HYPER_KINDS];
    double clamp;
    int E; /* example weights on training examples 0 .. E-1 */
} Config;

static const Config CONFIGS[] = {
    {"mlp-tanh", 8, {2, 1, 2}, {HYPER_PER_LAYER, HYPER_PER_LAYER, HYPER_PER_LAYER}, 0, 0},
    {"mlp-tanh", 8, {1, 2, 1}, {HYPER_PER_RUN, HYPER_PER_RUN, HYPER_PER_WEIGHT}, 0, 0},
    {"mlp-tanh", 6, {6, 1, 1}, {HYPER_PER_LAYER, HYPER_PER_RUN, HYPER_PER_WEIGHT}, 0.05, 0},
    {"logreg", 8, {2, 1, 2}, {HYPER_PER_RUN, HYPER_PER_RUN, HYPER_PER_LAYER}, 0.05, 0},
    /* example weights: alone, and with the other kinds (E = 40 of 128 training examples) */
    {"mlp-tanh", 8, {0, 0, 0}, {HYPER_PER_RUN, HYPER_PER_RUN, HYPER_PER_RUN}, 0, 40},
    {"mlp-tanh", 6, {2, 1, 1}, {HYPER_PER_LAYER, HYPER_PER_RUN, HYPER_PER_WEIGHT}, 0.05, 40},
    {"logreg", 8, {1, 1, 0}, {HYPER_PER_RUN, HYPER_PER_RUN, HYPER_PER_RUN}, 0.05, 128},
    /* lr and weight decay per layer, momentum per run: every engine */
    {"mlp-tanh", 8, {4, 1, 2}, {HYPER_PER_LAYER, HYPER_PER_RUN, HYPER_PER_LAYER}, 0, 0},
};

/* The reversible engine takes lr per layer, not momentum per layer. */
static int reversible_takes(const Config *c)
{
    return !c->K[HYPER_MOM] || c->per[HYPER_MOM] == HYPER_PER_RUN;
}

static void config_name(const Config *c, char *buf, size_t cap)
{
    kinds_run_name(buf, cap, c->model, c->T, c->K, c->per, c->E, c->clamp);
}

#ifdef HG_F64
/* Central differences of f = L_val(w_T) (bptt's run) per entry of theta (a
 * sample of the per-weight ones), against bptt, each kind on its scale. */
static void test_finite_differences(void)
{
    double worst = 0;
    for (int ci = 0; ci < ARRAY_LEN(CONFIGS); ci++) {
        const Config *cf = &CONFIGS[ci];
        if (cf->clamp > 0)
            continue; /* the clamp's mask is piecewise: the difference may cross it */
        char name[128];
        config_name(cf, name, sizeof name);
        KCase k;
        kcase_make(&k, cf->model, cf->T, cf->K, cf->per, cf->E, 0, 0.3);
        const HyperLayout *h = &k.c.layout;
        EngineResult b;
        const EngineSettings def = engine_settings_defaults();
        if (krun(&k, &BPTT_OPS, def, &b)) {
            kcase_free(&k);
            continue;
        }
        for (int kind = 0; kind <= HYPER_KINDS; kind++) { /* HYPER_KINDS: the examples */
            const int ex = kind == HYPER_KINDS;
            if (ex ? !h->E : !h->K[kind])
                continue;
            const long n = ex ? h->E : (long)h->K[kind] * h->width[kind];
            const long off = ex ? h->ex_offset : h->offset[kind];
            double s = 0; /* the kind's scale: max |hypergradient| */
            for (long i = 0; i < n; i++)
                s = fmax(s, fabs(b.hypergrad[off + i]));
            const long stride = n > 24 ? n / 12 : 1; /* per weight: a dozen entries */
            for (long i = 0; i < n; i += stride) {
                const long q = off + i;
                const double th = k.theta[q], step = 1e-5 * fmax(fabs(th), 1e-2);
                double f[2];
                for (int side = 0; side < 2; side++) {
                    k.theta[q] = th + (side ? -step : step);
                    EngineResult r;
                    f[side] = krun(&k, &BPTT_OPS, def, &r) ? NAN : r.val_loss;
                    engine_result_free(&r);
                }
                k.theta[q] = th;
                const double fd = (f[0] - f[1]) / (2 * step), e = fabs(fd - b.hypergrad[q]) / s;
                worst = fmax(worst, e);
                EXPECT(e <= TOL_KINDS_FD, "%s: d f / d theta[%ld] (%s): bptt %.12g, central "
                       "difference %.12g (kind scale %.3g)", name, q, ex ? "ex" : hyper_kind_name(kind),
                       b.hypergrad[q], fd, s);
            }
        }
        engine_result_free(&b);
        kcase_free(&k);
    }
    printf("# bptt vs central differences, per kind scale: worst %.2g\n", worst);
}
#endif

/* checkpoint, forward and (all but momentum per layer) reversible
 * against bptt, greedy against bptt at T = 1. */
static void test_engines_agree(void)
{
    double worst = 0, worst_rev = 0, worst_loss = 0;
    for (int ci = 0; ci < ARRAY_LEN(CONFIGS); ci++) {
        const Config *cf = &CONFIGS[ci];
        char name[128];
        config_name(cf, name, sizeof name);
        KCase k;
        kcase_make(&k, cf->model, cf->T, cf->K, cf->per, cf->E, cf->clamp, 0.3);
        EngineSettings def = engine_settings_defaults(), ck = def;
        ck.checkpoints = 2;
        EngineResult b, r;
        if (krun(&k, &BPTT_OPS, def, &b)) {
            kcase_free(&k);
            continue;
        }
        const struct { const EngineOps *ops; EngineSettings opt; } others[] = {
            {&CHECKPOINT_OPS, ck}, {&FORWARD_OPS, def}, {&REVERSIBLE_OPS, def}};
        for (int e = 0; e < ARRAY_LEN(others); e++) {
            const int rev = others[e].ops == &REVERSIBLE_OPS;
            if (rev && !reversible_takes(cf)) { /* refused, clearly */
                EngineConfig cfg = {.prob = &k.c.prob, .layout = &k.c.layout,
                                    .sched = &k.c.sched, .opt = def};
                HgErr err = {{0}};
                EXPECT(engine_run(&REVERSIBLE_OPS, &cfg, &r, &err) == -1 &&
                           strstr(err.msg, "mom per layer") && strstr(err.msg, "rational momentum"),
                       "%s: reversible refuses mom per layer: '%s'", name, err.msg);
                continue;
            }
            if (krun(&k, others[e].ops, others[e].opt, &r))
                continue;
            const double err = kind_err(&k.c.layout, b.hypergrad, r.hypergrad);
            if (getenv("KINDS_DEBUG"))
                for (int q = 0; q < HYPER_KINDS; q++)
                    if (k.c.layout.K[q])
                        printf("#   %s %s: %s %.3g\n", name, others[e].ops->name, hyper_kind_name(q),
                               max_rel_err_d(b.hypergrad + k.c.layout.offset[q], r.hypergrad + k.c.layout.offset[q],
                                             (long)k.c.layout.K[q] * k.c.layout.width[q], 1e-300));
            EXPECT(err <= (rev ? TOL_REVERSIBLE : TOL_AGREE), "%s: %s vs bptt: %.3g", name,
                   others[e].ops->name, err);
            const double dl = fabs(r.val_loss - b.val_loss) / b.val_loss;
            if (rev)
                worst_loss = fmax(worst_loss, dl);
            EXPECT(r.val_loss == b.val_loss || (rev && dl <= TOL_REV_LOSS),
                   "%s: %s val loss %.17g vs bptt %.17g", name, others[e].ops->name, r.val_loss,
                   b.val_loss);
            if (rev)
                worst_rev = fmax(worst_rev, err);
            else
                worst = fmax(worst, err);
            engine_result_free(&r);
        }
        engine_result_free(&b);
        kcase_free(&k);
        /* greedy = bptt at T = 1 */
        KCase one;
        Config c1 = *cf;
        for (int q = 0; q < HYPER_KINDS; q++)
            c1.K[q] = c1.K[q] ? 1 : 0;
        kcase_make(&one, cf->model, 1, c1.K, cf->per, cf->E, cf->clamp, 0.3);
        EngineResult g;
        if (krun(&one, &BPTT_OPS, def, &b) == 0 && krun(&one, &GREEDY_OPS, def, &g) == 0) {
            const double err = kind_err(&one.c.layout, b.hypergrad, g.hypergrad);
            worst = fmax(worst, err);
            EXPECT(err <= TOL_AGREE, "%s at T = 1: greedy vs bptt %.3g", name, err);
            engine_result_free(&g);
            engine_result_free(&b);
        }
        kcase_free(&one);
    }
    printf("# checkpoint, forward, greedy (T = 1) vs bptt: worst %.2g; reversible %.2g (its "
           "validation loss %.2g)\n", worst, worst_rev, worst_loss);
}

/* Forward mode's N = K P tangents: estimated and refused before any work,
 * with the estimate; greedy's online updates refuse per-layer values. */
static void test_refusals(void)
{
    HgErr err = {{0}};
    const int K[HYPER_KINDS] = {0, 0, 1};
    const HyperPer per[HYPER_KINDS] = {0, 0, HYPER_PER_WEIGHT};
    KCase k;
    kcase_make(&k, "logreg", 1, K, per, 0, 0, 0);
    /* 10^7 windows of P weights: N = 1.48e9 columns, 2 P N reals = 3.5 TB */
    const int T = 10000000, Kbig[HYPER_KINDS] = {0, 0, T};
    HyperLayout big;
    HyperBlocks b;
    HG_CHECK(hyper_blocks_of_model(k.c.model, &b, &err) == 0 &&
                 hyper_layout_init_per(&big, T, Kbig, per, &b, &err) == 0,
             "big layout: %s", err.msg);
    Schedule s = k.c.sched;
    s.T = T; /* only its length is read before the refusal */
    EngineConfig cfg = {.prob = &k.c.prob, .layout = &big, .sched = &s};
    EngineResult r;
    const size_t before = mem_current(MEM_TANGENTS);
    EXPECT(engine_run(&FORWARD_OPS, &cfg, &r, &err) == -1 &&
               strstr(err.msg, "forward: the tangents") && strstr(err.msg, "GiB but only") &&
               strstr(err.msg, "learn fewer values"),
           "forward with N = %d: '%s'", big.N, err.msg);
    EXPECT(mem_current(MEM_TANGENTS) == before, "nothing allocated before the refusal");
    EngineState st;
    EngineOptions o = engine_options(&cfg);
    engine_check_state(&FORWARD_OPS, k.c.model->nparams, &o, 0, &st, &err);
    EXPECT(st.bytes == (double)forward_tangent_bytes(k.c.model->nparams, big.N) &&
               st.bytes > 1e12,
           "the estimate: %g bytes", st.bytes);
    /* greedy's online updates move per-run values only */
    EngineSettings on = engine_settings_defaults();
    on.greedy_online_lr = 0.1;
    cfg = (EngineConfig){.prob = &k.c.prob, .layout = &k.c.layout, .sched = &k.c.sched, .opt = on};
    EXPECT(engine_run(&GREEDY_OPS, &cfg, &r, &err) == -1 && strstr(err.msg, "per weight"),
           "greedy online, wd per weight: '%s'", err.msg);
    kcase_free(&k);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {
        TEST(test_layout),
        TEST(test_same_run),
        TEST(test_reversible_lr_blocks),
        TEST_F64_ONLY(test_finite_differences, "central differences need float64"),
        TEST(test_engines_agree),
        TEST(test_refusals),
    };
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
