/* test_checkpoint.c — the checkpoint engine: its binomial schedule is the
 * minimum (against a brute-force search over every split), and its
 * hypergradient is bptt's bit for bit on every model, every kind learned,
 * with and without a clamp and the Kahan update, both schedules; stored
 * memory within (C + 1) states; refusals name --checkpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engines/engine.h"
#include "support_models.h"
#include "test.h"

enum { DP_T = 64, DP_S = 7 };

/* Advances of the best placement, by trying every first checkpoint. */
static long dp[DP_T + 1][DP_S + 1];
static void dp_fill(void)
{
    for (int s = 0; s <= DP_S; s++)
        for (int t = 1; t <= DP_T; t++) {
            if (t == 1 || s == 0) {
                dp[t][s] = (long)t * (t - 1) / 2; /* from the start each time */
                continue;
            }
            long best = -1;
            for (int m = 1; m < t; m++) {
                const long c = m + dp[t - m][s - 1] + dp[m][s];
                best = best < 0 || c < best ? c : best;
            }
            dp[t][s] = best;
        }
}

static void test_binomial_schedule_is_minimal(void)
{
    dp_fill();
    int wrong = 0, wrong_split = 0;
    for (int s = 0; s <= DP_S; s++)
        for (int t = 1; t <= DP_T; t++) {
            wrong += checkpoint_binomial_advances(t, s) != dp[t][s];
            if (t > 1 && s > 0) {
                const long m = checkpoint_binomial_split(t, s);
                wrong_split += m < 1 || m >= t ||
                               m + dp[t - m][s - 1] + dp[m][s] != dp[t][s];
            }
        }
    EXPECT(wrong == 0, "%d (t, s) where the closed form differs from the best placement", wrong);
    EXPECT(wrong_split == 0, "%d (t, s) where the chosen split is not a best one", wrong_split);
    /* and at sizes a run uses: 10^4 steps, log2 T, sqrt T, T / 10 slots */
    EXPECT(checkpoint_binomial_advances(10000, 9999) == 9999, "C = T - 1: each step advanced once");
    EXPECT(checkpoint_binomial_advances(10000, 100) < checkpoint_binomial_advances(10000, 13) &&
               checkpoint_binomial_advances(10000, 1000) < checkpoint_binomial_advances(10000, 100),
           "more slots, fewer advances");
}

typedef EngineCase Case;

/* Every kind learned (lr in 3 windows, momentum per step, wd once), seeded
 * synthetic data shaped for the model. */
static void case_make(Case *c, const char *model, int T, double clamp, int kahan)
{
    const int batch = 8, K[HYPER_KINDS] = {3, T, 1};
    engine_case_make(c, model, batch * 8 + 32, 32, T, K, clamp, batch, kahan);
}

static int same_doubles(const double *a, const double *b, int n)
{
    return (a == NULL) == (b == NULL) && (!a || !memcmp(a, b, sizeof(double) * (size_t)n));
}

/* checkpoint's run against bptt's, byte for byte: hypergradient, per-step
 * values, val loss and accuracy; its recomputation count; its stored bytes. */
static void check_against_bptt(Case *c, const EngineResult *ref, int C, int uniform,
                               const char *what)
{
    const int T = c->sched.T;
    const EngineConfig cfg = {.prob = &c->prob, .layout = &c->layout, .sched = &c->sched,
                              .opt = {.checkpoints = C, .checkpoint_uniform = uniform}};
    EngineResult r;
    HgErr err;
    mem_reset_peaks();
    if (engine_run(&CHECKPOINT_OPS, &cfg, &r, &err)) {
        test_fail_at(__FILE__, __LINE__, "%s: %s", what, err.msg);
        return;
    }
    EXPECT(!memcmp(r.hypergrad, ref->hypergrad, sizeof(double) * (size_t)r.N) &&
               r.val_loss == ref->val_loss && r.val_acc == ref->val_acc,
           "%s: hypergradient or val loss differs from bptt's (first %.17g vs %.17g)", what,
           r.hypergrad[0], ref->hypergrad[0]);
    int per = 1;
    for (int k = 0; k < HYPER_KINDS; k++)
        per &= same_doubles(r.per_step[k], ref->per_step[k], T);
    EXPECT(per, "%s: per-step hypergradients differ from bptt's", what);
    if (!uniform)
        EXPECT(r.recomputed_steps == checkpoint_binomial_advances(T, C) &&
                   r.recomputed_steps == r.recomputed_min,
               "%s: %ld steps recomputed, the binomial minimum is %ld", what, r.recomputed_steps,
               checkpoint_binomial_advances(T, C));
    const long P = c->model->nparams;
    const int L = uniform ? (T + C) / (C + 1) : 0;
    const double state = (c->prob.kahan ? 3.0 : 2.0) * P * sizeof(real);
    EXPECT(r.mem_peak[MEM_CHECKPOINTS] <= (C + 1 + L) * state && r.mem_peak[MEM_CHECKPOINTS] > 0,
           "%s: %zu bytes of checkpoints, more than (C + 1 + L) = %d states", what,
           r.mem_peak[MEM_CHECKPOINTS], C + 1 + L);
    EXPECT(r.mem_peak[MEM_TRAJECTORY] == 0, "%s: stores no trajectory", what);
    engine_result_free(&r);
}

