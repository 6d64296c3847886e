/* fig2_stats.c — Figure 2's statistics (fig2_stats.h). */
#include "fig2_stats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/mem.h"


static double bound(double s2, double e2, int W)
{
    return s2 / W + e2 * ((double)W * W - 1) / 12;
}

/* with correlation c between steps: the noise term sigma^2 (1 + c (W-1)) / W */
static double bound_c(double s2, double c, double e2, int W)
{
    return s2 * ((1 - c) / W + c) + e2 * ((double)W * W - 1) / 12;
}

#define FIT_MAXK 3

/* Weighted least squares y ~ sum_j coef_j X[j] over the columns in `mask`
 * (others 0), by the normal equations and Gaussian elimination with partial
 * pivoting. Returns the weighted squared residual, or INFINITY if singular. */
static double ls_subset(int k, unsigned mask, const double (*X)[MAX_WINDOWS], const double *y,
                        const double *wt, int n, double *coef)
{
    int idx[FIT_MAXK], m = 0;
    for (int j = 0; j < k; j++) {
        coef[j] = 0;
        if (mask >> j & 1)
            idx[m++] = j;
    }
    double A[FIT_MAXK][FIT_MAXK + 1] = {{0}};
    for (int r = 0; r < m; r++) {
        for (int c = 0; c < m; c++)
            for (int i = 0; i < n; i++)
                A[r][c] += wt[i] * X[idx[r]][i] * X[idx[c]][i];
        for (int i = 0; i < n; i++)
            A[r][m] += wt[i] * X[idx[r]][i] * y[i];
    }
    for (int c = 0; c < m; c++) {
        int piv = c;
        for (int r = c + 1; r < m; r++)
            if (fabs(A[r][c]) > fabs(A[piv][c]))
                piv = r;
        if (!(fabs(A[piv][c]) > 1e-13 * fabs(A[c][c]) && A[piv][c] != 0))
            return INFINITY;
        for (int q = 0; q <= m; q++) {
            const double t = A[c][q];
            A[c][q] = A[piv][q];
            A[piv][q] = t;
        }
        for (int r = 0; r < m; r++) {
            if (r == c)
                continue;
            const double f = A[r][c] / A[c][c];
            for (int q = c; q <= m; q++)
                A[r][q] -= f * A[c][q];
        }
    }
    for (int r = 0; r < m; r++)
        coef[idx[r]] = A[r][m] / A[r][r];
    double res = 0;
    for (int i = 0; i < n; i++) {
        double d = y[i];
        for (int j = 0; j < k; j++)
            d -= coef[j] * X[j][i];
        res += wt[i] * d * d;
    }
    return res;
}

/* Non-negative weighted least squares in k <= 3 unknowns, exactly: the
 * optimum is the unconstrained fit on its own support, so the best of the
 * feasible fits over all supports is it. Returns the mask of the support;
 * a column left out is one the unconstrained fit would make negative ("clipped
 * to 0 and the others refitted"). */
static unsigned nnls_small(int k, const double (*X)[MAX_WINDOWS], const double *y,
                           const double *wt, int n, double *coef)
{
    double best = INFINITY, c[FIT_MAXK];
    unsigned best_mask = 0;
    for (int j = 0; j < k; j++)
        coef[j] = 0;
    for (unsigned mask = 1; mask < 1u << k; mask++) {
        const double r = ls_subset(k, mask, X, y, wt, n, c);
        int ok = isfinite(r);
        for (int j = 0; j < k && ok; j++)
            ok = c[j] >= 0;
        if (ok && r < best) {
            best = r;
            best_mask = mask;
            memcpy(coef, c, sizeof(double) * k);
        }
    }
    return best_mask;
}

