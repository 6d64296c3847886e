/* report_fig3_stats.c — Figure 3's numbers from runs already read
 * (report_fig3.h): the chance threshold and collapse count, the standard
 * error of one accuracy, the per-run quantities the claims compare, and the
 * mean / min / max bands the plots draw. The means, sds and intervals over
 * repeats are common/stats.h's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check.h"
#include "../common/stats.h"
#include "report_fig3.h"

double fig3_count_se(double p, long n)
{
    if (n <= 0 || !(p >= 0 && p <= 1)) return NAN;
    return sqrt(p * (1 - p) / (double)n);
}

double fig3_chance_threshold(int classes, long n)
{
    if (classes < 2) return NAN;
    double p = 1.0 / classes;
    return p + FIG3_IMBALANCE + 3 * fig3_count_se(p, n);
}

int fig3_collapses(const Fig3Run *run, double thr, int *stepped)
{
    int c = 0, s = 0;
    for (long i = 0; i < run->nlog; i++) {
        if (run->outer[i] < 1 || isnan(run->val[i])) continue;
        s++;
        c += run->val[i] <= thr;
    }
    if (stepped) *stepped = s;
    return c;
}

double fig3_val_spread(const Fig3Run *run)
{
    double *x = malloc((size_t)(run->nlog > 0 ? run->nlog : 1) * sizeof *x);
    HG_CHECK(x, "malloc");
    int n = 0;
    for (long i = 0; i < run->nlog; i++)
        if (run->outer[i] >= 1 && !isnan(run->val[i])) x[n++] = run->val[i];
    double sd = n >= 2 ? stats_sd(x, n) : NAN;
    free(x);
    return sd;
}

double fig3_lr_mean(const double *lr, long n)
{
    return lr && n > 0 ? stats_mean(lr, (int)n) : NAN;
}

double fig3_first_val(const Fig3Run *run)
{
    for (long i = 0; i < run->nlog; i++)
        if (run->outer[i] == 1) return run->val[i];
    return NAN;
}

void fig3_band_add(Fig3Band *b, const double *x, long n)
{
    if (n > b->n) {
        b->mean = realloc(b->mean, (size_t)n * sizeof *b->mean);
        b->lo = realloc(b->lo, (size_t)n * sizeof *b->lo);
        b->hi = realloc(b->hi, (size_t)n * sizeof *b->hi);
        b->count = realloc(b->count, (size_t)n * sizeof *b->count);
        HG_CHECK(b->mean && b->lo && b->hi && b->count, "realloc");
        for (long i = b->n; i < n; i++) {
            b->mean[i] = 0;
            b->lo[i] = INFINITY;
            b->hi[i] = -INFINITY;
            b->count[i] = 0;
        }
        b->n = n;
    }
    for (long i = 0; i < n; i++) {
        if (isnan(x[i])) continue;
        b->mean[i] += x[i]; /* a sum until fig3_band_finish */
        b->lo[i] = fmin(b->lo[i], x[i]);
        b->hi[i] = fmax(b->hi[i], x[i]);
        b->count[i]++;
    }
}

void fig3_band_finish(Fig3Band *b)
{
    for (long i = 0; i < b->n; i++) {
        if (b->count[i]) {
            b->mean[i] /= b->count[i];
        } else {
            b->mean[i] = b->lo[i] = b->hi[i] = NAN;
        }
    }
}

void fig3_band_free(Fig3Band *b)
{
    free(b->mean);
    free(b->lo);
    free(b->hi);
    free(b->count);
    memset(b, 0, sizeof *b);
}
