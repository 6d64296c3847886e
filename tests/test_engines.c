/* test_engines.c — the hypergradient engines against each other and against
 * finite differences, on synthetic data (tests/test_datasets.c covers the
 * real loaders).
 *
 * In float64: bptt and forward agree to 1e-9 (max-norm relative), and
 * reversible to 1e-7, on logreg, MLP and LeNet, lr, momentum and weight decay learned together, with and
 * without a clamp, for K in {1, a divisor of T, T}; bptt agrees with a
 * central finite difference of the validation loss (tanh/logreg models: the
 * loss is smooth there); greedy equals bptt at T = 1; per-step hypergradients
 * summed over windows equal the windowed ones; reversible's buffer is within
 * 1.1x its floor at T = 100 and its bit-for-bit restore check catches a
 * perturbed step. Refusals, overflow and divergence are exercised. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../engines/engine.h"
#include "support_models.h"
#include "test.h"

#ifdef HG_F64
#define TOL_ENGINES 1e-9
#define TOL_REVERSIBLE 1e-7 /* its fixed-point rounding (radix 2^-44) */
#else
#define TOL_ENGINES 2e-3 /* float32: different summation orders over T steps */
#define TOL_REVERSIBLE 2e-3
#endif

typedef struct Setup {
    Model *model;
    Dataset train, val;
    real *w0;
    InnerProblem prob;
    HyperLayout layout;
    Schedule sched;
} Setup;

/* A model on seeded synthetic data shaped for it (s holds pointers into
 * itself: it stays where it was made). */
static void setup_make(Setup *sp, const char *model, int T, const int K[HYPER_KINDS],
                       double clamp, int batch)
{
    Setup s;
    memset(&s, 0, sizeof s);
    HgErr err;
    s.model = test_model(model);
    const Shape in = s.model->input;
    Dataset full;
    if (synthetic_make(batch * 8 + 32, in.c, in.h, in.w, s.model->classes, 1.0, 11, &full,
                       &err) ||
        dataset_split(&full, 32, 3, &s.train, &s.val, &err) ||
        hyper_layout_init(&s.layout, T, K, &err) ||
        schedule_init(&s.sched, T, SCHEDULE_COSINE, 0.05, 0.9, 1e-3, clamp, &err)) {
        fprintf(stderr, "setup %s: %s\n", model, err.msg);
        abort();
    }
    dataset_free(&full);
    s.w0 = mem_alloc(MEM_PARAMS, sizeof(real) * s.model->nparams);
    model_init(s.model, s.w0, INIT_XAVIER, 0, 5);
    *sp = s;
    sp->prob = (InnerProblem){sp->model, &sp->train, &sp->val, batch, 17, sp->w0, 0};
}

static void setup_free(Setup *s)
{
    model_free(s->model);
    dataset_free(&s->train);
    dataset_free(&s->val);
    mem_free(s->w0);
    schedule_free(&s->sched);
}

static int run(Setup *s, const EngineOps *ops, EngineResult *r)
{
    EngineConfig cfg = {.prob = &s->prob, .layout = &s->layout, .sched = &s->sched};
    HgErr err;
    int rc = engine_run(ops, &cfg, r, &err);
    if (rc)
        test_fail_at(__FILE__, __LINE__, "%s: %s", ops->name, err.msg);
    return rc;
}

/* bptt, forward and reversible on the same problems: lr, momentum and weight
 * decay learned together, K in {1, a divisor of T, T}, with and without a
 * clamp. Reversible restores w_0, v_0 bit for bit on every run (it fails
 * otherwise), in float32 and float64 builds. */
