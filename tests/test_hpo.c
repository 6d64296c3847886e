/* test_hpo.c — the HPO outer loop (harness/hpo.h), seen through its per-step
 * callback, without parsing any text.
 *
 * A 3-outer-step loop on a tiny synthetic logreg problem (problem.h) with
 * bptt hypergradients: the callback sees outer steps 0, 1, 2 and the final
 * evaluation, in order; each hypergradient is the one an engine run on that
 * step's theta gives (bit for bit); theta_{k+1} = theta_k - lr g_k (sgd,
 * bounds: >= 0) and theta_1 = theta_0 - step sign(g_0) (sign), computed here
 * by hand; the final entry is a plain training run of theta_3; times are
 * nonnegative, the norm is |g|, best is the highest validation accuracy.
 * With a made-up hypergradient: patience stops the loop, a failed run stops
 * it with its message (and "diverged" for a divergence), and the log keeps
 * only complete entries.
 */
#include <math.h>
#include <string.h>

#include "../common/mem.h"
#include "../engines/engine.h"
#include "../harness/hpo.h"
#include "../harness/problem.h"
#include "test.h"

#define S_MAX 8
#define N_MAX 4

typedef struct Seen {
    int N;      /* the layout's: entries of theta and grad to copy */
    int n;
    HpoStep steps[S_MAX];
    double theta[S_MAX][N_MAX], grad[S_MAX][N_MAX];
    char msg[256];
} Seen;

static void record(void *ctx, const HpoStep *e)
{
    Seen *s = ctx;
    HG_CHECK(s->n < S_MAX, "too many steps");
    s->steps[s->n] = *e;
    for (int i = 0; i < N_MAX; i++) {
        s->theta[s->n][i] = e->theta && i < s->N ? e->theta[i] : NAN;
        s->grad[s->n][i] = e->grad && i < s->N ? e->grad[i] : NAN;
    }
    if (e->msg)
        snprintf(s->msg, sizeof s->msg, "%s", e->msg);
    s->n++;
}

typedef struct EngineCtx {
    const EngineOps *ops;
    EngineConfig cfg;
    int wT_asked; /* calls that were handed a w_T to fill */
} EngineCtx;

static int engine_grad(void *ctx, const Schedule *sched, double *grad, double *val_loss,
                       double *val_acc, double *time_s, real *wT, HgErr *err)
{
    EngineCtx *c = ctx;
    EngineConfig cfg = c->cfg;
    cfg.sched = sched;
    cfg.wT = wT;
    c->wT_asked += wT != NULL;
    EngineResult r;
    if (engine_run(c->ops, &cfg, &r, err))
        return -1;
    memcpy(grad, r.hypergrad, sizeof(double) * (size_t)r.N);
    *val_loss = r.val_loss;
    *val_acc = r.val_acc;
    *time_s = r.time_s;
    engine_result_free(&r);
    return 0;
}

typedef struct Tiny {
    Problem pb;
    HyperLayout layout;
    Schedule sched;
    double theta0[N_MAX];
} Tiny;

static void tiny_init(Tiny *t)
{
    ProblemSpec s = problem_spec_defaults();
    s.model = "logreg";
    s.data = "synthetic:8";
    s.steps = 6;
    s.batch = 4;
    s.val = 16;
    s.seed = 2;
    HgErr err = {{0}};
    HG_CHECK(problem_load(&s, &t->pb, &err) == 0, "%s", err.msg);
    const int K[HYPER_KINDS] = {2, 1, 0}; /* lr in 2 windows, one momentum */
    HG_CHECK(hyper_layout_init(&t->layout, 6, K, &err) == 0 &&
                 schedule_init(&t->sched, 6, SCHEDULE_CONSTANT, 0.1, 0.5, 1e-3, 0, &err) == 0,
             "%s", err.msg);
    hyper_pack(&t->layout, &t->sched, t->theta0);
}

static void tiny_free(Tiny *t)
{
    schedule_free(&t->sched);
    problem_free(&t->pb);
}

