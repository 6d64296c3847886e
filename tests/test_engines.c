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
#include "support_device.h"
#include "support_models.h"
#include "test.h"

/* Two engines computing the same derivative, compared per kind of theta
 * against that kind's own scale (kind_err); each tolerance is about 10x the
 * gap measured here (the tests print it). TOL_FORWARD and TOL_REVERSIBLE per
 * kind (lr, mom, wd) in test_engines_agree. */
#ifdef HG_F64
#define TOL_T1 6e-15    /* greedy = bptt at T = 1: measured 5.9e-16 */
#define TOL_KAHAN 1e-14 /* bptt = forward with --kahan: measured 8.9e-16 */
/* measured (lr, mom, wd): forward 2.2e-14, 8e-15, 1.1e-14 */
static const double TOL_FORWARD[HYPER_KINDS] = {2e-13, 1e-13, 1e-13};
/* measured 5.8e-11, 5.9e-11, 5.9e-11: fixed point, radix 2^-44 */
static const double TOL_REVERSIBLE[HYPER_KINDS] = {6e-10, 6e-10, 6e-10};
#else
#define TOL_T1 5e-6     /* measured 4.8e-7 */
#define TOL_KAHAN 2e-7  /* measured 1.4e-8 */
/* measured (lr, mom, wd): forward 2.8e-7, 9.5e-7, 8.5e-7 */
static const double TOL_FORWARD[HYPER_KINDS] = {3e-6, 1e-5, 1e-5};
/* measured 3e-6, 3.6e-6, 2.1e-6 */
static const double TOL_REVERSIBLE[HYPER_KINDS] = {3e-5, 4e-5, 2e-5};
#endif

typedef EngineCase Setup;

/* A model on seeded synthetic data shaped for it (s holds pointers into
 * itself: it stays where it was made). */
static void setup_make(Setup *sp, const char *model, int T, const int K[HYPER_KINDS],
                       double clamp, int batch)
{
    engine_case_make(sp, model, batch * 8 + 32, 32, T, K, clamp, batch, 0);
}

/* Each learned kind of theta against its own scale: the largest over kinds
 * of max|a - b| / max|a| within that kind's entries (a wd entry is ~1% of
 * an lr entry, so one scale for all would hide a wrong wd). */