/* h, g: [S][T] per-step values; ok_h, ok_g: which seeds gave them. */
void fig2_stats(const Fig2Setup *o, const double *h, const int *ok_h, const double *g,
                       const int *ok_g, Fig2Stats *st)
{
    const int S = o->S, T = o->T;
    memset(st, 0, sizeof *st);
    st->T = T;
    st->nwin = o->nwin;
    st->truth = mem_alloc(MEM_OTHER, sizeof(double) * T);
    st->std = mem_alloc(MEM_OTHER, sizeof(double) * T);
    st->gr_mean = mem_alloc(MEM_OTHER, sizeof(double) * T);
    st->gr_std = mem_alloc(MEM_OTHER, sizeof(double) * T);
    for (int s = 0; s < S; s++) {
        st->n_ng += ok_h[s];
        st->n_gr += ok_g[s];
    }
    /* per-step ensemble mean and (population) variance */
    double var_sum = 0;
    for (int t = 0; t < T; t++) {
        double m = 0, v = 0, gm = 0, gv = 0;
        for (int s = 0; s < S; s++) {
            if (ok_h[s])
                m += h[(long)s * T + t];
            if (ok_g[s])
                gm += g[(long)s * T + t];
        }
        m = st->n_ng ? m / st->n_ng : NAN;
        gm = st->n_gr ? gm / st->n_gr : NAN;
        for (int s = 0; s < S; s++) {
            if (ok_h[s])
                v += (h[(long)s * T + t] - m) * (h[(long)s * T + t] - m);
            if (ok_g[s])
                gv += (g[(long)s * T + t] - gm) * (g[(long)s * T + t] - gm);
        }
        v = st->n_ng ? v / st->n_ng : NAN;
        gv = st->n_gr ? gv / st->n_gr : NAN;
        st->truth[t] = m;
        st->std[t] = sqrt(v);
        st->gr_mean[t] = gm;
        st->gr_std[t] = sqrt(gv);
        var_sum += v;
    }
    st->sigma2_est = var_sum / T;
    double dsum = 0;
    for (int t = 0; t + 1 < T; t++)
        dsum += fabs(st->truth[t + 1] - st->truth[t]);
    st->eps_est = T > 1 ? dsum / (T - 1) : 0;

    /* MSE(W) of window-averaged hypergradients */
    st->one = -1;
    for (int i = 0; i < o->nwin; i++) {
        const int W = o->windows[i];
        if (W == 1)
            st->one = i;
        double sum = 0;
        for (int s = 0; s < S; s++) {
            if (!ok_h[s])
                continue;
            const double *hs = h + (long)s * T;
            for (int t0 = 0; t0 < T; t0 += W) {
                const int t1 = t0 + W < T ? t0 + W : T;
                double avg = 0;
                for (int t = t0; t < t1; t++)
                    avg += hs[t];
                avg /= t1 - t0;
                for (int t = t0; t < t1; t++)
                    sum += (avg - st->truth[t]) * (avg - st->truth[t]);
            }
        }
        st->mse[i] = st->n_ng ? sum / ((double)st->n_ng * T) : NAN;
        if (i == 0 || st->mse[i] < st->mse[st->best])
            st->best = i;
    }

    /* greedy: MSE, split into the squared bias of its mean and its spread */
    double gsum = 0, b2 = 0, gvar = 0;
    for (int s = 0; s < S; s++)
        for (int t = 0; ok_g[s] && t < T; t++) {
            const double d = g[(long)s * T + t] - st->truth[t];
            gsum += d * d;
        }
    for (int t = 0; t < T; t++) {
        b2 += (st->gr_mean[t] - st->truth[t]) * (st->gr_mean[t] - st->truth[t]);
        gvar += st->gr_std[t] * st->gr_std[t];
    }
    st->greedy_mse = st->n_gr && st->n_ng ? gsum / ((double)st->n_gr * T) : NAN;
    st->greedy_bias2 = b2 / T;
    st->greedy_var = gvar / T;

    /* at the last step both engines differentiate L_val(w_T) through w_T only:
     * the same number (up to the reverse engine's arithmetic) */
    st->last_step_rel = 0;
    for (int s = 0; s < S; s++) {
        if (!ok_h[s] || !ok_g[s])
            continue;
        const double a = h[(long)s * T + T - 1], b = g[(long)s * T + T - 1];
        const double r = fabs(a - b) / (fabs(a) > 1e-300 ? fabs(a) : 1e-300);
        if (r > st->last_step_rel)
            st->last_step_rel = r;
    }

    /* Theorem 4.1's shape fitted: MSE(W) ~ sigma^2 / W + eps^2 (W^2 - 1) / 12
     * (independent steps), and with its correlation term:
     * MSE(W) ~ sigma^2 ((1 - c) / W + c) + eps^2 (W^2 - 1) / 12 */
    double X[FIT_MAXK][MAX_WINDOWS], wt[MAX_WINDOWS], coef[FIT_MAXK];
    for (int i = 0; i < o->nwin; i++) {
        const double W = o->windows[i];
        X[0][i] = 1 / W;
        X[1][i] = (W * W - 1) / 12;
        X[2][i] = 1;
        wt[i] = o->fit == FIT_REL ? 1 / (st->mse[i] * st->mse[i] + 1e-300) : 1;
    }
    unsigned sup = nnls_small(2, (const double (*)[MAX_WINDOWS])X, st->mse, wt, o->nwin, coef);
    st->sigma2_fit = coef[0];
    st->eps2_fit = coef[1];
    if (sup != 3)
        snprintf(st->fit_note, sizeof st->fit_note, "%s clipped to 0 and the other refitted",
                 sup == 1 ? "eps^2" : sup == 2 ? "sigma^2" : "both");
    /* columns 1/W, (W^2-1)/12, 1: coefficients sigma^2 (1-c), eps^2, sigma^2 c */
    nnls_small(3, (const double (*)[MAX_WINDOWS])X, st->mse, wt, o->nwin, coef);
    st->sigma2_fitc = coef[0] + coef[2];
    st->c_fitc = st->sigma2_fitc > 0 ? coef[2] / st->sigma2_fitc : 0;
    st->eps2_fitc = coef[1];
    for (int i = 0; i < o->nwin; i++) {
        st->bound_fit[i] = bound(st->sigma2_fit, st->eps2_fit, o->windows[i]);
        st->bound_fitc[i] = bound_c(st->sigma2_fitc, st->c_fitc, st->eps2_fitc, o->windows[i]);
        st->bound_est[i] = bound(st->sigma2_est, st->eps_est * st->eps_est, o->windows[i]);
    }
    /* d/dW (s2/W + e2 (W^2-1)/12) = 0 at W = (6 s2 / e2)^(1/3) */
    st->fit_wstar = st->eps2_fit > 0 ? cbrt(6 * st->sigma2_fit / st->eps2_fit) : INFINITY;
    st->fitc_wstar = st->eps2_fitc > 0 ? cbrt(6 * st->sigma2_fitc * (1 - st->c_fitc) / st->eps2_fitc)
                                       : INFINITY;
    st->est_wstar = st->eps_est > 0 ? cbrt(6 * st->sigma2_est / (st->eps_est * st->eps_est))
                                    : INFINITY;
}

