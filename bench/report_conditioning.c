/* report_conditioning.c — the float32 conditioning section of RESULTS.md
 * from <results>/conditioning.json (hgbench-runs: the section's hgbench
 * hypergrad runs as they are, scripts/bench-conditioning.sh). Here, per
 * model, T and seed: each engine's gap |g32 - g64| / |g64|, the float64
 * run with float32-sized noise at every step (sr32) against float64, and
 * float64 with w0 moved against float64; per T their median and range over
 * the seeds; the criterion per seed (from which T float32 is not to be
 * trusted) reported as a distribution over seeds, the float32 gap there
 * compared with the spread of the sr32 gaps; the plot `conditioning` and
 * one headline.
 * Run names: <model>-T<T>-s<seed>-<engine>-f64 / -f32, -bptt-f64-sr32,
 * -bptt-f64-perturbed. A file without the `seeds` param (before seeds were
 * run) is read as seed 0 with the names <model>-T<T>-<run>.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/stats.h"
#include "report.h"
#include "report_md.h"
#include "report_plot.h"
#include "report_runs.h"

#define MAX_T 32
#define MAX_M 8
#define MAX_E 8
#define MAX_S 64
#define SR32 MAX_E          /* the sr32 reference's column, after the engines' */
#define PERTURB (MAX_E + 1) /* the w0 move's */
#define NCOL (MAX_E + 2)
#define NOT_FINITE 1e300    /* a non-finite gap: above every bound */

typedef struct Cell {
    int ok;             /* both runs left results */
    const char *status; /* else the failed run's status */
    double rel;
} Cell;

/* A column's cells at one T over the seeds whose runs succeeded. */
typedef struct Spread {
    int n, n_ok;
    double med, lo, hi;
    const char *status; /* the first failed seed's status */
} Spread;

typedef struct Cond {
    RunsFile f;
    char models[MAX_M][32], engines[MAX_E][32];
    int nm, ne, nT, nS, legacy;
    long Ts[MAX_T], seeds[MAX_S];
    double perturb, max_gap;
    const char *problem;
    long params[MAX_M];
    Cell cell[MAX_M][MAX_T][MAX_S][NCOL];
} Cond;

static int words(const char *s, char out[][32], int cap)
{
    int n = 0;
    while (*s && n < cap) {
        while (*s == ' ') s++;
        size_t k = strcspn(s, " ");
        if (!k) break;
        snprintf(out[n++], 32, "%.*s", (int)k, s);
        s += k;
    }
    return n;
}

/* The run name of model m, horizon t, seed s and run `run` ("bptt-f64"). */
static const char *run_name(char *buf, size_t n, const Cond *d, int m, int t, int s, const char *run)
{
    if (d->legacy) snprintf(buf, n, "%s-T%ld-%s", d->models[m], d->Ts[t], run);
    else snprintf(buf, n, "%s-T%ld-s%ld-%s", d->models[m], d->Ts[t], d->seeds[s], run);
    return buf;
}

/* One cell: run g against run ref (both names), from the file. */
static void pair(Cond *d, Cell *cell, const char *ref_name, const char *g_name, long *params)
{
    const char *st, *why;
    json_t *ref = runs_get(&d->f, ref_name, &st, &why);
    cell->status = st;
    if (!ref) return;
    if (params) *params = rj_int(&d->f.r, ref, "model_params");
    json_t *g = runs_get(&d->f, g_name, &st, &why);
    cell->status = st;
    if (!g) return;
    double cosine;
    long n;
    if (runs_lr_error(&d->f, ref_name, ref, g_name, g, "hypergrad", &cell->rel, &cosine, &n))
        return;
    cell->ok = 1;
}

