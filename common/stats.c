/* stats.c — the statistics of stats.h. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rng.h"

double stats_mean(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return n > 0 ? s / n : NAN;
}

double stats_sd(const double *x, int n)
{
    if (n < 2) return 0;
    double m = stats_mean(x, n), s = 0;
    for (int i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (n - 1));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_median(const double *x, int n)
{
    if (n <= 0) return NAN;
    double *y = malloc((size_t)n * sizeof *y);
    HG_CHECK(y, "malloc");
    memcpy(y, x, (size_t)n * sizeof *y);
    qsort(y, (size_t)n, sizeof *y, cmp_double);
    double m = n % 2 ? y[n / 2] : 0.5 * (y[n / 2 - 1] + y[n / 2]);
    free(y);
    return m;
}

/* The continued fraction of the incomplete beta function (modified Lentz). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        double m2 = 2.0 * m;
        double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + num * d; if (fabs(d) < tiny) d = tiny;
        c = 1 + num / c; if (fabs(c) < tiny) c = tiny;
        d = 1 / d; h *= d * c;
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + num * d; if (fabs(d) < tiny) d = tiny;
        c = 1 + num / c; if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-16) break;
    }
    return h;
}

/* The regularised incomplete beta function I_x(a, b). */
static double beta_inc(double a, double b, double x)
{
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

/* P(T <= t) for Student's t with df degrees of freedom. */
static double t_cdf(double t, double df)
{
    double t2 = t * t;
    if (t2 < df) { /* near 0: P(|T| < |t|) = I_{t^2/(df+t^2)}(1/2, df/2), no cancellation */
        double inner = 0.5 * beta_inc(0.5, df / 2, t2 / (df + t2));
        return t >= 0 ? 0.5 + inner : 0.5 - inner;
    }
    double tail = 0.5 * beta_inc(df / 2, 0.5, df / (df + t2)); /* P(T > |t|) */
    return t >= 0 ? 1 - tail : tail;
}

double stats_t_quantile(double p, double df)
{
    HG_CHECK(p > 0 && p < 1 && df >= 1, "t quantile of p = %g, df = %g", p, df);
    double lo = -1, hi = 1;
    while (t_cdf(lo, df) > p) lo *= 2;
    while (t_cdf(hi, df) < p) hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-14 * fmax(1, fabs(hi)); i++) {
        double mid = 0.5 * (lo + hi);
        if (t_cdf(mid, df) < p) lo = mid; else hi = mid;
    }
    return 0.5 * (lo + hi);
}

StatsInterval stats_mean_interval(const double *x, int n, double level)
{
    StatsInterval iv = {.mean = stats_mean(x, n), .n = n};
    iv.lo = iv.hi = iv.mean;
    if (n >= 2) {
        double half = stats_t_quantile(1 - (1 - level) / 2, n - 1) * stats_sd(x, n) / sqrt(n);
        iv.lo = iv.mean - half;
        iv.hi = iv.mean + half;
    }
    return iv;
}

StatsInterval stats_paired_interval(const double *a, const double *b, int n, double level)
{
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    HG_CHECK(d, "malloc");
    for (int i = 0; i < n; i++) d[i] = a[i] - b[i];
    StatsInterval iv = stats_mean_interval(d, n, level);
    free(d);
    return iv;
}

StatsInterval stats_bootstrap(const double *x, int n, double (*statistic)(const double *, int, void *),
                              void *ctx, int B, double level, uint64_t seed)
{
    StatsInterval iv = {.mean = statistic(x, n, ctx), .n = n};
    iv.lo = iv.hi = iv.mean;
    if (n < 2 || B < 2) return iv;
    double *s = malloc((size_t)B * sizeof *s), *y = malloc((size_t)n * sizeof *y);
    HG_CHECK(s && y, "malloc");
    Rng r = rng_seed(seed);
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < n; i++) y[i] = x[rng_below(&r, (uint64_t)n)];
        s[b] = statistic(y, n, ctx);
    }
    qsort(s, (size_t)B, sizeof *s, cmp_double);
    /* the (1-level)/2 and 1-(1-level)/2 order statistics */
    double a = (1 - level) / 2;
    int lo = (int)floor(a * (B - 1) + 0.5), hi = (int)floor((1 - a) * (B - 1) + 0.5);
    iv.lo = s[lo];
    iv.hi = s[hi];
    free(s);
    free(y);
    return iv;
}

StatsVerdict stats_verdict(StatsInterval iv)
{
    if (iv.n < 2) return STATS_UNRESOLVED;
    if (iv.lo > 0) return STATS_HOLDS;
    if (iv.hi < 0) return STATS_FAILS;
    return STATS_UNRESOLVED;
}

const char *stats_verdict_name(StatsVerdict v)
{
    return v == STATS_HOLDS ? "holds" : v == STATS_FAILS ? "fails" : "not resolved";
}