static void test_engines_agree(void)
{
    static const struct { const char *model; int T, batch; } cases[] = {
        {"logreg", 50, 16}, {"mlp-tanh", 50, 16}, {"mlp-relu", 30, 16}, {"lenet", 10, 4}};
    double worst_f = 0, worst_r = 0;
    for (int c = 0; c < ARRAY_LEN(cases); c++) {
        const int T = cases[c].T, ks[] = {1, T % 5 == 0 ? 5 : 2, T};
        for (int q = 0; q < 3; q++)
            for (int clamped = 0; clamped < 2; clamped++) {
                const int K[HYPER_KINDS] = {ks[q], ks[q], ks[q]};
                Setup s;
                setup_make(&s, cases[c].model, T, K, clamped ? 0.05 : 0, cases[c].batch);
                EngineResult b, f, r;
                if (run(&s, &BPTT_OPS, &b) == 0 && run(&s, &FORWARD_OPS, &f) == 0 &&
                    run(&s, &REVERSIBLE_OPS, &r) == 0) {
                    const double e = max_rel_err_d(b.hypergrad, f.hypergrad, b.N, 0);
                    EXPECT(e <= TOL_ENGINES, "%s T=%d K=%d clamp=%d: bptt vs forward max rel "
                           "err %.3g", cases[c].model, T, ks[q], clamped, e);
                    EXPECT(b.val_loss == f.val_loss, "%s: val loss %.17g vs %.17g",
                           cases[c].model, b.val_loss, f.val_loss);
                    const double er = max_rel_err_d(b.hypergrad, r.hypergrad, b.N, 0);
                    EXPECT(er <= TOL_REVERSIBLE, "%s T=%d K=%d clamp=%d: bptt vs reversible "
                           "max rel err %.3g", cases[c].model, T, ks[q], clamped, er);
                    worst_f = fmax(worst_f, e);
                    worst_r = fmax(worst_r, er);
                    engine_result_free(&b);
                    engine_result_free(&f);
                    engine_result_free(&r);
                }
                setup_free(&s);
            }
    }
    printf("# largest max-norm relative gap to bptt: forward %.2g, reversible %.2g\n", worst_f,
           worst_r);
}

/* The information buffer against its floor T P log2(1/m) / 8 for T >= 100,
 * and its reversal checked by corrupting one reverse step. */
static void test_reversible_buffer(void)
{
    /* m = 0.99 pays log2(S) = 6.6 bits of sentinel per 64-bit word */
    static const struct { double m, ratio; } cases[] = {{0.9, 1.1}, {0.5, 1.1}, {0.99, 1.15}};
    const int T = 100, K[HYPER_KINDS] = {4, 2, 1};
    for (int c = 0; c < ARRAY_LEN(cases); c++) {
        const double m = cases[c].m;
        Setup s;
        setup_make(&s, "logreg-full", T, K, 0, 16);
        HgErr err;
        schedule_free(&s.sched);
        schedule_init(&s.sched, T, SCHEDULE_COSINE, 0.05, m, 1e-3, 0, &err);
        EngineResult r;
        if (run(&s, &REVERSIBLE_OPS, &r) == 0) {
            const double floor = T * (double)s.model->nparams * log2(1 / m) / 8;
            EXPECT(fabs(r.infobuf_floor_bytes - floor) <= 1e-9 * floor,
                   "m=%g: floor %.1f, expected %.1f", m, r.infobuf_floor_bytes, floor);
            printf("# m=%g: buffer %zu bytes (allocated %zu), floor %.0f\n", m, r.infobuf_bytes,
                   r.mem_peak[MEM_INFOBUF], floor);
            EXPECT(r.infobuf_bytes <= cases[c].ratio * floor && r.infobuf_bytes >= floor,
                   "m=%g: buffer %zu bytes, floor %.0f (ratio %.3f)", m, r.infobuf_bytes,
                   floor, r.infobuf_bytes / floor);
            EXPECT(r.mem_peak[MEM_INFOBUF] <= (cases[c].ratio + 0.05) * floor,
                   "m=%g: buffer allocation %zu bytes, floor %.0f", m, r.mem_peak[MEM_INFOBUF],
                   floor);
            engine_result_free(&r);
        }
        setup_free(&s);
    }

    Setup s;
    setup_make(&s, "mlp-tanh", 20, K, 0, 16);
    EngineConfig cfg = {.prob = &s.prob, .layout = &s.layout, .sched = &s.sched};
    EngineResult r;
    for (int flip = 0; flip < 20; flip += 7) {
        reversible_test_flip = flip; /* one bit of the gradient at this reverse step */
                HgErr err = {{0}};
        EXPECT(engine_run(&REVERSIBLE_OPS, &cfg, &r, &err) == -1 &&
                   strstr(err.msg, "did not restore w_0"),
               "a corrupted reverse step %d went unnoticed: '%s'", flip, err.msg);
    }
    reversible_test_flip = -1;
    setup_free(&s);
}