static HpoConfig tiny_config(Tiny *t, EngineCtx *ec, Seen *seen, OuterKind kind)
{
    seen->N = t->layout.N;
    *ec = (EngineCtx){.ops = engine_find("bptt"),
                      .cfg = {.prob = &t->pb.inner, .layout = &t->layout, .sched = &t->sched}};
    HpoConfig c = {.prob = &t->pb.inner, .layout = &t->layout, .outer = outer_defaults(),
                   .outer_steps = 3, .hypergrad = engine_grad, .hypergrad_ctx = ec,
                   .on_step = record, .ctx = seen};
    c.outer.kind = kind;
    c.outer.lr = 0.01;
    return c;
}

static void test_three_sgd_steps(void)
{
    Tiny t;
    tiny_init(&t);
    Seen seen = {0};
    EngineCtx ec;
    const HpoConfig c = tiny_config(&t, &ec, &seen, OUTER_SGD);
    Hpo h;
    HgErr err = {{0}};
    HG_CHECK(hpo_init(&h, &c, t.theta0, &t.sched, &err) == 0, "%s", err.msg);
    hpo_run(&h);
    const int N = t.layout.N;
    EXPECT(N == 3 && seen.n == 4 && h.nlog == 4 && h.stop == HPO_COMPLETED,
           "N %d, %d steps seen, %d logged, stop %d", N, seen.n, h.nlog, h.stop);
    for (int k = 0; k < seen.n; k++) {
        const HpoStep *e = &seen.steps[k];
        EXPECT(e->outer == k && e->status == (k < 3 ? HPO_STEP_OK : HPO_STEP_FINAL),
               "step %d: outer %d status %d", k, e->outer, e->status);
        EXPECT(e->time_s >= 0 && e->engine_time_s >= 0 && (k == 3 || e->time_s >= e->engine_time_s)
                   && isfinite(e->val_loss) && e->val_acc >= 0 && e->val_acc <= 1,
               "step %d: times %g %g, val %g %g", k, e->time_s, e->engine_time_s, e->val_loss,
               e->val_acc);
        /* the log holds what the callback saw */
        EXPECT(!memcmp(h.log[k].theta, seen.theta[k], sizeof(double) * N) &&
                   h.log[k].val_acc == e->val_acc,
               "log entry %d", k);
    }
    EXPECT(!memcmp(seen.theta[0], t.theta0, sizeof(double) * N), "theta_0 is the initial one");
    for (int k = 0; k < 3; k++) {
        /* the hypergradient: an engine run on theta_k's schedule, bit for bit */
        Schedule sk;
        HG_CHECK(schedule_init(&sk, 6, SCHEDULE_CONSTANT, 0.1, 0.5, 1e-3, 0, &err) == 0, "%s",
                 err.msg);
        hyper_unpack(&t.layout, seen.theta[k], &sk);
        double g[N_MAX], vl, va, ts;
        EngineCtx one = ec;
        HG_CHECK(engine_grad(&one, &sk, g, &vl, &va, &ts, NULL, &err) == 0, "%s", err.msg);
        EXPECT(!memcmp(g, seen.grad[k], sizeof(double) * N) && vl == seen.steps[k].val_loss &&
                   va == seen.steps[k].val_acc,
               "step %d: the hypergradient of theta_%d", k, k);
        double norm = 0;
        for (int i = 0; i < N; i++)
            norm += g[i] * g[i];
        EXPECT(seen.steps[k].hg_norm == sqrt(norm), "step %d: |g|", k);
        schedule_free(&sk);
        /* sgd, bounded: theta_{k+1} = max(theta_k - lr g_k, lower bound) */
        for (int i = 0; i < N; i++) {
            double want = seen.theta[k][i] - 0.01 * seen.grad[k][i];
            want = want < 0 ? 0 : want;
            if (i == t.layout.offset[HYPER_MOM])
                want = want > OUTER_MOM_MAX ? OUTER_MOM_MAX : want;
            EXPECT(seen.theta[k + 1][i] == want, "theta_%d[%d] = %.17g, by hand %.17g", k + 1, i,
                   seen.theta[k + 1][i], want);
        }
    }
    /* the final entry: a plain training run of theta_3 */
    hyper_unpack(&t.layout, seen.theta[3], &t.sched);
    real *w = mem_alloc(MEM_OTHER, sizeof(real) * t.pb.model->nparams);
    memcpy(w, t.pb.w0, sizeof(real) * t.pb.model->nparams);
    double vl, va;
    HG_CHECK(inner_train(&t.pb.inner, &t.sched, w, &vl, &va, &err) == 0, "%s", err.msg);
    EXPECT(seen.steps[3].val_loss == vl && seen.steps[3].val_acc == va && !seen.steps[3].grad,
           "final: %g %g against %g %g", seen.steps[3].val_loss, seen.steps[3].val_acc, vl, va);
    mem_free(w);
    int best = 0;
    for (int k = 1; k < 4; k++)
        best = seen.steps[k].val_acc > seen.steps[best].val_acc ? k : best;
    EXPECT(h.best == best, "best %d, by hand %d", h.best, best);
    hpo_free(&h);
    tiny_free(&t);
}