static double kind_err(const HyperLayout *h, const double *a, const double *b)
{
    double e = 0;
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k])
            e = fmax(e, max_rel_err_d(a + h->offset[k], b + h->offset[k], h->K[k], 0));
    return e;
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
    double worst_f[HYPER_KINDS] = {0}, worst_r[HYPER_KINDS] = {0};
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
                    for (int k = 0; k < HYPER_KINDS; k++) {
                        const int o = s.layout.offset[k], n = s.layout.K[k];
                        const double e = max_rel_err_d(b.hypergrad + o, f.hypergrad + o, n, 0);
                        const double er = max_rel_err_d(b.hypergrad + o, r.hypergrad + o, n, 0);
                        EXPECT(e <= TOL_FORWARD[k], "%s T=%d K=%d clamp=%d %s: bptt vs forward "
                               "max rel err %.3g", cases[c].model, T, ks[q], clamped,
                               hyper_kind_name(k), e);
                        EXPECT(er <= TOL_REVERSIBLE[k], "%s T=%d K=%d clamp=%d %s: bptt vs "
                               "reversible max rel err %.3g", cases[c].model, T, ks[q], clamped,
                               hyper_kind_name(k), er);
                        worst_f[k] = fmax(worst_f[k], e);
                        worst_r[k] = fmax(worst_r[k], er);
                    }
                    EXPECT(b.val_loss == f.val_loss, "%s: val loss %.17g vs %.17g",
                           cases[c].model, b.val_loss, f.val_loss);
                    engine_result_free(&b);
                    engine_result_free(&f);
                    engine_result_free(&r);
                }
                engine_case_free(&s);
            }
    }
    for (int k = 0; k < HYPER_KINDS; k++)
        printf("# largest gap to bptt, %s against its own scale: forward %.2g, reversible %.2g\n",
               hyper_kind_name(k), worst_f[k], worst_r[k]);
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
        engine_case_free(&s);
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
    engine_case_free(&s);
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
        engine_case_free(&s);
    }
    Setup s;
    setup_make(&s, "logreg", 5, K, 0, 16);
    schedule_free(&s.sched);
    schedule_init(&s.sched, 5, SCHEDULE_CONSTANT, 1e8, 0.9, 0, 0, &err);
    EngineConfig cfg = {.prob = &s.prob, .layout = &s.layout, .sched = &s.sched};
    EXPECT(engine_run(&REVERSIBLE_OPS, &cfg, &r, &err) == -1 &&
               strstr(err.msg, "fixed-point overflow in the forward pass at step 0: |value| = "),
           "lr 1e8: '%s'", err.msg);
    cfg.opt.truncate = 3;
    EXPECT(engine_run(&REVERSIBLE_OPS, &cfg, &r, &err) == -1 && strstr(err.msg, "--truncate") &&
               strstr(err.msg, "bptt"),
           "truncation: '%s'", err.msg);
    engine_case_free(&s);
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
            engine_case_free(&s);
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
        engine_case_free(&s);
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
        const double e = kind_err(&s.layout, b.hypergrad, g.hypergrad);
        EXPECT(e <= TOL_T1, "T=1: greedy vs bptt max rel err (per kind) %.3g", e);
        printf("# T = 1: greedy vs bptt, per kind: %.2g\n", e);
        engine_result_free(&b);
        engine_result_free(&g);
    }
    engine_case_free(&s);
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
        const double e = kind_err(&w.layout, summed, pw.hypergrad);
        /* the same per-step values summed the same way: exact (measured 0) */
        EXPECT(e == 0, "windowed vs summed per-step: max rel err (per kind) %.3g", e);
        printf("# windowed vs summed per-step, per kind: %.2g\n", e);
        mem_free(summed);
        engine_result_free(&pa);
        engine_result_free(&pw);
    }
    engine_case_free(&a);
    engine_case_free(&w);
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
        engine_case_free(&s1);
        engine_case_free(&s2);
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
    EXPECT(!strcmp(engine_names(), "bptt, reversible, forward, greedy, checkpoint"),
           "engine names '%s'",
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
    EXPECT(engine_run(&BPTT_OPS, &cfg, &r, &err) == -1 && strstr(err.msg, "bptt: the trajectory") &&
               strstr(err.msg, "GiB but only") && strstr(err.msg, "GiB is"),
           "huge bptt: '%s'", err.msg);
    /* the same estimate and refusal for every caller, owned by the engine */
    EngineState st;
    err.msg[0] = 0;
    EXPECT(engine_check_state(&FORWARD_OPS, 1000000, &(EngineOptions){.T = 10, .N = 100000}, 0, &st, &err) == -1 &&
               strstr(err.msg, "forward: the tangents") && st.bytes > 7e11,
           "huge forward: %g bytes, '%s'", st.bytes, err.msg);
    EXPECT(engine_check_state(&BPTT_OPS, 100, &(EngineOptions){.T = 10, .N = 1}, 1, &st, &err) == 0 &&
               st.bytes == (double)bptt_trajectory_bytes(100, 10, 1) && strstr(st.what, "clamp"),
           "small bptt: %g bytes, '%s'", st.bytes, st.what);
    EXPECT(engine_check_state(&GREEDY_OPS, 1000000, &(EngineOptions){.T = 100000000, .N = 1}, 0, &st, &err) == 0 &&
               st.bytes == 0 && engine_check_state(&REVERSIBLE_OPS, 1, &(EngineOptions){.T = 1, .N = 1}, 0, &st, &err) == 0,
           "greedy and reversible keep no growing state");
    big_s.T = 1;
    schedule_free(&big_s);

    /* forward with nothing learned */
    const int none[HYPER_KINDS] = {0, 0, 0};
    hyper_layout_init(&s.layout, 1, none, &err);
    cfg = (EngineConfig){.prob = &s.prob, .layout = &s.layout, .sched = &s.sched};
    EXPECT(engine_run(&FORWARD_OPS, &cfg, &r, &err) == -1 && strstr(err.msg, "nothing is learned"),
           "forward, N = 0: '%s'", err.msg);
    engine_case_free(&s);

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
    engine_case_free(&d);
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
            engine_case_free(&s);
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
        engine_case_free(&s);
    }
}