static int load(ReportCtx *c, Cond *d)
{
    const int got = runs_load(c, "conditioning.json", &d->f);
    if (got <= 0) return got;
    Rj *r = &d->f.r;
    d->nm = words(runs_param_str(&d->f, "models"), d->models, MAX_M);
    d->ne = words(runs_param_str(&d->f, "engines"), d->engines, MAX_E);
    d->nT = runs_ints(runs_param_str(&d->f, "horizons"), d->Ts, MAX_T);
    d->legacy = !r->bad && !rj_has(d->f.params, "seeds");
    if (d->legacy) d->nS = 1, d->seeds[0] = 0;
    else d->nS = runs_ints(runs_param_str(&d->f, "seeds"), d->seeds, MAX_S);
    d->perturb = runs_param(&d->f, "perturb");
    d->max_gap = runs_param(&d->f, "max_gap");
    d->problem = runs_param_str(&d->f, "problem");
    if (!r->bad && (!d->nm || !d->ne || !d->nT || !d->nS))
        rj_fail(r, "params: models, engines, horizons or seeds is empty");
    for (int m = 0; m < d->nm && !r->bad; m++)
        for (int t = 0; t < d->nT && !r->bad; t++)
            for (int s = 0; s < d->nS && !r->bad; s++) {
                char ref[160], g[160], run[64];
                Cell *row = d->cell[m][t][s];
                for (int e = 0; e < d->ne; e++) {
                    snprintf(run, sizeof run, "%s-f64", d->engines[e]);
                    run_name(ref, sizeof ref, d, m, t, s, run);
                    snprintf(run, sizeof run, "%s-f32", d->engines[e]);
                    pair(d, &row[e], ref, run_name(g, sizeof g, d, m, t, s, run), &d->params[m]);
                }
                run_name(ref, sizeof ref, d, m, t, s, "bptt-f64");
                pair(d, &row[SR32], ref, run_name(g, sizeof g, d, m, t, s, "bptt-f64-sr32"), NULL);
                pair(d, &row[PERTURB], ref, run_name(g, sizeof g, d, m, t, s, "bptt-f64-perturbed"),
                     NULL);
            }
    rj_at(r, "%s", "");
    if (r->bad) return hg_fail(&c->err, "%s", r->err.msg);
    return 1;
}

/* The gap as the criterion reads it: a non-finite gap exceeds every bound. */
static double gap_of(const Cell *cell)
{
    return isfinite(cell->rel) ? cell->rel : NOT_FINITE;
}

/* Column col of model m at horizon t over the seeds: median and range. */
static Spread spread(const Cond *d, int m, int t, int col)
{
    Spread sp = {.n = d->nS, .med = NAN, .lo = NAN, .hi = NAN};
    double x[MAX_S];
    for (int s = 0; s < d->nS; s++) {
        const Cell *cell = &d->cell[m][t][s][col];
        if (cell->ok) x[sp.n_ok++] = gap_of(cell);
        else if (!sp.status) sp.status = cell->status;
    }
    if (sp.n_ok) {
        sp.med = stats_median(x, sp.n_ok);
        sp.lo = sp.hi = x[0];
        for (int i = 1; i < sp.n_ok; i++) sp.lo = fmin(sp.lo, x[i]), sp.hi = fmax(sp.hi, x[i]);
    }
    return sp;
}

static const char *gap_g(char *buf, size_t n, double x)
{
    if (x >= NOT_FINITE) snprintf(buf, n, "inf");
    else snprintf(buf, n, "%.3g", x);
    return buf;
}

/* "median (lo – hi)", "**failed**" when no seed's runs succeeded, and
 * "[k of n]" when some failed. */
static const char *spread_text(char *buf, size_t n, const Spread *sp)
{
    char a[32], b[32], c[32];
    if (!sp->n_ok) {
        snprintf(buf, n, "**%s**", sp->status ? sp->status : "no runs");
        return buf;
    }
    size_t k = (size_t)snprintf(buf, n, "%s (%s – %s)", gap_g(a, sizeof a, sp->med),
                                gap_g(b, sizeof b, sp->lo), gap_g(c, sizeof c, sp->hi));
    if (sp->n_ok < sp->n && k < n) snprintf(buf + k, n - k, " [%d of %d]", sp->n_ok, sp->n);
    return buf;
}