static void test_sign_first_step(void)
{
    Tiny t;
    tiny_init(&t);
    Seen seen = {0};
    EngineCtx ec;
    HpoConfig c = tiny_config(&t, &ec, &seen, OUTER_SIGN);
    c.outer_steps = 1;
    c.outer.bounded = 0;
    Hpo h;
    HgErr err = {{0}};
    HG_CHECK(hpo_init(&h, &c, t.theta0, &t.sched, &err) == 0, "%s", err.msg);
    hpo_run(&h);
    EXPECT(seen.n == 2 && seen.steps[1].status == HPO_STEP_FINAL, "%d steps", seen.n);
    for (int k = 0; k < HYPER_KINDS; k++)
        for (int j = 0; j < t.layout.K[k]; j++) {
            const int i = t.layout.offset[k] + j;
            const double g = seen.grad[0][i];
            const double want = seen.theta[0][i] - c.outer.sign_step[k] * ((g > 0) - (g < 0));
            EXPECT(seen.theta[1][i] == want, "sign: theta_1[%d] = %.17g, by hand %.17g", i,
                   seen.theta[1][i], want);
        }
    hpo_free(&h);
    tiny_free(&t);
}

/* A made-up hypergradient: 1 everywhere, val_acc 0.5; fails at step fail_at. */
typedef struct Fake {
    int calls, fail_at;
    const char *why;
} Fake;

static int fake_grad(void *ctx, const Schedule *sched, double *grad, double *val_loss,
                     double *val_acc, double *time_s, real *wT, HgErr *err)
{
    Fake *f = ctx;
    if (f->calls++ == f->fail_at)
        return hg_fail(err, "%s", f->why);
    for (int i = 0; i < 3; i++)
        grad[i] = 1;
    *val_loss = 1;
    *val_acc = 0.5;
    *time_s = 0;
    return 0;
}

