/* fig2_stats.h — the statistics of Figure 2 (FDS paper, Section 5.1 and
 * Theorem 4.1), pure functions of the per-step hypergradients, so that they
 * are tested without running an engine (tests/test_fig2_stats.c).
 *
 * Per seed s, h_s[t] are the non-greedy per-step learning-rate
 * hypergradients and g_s[t] the greedy ones ([S][T] row-major, ok_*[s] set
 * for the seeds that gave them). Then
 *   truth[t]   = mean_s h_s[t]                 (includes each seed itself,
 *                                               as the paper does)
 *   MSE(W)     = mean_{s,t} (hbar_s^W[t] - truth[t])^2, hbar_s^W[t] the mean
 *                of h_s over t's window [jW, (j+1)W) (the last may be shorter)
 *   MSE_greedy = mean_{s,t} (g_s[t] - truth[t])^2 = bias^2 + variance
 * and Theorem 4.1's shape MSE(W) ~ sigma^2/W + eps^2 (W^2-1)/12 fitted by
 * non-negative least squares (relative or absolute residuals), also with the
 * theorem's correlation term sigma^2 ((1-c)/W + c) + eps^2 (W^2-1)/12, and
 * estimated directly (sigma^2 = mean_t var_s h_s[t], divided by S, so the
 * estimate's W = 1 value is MSE(1) exactly; eps = mean_t |truth[t+1] -
 * truth[t]|).
 *
 * fig2_rounding compares the per-step values of another run of the same
 * seeds (float32, say) against these: the rounding that Figure 2 would
 * measure as if it were spread across seeds.
 */
#ifndef HG_FIG2_STATS_H
#define HG_FIG2_STATS_H

#include <stdint.h>

#include "../common/stats.h"

#define MAX_WINDOWS 64

typedef enum FitKind { FIT_REL, FIT_ABS } FitKind;

typedef struct Fig2Setup {
    int S, T;           /* seeds, steps */
    int nwin;
    const int *windows; /* [nwin] ascending, each in 1..T */
    FitKind fit;
} Fig2Setup;

typedef struct Fig2Stats {
    int T, nwin, n_ng, n_gr;          /* successful seeds of each engine */
    double *truth, *std;              /* [T] mean and std (divided by n_ng) over seeds */
    double *gr_mean, *gr_std;         /* [T] greedy mean and std over its seeds */
    double mse[MAX_WINDOWS];          /* measured MSE(W) */
    double bound_fit[MAX_WINDOWS], bound_est[MAX_WINDOWS], bound_fitc[MAX_WINDOWS];
    double sigma2_fit, eps2_fit, sigma2_est, eps_est;
    double sigma2_fitc, c_fitc, eps2_fitc; /* the fit with the correlation term */
    double fit_wstar, est_wstar, fitc_wstar; /* continuous minimisers of the bounds (inf: none) */
    int best;                         /* index of the smallest measured MSE */
    int one;                          /* index of W = 1, -1 if not measured */
    double greedy_mse, greedy_bias2, greedy_var;
    double last_step_rel;             /* max over seeds |g[T-1] - h[T-1]| / |h[T-1]| */
    char fit_note[160];
} Fig2Stats;

/* st's arrays are allocated here (fig2_stats_free). */
void fig2_stats(const Fig2Setup *o, const double *h, const int *ok_h, const double *g,
                const int *ok_g, Fig2Stats *st);
void fig2_stats_free(Fig2Stats *st);

/* The bootstrap over seeds (common/stats.h's percentile bootstrap): B
 * resamples of the n successful seeds with replacement, each a whole
 * seed's per-step row, and on each the statistics above recomputed as
 * they are (the truth is the resample's own mean; the bound refitted):
 *   mse[i]       the interval of MSE(W_i)
 *   sigma2, eps2 the interval of the fitted sigma^2 and eps^2
 *   best         the interval of the index of the best window (windows
 *                ascend, so windows[best.lo] .. windows[best.hi])
 *   best_share[i] the share of the B resamples whose smallest MSE is W_i
 * Every interval's mean is the statistic on the seeds as they are. Each
 * quantity is its own stats_bootstrap call with the same seed, so every
 * quantity sees the same B resamples. The seed is FIG2_BOOT_SEED (fixed:
 * the report that computes this is deterministic and reads no clock). */
#define FIG2_BOOT_B 1000
#define FIG2_BOOT_SEED 0x6669673262ULL /* "fig2b" */
typedef struct Fig2Boot {
    int B, n;
    double level;
    StatsInterval mse[MAX_WINDOWS], sigma2, eps2, best;
    double best_share[MAX_WINDOWS];
} Fig2Boot;

void fig2_bootstrap(const Fig2Setup *o, const double *h, const int *ok_h, int B, double level,
                    uint64_t seed, Fig2Boot *out);

/* Another run's per-step values x_s[t] of the same seeds against the
 * reference h_s[t], over the seeds both have (s < min(S_ref, S_x), ok in
 * both) and all steps:
 *   mse_diff  = mean_{s,t} (x_s[t] - h_s[t])^2   (the units of MSE(W))
 *   rel_rms   = sqrt(sum (x - h)^2 / sum h^2)
 *   max_rel   = the largest per-seed rel_rms
 *   corr      = Pearson correlation of x and h over all (s, t)
 *   val_diff  = mean_s |x_val_loss[s] - h_val_loss[s]| (NaN if either is NULL) */
typedef struct Fig2Rounding {
    int seeds;
    double mse_diff, rel_rms, max_rel, corr, val_diff;
} Fig2Rounding;

void fig2_rounding(int T, int S_ref, const double *h, const int *ok_h, const double *h_val,
                   int S_x, const double *x, const int *ok_x, const double *x_val,
                   Fig2Rounding *r);

#endif