/* The hooks of a device run: the arrays handed to them must be host memory. */
static int saw_device_memory;

static int dev_record(void *ctx, int T, long P, const real *W, const real *V, const uint64_t *M,
                      const real *wT, HgErr *err)
{
    saw_device_memory |= fake_device_owns(W) || fake_device_owns(V) || fake_device_owns(wT) ||
                         (M && fake_device_owns(M));
    return mem_record(ctx, T, P, W, V, M, wT, err);
}

static int dev_replay(void *ctx, int T, long P, real *W, real *V, uint64_t *M, real *wT,
                      HgErr *err)
{
    saw_device_memory |= fake_device_owns(W) || fake_device_owns(V) || fake_device_owns(wT) ||
                         (M && fake_device_owns(M));
    return mem_replay(ctx, T, P, W, V, M, wT, err);
}

static int same_result(const EngineResult *a, const EngineResult *b, int T)
{
    return !memcmp(a->hypergrad, b->hypergrad, sizeof(double) * a->N) &&
           !memcmp(a->per_step[HYPER_LR], b->per_step[HYPER_LR], sizeof(double) * T) &&
           a->val_loss == b->val_loss;
}

/* On a device backend bptt hands its hook host copies of the trajectory
 * (engine.h): on the fake device (the CPU's kernels, its memory a device's)
 * the hook sees no device pointer, records the CPU's bytes, and replaying
 * them (uploaded) differentiates to the CPU run's bytes. With and without
 * clamp masks. */