static void test_patience_and_failure(void)
{
    Tiny t;
    tiny_init(&t);
    Seen seen = {0};
    EngineCtx ec;
    HpoConfig c = tiny_config(&t, &ec, &seen, OUTER_SGD);
    Fake f = {.fail_at = -1};
    c.hypergrad = fake_grad;
    c.hypergrad_ctx = &f;
    c.outer_steps = 5;
    c.patience = 2;
    Hpo h;
    HgErr err = {{0}};
    HG_CHECK(hpo_init(&h, &c, t.theta0, &t.sched, &err) == 0, "%s", err.msg);
    hpo_run(&h);
    /* entry 0 is best (equal accuracies keep the first); 2 more without a better one */
    EXPECT(h.stop == HPO_PATIENCE && seen.n == 3 && h.nlog == 3 && h.best == 0 && f.calls == 3,
           "patience: stop %d, %d seen, %d logged, best %d", h.stop, seen.n, h.nlog, h.best);
    hpo_free(&h);

    seen = (Seen){.N = t.layout.N};
    f = (Fake){.fail_at = 1, .why = "bptt: reverse pass diverged at step 3"};
    c.patience = 0;
    HG_CHECK(hpo_init(&h, &c, t.theta0, &t.sched, &err) == 0, "%s", err.msg);
    hpo_run(&h);
    EXPECT(h.stop == HPO_FAILED && h.fail_outer == 1 && !strcmp(h.fail_status, "diverged") &&
               h.nlog == 1 && seen.n == 2 && seen.steps[1].status == HPO_STEP_FAILED &&
               seen.steps[1].outer == 1 && strstr(seen.msg, "diverged at step 3"),
           "failure: stop %d at %d (%s), %d logged, %d seen: %s", h.stop, h.fail_outer,
           h.fail_status, h.nlog, seen.n, seen.msg);
    hpo_free(&h);

    seen = (Seen){.N = t.layout.N};
    f = (Fake){.fail_at = 0, .why = "out of luck"};
    HG_CHECK(hpo_init(&h, &c, t.theta0, &t.sched, &err) == 0, "%s", err.msg);
    hpo_run(&h);
    EXPECT(h.stop == HPO_FAILED && !strcmp(h.fail_status, "failed") && h.nlog == 0 &&
               h.best == -1 && seen.n == 1,
           "first run failed: %d logged, best %d", h.nlog, h.best);
    hpo_free(&h);

    c.outer.lr = -1; /* outer_init's refusal, before any work */
    EXPECT(hpo_init(&h, &c, t.theta0, &t.sched, &err) == -1 && strstr(err.msg, "outer learning rate -1"),
           "bad outer settings: %s", err.msg);
    hpo_free(&h);
    tiny_free(&t);
}

/* With a test set, run_wT (the engine's w_T evaluated, nothing retrained)
 * gives the log that retraining every outer step gives, bit for bit: the
 * test numbers, the validation numbers, the schedules. bptt's w_T is the
 * plain run's (tests/test_engine_wT.c); each engine call is handed a w_T
 * to fill only with run_wT. */
static void test_test_at_wT(void)
{
    Tiny t;
    tiny_init(&t);
    Hpo h[2];
    Seen seen[2] = {{0}, {0}};
    EngineCtx ec[2];
    HgErr err = {{0}};
    for (int k = 0; k < 2; k++) {
        HpoConfig c = tiny_config(&t, &ec[k], &seen[k], OUTER_SIGN);
        c.test = &t.pb.train; /* a test set other than the validation set */
        c.run_wT = k;
        HG_CHECK(hpo_init(&h[k], &c, t.theta0, &t.sched, &err) == 0, "%s", err.msg);
        hpo_run(&h[k]);
    }
    const int N = t.layout.N;
    EXPECT(seen[0].n == 4 && seen[1].n == 4 && ec[0].wT_asked == 0 && ec[1].wT_asked == 3,
           "%d and %d steps; w_T asked of %d and %d engine runs", seen[0].n, seen[1].n,
           ec[0].wT_asked, ec[1].wT_asked);
    for (int s = 0; s < seen[0].n && s < seen[1].n; s++) {
        const HpoStep *a = &seen[0].steps[s], *b = &seen[1].steps[s];
        EXPECT(a->has_test && b->has_test && a->test_loss == b->test_loss &&
                   a->test_acc == b->test_acc && a->val_loss == b->val_loss &&
                   a->val_acc == b->val_acc && a->retrain_val_acc == b->retrain_val_acc &&
                   !memcmp(seen[0].theta[s], seen[1].theta[s], sizeof(double) * N),
               "step %d: retrained test %.17g %.17g, at the engine's w_T %.17g %.17g", s,
               a->test_loss, a->test_acc, b->test_loss, b->test_acc);
    }
    EXPECT(isfinite(seen[1].steps[1].test_loss) && seen[1].steps[1].test_loss > 0,
           "a test loss was measured: %g", seen[1].steps[1].test_loss);
    for (int k = 0; k < 2; k++)
        hpo_free(&h[k]);
    tiny_free(&t);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_three_sgd_steps),
        TEST(test_sign_first_step),
        TEST(test_test_at_wT),
        TEST(test_patience_and_failure),
    };
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