/* Momentum 0 (or 1) cannot be reversed; a fixed-point overflow names its
 * magnitude. */
static void test_reversible_refusals(void)
{
    const int K[HYPER_KINDS] = {1, 0, 0};
    static const double moms[] = {0, 1};
    EngineResult r;
    HgErr err;
    for (int c = 0; c < ARRAY_LEN(moms); c++) {
        Setup s;
        setup_make(&s, "logreg", 5, K, 0, 16);
        schedule_free(&s.sched);
        schedule_init(&s.sched, 5, SCHEDULE_CONSTANT, 0.05, moms[c], 0, 0, &err);
        EngineConfig cfg = {.prob = &s.prob, .layout = &s.layout, .sched = &s.sched};
        EXPECT(engine_run(&REVERSIBLE_OPS, &cfg, &r, &err) == -1 &&
                   strstr(err.msg, "exact reversal needs 0 < momentum < 1"),
               "momentum %g: '%s'", moms[c], err.msg);
        setup_free(&s);
    }
    Setup s;
    setup_make(&s, "logreg", 5, K, 0, 16);
    schedule_free(&s.sched);
    schedule_init(&s.sched, 5, SCHEDULE_CONSTANT, 1e8, 0.9, 0, 0, &err);
    EngineConfig cfg = {.prob = &s.prob, .layout = &s.layout, .sched = &s.sched};
    EXPECT(engine_run(&REVERSIBLE_OPS, &cfg, &r, &err) == -1 &&
               strstr(err.msg, "fixed-point overflow in the forward pass at step 0: |value| = "),
           "lr 1e8: '%s'", err.msg);
    cfg.truncate = 3;
    EXPECT(engine_run(&REVERSIBLE_OPS, &cfg, &r, &err) == -1 && strstr(err.msg, "truncation"),
           "truncation: '%s'", err.msg);
    setup_free(&s);
}

#ifdef HG_F64
/* Central differences of f = L_val(w_T) with respect to single values of
 * theta, against bptt. */
static void test_bptt_finite_differences(void)
{
    static const char *const models[] = {"logreg", "mlp-tanh"};
    for (int c = 0; c < ARRAY_LEN(models); c++) {
        const int T = 12, K[HYPER_KINDS] = {3, 2, 4};
        Setup s;
        setup_make(&s, models[c], T, K, 0, 16);
        /* differentiate at a schedule that theta describes exactly */
        double *theta = mem_alloc(MEM_OTHER, sizeof(double) * s.layout.N);
        hyper_pack(&s.layout, &s.sched, theta);
        hyper_unpack(&s.layout, theta, &s.sched);
        EngineResult b;
        if (run(&s, &BPTT_OPS, &b)) {
            mem_free(theta);
            setup_free(&s);
            continue;
        }
        real *w = mem_alloc(MEM_PARAMS, sizeof(real) * s.model->nparams);
        for (int q = 0; q < s.layout.N; q++) {
            const double h = 1e-6 * fmax(fabs(theta[q]), 1e-3);
            double f[2];
            for (int side = 0; side < 2; side++) {
                theta[q] += side ? -2 * h : h;
                hyper_unpack(&s.layout, theta, &s.sched);
                memcpy(w, s.w0, sizeof(real) * s.model->nparams);
                HgErr err;
                if (inner_train(&s.prob, &s.sched, w, &f[side], NULL, &err))
                    test_fail_at(__FILE__, __LINE__, "%s", err.msg);
            }
            theta[q] += h;
            hyper_unpack(&s.layout, theta, &s.sched);
            char what[64];
            snprintf(what, sizeof what, "%s: df/dtheta[%d]", models[c], q);
            EXPECT_REL(b.hypergrad[q], (f[0] - f[1]) / (2 * h), 1e-5, 1e-8, what);
        }
        mem_free(w);
        mem_free(theta);
        engine_result_free(&b);
        setup_free(&s);
    }
}
#endif