void fig2_stats_free(Fig2Stats *st)
{
    mem_free(st->truth);
    mem_free(st->std);
    mem_free(st->gr_mean);
    mem_free(st->gr_std);
    memset(st, 0, sizeof *st);
}

void fig2_rounding(int T, int S_ref, const double *h, const int *ok_h, const double *h_val,
                   int S_x, const double *x, const int *ok_x, const double *x_val,
                   Fig2Rounding *r)
{
    const int S = S_ref < S_x ? S_ref : S_x;
    double d2 = 0, h2 = 0, sh = 0, sx = 0, shh = 0, sxx = 0, shx = 0, vd = 0;
    long n = 0;
    memset(r, 0, sizeof *r);
    for (int s = 0; s < S; s++) {
        if (!ok_h[s] || !ok_x[s])
            continue;
        double ds = 0, hs = 0;
        for (int t = 0; t < T; t++) {
            const double a = h[(long)s * T + t], b = x[(long)s * T + t];
            ds += (b - a) * (b - a);
            hs += a * a;
            sh += a;
            sx += b;
            shh += a * a;
            sxx += b * b;
            shx += a * b;
        }
        d2 += ds;
        h2 += hs;
        n += T;
        const double rel = hs > 0 ? sqrt(ds / hs) : ds > 0 ? INFINITY : 0;
        if (rel > r->max_rel)
            r->max_rel = rel;
        if (h_val && x_val)
            vd += fabs(x_val[s] - h_val[s]);
        r->seeds++;
    }
    if (!r->seeds) {
        r->mse_diff = r->rel_rms = r->max_rel = r->corr = r->val_diff = NAN;
        return;
    }
    r->mse_diff = d2 / n;
    r->rel_rms = h2 > 0 ? sqrt(d2 / h2) : d2 > 0 ? INFINITY : 0;
    const double ch = shh - sh * sh / n, cx = sxx - sx * sx / n, chx = shx - sh * sx / n;
    r->corr = ch > 0 && cx > 0 ? chx / sqrt(ch * cx) : NAN;
    r->val_diff = h_val && x_val ? vd / r->seeds : NAN;
}

