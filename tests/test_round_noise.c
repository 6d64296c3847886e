/* test_round_noise.c — stochastic rounding to float32's grid
 * (harness/round_noise.h, hgbench hypergrad --round-noise sr32): every
 * rounded value is a float32 value next to x, the rounding is x on average
 * (many draws against its expectation, the tolerance from its variance),
 * the draws are seeded (one seed, the same bits; another seed, other bits),
 * and a float64 run with it differs from one without by about float32's
 * size, the same for every engine that stores or recomputes the run. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/rng.h"
#include "../engines/engine.h"
#include "../harness/problem.h"
#include "../harness/round_noise.h"
#include "support_models.h"
#include "test.h"

static int is_float32(double x)
{
    return (double)(float)x == x;
}

/* Random doubles over float32's normal and subnormal ranges, both signs:
 * each rounds to a float32 value, one of the two around it. */
static void test_rounded_values_are_float32_neighbours(void)
{
    Rng r = rng_seed(11);
    int bad_repr = 0, bad_bracket = 0, exact_kept = 1;
    for (int i = 0; i < 200000; i++) {
        const double e = -140 + 270 * rng_uniform(&r); /* 2^-140 .. 2^130 */
        const double x = (rng_uniform(&r) < 0.5 ? -1 : 1) * ldexp(1 + rng_uniform(&r), (int)e);
        if (!(fabs(x) <= FLT_MAX)) continue;
        const double y = round_noise_sr32(x, rng_uniform(&r));
        bad_repr += !is_float32(y);
        const float near = (float)x;
        const float lo = (double)near <= x ? near : nextafterf(near, -INFINITY);
        const float hi = (double)near >= x ? near : nextafterf(near, INFINITY);
        bad_bracket += !(y == lo || y == hi);
        exact_kept &= round_noise_sr32((double)near, 0.999) == (double)near;
    }
    EXPECT(bad_repr == 0, "%d rounded values are not float32-representable", bad_repr);
    EXPECT(bad_bracket == 0, "%d rounded values are not a float32 neighbour of x", bad_bracket);
    EXPECT(exact_kept, "a float32 value is kept as it is");
    EXPECT(round_noise_sr32(1e300, 0.5) == 1e300 && isinf(round_noise_sr32(INFINITY, 0.5)) &&
               isnan(round_noise_sr32(NAN, 0.5)),
           "values beyond float32's range are left as they are");
}

/* E[sr32(x)] = x: the mean of N draws is within 5 standard errors,
 * sd = sqrt((x - lo)(hi - x)) / sqrt(N), at several positions between two
 * float32 values (the draws from round_noise_uniform, as a run makes them). */
static void test_unbiased_on_average(void)
{
    const long N = 400000;
    const double base = 1.2345678;
    const float lo = (float)base, hi = nextafterf(lo, INFINITY);
    const double fr[] = {0.01, 0.25, 0.5, 0.9};
    double worst = 0;
    for (int k = 0; k < ARRAY_LEN(fr); k++) {
        const double x = (double)lo + fr[k] * ((double)hi - (double)lo);
        double sum = 0;
        for (long i = 0; i < N; i++)
            sum += round_noise_sr32(x, round_noise_uniform(99, k, 0, i)) - (double)lo;
        const double mean = (double)lo + sum / N;
        const double se = sqrt((x - lo) * (hi - x) / N);
        const double z = fabs(mean - x) / se;
        worst = fmax(worst, z);
        EXPECT(z < 5, "fraction %.2f: mean of %ld draws off by %.3g standard errors", fr[k], N, z);
    }
    printf("# sr32 mean vs x: worst %.2f standard errors over %ld draws\n", worst, N);
    /* the uniforms themselves: mean 1/2 within 5 standard errors (sd 1/sqrt(12 N)) */
    double s = 0;
    for (long i = 0; i < N; i++) s += round_noise_uniform(3, 7, 1, i);
    EXPECT(fabs(s / N - 0.5) < 5 / sqrt(12.0 * N), "uniforms' mean %.6f", s / N);
}