static void table(FILE *md, const Cond *d, int m)
{
    fprintf(md, "| T |");
    for (int e = 0; e < d->ne; e++) fprintf(md, " %s gap |", d->engines[e]);
    fprintf(md, " float64 + sr32 noise | float64, w0 moved |\n|--:|");
    for (int e = 0; e < d->ne + 2; e++) fprintf(md, "--:|");
    fprintf(md, "\n");
    for (int t = 0; t < d->nT; t++) {
        char b[128];
        fprintf(md, "| %ld |", d->Ts[t]);
        for (int e = 0; e < d->ne; e++) {
            const Spread sp = spread(d, m, t, e);
            fprintf(md, " %s |", spread_text(b, sizeof b, &sp));
        }
        const Spread sr = spread(d, m, t, SR32), pe = spread(d, m, t, PERTURB);
        fprintf(md, " %s |", spread_text(b, sizeof b, &sr));
        fprintf(md, " %s |\n", spread_text(b, sizeof b, &pe));
    }
}

/* The smallest T (its index) from which on engine e's gap for seed s
 * exceeds max_gap at every measured T; -1: none. */
static int untrusted_from(const Cond *d, int m, int s, int e)
{
    int from = -1;
    for (int t = d->nT - 1; t >= 0; t--) {
        const Cell *cell = &d->cell[m][t][s][e];
        if (cell->ok && gap_of(cell) > d->max_gap) from = t;
        else break;
    }
    return from;
}

/* Engine e of model m over the seeds: count[t] seeds untrusted from Ts[t],
 * never = the others (their runs at the largest T succeeded or not); the
 * median T (index; nT: most seeds never): the smallest T by which at least
 * half the seeds are untrusted. */
typedef struct Dist {
    int count[MAX_T], never, median;
    int within, above; /* seeds whose gap at their T is within / above the sr32 spread there */
} Dist;

static Dist distribution(const Cond *d, int m, int e)
{
    Dist x = {.median = d->nT};
    for (int s = 0; s < d->nS; s++) {
        const int from = untrusted_from(d, m, s, e);
        if (from < 0) { x.never++; continue; }
        x.count[from]++;
        const Spread sr = spread(d, m, from, SR32);
        if (!sr.n_ok) continue;
        if (gap_of(&d->cell[m][from][s][e]) <= sr.hi) x.within++;
        else x.above++;
    }
    for (int t = 0, acc = 0; t < d->nT; t++) {
        acc += x.count[t];
        if (2 * acc >= d->nS) { x.median = t; break; }
    }
    return x;
}

static void verdict(FILE *md, const Cond *d, int m)
{
    int any = 0;
    for (int t = 0; t < d->nT; t++)
        for (int s = 0; s < d->nS; s++)
            for (int e = 0; e < NCOL; e++) any |= d->cell[m][t][s][e].ok;
    if (!any) { fprintf(md, "**%s**: no runs succeeded.\n\n", d->models[m]); return; }
    for (int e = 0; e < d->ne; e++) {
        const Dist x = distribution(d, m, e);
        const char *en = d->engines[e];
        if (x.median >= d->nT)
            fprintf(md, "- **%s**, %s: float32 stays within %g of float64 up to T = %ld for most "
                        "seeds", d->models[m], en, d->max_gap, d->Ts[d->nT - 1]);
        else
            fprintf(md, "- **%s**, %s: float32 hypergradients are not to be trusted from T = %ld "
                        "on (median over the %d seeds)", d->models[m], en, d->Ts[x.median], d->nS);
        fprintf(md, "; seeds");
        int first = 1;
        for (int t = 0; t < d->nT; t++)
            if (x.count[t]) {
                fprintf(md, "%s untrusted from T = %ld: %d", first ? "" : ",", d->Ts[t], x.count[t]);
                first = 0;
            }
        if (x.never)
            fprintf(md, "%s trusted up to T = %ld: %d", first ? "" : ",", d->Ts[d->nT - 1], x.never);
        if (x.within + x.above)
            fprintf(md, "; at that T the float32 gap is within the spread of the sr32 gaps for %d "
                        "of those seeds (float32's rounding does what any float32-sized noise in "
                        "the run does: the problem's sensitivity) and above it for %d (float32's "
                        "own arithmetic adds to it)", x.within, x.above);
        fprintf(md, ".\n");
    }
    fprintf(md, "\n");
}

