/* test_infobuf.c — the reversible engine's information buffer on its own:
 * rationals for momentum, exact multiply/divide round trips over long runs
 * with changing rationals, the sentinel at word boundaries, and the bytes
 * held against the floor log2(d/n) bits per multiply. */
#include <math.h>
#include <string.h>

#include "../common/check.h"
#include "../common/mem.h"
#include "../common/rng.h"
#include "../backend/infobuf.h"
#include "test.h"

static void test_rationals(void)
{
    InfoRational q;
    EXPECT(info_rational(0.9, &q) == 0 && q.n == 9 && q.d == 10, "0.9 -> %ld/%ld", (long)q.n,
           (long)q.d);
    EXPECT(info_rational(0.5, &q) == 0 && q.n == 1 && q.d == 2, "0.5 -> %ld/%ld", (long)q.n,
           (long)q.d);
    EXPECT(info_rational(0.99, &q) == 0 && q.n == 99 && q.d == 100 && q.need == 99,
           "0.99 -> %ld/%ld need %lu", (long)q.n, (long)q.d, (unsigned long)q.need);
    static const double bad[] = {0, 1, -0.5, 1.5, 1e-7, 1 - 1e-7, NAN};
    for (int i = 0; i < ARRAY_LEN(bad); i++)
        EXPECT(info_rational(bad[i], &q) == -1, "m = %g accepted as %ld/%ld", bad[i],
               (long)q.n, (long)q.d);
    Rng r = rng_seed(3);
    for (int i = 0; i < 200; i++) { /* no fraction with d <= dmax is closer */
        const double m = 0.001 + 0.998 * rng_uniform(&r);
        HG_CHECK(info_rational(m, &q) == 0, "m = %g", m);
        const double e = fabs(m - (double)q.n / q.d);
        long closer = 0;
        for (long d = 1; d <= INFO_DEN_MAX; d++)
            closer += fabs(m - round(m * d) / d) < e * (1 - 1e-12);
        EXPECT(closer == 0 && q.d <= INFO_DEN_MAX, "m = %.17g -> %ld/%ld: %ld closer fractions",
               m, (long)q.n, (long)q.d, closer);
    }
}

/* Steps of x = x m_t + noise over many values in one stream (values pushed
 * in order, popped in reverse), with m_t changing; then undone. */
static void round_trip(const double *moms, int nm, int T, int P, uint64_t seed, double *ratio,
                       double *bound)
{
    InfoRational *q = mem_alloc(MEM_OTHER, sizeof(InfoRational) * T);
    uint64_t S = 1;
    double floor_bits = 0;
    for (int t = 0; t < T; t++) {
        HG_CHECK(info_rational(moms[t % nm], &q[t]) == 0, "rational");
        S = q[t].need > S ? q[t].need : S;
        floor_bits += P * log2((double)q[t].d / q[t].n);
    }
    int64_t *x = mem_alloc(MEM_OTHER, sizeof(int64_t) * P);
    int64_t *x0 = mem_alloc(MEM_OTHER, sizeof(int64_t) * P);
    Rng r = rng_seed(seed);
    for (int i = 0; i < P; i++)
        x0[i] = x[i] = (int64_t)(rng_next(&r) >> 4) - (INT64_C(1) << 59);
    InfoStream s;
    info_stream_init(&s, S, 1); /* grows as it goes */
    for (int t = 0; t < T; t++)
        for (int i = 0; i < P; i++)
            x[i] = info_mul(&s, x[i], &q[t]) + (t * 7919 + i) % 1001 - 500;
    const long words = s.peak;
    for (int t = T - 1; t >= 0; t--)
        for (int i = P - 1; i >= 0; i--)
            x[i] = info_div(&s, x[i] - ((t * 7919 + i) % 1001 - 500), &q[t]);
    EXPECT(!memcmp(x, x0, sizeof(int64_t) * P) && info_stream_empty(&s),
           "T=%d P=%d m[0]=%g: not restored (stream %s, %ld words at the peak)", T, P, moms[0],
           info_stream_empty(&s) ? "empty" : "not empty", words);
    /* a word's state starts in [S, S + 1) scaled up: it gives up log2(S + 1)
     * bits to the sentinel, and up to log2(d/n) of headroom; the open word is
     * extra */
    double headroom = 0;
    for (int t = 0; t < T; t++)
        headroom = fmax(headroom, log2((double)q[t].d / q[t].n));
    *ratio = info_stream_peak_bytes(&s) / (floor_bits / 8);
    *bound = 64 / (64 - log2(S + 1.0) - headroom) * (1 + 2 * 64 / floor_bits);
    info_stream_free(&s);
    mem_free(q);
    mem_free(x);
    mem_free(x0);
}

static void test_round_trips(void)
{
    static const struct { double m[3]; int nm; } cases[] = {
        {{0.9}, 1}, {{0.5}, 1}, {{0.99}, 1}, {{0.1}, 1}, {{0.9, 0.95, 0.3337}, 3}, {{0.999}, 1},
    };
    for (int c = 0; c < ARRAY_LEN(cases); c++) {
        double ratio, bound;
        round_trip(cases[c].m, cases[c].nm, 400, 500, 11 + c, &ratio, &bound);
        printf("# m = %g%s: buffer %.3f x its floor (bound %.3f)\n", cases[c].m[0],
               cases[c].nm > 1 ? " and others" : "", ratio, bound);
        EXPECT(ratio >= 1 && ratio <= bound, "m = %g: buffer %.3f x its floor, bound %.3f",
               cases[c].m[0], ratio, bound);
    }
    double ratio, bound;
    round_trip((const double[]){0.9}, 1, 3, 1, 5, &ratio, &bound); /* no full word */
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {TEST(test_rationals), TEST(test_round_trips)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