/* The same (seed, step, buffer) rounds to the same bits; another seed,
 * step or buffer draws other bits. */
static void test_seeded(void)
{
    enum { n = 4096 };
    real a[n], b[n], c[n], d[n];
    for (int i = 0; i < n; i++) a[i] = b[i] = c[i] = d[i] = (real)(0.1 * sin(i + 0.5));
    round_noise_apply(a, n, 42, 3, 0);
    round_noise_apply(b, n, 42, 3, 0);
    round_noise_apply(c, n, 43, 3, 0);
    round_noise_apply(d, n, 42, 3, 1);
    EXPECT(!memcmp(a, b, sizeof a), "the same seed gives the same bits");
#ifdef HG_F64
    int diff_c = 0, diff_d = 0;
    for (int i = 0; i < n; i++) {
        diff_c += a[i] != c[i];
        diff_d += a[i] != d[i];
    }
    /* each entry differs with probability 2 p (1 - p) ~ 1/3 on average */
    EXPECT(diff_c > n / 10 && diff_d > n / 10, "another seed or buffer, other bits: %d, %d of %d",
           diff_c, diff_d, n);
#else
    test_skip_part("float32 build: its values are float32 already, rounding keeps them");
#endif
}

#ifdef HG_F64
/* w_T after T rounded steps: every entry float32-representable; its
 * distance from the unrounded run's w_T is of float32's size (measured
 * 3.4e-7 relative, max-norm, over 30 steps of the MLP), not 0 and not far
 * above; the same for the hypergradient (measured 1.05e-7), by bptt, by
 * checkpoint (which recomputes steps and must round them to the same bits:
 * measured 0) and by forward (the same derivative: measured 5.3e-16). The
 * bounds: 10x the measured gap above, float32's eps / 100 below. */
static void test_a_run_differs_by_float32s_size(void)
{
    const int T = 30, K[HYPER_KINDS] = {3, 0, 0};
    EngineCase c;
    engine_case_make(&c, "mlp-tanh", 16 * 8 + 32, 32, T, K, 0, 16, 0);
    const long P = c.model->nparams;
    real *w = malloc(sizeof(real) * P), *wr = malloc(sizeof(real) * P);
    double vl, va;
    HgErr err;
    memcpy(w, c.w0, sizeof(real) * P);
    memcpy(wr, c.w0, sizeof(real) * P);
    EXPECT(inner_train(&c.prob, &c.sched, w, &vl, &va, &err) == 0, "plain run: %s", err.msg);
    c.prob.round_noise = ROUND_NOISE_SR32;
    c.prob.round_seed = 7;
    EXPECT(inner_train(&c.prob, &c.sched, wr, &vl, &va, &err) == 0, "rounded run: %s", err.msg);
    int repr = 1;
    double dmax = 0, wmax = 0;
    for (long i = 0; i < P; i++) {
        repr &= is_float32(wr[i]);
        dmax = fmax(dmax, fabs(wr[i] - w[i]));
        wmax = fmax(wmax, fabs(w[i]));
    }
    const double rel = dmax / wmax;
    printf("# w_T: rounded vs plain run, max-norm relative %.3g (float32 eps %.3g)\n", rel,
           (double)FLT_EPSILON);
    EXPECT(repr, "every entry of the rounded run's w_T is float32-representable");
    EXPECT(rel > FLT_EPSILON / 100 && rel < 3.4e-6, "w_T differs by %.3g relative", rel);

    /* the hypergradients: each engine's rounded run against its plain one */
    const EngineOps *ops[] = {&BPTT_OPS, &CHECKPOINT_OPS, &FORWARD_OPS};
    double g[3][HYPER_KINDS * 64], g0[HYPER_KINDS * 64];
    const int N = c.layout.N;
    for (int e = 0; e < 3; e++) {
        EngineConfig cfg = {.prob = &c.prob, .layout = &c.layout, .sched = &c.sched,
                            .opt = engine_settings_defaults()};
        if (ops[e] == &CHECKPOINT_OPS) cfg.opt.checkpoints = 3;
        EngineResult r;
        int rc = engine_run(ops[e], &cfg, &r, &err);
        EXPECT(rc == 0, "%s with sr32: %s", ops[e]->name, rc ? err.msg : "");
        if (rc) continue;
        memcpy(g[e], r.hypergrad, sizeof(double) * N);
        engine_result_free(&r);
    }
    c.prob.round_noise = ROUND_NOISE_OFF;
    EngineConfig cfg = {.prob = &c.prob, .layout = &c.layout, .sched = &c.sched,
                        .opt = engine_settings_defaults()};
    EngineResult r0;
    EXPECT(engine_run(&BPTT_OPS, &cfg, &r0, &err) == 0, "plain bptt: %s", err.msg);
    memcpy(g0, r0.hypergrad, sizeof(double) * N);
    engine_result_free(&r0);
    const double gap = max_rel_err_d(g[0], g0, N, 0);
    const double ck = max_rel_err_d(g[0], g[1], N, 0), fw = max_rel_err_d(g[0], g[2], N, 0);
    printf("# hypergradient: sr32 vs plain (bptt) %.3g; bptt vs checkpoint %.3g, vs forward "
           "%.3g, both with sr32\n", gap, ck, fw);
    EXPECT(gap > FLT_EPSILON / 100 && gap < 1e-6,
           "the rounded run's hypergradient differs by %.3g relative", gap);
    EXPECT(ck == 0, "checkpoint recomputes the rounded steps bit for bit: %.3g", ck);
    EXPECT(fw < 5e-15, "forward differentiates the same rounded run: %.3g", fw);
    free(w);
    free(wr);
    engine_case_free(&c);
}
#endif