static void plot(ReportCtx *c, const Cond *d)
{
    Plot p;
    FILE *dat = plot_begin(c, &p, "conditioning");
    if (!dat) return;
    fprintf(dat, "# T median lo hi of the gap over seeds; one block per series (model, engine "
                 "float32 gap, the float64 sr32 gap or the float64 w0-move gap), as titled\n");
    FILE *s = plot_script(&p);
    fprintf(s, "set logscale xy; set format y '10^{%%L}'; set xlabel 'inner steps T'; set ylabel "
               "'relative difference (median, range over %d seeds)'\nset title 'float32 vs "
               "float64 hypergradients, and float64 with float32-sized noise' noenhanced\n"
               "set key outside right top\nset arrow from graph 0, first %g to graph 1, first %g "
               "nohead ls 5 dt 3\nset label 'criterion %g' at graph 0.02, first %g * 1.6 font "
               "',9'\nplot", d->nS, d->max_gap, d->max_gap, d->max_gap, d->max_gap);
    int block = 0;
    for (int m = 0; m < d->nm; m++) {
        const char *extra = strcmp(d->models[m], "lenet") ? " dt 2 pt 6" : "";
        for (int e = 0; e < d->ne + 2; e++) {
            const int col = e < d->ne ? e : e == d->ne ? SR32 : PERTURB;
            int any = 0;
            for (int t = 0; t < d->nT; t++) {
                const Spread sp = spread(d, m, t, col);
                if (!sp.n_ok || !(sp.lo > 0) || sp.hi >= NOT_FINITE) continue;
                if (!any) {
                    if (block) fprintf(dat, "\n\n");
                    fprintf(dat, "# %s %s\n", d->models[m],
                            e < d->ne ? d->engines[e] : col == SR32 ? "sr32" : "perturb");
                }
                any = 1;
                fprintf(dat, "%ld %.9g %.9g %.9g\n", d->Ts[t], sp.med, sp.lo, sp.hi);
            }
            if (!any) continue;
            const char *sep = block ? "," : "";
            if (e < d->ne)
                fprintf(s, "%s DAT index %d using 1:2:3:4 with yerrorlines ls ENGINE_LS('%s')%s "
                           "title '%s %s float32'", sep, block, d->engines[e], extra,
                        d->models[m], d->engines[e]);
            else /* sr32 purple and heavier, the w0 move grey; the model's dash as above */
                fprintf(s, "%s DAT index %d using 1:2:3:4 with yerrorlines ls %d lw %s%s "
                           "title '%s %s'", sep, block, col == SR32 ? 6 : 5,
                        col == SR32 ? "2.5" : "1", *extra ? extra : " dt 1", d->models[m],
                        col == SR32 ? "float64 + sr32 noise" : "float64, w0 moved");
            block++;
        }
    }
    if (!block) fprintf(s, " NaN notitle");
    fprintf(s, "\n");
    plot_end(c, &p);
}

static const char *thousands(char *buf, size_t n, long x)
{
    if (x >= 1000) snprintf(buf, n, "%ld,%03ld", x / 1000, x % 1000);
    else snprintf(buf, n, "%ld", x);
    return buf;
}

/* The headline: by bptt (the reference engine), from which T each model's
 * float32 hypergradients fail the criterion, as a median over seeds with
 * the range of the seeds' T; the models that pass it for most seeds. */
