/* report_hyperclean_load.c — hyperclean.json read back (report_hyperclean.h). */
#include "report_hyperclean.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/stats.h"
#include "report_md.h"

const char *const HC_ARM_NAMES[HC_ARMS] = {"oracle", "baseline", "cleaned"};

/* The final outer step's test accuracy of an hpo run (hpo --test). */
static double test_acc(Rj *r, json_t *run)
{
    return rj_num(r, rj_object(r, run, "final"), "test_acc");
}

/* The detector gamma_i < 0 (sigma(gamma_i) < 1/2) of the final gammas
 * against label_noise.changed_examples: precision, recall, F1 (NaN where a
 * denominator is 0); each sigma(gamma_i) counted into hist[corrupted]. */
static void detector(Rj *r, json_t *run, double *prec, double *rec, double *f1,
                     long hist[2][HC_BINS])
{
    *prec = *rec = *f1 = NAN;
    json_t *ex = rj_array(r, rj_object(r, rj_object(r, run, "final"), "theta"), "ex");
    json_t *changed = rj_array(r, rj_object(r, run, "label_noise"), "changed_examples");
    if (r->bad) return;
    const size_t n = json_array_size(ex);
    char *bad = calloc(n + 1, 1);
    HG_CHECK(bad, "calloc");
    size_t i;
    json_t *v;
    long nbad = 0, flagged = 0, hit = 0;
    json_array_foreach(changed, i, v) {
        const json_int_t k = json_is_integer(v) ? json_integer_value(v) : -1;
        if (k < 0 || (size_t)k >= n) {
            rj_fail(r, "label_noise.changed_examples[%zu] is not an example index below %zu", i, n);
            free(bad);
            return;
        }
        nbad += !bad[k];
        bad[k] = 1;
    }
    json_array_foreach(ex, i, v) {
        if (!json_is_number(v)) {
            rj_fail(r, "final.theta.ex[%zu] is not a number", i);
            free(bad);
            return;
        }
        const double sg = 1 / (1 + exp(-json_number_value(v)));
        const int bin = sg >= 1 ? HC_BINS - 1 : (int)(sg * HC_BINS);
        hist[bad[i] != 0][bin]++;
        if (json_number_value(v) < 0) {
            flagged++;
            hit += bad[i];
        }
    }
    free(bad);
    if (flagged) *prec = (double)hit / (double)flagged;
    if (nbad) *rec = (double)hit / (double)nbad;
    if (*prec + *rec > 0) *f1 = 2 * *prec * *rec / (*prec + *rec);
    else if (isfinite(*prec) && isfinite(*rec)) *f1 = 0;
}

/* The repeats of one cell: runs <prefix>-<arm>-r<r>, r < R. */
static void read_cell(Hc *h, HcCell *cell, const char *prefix, long R)
{
    Rj *r = &h->f.r;
    for (long k = 0; k < R && !r->bad; k++) {
        json_t *run[HC_ARMS];
        int all = 1;
        for (int a = 0; a < HC_ARMS; a++) {
            char name[128];
            const char *st, *why;
            snprintf(name, sizeof name, "%s-%s-r%ld", prefix, HC_ARM_NAMES[a], k);
            run[a] = runs_get(&h->f, name, &st, &why);
            if (!run[a] && all && !cell->why[0])
                snprintf(cell->why, sizeof cell->why, "%s r%ld: %s: %s", HC_ARM_NAMES[a], k, st, why);
            all &= run[a] != NULL;
        }
        if (!all) {
            cell->left_out++;
            continue;
        }
        const int i = cell->n;
        if (i == HC_MAX_R) {
            rj_fail(r, "more than %d repeats", HC_MAX_R);
            return;
        }
        for (int a = 0; a < HC_ARMS; a++) {
            char name[128];
            snprintf(name, sizeof name, "%s-%s-r%ld", prefix, HC_ARM_NAMES[a], k);
            const char *st, *why;
            runs_get(&h->f, name, &st, &why); /* positions the errors at this run */
            cell->acc[a][i] = test_acc(r, run[a]);
            if (a == HC_CLEANED) detector(r, run[a], &cell->prec[i], &cell->rec[i], &cell->f1[i], cell->hist);
            if (i == 0 && a == HC_BASELINE) {
                cell->train_n = rj_int(r, run[a], "train_examples");
                cell->changed = rj_int(r, rj_object(r, run[a], "label_noise"), "changed");
            }
            if (i == 0 && a == HC_ORACLE) cell->oracle_n = rj_int(r, run[a], "train_examples");
        }
        cell->n++;
    }
}

static double mib(double bytes) { return bytes / MD_MIB; }