/* What cannot round says so, naming the flag: a float32 build, --kahan,
 * the reversible engine; the names parse both ways. */
static void test_refusals_name_the_flag(void)
{
    ProblemSpec s = problem_spec_defaults();
    s.model = "mlp:8";
    s.data = "synthetic:16";
    s.round_noise = ROUND_NOISE_SR32;
    HgErr err = {{0}};
    const int rc = problem_check(&s, NULL, &err);
#ifdef HG_F64
    EXPECT(rc == 0, "sr32 in a float64 build on the cpu: %s", err.msg);
    s.kahan = 1;
    EXPECT(problem_check(&s, NULL, &err) == -1 && strstr(err.msg, "--round-noise sr32 with --kahan"),
           "sr32 with --kahan refused: %s", err.msg);
    const int K[HYPER_KINDS] = {2, 0, 0};
    EngineCase c;
    engine_case_make(&c, "logreg", 64, 16, 4, K, 0, 8, 0);
    c.prob.round_noise = ROUND_NOISE_SR32;
    EngineConfig cfg = {.prob = &c.prob, .layout = &c.layout, .sched = &c.sched,
                        .opt = engine_settings_defaults()};
    EngineResult r;
    EXPECT(engine_run(&REVERSIBLE_OPS, &cfg, &r, &err) == -1 &&
               strstr(err.msg, "--round-noise sr32: the reversible engine"),
           "reversible refuses: %s", err.msg);
    engine_case_free(&c);
#else
    EXPECT(rc == -1 && strstr(err.msg, "--round-noise sr32") && strstr(err.msg, "float32 build"),
           "a float32 build refuses: %s", err.msg);
#endif
    RoundNoise k = ROUND_NOISE_OFF;
    EXPECT(round_noise_parse("sr32", &k) == 0 && k == ROUND_NOISE_SR32 &&
               !strcmp(round_noise_name(k), "sr32") && round_noise_parse("sr16", &k) == -1 &&
               round_noise_parse("off", &k) == 0 && k == ROUND_NOISE_OFF,
           "names parse");
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {
        TEST(test_rounded_values_are_float32_neighbours), TEST(test_unbiased_on_average),
        TEST(test_seeded), TEST(test_refusals_name_the_flag),
        TEST_F64_ONLY(test_a_run_differs_by_float32s_size,
                      "a float32 build's run is float32 already: nothing to round")};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