static void test_greedy_equals_bptt_at_T1(void)
{
    const int K[HYPER_KINDS] = {1, 1, 1};
    Setup s;
    setup_make(&s, "mlp-tanh", 1, K, 0, 16);
    EngineResult b, g;
    if (run(&s, &BPTT_OPS, &b) == 0 && run(&s, &GREEDY_OPS, &g) == 0) {
        const double e = max_rel_err_d(b.hypergrad, g.hypergrad, b.N, 0);
        EXPECT(e <= TOL_ENGINES, "T=1: greedy vs bptt max rel err %.3g", e);
        engine_result_free(&b);
        engine_result_free(&g);
    }
    setup_free(&s);
}

/* Per-step hypergradients (K = T) summed over windows = the windowed ones,
 * on a schedule whose window means equal its per-step values (constant). */
static void test_window_sums(void)
{
    const int T = 12, KT[HYPER_KINDS] = {T, T, T}, Kw[HYPER_KINDS] = {4, 3, 1};
    Setup a, w;
    setup_make(&a, "mlp-tanh", T, KT, 0, 16);
    setup_make(&w, "mlp-tanh", T, Kw, 0, 16);
    HgErr err;
    schedule_free(&a.sched);
    schedule_free(&w.sched);
    schedule_init(&a.sched, T, SCHEDULE_CONSTANT, 0.05, 0.9, 1e-3, 0, &err);
    schedule_init(&w.sched, T, SCHEDULE_CONSTANT, 0.05, 0.9, 1e-3, 0, &err);
    EngineResult pa, pw;
    if (run(&a, &BPTT_OPS, &pa) == 0 && run(&w, &BPTT_OPS, &pw) == 0) {
        double *summed = mem_alloc(MEM_OTHER, sizeof(double) * w.layout.N);
        hyper_sum_windows(&w.layout, pa.per_step, summed);
        const double e = max_rel_err_d(summed, pw.hypergrad, w.layout.N, 0);
        EXPECT(e <= TOL_ENGINES, "windowed vs summed per-step: max rel err %.3g", e);
        mem_free(summed);
        engine_result_free(&pa);
        engine_result_free(&pw);
    }
    setup_free(&a);
    setup_free(&w);
}

static void test_same_seed_same_bytes(void)
{
    const int K[HYPER_KINDS] = {5, 5, 0};
    static const EngineOps *const all[] = {&BPTT_OPS, &REVERSIBLE_OPS, &FORWARD_OPS, &GREEDY_OPS};
    for (int e = 0; e < ARRAY_LEN(all); e++) {
        const EngineOps *ops = all[e];
        Setup s1, s2;
        setup_make(&s1, "lenet", 5, K, 0.5, 4);
        setup_make(&s2, "lenet", 5, K, 0.5, 4);
        EngineResult r1, r2;
        if (run(&s1, ops, &r1) == 0 && run(&s2, ops, &r2) == 0) {
            EXPECT(!memcmp(r1.hypergrad, r2.hypergrad, sizeof(double) * r1.N) &&
                       r1.val_loss == r2.val_loss,
                   "%s: one seed twice, different bytes", ops->name);
            engine_result_free(&r1);
            engine_result_free(&r2);
        }
        setup_free(&s1);
        setup_free(&s2);
    }
}