static void headline(ReportCtx *c, const Cond *d)
{
    int bptt = -1;
    for (int e = 0; e < d->ne; e++) if (!strcmp(d->engines[e], "bptt")) bptt = e;
    if (bptt < 0) return;
    char bad[600] = "", good[400] = "";
    size_t nb = 0, ng = 0;
    for (int m = 0; m < d->nm; m++) {
        const Dist x = distribution(d, m, bptt);
        int lo = -1, hi = -1;
        for (int t = 0; t < d->nT; t++)
            if (x.count[t]) { if (lo < 0) lo = t; hi = t; }
        if (x.median < d->nT && nb < sizeof bad) {
            nb += (size_t)snprintf(bad + nb, sizeof bad - nb, "%sfrom T = %ld on for %s (per seed "
                                   "T = %ld – %ld", nb ? "; " : "", d->Ts[x.median], d->models[m],
                                   d->Ts[lo], d->Ts[hi]);
            if (x.never && nb < sizeof bad)
                nb += (size_t)snprintf(bad + nb, sizeof bad - nb, ", never for %d", x.never);
            if (nb < sizeof bad) nb += (size_t)snprintf(bad + nb, sizeof bad - nb, ")");
        } else if (x.median >= d->nT && ng < sizeof good) {
            ng += (size_t)snprintf(good + ng, sizeof good - ng, "%s%s up to T = %ld (%d of %d "
                                   "seeds)", ng ? ", " : "", d->models[m], d->Ts[d->nT - 1],
                                   x.never, d->nS);
        }
    }
    if (nb && ng)
        report_headline(c, "float32 conditioning",
                        "By bptt over %d seeds, float32 hypergradients are not to be trusted (their "
                        "gap to float64 above %g at every T from there on, median over seeds) %s; "
                        "they stay within it for %s.", d->nS, d->max_gap, bad, good);
    else if (nb)
        report_headline(c, "float32 conditioning",
                        "By bptt over %d seeds, float32 hypergradients are not to be trusted (their "
                        "gap to float64 above %g at every T from there on, median over seeds) %s.",
                        d->nS, d->max_gap, bad);
    else if (ng)
        report_headline(c, "float32 conditioning",
                        "By bptt over %d seeds, float32 hypergradients stay within %g of float64 "
                        "at every T measured: %s.", d->nS, d->max_gap, good);
}

