/* stats.h — the statistics behind every claim with an error bar: mean and
 * sample standard deviation, the median, Student's t quantile, the t
 * interval of a mean and of paired differences, a seeded percentile
 * bootstrap, and the three-way verdict of a claim from its interval.
 *
 * A claim "A beats B" holds when the 95% interval of A - B lies above 0,
 * fails when it lies below, and is not resolved when it contains 0.
 * Leaves out: multiple-comparison corrections, tests for normality.
 */
#ifndef HG_STATS_H
#define HG_STATS_H

#include <stdint.h>

double stats_mean(const double *x, int n);
/* The sample standard deviation (n - 1 in the denominator); 0 for n < 2. */
double stats_sd(const double *x, int n);
double stats_median(const double *x, int n);

/* The p-quantile of Student's t with df degrees of freedom (0 < p < 1,
 * df >= 1), by bisection on the regularised incomplete beta function:
 * accurate to about 1e-12. */
double stats_t_quantile(double p, double df);

/* A two-sided interval at `level` (0.95) */
typedef struct StatsInterval {
    double mean, lo, hi;
    int n;
} StatsInterval;

/* The t interval of the mean of x: mean +- t(1 - (1 - level) / 2, n - 1) sd / sqrt(n).
 * n < 2: lo = hi = mean (no spread known), and n says so. */
StatsInterval stats_mean_interval(const double *x, int n, double level);

/* The t interval of the mean of the paired differences a[i] - b[i]. */
StatsInterval stats_paired_interval(const double *a, const double *b, int n, double level);

/* The percentile bootstrap interval of statistic(x) over B resamples drawn
 * with the seeded generator (the same seed, the same interval); mean is
 * statistic(x) itself. ctx is passed through to statistic. */
StatsInterval stats_bootstrap(const double *x, int n, double (*statistic)(const double *x, int n, void *ctx),
                              void *ctx, int B, double level, uint64_t seed);

typedef enum StatsVerdict { STATS_HOLDS, STATS_FAILS, STATS_UNRESOLVED } StatsVerdict;
/* For a claim "the quantity is above 0" from its interval. */
StatsVerdict stats_verdict(StatsInterval iv);
/* "holds", "fails", "not resolved" */
const char *stats_verdict_name(StatsVerdict v);

#endif