static void test_refusals_and_divergence(void)
{
    HgErr err = {{0}};
    HyperLayout h;
    EXPECT(hyper_layout_init(&h, 10, (int[]){11, 0, 0}, &err) == -1 &&
               strstr(err.msg, "lr: 11 shared values for T = 10"),
           "K > T: '%s'", err.msg);
    Schedule sc;
    EXPECT(schedule_init(&sc, 10, SCHEDULE_CONSTANT, 0.1, 0.9, 0, -1, &err) == -1 &&
               strstr(err.msg, "clamp"),
           "negative clamp: '%s'", err.msg);
    EXPECT(engine_find("adjoint") == NULL && engine_find("bptt") == &BPTT_OPS, "registry");
    EXPECT(!strcmp(engine_names(), "bptt, reversible, forward, greedy"), "engine names '%s'",
           engine_names());

    /* a trajectory that cannot fit is refused before any work */
    const int K[HYPER_KINDS] = {1, 0, 0};
    Setup s;
    setup_make(&s, "logreg", 1, K, 0, 16);
    HyperLayout big;
    Schedule big_s;
    hyper_layout_init(&big, 100000000, K, &err);
    schedule_init(&big_s, 1, SCHEDULE_CONSTANT, 0.1, 0.9, 0, 0, &err);
    big_s.T = 100000000; /* only its length is read before the refusal */
    EngineConfig cfg = {.prob = &s.prob, .layout = &big, .sched = &big_s};
    EngineResult r;
    EXPECT(engine_run(&BPTT_OPS, &cfg, &r, &err) == -1 && strstr(err.msg, "trajectory needs"),
           "huge bptt: '%s'", err.msg);
    big_s.T = 1;
    schedule_free(&big_s);

    /* forward with nothing learned */
    const int none[HYPER_KINDS] = {0, 0, 0};
    hyper_layout_init(&s.layout, 1, none, &err);
    cfg = (EngineConfig){.prob = &s.prob, .layout = &s.layout, .sched = &s.sched};
    EXPECT(engine_run(&FORWARD_OPS, &cfg, &r, &err) == -1 && strstr(err.msg, "no hyperparameter"),
           "forward, N = 0: '%s'", err.msg);
    setup_free(&s);

    /* a learning rate that blows up is reported, not returned as a number */
    const int KT[HYPER_KINDS] = {1, 0, 0};
    Setup d;
    setup_make(&d, "mlp-relu", 30, KT, 0, 16);
    schedule_free(&d.sched);
    schedule_init(&d.sched, 30, SCHEDULE_CONSTANT, 1e200, 0.9, 0, 0, &err);
    static const EngineOps *const all[] = {&BPTT_OPS, &REVERSIBLE_OPS, &FORWARD_OPS, &GREEDY_OPS};
    for (int e = 0; e < ARRAY_LEN(all); e++) {
        const EngineOps *ops = all[e];
        cfg = (EngineConfig){.prob = &d.prob, .layout = &d.layout, .sched = &d.sched};
        err.msg[0] = 0;
        EXPECT(engine_run(ops, &cfg, &r, &err) == -1 &&
                   (strstr(err.msg, "diverged") || strstr(err.msg, "not finite") ||
                    strstr(err.msg, "fixed-point overflow")),
               "%s with lr 1e200: '%s'", ops->name, err.msg);
    }
    setup_free(&d);
}

/* ------------------------------------------------------------ trajectories, Kahan */

/* An in-memory trajectory: what bptt's record hook hands out, handed back
 * to its replay hook. */
typedef struct MemTrajectory {
    int T, recorded;
    long P, words;
    real *W, *V, *wT;
    uint64_t *M;
} MemTrajectory;