/* ---------------------------------------------------------------- bootstrap */

enum { BOOT_MSE, BOOT_SIGMA2, BOOT_EPS2, BOOT_BEST };

typedef struct BootCtx {
    const Fig2Setup *o;
    const double *rows; /* [n][T] the successful seeds' rows */
    double *res;        /* [n][T] one resample's rows */
    int *ok;            /* [n] all 1 */
    int what, win;      /* the quantity (BOOT_*), its window for BOOT_MSE */
    long calls;         /* calls so far: the first is on the seeds as they are */
    double *share;      /* [nwin] BOOT_BEST: resamples choosing each window */
} BootCtx;

/* x: seed indices (one resample of them); the quantity ctx asks for. */
static double boot_statistic(const double *x, int n, void *vctx)
{
    BootCtx *c = vctx;
    const int T = c->o->T;
    for (int i = 0; i < n; i++)
        memcpy(c->res + (long)i * T, c->rows + (long)x[i] * T, sizeof(double) * T);
    Fig2Setup o = *c->o;
    o.S = n;
    Fig2Stats st;
    fig2_stats(&o, c->res, c->ok, c->res, c->ok, &st);
    double v = c->what == BOOT_MSE      ? st.mse[c->win]
             : c->what == BOOT_SIGMA2 ? st.sigma2_fit
             : c->what == BOOT_EPS2   ? st.eps2_fit
                                      : st.best;
    if (c->what == BOOT_BEST && c->calls > 0)
        c->share[st.best] += 1;
    c->calls++;
    fig2_stats_free(&st);
    return v;
}

void fig2_bootstrap(const Fig2Setup *o, const double *h, const int *ok_h, int B, double level,
                    uint64_t seed, Fig2Boot *out)
{
    memset(out, 0, sizeof *out);
    const int T = o->T;
    int n = 0;
    for (int s = 0; s < o->S; s++)
        n += ok_h[s] != 0;
    out->B = B;
    out->n = n;
    out->level = level;
    double *rows = mem_alloc(MEM_OTHER, sizeof(double) * (n ? n : 1) * T);
    double *res = mem_alloc(MEM_OTHER, sizeof(double) * (n ? n : 1) * T);
    double *x = mem_alloc(MEM_OTHER, sizeof(double) * (n ? n : 1));
    int *ok = mem_alloc(MEM_OTHER, sizeof(int) * (n ? n : 1));
    for (int s = 0, i = 0; s < o->S; s++)
        if (ok_h[s]) {
            memcpy(rows + (long)i * T, h + (long)s * T, sizeof(double) * T);
            x[i] = i;
            ok[i++] = 1;
        }
    BootCtx c = {.o = o, .rows = rows, .res = res, .ok = ok, .share = out->best_share};
    if (n > 0) {
        for (int i = 0; i < o->nwin; i++) {
            c.what = BOOT_MSE;
            c.win = i;
            out->mse[i] = stats_bootstrap(x, n, boot_statistic, &c, B, level, seed);
        }
        c.what = BOOT_SIGMA2;
        out->sigma2 = stats_bootstrap(x, n, boot_statistic, &c, B, level, seed);
        c.what = BOOT_EPS2;
        out->eps2 = stats_bootstrap(x, n, boot_statistic, &c, B, level, seed);
        c.what = BOOT_BEST;
        c.calls = 0;
        out->best = stats_bootstrap(x, n, boot_statistic, &c, B, level, seed);
        const long drawn = c.calls - 1; /* B, or 0 when stats_bootstrap drew none (n < 2) */
        for (int i = 0; i < o->nwin; i++)
            out->best_share[i] = drawn > 0 ? out->best_share[i] / drawn : i == (int)out->best.mean;
    }
    mem_free(rows);
    mem_free(res);
    mem_free(x);
    mem_free(ok);
}
