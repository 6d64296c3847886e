/* test_stats.c — common/stats.c against hand-computed cases and published
 * t quantiles. */
#include <math.h>
#include <string.h>

#include "../common/stats.h"
#include "test.h"

static void test_moments(void)
{
    const double x[] = {1, 2, 3, 4};
    EXPECT_REL(stats_mean(x, 4), 2.5, 1e-15, 1, "mean");
    EXPECT_REL(stats_sd(x, 4), sqrt(5.0 / 3.0), 1e-15, 1, "sd (n - 1)");
    EXPECT(stats_sd(x, 1) == 0, "sd of one value");
    const double odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2};
    EXPECT(stats_median(odd, 3) == 2 && stats_median(even, 4) == 2.5, "medians");
}

static void test_t_quantiles(void)
{
    /* published values of Student's t quantiles */
    EXPECT_REL(stats_t_quantile(0.975, 1), 12.706204736174698, 1e-9, 1, "t(.975, 1)");
    EXPECT_REL(stats_t_quantile(0.975, 2), 4.302652729696142, 1e-9, 1, "t(.975, 2)");
    EXPECT_REL(stats_t_quantile(0.975, 4), 2.7764451051977934, 1e-9, 1, "t(.975, 4)");
    EXPECT_REL(stats_t_quantile(0.975, 9), 2.262157162798205, 1e-9, 1, "t(.975, 9)");
    EXPECT_REL(stats_t_quantile(0.975, 29), 2.045229642132703, 1e-9, 1, "t(.975, 29)");
    EXPECT_REL(stats_t_quantile(0.025, 4), -2.7764451051977934, 1e-9, 1, "lower tail");
    EXPECT(fabs(stats_t_quantile(0.5, 5)) < 1e-12, "median of t is 0");
    EXPECT_REL(stats_t_quantile(0.975, 1e6), 1.959963984540054, 1e-5, 1, "large df -> normal");
}

static void test_intervals_and_verdicts(void)
{
    const double x[] = {1, 2, 3, 4};
    StatsInterval iv = stats_mean_interval(x, 4, 0.95);
    /* t(.975, 3) = 3.182446305284263; sd / sqrt(4) = 0.6454972243679028 */
    EXPECT_REL(iv.hi - iv.mean, 2.054260256760879, 1e-9, 1, "half width");
    EXPECT_REL(iv.lo, 2.5 - 2.054260256760879, 1e-9, 1, "lo");
    EXPECT(stats_verdict(iv) == STATS_HOLDS, "1..4 is above 0");

    const double a[] = {3, 5, 7}, b[] = {1, 2, 3};
    StatsInterval d = stats_paired_interval(a, b, 3, 0.95); /* d = 2, 3, 4 */
    EXPECT_REL(d.mean, 3, 1e-15, 1, "paired mean");
    EXPECT_REL(d.hi - d.mean, 2.4841377117195456, 1e-9, 1, "paired half width");
    EXPECT(stats_verdict(d) == STATS_HOLDS, "holds");
    StatsInterval r = stats_paired_interval(b, a, 3, 0.95);
    EXPECT(stats_verdict(r) == STATS_FAILS, "the other way fails");
    const double c[] = {1, -1, 2}, z[] = {0, 0, 0};
    EXPECT(stats_verdict(stats_paired_interval(c, z, 3, 0.95)) == STATS_UNRESOLVED,
           "an interval containing 0 is not resolved");
    StatsInterval one = stats_mean_interval(x, 1, 0.95);
    EXPECT(one.lo == 1 && one.hi == 1 && stats_verdict(one) == STATS_UNRESOLVED,
           "one run resolves nothing");
    EXPECT(!strcmp(stats_verdict_name(STATS_UNRESOLVED), "not resolved"), "verdict name");
}

static double mean_stat(const double *x, int n, void *ctx)
{
    (void)ctx;
    return stats_mean(x, n);
}

static void test_bootstrap(void)
{
    double x[100];
    for (int i = 0; i < 100; i++) x[i] = i + 1;
    StatsInterval a = stats_bootstrap(x, 100, mean_stat, NULL, 4000, 0.95, 7);
    StatsInterval b = stats_bootstrap(x, 100, mean_stat, NULL, 4000, 0.95, 7);
    EXPECT(a.lo == b.lo && a.hi == b.hi, "the same seed, the same interval");
    EXPECT(a.mean == 50.5 && a.lo < 50.5 && a.hi > 50.5, "contains the mean: [%g, %g]", a.lo, a.hi);
    /* against the t interval's half width, 1.984 * 29.01 / 10 = 5.76: within 10% */
    StatsInterval t = stats_mean_interval(x, 100, 0.95);
    double wb = a.hi - a.lo, wt = t.hi - t.lo;
    EXPECT(fabs(wb / wt - 1) < 0.1, "bootstrap width %g vs t width %g", wb, wt);
    double same[5] = {2, 2, 2, 2, 2};
    StatsInterval s = stats_bootstrap(same, 5, mean_stat, NULL, 100, 0.95, 1);
    EXPECT(s.lo == 2 && s.hi == 2, "constant data, a point");
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_moments), TEST(test_t_quantiles),
                              TEST(test_intervals_and_verdicts), TEST(test_bootstrap)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