static int mem_record(void *ctx, int T, long P, const real *W, const real *V, const uint64_t *M,
                      const real *wT, HgErr *err)
{
    MemTrajectory *m = ctx;
    m->T = T;
    m->P = P;
    m->words = (P + 63) / 64;
    m->W = malloc(sizeof(real) * T * P);
    m->V = malloc(sizeof(real) * T * P);
    m->wT = malloc(sizeof(real) * P);
    memcpy(m->W, W, sizeof(real) * T * P);
    memcpy(m->V, V, sizeof(real) * T * P);
    memcpy(m->wT, wT, sizeof(real) * P);
    if (M) {
        m->M = malloc(sizeof(uint64_t) * T * m->words);
        memcpy(m->M, M, sizeof(uint64_t) * T * m->words);
    }
    m->recorded = 1;
    return 0;
}

static int mem_replay(void *ctx, int T, long P, real *W, real *V, uint64_t *M, real *wT,
                      HgErr *err)
{
    const MemTrajectory *m = ctx;
    if (!m->recorded || m->T != T || m->P != P || !M != !m->M)
        return hg_fail(err, "replay: nothing recorded for T %d, P %ld", T, P);
    memcpy(W, m->W, sizeof(real) * T * P);
    memcpy(V, m->V, sizeof(real) * T * P);
    memcpy(wT, m->wT, sizeof(real) * P);
    if (M)
        memcpy(M, m->M, sizeof(uint64_t) * T * m->words);
    return 0;
}

static void mem_trajectory_free(MemTrajectory *m)
{
    free(m->W);
    free(m->V);
    free(m->wT);
    free(m->M);
}

/* bptt's record hook sees the trajectory it differentiates (row 0 is w_0,
 * the last weights give the run's validation loss), and replaying it gives
 * the same bytes as running it; a changed trajectory changes the result, so
 * the replay is what is differentiated. Other engines refuse the hook. */
static void test_bptt_trajectory_record_replay(void)
{
    static const struct { const char *model; double clamp; } cases[] = {
        {"mlp-tanh", 0}, {"lenet", 0.05}};
    for (int c = 0; c < ARRAY_LEN(cases); c++) {
        const int T = 8, K[HYPER_KINDS] = {T, 2, 1};
        Setup s;
        setup_make(&s, cases[c].model, T, K, cases[c].clamp, 4);
        MemTrajectory mt = {0};
        const TrajectoryHook rec = {&mt, mem_record, NULL}, rep = {&mt, NULL, mem_replay};
        EngineConfig cfg = {.prob = &s.prob, .layout = &s.layout, .sched = &s.sched,
                            .trajectory = &rec};
        EngineResult a, b, d;
        HgErr err;
        const long P = s.model->nparams;
        if (engine_run(&BPTT_OPS, &cfg, &a, &err)) {
            test_fail_at(__FILE__, __LINE__, "%s: record: %s", cases[c].model, err.msg);
            setup_free(&s);
            continue;
        }
        EXPECT(mt.recorded && !memcmp(mt.W, s.w0, sizeof(real) * P) &&
                   (cases[c].clamp > 0) == (mt.M != NULL),
               "%s: recorded trajectory: row 0 is w0, masks only with a clamp", cases[c].model);
        cfg.trajectory = &rep;
        if (engine_run(&BPTT_OPS, &cfg, &b, &err) == 0) {
            EXPECT(!memcmp(a.hypergrad, b.hypergrad, sizeof(double) * a.N) &&
                       !memcmp(a.per_step[HYPER_LR], b.per_step[HYPER_LR], sizeof(double) * T) &&
                       a.val_loss == b.val_loss,
                   "%s: replay differs from the run it recorded", cases[c].model);
            engine_result_free(&b);
        } else {
            test_fail_at(__FILE__, __LINE__, "%s: replay: %s", cases[c].model, err.msg);
        }
        for (long i = 0; i < P; i++) /* v_{T/2} scaled: a different trajectory */
            mt.V[(long)(T / 2) * P + i] *= 2;
        if (engine_run(&BPTT_OPS, &cfg, &d, &err) == 0) {
            EXPECT(memcmp(a.per_step[HYPER_LR], d.per_step[HYPER_LR], sizeof(double) * T),
                   "%s: a changed trajectory replays to the same values", cases[c].model);
            engine_result_free(&d);
        }
        const EngineOps *others[] = {&FORWARD_OPS, &REVERSIBLE_OPS, &GREEDY_OPS};
        for (int e = 0; e < ARRAY_LEN(others); e++) {
            err.msg[0] = 0;
            EXPECT(engine_run(others[e], &cfg, &d, &err) == -1 && strstr(err.msg, "bptt"),
                   "%s with a trajectory hook: '%s'", others[e]->name, err.msg);
        }
        engine_result_free(&a);
        mem_trajectory_free(&mt);
        setup_free(&s);
    }
}