static void test_bptt_trajectory_device_staging(void)
{
    static const struct { const char *model; double clamp; } cases[] = {
        {"mlp-tanh", 0}, {"lenet", 0.05}};
    for (int c = 0; c < ARRAY_LEN(cases); c++) {
        const int T = 6, K[HYPER_KINDS] = {T, 2, 1};
        Setup s;
        setup_make(&s, cases[c].model, T, K, cases[c].clamp, 4);
        const long P = s.model->nparams, words = (P + 63) / 64;
        MemTrajectory cpu = {0}, dev = {0};
        const TrajectoryHook rec_cpu = {&cpu, mem_record, NULL},
                             rec_dev = {&dev, dev_record, NULL}, rep_dev = {&dev, NULL, dev_replay};
        EngineConfig cfg = {.prob = &s.prob, .layout = &s.layout, .sched = &s.sched,
                            .trajectory = &rec_cpu};
        EngineResult a, b, d;
        HgErr err;
        const int ok_cpu = engine_run(&BPTT_OPS, &cfg, &a, &err) == 0;
        EXPECT(ok_cpu, "%s: cpu record: %s", cases[c].model, err.msg);
        model_set_backend(s.model, fake_device());
        saw_device_memory = 0;
        const size_t down0 = fake_device_downloaded(), up0 = fake_device_uploaded();
        const size_t moved = sizeof(real) * (size_t)(2 * T + 1) * P +
                             (cases[c].clamp > 0 ? sizeof(uint64_t) * T * words : 0);
        cfg.trajectory = &rec_dev;
        if (ok_cpu && engine_run(&BPTT_OPS, &cfg, &b, &err) == 0) {
            EXPECT(!saw_device_memory && fake_device_downloaded() - down0 >= moved,
                   "%s: record on a device: the hook saw device memory, or %zu of %zu bytes "
                   "downloaded", cases[c].model, fake_device_downloaded() - down0, moved);
            EXPECT(dev.recorded && !memcmp(dev.W, cpu.W, sizeof(real) * T * P) &&
                       !memcmp(dev.V, cpu.V, sizeof(real) * T * P) &&
                       !memcmp(dev.wT, cpu.wT, sizeof(real) * P) && !dev.M == !cpu.M &&
                       (!dev.M || !memcmp(dev.M, cpu.M, sizeof(uint64_t) * T * words)) &&
                       same_result(&a, &b, T),
                   "%s: the device run records other bytes than the CPU's", cases[c].model);
            engine_result_free(&b);
            cfg.trajectory = &rep_dev;
            if (engine_run(&BPTT_OPS, &cfg, &d, &err) == 0) {
                EXPECT(!saw_device_memory && fake_device_uploaded() - up0 >= moved &&
                           same_result(&a, &d, T),
                       "%s: replay on a device: device memory seen, %zu of %zu bytes "
                       "uploaded, or other bytes than the CPU run", cases[c].model,
                       fake_device_uploaded() - up0, moved);
                engine_result_free(&d);
            } else {
                test_fail_at(__FILE__, __LINE__, "%s: device replay: %s", cases[c].model,
                             err.msg);
            }
        } else if (ok_cpu) {
            test_fail_at(__FILE__, __LINE__, "%s: device record: %s", cases[c].model, err.msg);
        }
        model_set_backend(s.model, &BACKEND_CPU); /* frees the fake device's workspace */
        if (ok_cpu)
            engine_result_free(&a);
        mem_trajectory_free(&cpu);
        mem_trajectory_free(&dev);
        engine_case_free(&s);
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
        BACKEND_CPU.vec.sgd_step(w, v, NULL, g, P, 1, 0, 0);
        BACKEND_CPU.vec.sgd_step(w_k, v_k, comp, g, P, 1, 0, 0);
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
            const double e = kind_err(&s.layout, b.hypergrad, f.hypergrad);
            EXPECT(e <= TOL_KAHAN, "Kahan: bptt vs forward max rel err (per kind) %.3g", e);
            printf("# Kahan: bptt vs forward, per kind: %.2g\n", e);
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
    engine_case_free(&s);
}

/* ------------------------------------------------------------ engine options */

/* --truncate K: the per-step values of the last K steps are the full run's,
 * bit for bit, the earlier ones 0, and each window's value is the sum of
 * its truncated per-step values (measured gap: 0). */
static void test_bptt_truncate_is_the_truncated_sum(void)
{
    const int T = 12, KEEP = 5, KT[HYPER_KINDS] = {T, T, T}, Kw[HYPER_KINDS] = {3, 2, T};
    Setup a, w;
    setup_make(&a, "mlp-tanh", T, KT, 0.05, 16);
    setup_make(&w, "mlp-tanh", T, Kw, 0.05, 16);
    HgErr err;
    /* constant: window means equal per-step values, so both layouts run one problem */
    schedule_free(&a.sched);
    schedule_free(&w.sched);
    schedule_init(&a.sched, T, SCHEDULE_CONSTANT, 0.05, 0.9, 1e-3, 0.05, &err);
    schedule_init(&w.sched, T, SCHEDULE_CONSTANT, 0.05, 0.9, 1e-3, 0.05, &err);
    EngineResult full = {0}, tr = {0};
    err = (HgErr){{0}};
    EngineConfig cfg = {.prob = &w.prob, .layout = &w.layout, .sched = &w.sched,
                        .opt.truncate = KEEP};
    if (run(&a, &BPTT_OPS, &full) == 0 && engine_run(&BPTT_OPS, &cfg, &tr, &err) == 0) {
        for (int k = 0; k < HYPER_KINDS; k++)
            for (int t = 0; t < T - KEEP; t++)
                full.per_step[k][t] = 0;
        double *want = mem_alloc(MEM_OTHER, sizeof(double) * w.layout.N);
        hyper_sum_windows(&w.layout, full.per_step, want);
        EXPECT(!memcmp(want, tr.hypergrad, sizeof(double) * w.layout.N),
               "truncated windows differ from the sums of the last %d per-step values", KEEP);
        EXPECT(!memcmp(full.per_step[HYPER_WD], tr.per_step[HYPER_WD], sizeof(double) * T),
               "truncated per-step values are not the full run's last %d and zeros", KEEP);
        int nonzero = 0;
        for (int q = 0; q < w.layout.N; q++)
            nonzero += tr.hypergrad[q] != 0;
        EXPECT(nonzero > 0, "truncation left nothing");
        mem_free(want);
        engine_result_free(&tr);
    } else {
        test_fail_at(__FILE__, __LINE__, "truncated run: %s", err.msg);
    }
    if (full.hypergrad)
        engine_result_free(&full);
    engine_case_free(&a);
    engine_case_free(&w);
}

/* Greedy's per-step values at T > 1 against their definition: with w_t, v_t
 * held, the central difference of the look-ahead loss f_t(w_t - a (m v_t +
 * g_t + l w_t)) in a, m and l, on the validation set and (HD) on the next
 * training batch. The inner run is unrolled here with the harness's own
 * steps. Float64 only (the differences need it). */
#ifdef HG_F64
#define TOL_GREEDY_FD 1e-5 /* measured worst 7.1e-7 (mlp-tanh, T = 6) */
static double look_ahead(Setup *s, const real *w, const real *v, const real *g, double a,
                         double m, double l, const real *x, const int32_t *y, int n, real *tmp)
{
    const long P = s->model->nparams;
    for (long i = 0; i < P; i++)
        tmp[i] = w[i] - (real)a * ((real)m * v[i] + g[i] + (real)l * w[i]);
    double loss, acc;
    model_evaluate(s->model, tmp, x, y, n, &loss, &acc);
    return loss;
}

static void test_greedy_is_its_definition(void)
{
    const int T = 6, K[HYPER_KINDS] = {T, T, T};
    double worst = 0;
    for (int on_train = 0; on_train < 2; on_train++) {
        Setup s;
        setup_make(&s, "mlp-tanh", T, K, 0.05, 16);
        EngineConfig cfg = {.prob = &s.prob, .layout = &s.layout, .sched = &s.sched,
                            .opt.greedy_on_train = on_train};
        EngineResult r;
        HgErr err;
        if (engine_run(&GREEDY_OPS, &cfg, &r, &err)) {
            test_fail_at(__FILE__, __LINE__, "greedy: %s", err.msg);
            engine_case_free(&s);
            continue;
        }
        const long P = s.model->nparams, dim = dataset_dim(s.prob.train);
        BatchOrder bo;
        inner_batches(&s.prob, &bo, &err);
        real *w = mem_alloc(MEM_PARAMS, sizeof(real) * P), *v = mem_alloc(MEM_PARAMS, sizeof(real) * P);
        real *g = mem_alloc(MEM_PARAMS, sizeof(real) * P), *tmp = mem_alloc(MEM_PARAMS, sizeof(real) * P);
        real *x = mem_alloc(MEM_DATA, sizeof(real) * 16 * dim), *xn = mem_alloc(MEM_DATA, sizeof(real) * 16 * dim);
        int32_t *y = mem_alloc(MEM_DATA, sizeof(int32_t) * 16), *yn = mem_alloc(MEM_DATA, sizeof(int32_t) * 16);
        memcpy(w, s.w0, sizeof(real) * P);
        for (int t = 0; t < T; t++) {
            const double hp[HYPER_KINDS] = {s.sched.v[HYPER_LR][t], s.sched.v[HYPER_MOM][t],
                                            s.sched.v[HYPER_WD][t]};
            inner_batch(&s.prob, &bo, t, x, y);
            model_loss_grad(s.model, w, x, y, 16, g);
            BACKEND_CPU.vec.clamp(g, P, s.sched.clamp, NULL);
            const real *fx = s.prob.val->x;
            const int32_t *fy = s.prob.val->y;
            int fn = s.prob.val->n;
            if (on_train) {
                inner_batch(&s.prob, &bo, t + 1, xn, yn);
                fx = xn, fy = yn, fn = 16;
            }
            for (int k = 0; k < HYPER_KINDS; k++) {
                const double h = 1e-4 * fmax(hp[k], 1e-2); /* rounding ~ 1e-16 / h */
                double up[HYPER_KINDS], dn[HYPER_KINDS];
                memcpy(up, hp, sizeof up);
                memcpy(dn, hp, sizeof dn);
                up[k] += h;
                dn[k] -= h;
                const double fd = (look_ahead(&s, w, v, g, up[0], up[1], up[2], fx, fy, fn, tmp) -
                                   look_ahead(&s, w, v, g, dn[0], dn[1], dn[2], fx, fy, fn, tmp)) /
                                  (2 * h);
                const double e = rel_err(r.per_step[k][t], fd, 1e-8);
                worst = fmax(worst, e);
                EXPECT(e <= TOL_GREEDY_FD, "greedy%s %s step %d: %.12g vs central difference %.12g",
                       on_train ? " (train)" : "", hyper_kind_name(k), t, r.per_step[k][t], fd);
            }
            BACKEND_CPU.vec.sgd_step(w, v, NULL, g, P, hp[0], hp[1], hp[2]);
        }
        batch_order_free(&bo);
        mem_free(w);
        mem_free(v);
        mem_free(g);
        mem_free(tmp);
        mem_free(x);
        mem_free(xn);
        mem_free(y);
        mem_free(yn);
        engine_result_free(&r);
        engine_case_free(&s);
    }
    printf("# greedy vs central differences of its look-ahead loss: worst rel err %.2g\n", worst);
}
#endif

/* Online HD (greedy_online_lr) against two steps unrolled by hand: the
 * shared learning rate moves by -beta h_0 before step 1 uses it (measured
 * gap: 0, the same operations in the same order). */
static void test_greedy_online_two_steps(void)
{
    const int T = 2, K[HYPER_KINDS] = {1, 0, 0};
    const double beta = 0.3;
    Setup s;
    setup_make(&s, "mlp-tanh", T, K, 0, 16);
    HgErr err;
    schedule_free(&s.sched);
    schedule_init(&s.sched, T, SCHEDULE_CONSTANT, 0.05, 0.9, 1e-3, 0, &err);
    EngineConfig cfg = {.prob = &s.prob, .layout = &s.layout, .sched = &s.sched,
                        .opt.greedy_online_lr = beta};
    EngineResult r;
    if (engine_run(&GREEDY_OPS, &cfg, &r, &err)) {
        test_fail_at(__FILE__, __LINE__, "online greedy: %s", err.msg);
        engine_case_free(&s);
        return;
    }
    const long P = s.model->nparams, dim = dataset_dim(s.prob.train);
    BatchOrder bo;
    inner_batches(&s.prob, &bo, &err);
    real *w = mem_alloc(MEM_PARAMS, sizeof(real) * P), *v = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *g = mem_alloc(MEM_PARAMS, sizeof(real) * P), *gf = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *x = mem_alloc(MEM_DATA, sizeof(real) * 16 * dim);
    int32_t *y = mem_alloc(MEM_DATA, sizeof(int32_t) * 16);
    memcpy(w, s.w0, sizeof(real) * P);
    double a = s.sched.v[HYPER_LR][0], h[2] = {0}, loss = 0, acc;
    for (int t = 0; t < T; t++) {
        inner_batch(&s.prob, &bo, t, x, y);
        model_loss_grad(s.model, w, x, y, 16, g);
        BACKEND_CPU.vec.sgd_step(w, v, NULL, g, P, a, 0.9, 1e-3);
        model_set_grad(s.model, w, s.prob.val->x, s.prob.val->y, s.prob.val->n, gf, NULL, NULL);
        h[t] = -BACKEND_CPU.vec.dot(gf, v, P);
        a -= beta * h[t]; /* the value step t + 1 uses */
    }
    model_evaluate(s.model, w, s.prob.val->x, s.prob.val->y, s.prob.val->n, &loss, &acc);
    EXPECT(r.per_step[HYPER_LR][0] == h[0] && r.per_step[HYPER_LR][1] == h[1] &&
               r.val_loss == loss && h[0] != 0,
           "online HD: per-step %.17g %.17g, val loss %.17g; by hand %.17g %.17g, %.17g",
           r.per_step[HYPER_LR][0], r.per_step[HYPER_LR][1], r.val_loss, h[0], h[1], loss);
    /* and the online run is not the offline one */
    EngineResult off;
    cfg.opt.greedy_online_lr = 0;
    if (engine_run(&GREEDY_OPS, &cfg, &off, &err) == 0) {
        EXPECT(off.val_loss != r.val_loss, "online and offline greedy ran the same schedule");
        engine_result_free(&off);
    }
    batch_order_free(&bo);
    mem_free(w);
    mem_free(v);
    mem_free(g);
    mem_free(gf);
    mem_free(x);
    mem_free(y);
    engine_result_free(&r);
    engine_case_free(&s);
}

/* Each engine refuses, before any work, exactly the options it does not own
 * (engine.h's check): truncation and trajectories are bptt's, the greedy
 * flags greedy's; Kahan is refused by reversible alone; forward needs
 * something learned. */
static void test_engine_option_checks(void)
{
    static const struct {
        const char *what;
        int N, kahan, trajectory;
        EngineSettings opt;
        const char *takers;
    } cases[] = {
        {"truncate", 1, 0, 0, {.truncate = 3}, "bptt"},
        {"greedy target", 1, 0, 0, {.greedy_on_train = 1}, "greedy"},
        {"greedy online", 1, 0, 0, {.greedy_online_lr = 0.1}, "greedy"},
        {"trajectory", 1, 0, 1, {0}, "bptt"},
        {"kahan", 1, 1, 0, {0}, "bptt forward greedy"},
        {"nothing learned", 0, 0, 0, {0}, "bptt reversible greedy"},
        {"truncate > T", 1, 0, 0, {.truncate = 11}, ""},
        {"plain", 1, 0, 0, {0}, "bptt reversible forward greedy"},
    };
    const EngineOps *all[] = {&BPTT_OPS, &REVERSIBLE_OPS, &FORWARD_OPS, &GREEDY_OPS};
    for (int c = 0; c < ARRAY_LEN(cases); c++)
        for (int e = 0; e < ARRAY_LEN(all); e++) {
            HgErr err = {{0}};
            EngineOptions o = engine_options_plain(10, cases[c].N);
            o.kahan = cases[c].kahan;
            o.trajectory = cases[c].trajectory;
            o.opt = cases[c].opt;
            o.asked = engine_options_set(&o.opt);
            const int takes = strstr(cases[c].takers, all[e]->name) != NULL;
            const int rc = all[e]->check ? all[e]->check(&o, &err) : 0;
            EXPECT((rc == 0) == takes && (takes || err.msg[0]), "%s with %s: rc %d, '%s'",
                   all[e]->name, cases[c].what, rc, err.msg);
        }
}

int main(int argc, char **argv)
{
    fake_device_passive_omp(argv); /* the device staging test's fake device */
    static const TestCase tests[] = {
        TEST(test_engines_agree),            TEST(test_reversible_buffer),
        TEST(test_reversible_refusals),
        TEST_F64_ONLY(test_bptt_finite_differences,
                      "float32: central differences of the validation loss are swamped by rounding; bptt is held to forward and reversible instead (test_engines_agree)"),
        TEST(test_greedy_equals_bptt_at_T1), TEST(test_window_sums),
        TEST(test_same_seed_same_bytes),     TEST(test_refusals_and_divergence),
        TEST(test_bptt_trajectory_record_replay), TEST(test_bptt_trajectory_device_staging),
        TEST(test_kahan_update),
        TEST(test_bptt_truncate_is_the_truncated_sum),
        TEST_F64_ONLY(test_greedy_is_its_definition,
                      "float32: central differences of the look-ahead loss are swamped by "
                      "rounding"),
        TEST(test_greedy_online_two_steps),  TEST(test_engine_option_checks),
    };
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
