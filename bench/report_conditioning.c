/* report_conditioning.c — the float32 conditioning section of RESULTS.md
 * from <results>/conditioning.json (hgbench-runs: the section's hgbench
 * hypergrad runs as they are, scripts/bench-conditioning.sh). Here: each
 * engine's gap |g32 - g64| / |g64|, the float64 perturbation gap, the
 * criterion's verdict per model and engine (from which T float32 is not to
 * be trusted), the plot `conditioning` and one headline.
 * Run names: <model>-T<T>-<engine>-f64 / -f32, <model>-T<T>-bptt-f64-perturbed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_md.h"
#include "report_plot.h"
#include "report_runs.h"

#define MAX_T 32
#define MAX_M 8
#define MAX_E 8
#define PERTURB MAX_E /* the perturbation's column, after the engines' */

typedef struct Cell {
    int ok;             /* both runs left results */
    const char *status; /* else the failed run's status */
    double rel, cosine, loss_ref, loss;
} Cell;

typedef struct Cond {
    RunsFile f;
    char models[MAX_M][32], engines[MAX_E][32];
    int nm, ne, nT;
    long Ts[MAX_T];
    double perturb, max_gap;
    const char *problem;
    long params[MAX_M];
    Cell cell[MAX_M][MAX_T][MAX_E + 1];
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

/* One cell: run g against run ref (both names), from the file. */
static void pair(Cond *d, Cell *cell, const char *ref_name, const char *g_name, long *params)
{
    const char *st, *why;
    json_t *ref = runs_get(&d->f, ref_name, &st, &why);
    cell->status = st;
    if (!ref) return;
    cell->loss_ref = rj_num(&d->f.r, ref, "val_loss");
    if (params) *params = rj_int(&d->f.r, ref, "model_params");
    json_t *g = runs_get(&d->f, g_name, &st, &why);
    cell->status = st;
    if (!g) return;
    cell->loss = rj_num(&d->f.r, g, "val_loss");
    long n;
    if (runs_lr_error(&d->f, ref_name, ref, g_name, g, "hypergrad", &cell->rel, &cell->cosine, &n))
        return;
    cell->ok = 1;
}

static int load(ReportCtx *c, Cond *d)
{
    int s = runs_load(c, "conditioning.json", &d->f);
    if (s <= 0) return s;
    Rj *r = &d->f.r;
    d->nm = words(runs_param_str(&d->f, "models"), d->models, MAX_M);
    d->ne = words(runs_param_str(&d->f, "engines"), d->engines, MAX_E);
    d->nT = runs_ints(runs_param_str(&d->f, "horizons"), d->Ts, MAX_T);
    d->perturb = runs_param(&d->f, "perturb");
    d->max_gap = runs_param(&d->f, "max_gap");
    d->problem = runs_param_str(&d->f, "problem");
    if (!r->bad && (!d->nm || !d->ne || !d->nT))
        rj_fail(r, "params: models, engines or horizons is empty");
    for (int m = 0; m < d->nm && !r->bad; m++)
        for (int t = 0; t < d->nT && !r->bad; t++) {
            char ref[160], g[160];
            for (int e = 0; e < d->ne; e++) {
                snprintf(ref, sizeof ref, "%s-T%ld-%s-f64", d->models[m], d->Ts[t], d->engines[e]);
                snprintf(g, sizeof g, "%s-T%ld-%s-f32", d->models[m], d->Ts[t], d->engines[e]);
                pair(d, &d->cell[m][t][e], ref, g, &d->params[m]);
            }
            snprintf(ref, sizeof ref, "%s-T%ld-bptt-f64", d->models[m], d->Ts[t]);
            snprintf(g, sizeof g, "%s-T%ld-bptt-f64-perturbed", d->models[m], d->Ts[t]);
            pair(d, &d->cell[m][t][PERTURB], ref, g, NULL);
        }
    rj_at(r, "%s", "");
    if (r->bad) return hg_fail(&c->err, "%s", r->err.msg);
    return 1;
}

static const char *gap_text(char *buf, size_t n, const Cell *cell)
{
    if (!cell->ok) snprintf(buf, n, "**%s**", cell->status);
    else if (isnan(cell->rel)) snprintf(buf, n, "nan");
    else snprintf(buf, n, "%.4g", cell->rel);
    return buf;
}

static void table(FILE *md, const Cond *d, int m)
{
    fprintf(md, "| T |");
    for (int e = 0; e < d->ne; e++) fprintf(md, " %s gap |", d->engines[e]);
    fprintf(md, " float64, w0 moved | cosine (bptt) | val loss float64 / float32 (bptt) |\n|--:|");
    for (int e = 0; e < d->ne + 3; e++) fprintf(md, "--:|");
    fprintf(md, "\n");
    int bptt = -1;
    for (int e = 0; e < d->ne; e++) if (!strcmp(d->engines[e], "bptt")) bptt = e;
    for (int t = 0; t < d->nT; t++) {
        char b[64];
        fprintf(md, "| %ld |", d->Ts[t]);
        for (int e = 0; e < d->ne; e++) fprintf(md, " %s |", gap_text(b, sizeof b, &d->cell[m][t][e]));
        fprintf(md, " %s |", gap_text(b, sizeof b, &d->cell[m][t][PERTURB]));
        const Cell *bc = bptt >= 0 ? &d->cell[m][t][bptt] : NULL;
        if (bc && bc->ok) {
            if (isnan(bc->cosine)) fprintf(md, " nan |");
            else fprintf(md, " %.6g |", bc->cosine);
            fprintf(md, " %.5g / %.5g |\n", bc->loss_ref, bc->loss);
        } else {
            fprintf(md, "  |  |\n");
        }
    }
}

/* The gap as the criterion reads it: a non-finite gap exceeds every bound. */
static double gap_of(const Cell *cell)
{
    return isnan(cell->rel) ? 1e300 : cell->rel;
}

/* The smallest T from which on engine e's gap exceeds max_gap at every
 * measured T (0: none), by index into Ts. */
static int untrusted_from(const Cond *d, int m, int e)
{
    int from = -1;
    for (int t = d->nT - 1; t >= 0; t--) {
        const Cell *cell = &d->cell[m][t][e];
        if (cell->ok && gap_of(cell) > d->max_gap) from = t;
        else break;
    }
    return from;
}

static void verdict(FILE *md, const Cond *d, int m)
{
    int any = 0;
    for (int t = 0; t < d->nT; t++)
        for (int e = 0; e <= PERTURB; e++) any |= d->cell[m][t][e].ok;
    if (!any) { fprintf(md, "**%s**: no runs succeeded.\n\n", d->models[m]); return; }
    fprintf(md, "**%s** (T ∈ {", d->models[m]);
    for (int t = 0; t < d->nT; t++) fprintf(md, "%s%ld", t ? ", " : "", d->Ts[t]);
    fprintf(md, "}): ");
    for (int e = 0; e < d->ne; e++) {
        const char *en = d->engines[e];
        if (e) fprintf(md, "; ");
        int from = untrusted_from(d, m, e);
        if (from < 0) {
            const Cell *last = &d->cell[m][d->nT - 1][e];
            fprintf(md, "%s float32 stayed within %g of float64 up to T = %ld", en, d->max_gap,
                    d->Ts[d->nT - 1]);
            if (last->ok) fprintf(md, " (gap %.2g there)", last->rel);
            else fprintf(md, " (its run there %s)", last->status);
            continue;
        }
        const Cell *cell = &d->cell[m][from][e], *p = &d->cell[m][from][PERTURB];
        double g = gap_of(cell);
        fprintf(md, "%s float32 hypergradients are not to be trusted from T = %ld on (gap ", en,
                d->Ts[from]);
        if (g >= 1e300) fprintf(md, "not finite");
        else fprintf(md, "%.2g", g);
        if (p->ok)
            fprintf(md, "; w0 moved by %g moves float64 by %.2g, so the gap is %s)", d->perturb,
                    p->rel, g <= 10 * gap_of(p) ? "the problem's sensitivity, not the engine"
                                                : "float32's own rounding through the run");
        else
            fprintf(md, "; no perturbation run)");
    }
    fprintf(md, ".\n\n");
}

static void plot(ReportCtx *c, const Cond *d)
{
    char pt[32];
    Plot p;
    FILE *dat = plot_begin(c, &p, "conditioning");
    if (!dat) return;
    fprintf(dat, "# T rel_diff; one block per series (model, engine float32 gap, or the float64 "
                 "perturbation gap), as titled\n");
    FILE *s = plot_script(&p);
    fprintf(s, "set logscale xy; set format y '10^{%%L}'; set xlabel 'inner steps T'; set ylabel "
               "'relative difference'\nset title 'float32 vs float64 hypergradients, and float64 "
               "with w0 moved by %s' noenhanced\nset key outside right top\nset arrow from graph "
               "0, first %g to graph 1, first %g nohead ls 5 dt 3\nset label 'criterion %g' at "
               "graph 0.02, first %g * 1.6 font ',9'\nplot",
            runs_short_g(pt, sizeof pt, d->perturb), d->max_gap, d->max_gap, d->max_gap, d->max_gap);
    int block = 0;
    for (int m = 0; m < d->nm; m++) {
        const char *extra = strcmp(d->models[m], "lenet") ? " dt 2 pt 6" : "";
        for (int e = 0; e <= d->ne; e++) {
            int col = e < d->ne ? e : PERTURB, any = 0;
            for (int t = 0; t < d->nT; t++) {
                const Cell *cell = &d->cell[m][t][col];
                if (!cell->ok || !(cell->rel > 0)) continue;
                if (!any) {
                    if (block) fprintf(dat, "\n\n");
                    fprintf(dat, "# %s %s\n", d->models[m], e < d->ne ? d->engines[e] : "perturb");
                }
                any = 1;
                fprintf(dat, "%ld %.9g\n", d->Ts[t], cell->rel);
            }
            if (!any) continue;
            if (e < d->ne)
                fprintf(s, "%s DAT index %d using 1:2 with linespoints ls ENGINE_LS('%s')%s title "
                           "'%s %s float32'", block ? "," : "", block, d->engines[e], extra,
                        d->models[m], d->engines[e]);
            else
                fprintf(s, "%s DAT index %d using 1:2 with linespoints ls %d%s title '%s float64, "
                           "w0 moved'", block ? "," : "", block, m == 0 ? 6 : 5, extra,
                        d->models[m]);
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

/* The headline: from which T each model's float32 hypergradients fail the
 * criterion, by bptt (the reference engine), with the gap there; the models
 * that pass it at every T measured, with their gap at the largest. */
static void headline(ReportCtx *c, const Cond *d)
{
    int bptt = -1;
    for (int e = 0; e < d->ne; e++) if (!strcmp(d->engines[e], "bptt")) bptt = e;
    if (bptt < 0) return;
    char bad[400] = "", good[400] = "";
    size_t nb = 0, ng = 0;
    for (int m = 0; m < d->nm; m++) {
        int from = untrusted_from(d, m, bptt);
        const Cell *last = &d->cell[m][d->nT - 1][bptt];
        if (from >= 0 && nb < sizeof bad)
            nb += (size_t)snprintf(bad + nb, sizeof bad - nb, "%sfrom T = %ld on for %s (gap %.2g)",
                                   nb ? ", " : "", d->Ts[from], d->models[m],
                                   gap_of(&d->cell[m][from][bptt]));
        else if (from < 0 && last->ok && ng < sizeof good)
            ng += (size_t)snprintf(good + ng, sizeof good - ng, "%s%s up to T = %ld (gap %.2g)",
                                   ng ? ", " : "", d->models[m], d->Ts[d->nT - 1], last->rel);
    }
    if (nb && ng)
        report_headline(c, "float32 conditioning",
                        "By bptt, float32 hypergradients are not to be trusted (their gap to "
                        "float64 above %g at every T from there on) %s; they stay within it for "
                        "%s.", d->max_gap, bad, good);
    else if (nb)
        report_headline(c, "float32 conditioning",
                        "By bptt, float32 hypergradients are not to be trusted (their gap to "
                        "float64 above %g at every T from there on) %s.", d->max_gap, bad);
    else if (ng)
        report_headline(c, "float32 conditioning",
                        "By bptt, float32 hypergradients stay within %g of float64 at every T "
                        "measured: %s.", d->max_gap, good);
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
    char tl[256] = "";
    size_t len = 0;
    for (int t = 0; t < d->nT; t++)
        len += (size_t)snprintf(tl + len, sizeof tl - len, "%s%ld", t ? ", " : "", d->Ts[t]);
    fprintf(md, "How far float32 hypergradients are from float64 ones of the same problem (the "
                "same data,\nseeds and schedule), and whether that is the problem's sensitivity or "
                "the engine's\nrounding. Fashion-MNIST, batch 128, 1000 validation examples, lr "
                "0.05, momentum 0.9,\nweight decay 5e-4, constant, seed 0, the learning rate "
                "learned in 10 windows (per step at\nT = 10), %ld thread%s, T ∈ {%s};",
            d->f.env.threads, d->f.env.threads == 1 ? "" : "s", tl);
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
    fprintf(md, ". One run each.\n\n");
    if (runs_param(&d->f, "quick") == 1)
        fprintf(md, "**QUICK**: T ∈ {%s} (the full run: T ∈ {10, 30, 100, 300, 1000}).\n\n", tl);
    char pt[32];
    runs_short_g(pt, sizeof pt, d->perturb);
    fprintf(md, "- **gap** of an engine: |g₃₂ − g₆₄| / |g₆₄|, its float32 hypergradient against "
                "its own\n  float64 one (");
    for (int e = 0; e < d->ne; e++) fprintf(md, "%s%s", e ? ", " : "", d->engines[e]);
    fprintf(md, "; reversible's state is int64 fixed point in both,\n  its gradients are not).\n"
                "- **float64, w0 moved**: float64 bptt with w0 moved by %s relative along a seeded\n"
                "  direction (`--perturb-w0 %s`, about float32's rounding unit 6e-8), against "
                "float64\n  bptt: how much the problem itself amplifies a change of that size.\n"
                "- **Criterion**: a model's float32 hypergradients by an engine are not to be "
                "trusted from\n  the smallest T from which on that engine's gap exceeds %g at "
                "every measured T; the\n  gap there counts as the problem's sensitivity if it is "
                "at most 10 times the float64\n  perturbation gap, otherwise as float32's own "
                "rounding through the run.\n\n", pt, pt, d->max_gap);
    for (int m = 0; m < d->nm; m++) {
        fprintf(md, "### %s\n\n", d->models[m]);
        table(md, d, m);
        fprintf(md, "\n");
        verdict(md, d, m);
    }
    md_provenance(md, &d->f.env);
    fprintf(md, "\n");
    report_image(c, "conditioning", "float32 vs float64 gaps and the float64 perturbation gap vs T");
    fprintf(md, "\nEach run's JSON is in `conditioning/` beside `conditioning.json`, which "
                "collects them (hgbench-runs).\nReproduce the section: `%s`; one pair: `build/hgbench "
                "hypergrad\n--precision 32|64 --engine E --model M --steps T %s --json F` (add "
                "`--perturb-w0\n%s` for the moved start); hgbench-report computes the gap from the "
                "two files.\n\n", d->f.env.command, d->problem, pt);
    if (d->f.r.bad) { rc = hg_fail(&c->err, "%s", d->f.r.err.msg); goto done; }
    plot(c, d);
    headline(c, d);
done:
    runs_close(&d->f);
    free(d);
    return rc;
}

const ReportSection REPORT_CONDITIONING = {"conditioning", render};