/* Kahan's update keeps what plain rounding drops: 1000 updates of a fifth
 * of an ulp each leave a plain w at 1 and move a compensated one by their
 * sum. Engines agree with each other on the compensated run; reversible
 * refuses it. */
static void test_kahan_update(void)
{
    const real eps = sizeof(real) == 4 ? FLT_EPSILON : DBL_EPSILON;
    enum { P = 3, STEPS = 1000 };
    real w[P], v[P], w_k[P], v_k[P], comp[P] = {0}, g[P];
    for (int i = 0; i < P; i++) {
        w[i] = w_k[i] = 1;
        v[i] = v_k[i] = 0;
        g[i] = (real)(0.2 * eps);
    }
    for (int t = 0; t < STEPS; t++) {
        inner_update(w, v, NULL, g, P, 1, 0, 0);
        inner_update(w_k, v_k, comp, g, P, 1, 0, 0);
    }
    const double want = 1 - STEPS * (double)g[0];
    EXPECT(w[0] == 1, "plain update: %.17g, expected the tiny steps rounded away", (double)w[0]);
    EXPECT(fabs(w_k[0] - want) <= 2 * eps * want, "Kahan update: %.17g, expected %.17g",
           (double)w_k[0], want);

    const int T = 20, K[HYPER_KINDS] = {4, 2, 1};
    Setup s;
    setup_make(&s, "mlp-tanh", T, K, 0.05, 16);
    EngineResult plain, b, f;
    if (run(&s, &BPTT_OPS, &plain) == 0) {
        s.prob.kahan = 1;
        if (run(&s, &BPTT_OPS, &b) == 0 && run(&s, &FORWARD_OPS, &f) == 0) {
            const double e = max_rel_err_d(b.hypergrad, f.hypergrad, b.N, 0);
            EXPECT(e <= TOL_ENGINES, "Kahan: bptt vs forward max rel err %.3g", e);
            EXPECT(b.val_loss == f.val_loss, "Kahan: val loss %.17g vs %.17g", b.val_loss,
                   f.val_loss);
            EXPECT(rel_err(b.val_loss, plain.val_loss, 0) <= 1e3 * eps,
                   "Kahan changes the run by more than rounding: %.17g vs %.17g", b.val_loss,
                   plain.val_loss);
            printf("# Kahan vs plain validation loss, mlp-tanh T = %d: %.3g relative\n", T,
                   rel_err(b.val_loss, plain.val_loss, 0));
            engine_result_free(&b);
            engine_result_free(&f);
        }
        EngineConfig cfg = {.prob = &s.prob, .layout = &s.layout, .sched = &s.sched};
        HgErr err = {{0}};
        EngineResult r;
        EXPECT(engine_run(&REVERSIBLE_OPS, &cfg, &r, &err) == -1 && strstr(err.msg, "kahan"),
               "reversible with Kahan: '%s'", err.msg);
        engine_result_free(&plain);
    }
    setup_free(&s);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_engines_agree),            TEST(test_reversible_buffer),
        TEST(test_reversible_refusals),
#ifdef HG_F64
        TEST(test_bptt_finite_differences),
#endif
        TEST(test_greedy_equals_bptt_at_T1), TEST(test_window_sums),
        TEST(test_same_seed_same_bytes),     TEST(test_refusals_and_divergence),
        TEST(test_bptt_trajectory_record_replay), TEST(test_kahan_update),
    };
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