static void test_checkpoint_is_bptt_bit_for_bit(void)
{
    static const char *const models[] = {"logreg", "mlp-tanh", "lenet"};
    for (int mi = 0; mi < ARRAY_LEN(models); mi++)
        for (int variant = 0; variant < 3; variant++) { /* plain, clamped, Kahan */
            const int lenet = mi == 2, T = lenet ? 8 : 12; /* lenet: fewer cases, for time */
            Case c;
            case_make(&c, models[mi], T, variant == 1 ? 0.05 : 0, variant == 2);
            const EngineConfig cfg = {.prob = &c.prob, .layout = &c.layout, .sched = &c.sched};
            EngineResult ref;
            HgErr err;
            if (engine_run(&BPTT_OPS, &cfg, &ref, &err)) {
                test_fail_at(__FILE__, __LINE__, "bptt on %s: %s", models[mi], err.msg);
                engine_case_free(&c);
                continue;
            }
            const int Cs[] = {1, 2, 3, T - 1};
            for (int ci = lenet; ci < ARRAY_LEN(Cs); ci += 1 + lenet)
                for (int uniform = 0; uniform < 2; uniform++) {
                    char what[128];
                    snprintf(what, sizeof what, "%s %s C=%d %s", models[mi],
                             (const char *[]){"plain", "clamped", "kahan"}[variant], Cs[ci],
                             uniform ? "uniform" : "binomial");
                    check_against_bptt(&c, &ref, Cs[ci], uniform, what);
                }
            engine_result_free(&ref);
            engine_case_free(&c);
        }
}

static void test_checkpoint_refusals(void)
{
    Case c;
    case_make(&c, "logreg", 6, 0, 0);
    HgErr err;
    EngineResult r;
    const int bad[] = {0, 6, 7, -1};
    for (int i = 0; i < ARRAY_LEN(bad); i++) {
        const EngineConfig cfg = {.prob = &c.prob, .layout = &c.layout, .sched = &c.sched,
                                  .opt.checkpoints = bad[i]};
        err.msg[0] = 0;
        EXPECT(engine_run(&CHECKPOINT_OPS, &cfg, &r, &err) == -1 &&
                   strstr(err.msg, "--checkpoints"),
               "C = %d for T = 6 refused naming --checkpoints: '%s'", bad[i], err.msg);
    }
    const EngineConfig foreign = {.prob = &c.prob, .layout = &c.layout, .sched = &c.sched,
                                  .opt.checkpoints = 2};
    err.msg[0] = 0;
    EXPECT(engine_run(&BPTT_OPS, &foreign, &r, &err) == -1 && strstr(err.msg, "--checkpoints"),
           "bptt refuses --checkpoints: '%s'", err.msg);
    const EngineConfig trunc = {.prob = &c.prob, .layout = &c.layout, .sched = &c.sched,
                                .opt = {.checkpoints = 2, .truncate = 3}};
    err.msg[0] = 0;
    EXPECT(engine_run(&CHECKPOINT_OPS, &trunc, &r, &err) == -1 && strstr(err.msg, "--truncate"),
           "checkpoint refuses --truncate: '%s'", err.msg);
    EngineState st;
    EngineOptions o = engine_options_plain(1000, 1);
    o.opt.checkpoints = 10;
    EXPECT(engine_check_state(&CHECKPOINT_OPS, 5000, &o, 0, &st, &err) == 0 &&
               st.bytes == (double)checkpoint_bytes(5000, 1000, 10, 0, 0) &&
               st.bytes == 10 * 2.0 * 5000 * sizeof(real) && strstr(st.what, "checkpoints"),
           "the estimate is C states of 2P: %g bytes, '%s'", st.bytes, st.what);
    engine_case_free(&c);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_binomial_schedule_is_minimal),
                              TEST(test_checkpoint_is_bptt_bit_for_bit),
                              TEST(test_checkpoint_refusals)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