static int render(ReportCtx *c)
{
    Cond *d = calloc(1, sizeof *d);
    HG_CHECK(d, "calloc");
    FILE *md = c->md;
    int rc = 0, s = load(c, d);
    if (s < 0) { rc = -1; goto done; }
    fprintf(md, "## float32 conditioning\n\n");
    if (!s) {
        fprintf(md, "**failed**: no results (`conditioning.json`; see the bench log).\n\n");
        goto done;
    }
    char tl[256] = "", sl[256] = "";
    size_t len = 0;
    for (int t = 0; t < d->nT; t++)
        len += (size_t)snprintf(tl + len, sizeof tl - len, "%s%ld", t ? ", " : "", d->Ts[t]);
    len = 0;
    for (int i = 0; i < d->nS && len < sizeof sl; i++)
        len += (size_t)snprintf(sl + len, sizeof sl - len, "%s%ld", i ? ", " : "", d->seeds[i]);
    fprintf(md, "How far float32 hypergradients are from float64 ones of the same problem (the "
                "same data,\nseeds and schedule), and whether that is what any float32-sized "
                "noise in the run would\nmake or the float32 engine's own. Fashion-MNIST, batch "
                "128, 1000 validation examples,\nlr 0.05, momentum 0.9, weight decay 5e-4, "
                "constant, the learning rate learned in 10 windows\n(per step at T = 10), %ld "
                "thread%s, T ∈ {%s}, seeds %s (initialisation and batch\norder);",
            d->f.env.threads, d->f.env.threads == 1 ? "" : "s", tl, sl);
    for (int m = 0; m < d->nm; m++) {
        char n[32];
        const char *sep = m == 0 ? " " : m == d->nm - 1 ? " and " : ", ";
        if (!strcmp(d->models[m], "lenet"))
            fprintf(md, "%sLeNet (%s parameters)", sep, thousands(n, sizeof n, d->params[m]));
        else if (!strcmp(d->models[m], "mlp"))
            fprintf(md, "%sthe MLP\n(784-256-10 tanh, %s)", sep, thousands(n, sizeof n, d->params[m]));
        else
            fprintf(md, "%s%s (%s)", sep, d->models[m], thousands(n, sizeof n, d->params[m]));
    }
    fprintf(md, ". Every cell is the median over the seeds and, in brackets, their range.\n\n");
    if (d->legacy)
        fprintf(md, "**One seed**: these results predate the runs over seeds (no sr32 "
                    "reference); rerun the section for both.\n\n");
    if (runs_param(&d->f, "quick") == 1)
        fprintf(md, "**QUICK**: T ∈ {%s}, %d seeds (the full run: T ∈ {10, 30, 100, 300, 1000}, "
                    "5 seeds).\n\n", tl, d->nS);
    char pt[32];
    runs_short_g(pt, sizeof pt, d->perturb);
    fprintf(md, "- **gap** of an engine: |g₃₂ − g₆₄| / |g₆₄|, its float32 hypergradient against "
                "its own\n  float64 one (");
    for (int e = 0; e < d->ne; e++) fprintf(md, "%s%s", e ? ", " : "", d->engines[e]);
    fprintf(md, "; reversible's state is int64 fixed point in both,\n  its gradients are not).\n"
                "- **float64 + sr32 noise**: float64 bptt whose w and v are rounded stochastically "
                "to\n  float32's grid after every update (`--round-noise sr32`, unbiased, seeded "
                "by the seed),\n  against plain float64 bptt: noise of float32's size at every "
                "step, float64 arithmetic —\n  the reference float32 is compared with, like with "
                "like.\n"
                "- **float64, w0 moved**: float64 bptt with w0 moved once by %s relative along a "
                "seeded\n  direction (`--perturb-w0 %s`), against float64 bptt.\n"
                "- **Criterion**: for each seed, a model's float32 hypergradients by an engine are "
                "not to be\n  trusted from the smallest T from which on that engine's gap exceeds "
                "%g at every\n  measured T; reported as its distribution over the seeds (median: "
                "the smallest T by\n  which half the seeds are untrusted). At that T the "
                "seed's float32 gap is within the\n  spread of the sr32 gaps (at most their "
                "largest over the seeds) when float32's rounding\n  does what any float32-sized "
                "noise does (the problem's sensitivity), else above it.\n\n",
            pt, pt, d->max_gap);
    for (int m = 0; m < d->nm; m++) {
        fprintf(md, "### %s\n\n", d->models[m]);
        table(md, d, m);
        fprintf(md, "\n");
        verdict(md, d, m);
    }
    md_provenance(md, &d->f.env);
    fprintf(md, "\n");
    report_image(c, "conditioning", "float32 vs float64 gaps and the float64 references vs T");
    fprintf(md, "\nEach run's JSON is in `conditioning/` beside `conditioning.json`, which "
                "collects them (hgbench-runs).\nReproduce the section: `%s`; one pair: `build/hgbench "
                "hypergrad\n--precision 32|64 --engine E --model M --steps T --seed S %s --json F` "
                "(add\n`--round-noise sr32` or `--perturb-w0 %s` to the float64 one for the "
                "references);\nhgbench-report computes the gap from the two files.\n\n",
            d->f.env.command, d->problem, pt);
    if (d->f.r.bad) { rc = hg_fail(&c->err, "%s", d->f.r.err.msg); goto done; }
    plot(c, d);
    headline(c, d);
done:
    runs_close(&d->f);
    free(d);
    return rc;
}

const ReportSection REPORT_CONDITIONING = {"conditioning", render};