/* Engine row `method`: its repeats -i0 .. -i<eng_R - 1>. */
static void read_engine(Hc *h, const char *method, long E)
{
    Rj *r = &h->f.r;
    if (h->neng == HC_MAX_ENGINES) {
        rj_fail(r, "more than %d engine rows", HC_MAX_ENGINES);
        return;
    }
    HcEngine *e = &h->eng[h->neng++];
    snprintf(e->method, sizeof e->method, "%s", method);
    e->E = E;
    double t[HC_MAX_R];
    for (long i = 0; i < h->eng_R && i < HC_MAX_R && !r->bad; i++) {
        char name[128];
        const char *st, *why;
        snprintf(name, sizeof name, "engines-%s-i%ld", method, i);
        json_t *run = runs_get(&h->f, name, &st, &why);
        if (!run) {
            if (!e->n && !e->why[0]) snprintf(e->why, sizeof e->why, "%s: %s", st, why);
            continue;
        }
        t[e->n] = rj_num(r, run, "time_s");
        if (!e->n++) {
            json_t *m = rj_object(r, run, "mem");
            const double params = rj_num(r, m, "params"), traj = rj_num(r, m, "trajectory"),
                         ckpt = rj_num(r, m, "checkpoints"), info = rj_num(r, m, "infobuf"),
                         tang = rj_num(r, m, "tangents"), other = rj_num(r, m, "other");
            e->state_mib = mib(traj + ckpt + info + tang);
            e->engine_mib = mib(params + traj + ckpt + info + tang + other);
            e->act_mib = mib(rj_num(r, m, "activations"));
            e->rss_mib = mib(rj_num(r, m, "peak_rss"));
            e->recomputed = rj_int_opt(r, run, "recomputed_steps", 0);
            if (!strcmp(method, "bptt")) h->N = rj_int(r, run, "train_examples");
        }
    }
    e->time_s = e->n ? stats_median(t, e->n) : NAN;
}

/* Least squares y = a + b x over n points; NaN with fewer than 2 distinct x. */
static void fit_line(const double *x, const double *y, int n, double *a, double *b)
{
    *a = *b = NAN;
    if (n < 2) return;
    const double mx = stats_mean(x, n), my = stats_mean(y, n);
    double sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (!(sxx > 0)) return;
    *b = sxy / sxx;
    *a = my - *b * mx;
}

static void read_engines(Hc *h)
{
    char m[64];
    long ks[16], es[16];
    const int nk = runs_ints(runs_param_str(&h->f, "truncate"), ks, 16);
    const int ne = runs_ints(runs_param_str(&h->f, "forward_es"), es, 16);
    read_engine(h, "bptt", 0);
    snprintf(m, sizeof m, "checkpoint-C%ld", h->C);
    read_engine(h, m, 0);
    read_engine(h, "reversible", 0);
    for (int i = 0; i < nk; i++) {
        snprintf(m, sizeof m, "truncated-K%ld", ks[i]);
        read_engine(h, m, 0);
    }
    const int first_fwd = h->neng;
    for (int i = 0; i < ne; i++) {
        snprintf(m, sizeof m, "forward-E%ld", es[i]);
        read_engine(h, m, es[i]);
    }
    if (!h->N && h->nsets && h->nmodels) h->N = h->cell[0][0].train_n; /* no bptt run */
    for (int i = 0; i < first_fwd; i++) h->eng[i].E = h->N;
    double x[16], t[16], mem[16];
    for (int i = first_fwd; i < h->neng; i++) {
        const HcEngine *e = &h->eng[i];
        if (!e->n) continue;
        x[h->nfit] = (double)e->E;
        t[h->nfit] = e->time_s;
        mem[h->nfit++] = e->engine_mib + e->act_mib;
    }
    fit_line(x, t, h->nfit, &h->t0, &h->t1);
    fit_line(x, mem, h->nfit, &h->m0, &h->m1);
}

/* "a b c" into up to cap names of 32 bytes: the count. */
static int words(const char *s, char (*out)[32], int cap)
{
    int n = 0;
    while (*s && n < cap) {
        while (*s == ' ' || *s == ',') s++;
        const size_t len = strcspn(s, " ,");
        if (!len) break;
        snprintf(out[n++], 32, "%.*s", (int)len, s);
        s += len;
    }
    return n;
}

int hc_load(ReportCtx *c, Hc *h)
{
    memset(h, 0, sizeof *h);
    const int s = runs_load(c, "hyperclean.json", &h->f);
    if (s <= 0) return s;
    RunsFile *f = &h->f;
    h->quick = runs_param(f, "quick") == 1;
    h->R = (long)runs_param(f, "repeats");
    h->T = (long)runs_param(f, "T");
    h->S = (long)runs_param(f, "outer_steps");
    h->sign_step = runs_param(f, "sign_step");
    h->eng_R = (long)runs_param(f, "engine_repeats");
    h->C = (long)runs_param(f, "checkpoints");
    h->bo_R = (long)runs_param(f, "bo_repeats");
    h->bo_T = (long)runs_param(f, "bo_T");
    h->bo_S = (long)runs_param(f, "bo_outer_steps");
    h->nsets = words(runs_param_str(f, "datasets"), h->sets, HC_MAX_SETS);
    h->nmodels = words(runs_param_str(f, "models"), h->models, HC_MAX_MODELS);
    if (!f->r.bad && (h->R < 1 || h->R > HC_MAX_R))
        rj_fail(&f->r, "params: repeats %ld is not in 1..%d", h->R, HC_MAX_R);
    for (int d = 0; d < h->nsets && !f->r.bad; d++)
        for (int m = 0; m < h->nmodels && !f->r.bad; m++) {
            HcCell *cell = &h->cell[d][m];
            snprintf(cell->data, sizeof cell->data, "%s", h->sets[d]);
            snprintf(cell->model, sizeof cell->model, "%s", h->models[m]);
            char prefix[80];
            snprintf(prefix, sizeof prefix, "%s-%s", h->sets[d], h->models[m]);
            read_cell(h, cell, prefix, h->R);
        }
    snprintf(h->bo.data, sizeof h->bo.data, "fashion-mnist");
    snprintf(h->bo.model, sizeof h->bo.model, "logreg");
    if (!f->r.bad) read_cell(h, &h->bo, "benchopt", h->bo_R);
    if (!f->r.bad) read_engines(h);
    if (f->r.bad) return hg_fail(&c->err, "%s", f->r.err.msg);
    return 1;
}
