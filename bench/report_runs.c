/* report_runs.c — the hgbench-runs result files of report_runs.h. */
#include "report_runs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int runs_load(ReportCtx *c, const char *name, RunsFile *f)
{
    char path[4096];
    report_path(c, name, path, sizeof path);
    memset(f, 0, sizeof *f);
    if (!rj_exists(path)) return 0;
    f->root = rj_load(&f->r, path);
    if (!f->root) return hg_fail(&c->err, "%s", f->r.err.msg);
    rj_envelope(&f->r, f->root, &f->env);
    f->params = rj_object(&f->r, f->root, "params");
    f->rows = rj_array(&f->r, f->root, "rows");
    for (size_t i = 0; i < json_array_size(f->rows) && !f->r.bad; i++) {
        json_t *row = rj_row(&f->r, f->rows, "rows", i);
        rj_str(&f->r, row, "name");
        const char *st = rj_str(&f->r, row, "status");
        if (f->r.bad) break;
        if (!strcmp(st, "ok")) rj_object(&f->r, row, "run");
        else if (!strcmp(st, "failed") || !strcmp(st, "skipped")) rj_str(&f->r, row, "reason");
        else rj_fail(&f->r, "field 'status' is '%s', expected ok, failed or skipped", st);
    }
    rj_at(&f->r, "%s", "");
    if (f->r.bad) return hg_fail(&c->err, "%s", f->r.err.msg);
    report_ran_by(c, &f->env);
    return 1;
}

void runs_close(RunsFile *f)
{
    rj_close(&f->r);
}

/* Positions f's errors at run `name`'s row (and its run object): its index, or -1. */
static long position(RunsFile *f, const char *name, int in_run)
{
    for (size_t i = 0; i < json_array_size(f->rows); i++) {
        json_t *row = json_array_get(f->rows, i);
        if (strcmp(json_string_value(json_object_get(row, "name")), name)) continue;
        rj_at(&f->r, "rows[%zu]%s (%s)", i, in_run ? ".run" : "", name);
        return (long)i;
    }
    return -1;
}

json_t *runs_get(RunsFile *f, const char *name, const char **status, const char **reason)
{
    *status = "failed";
    *reason = "no row";
    long i = position(f, name, 0);
    if (i < 0) return NULL;
    json_t *row = json_array_get(f->rows, (size_t)i);
    *status = json_string_value(json_object_get(row, "status"));
    if (strcmp(*status, "ok")) {
        *reason = json_string_value(json_object_get(row, "reason"));
        return NULL;
    }
    *reason = "";
    position(f, name, 1);
    return json_object_get(row, "run");
}

/* run's field.lr into a new array (*n entries); NULL with the error in r. */
static double *lr_vector(Rj *r, json_t *run, const char *field, long *n)
{
    json_t *obj = rj_object(r, run, field);
    json_t *a = rj_array(r, obj, "lr");
    *n = (long)json_array_size(a);
    if (r->bad) return NULL;
    if (*n == 0) { rj_fail(r, "field '%s.lr' is empty", field); return NULL; }
    double *v = malloc(sizeof(double) * (size_t)*n);
    HG_CHECK(v, "malloc");
    if (rj_nums(r, obj, "lr", v, *n) != *n) { free(v); return NULL; }
    return v;
}

int runs_lr_error(RunsFile *f, const char *ref_name, json_t *ref, const char *g_name, json_t *g,
                  const char *field, double *rel, double *cosine, long *n)
{
    Rj *r = &f->r;
    long T, N;
    position(f, ref_name, 1);
    double *rv = lr_vector(r, ref, "hypergrad", &T);
    position(f, g_name, 1);
    double *gv = rv ? lr_vector(r, g, field, &N) : NULL;
    *rel = *cosine = NAN;
    *n = 0;
    if (!gv) { free(rv); return -1; }
    if (N > T) {
        rj_fail(r, "%s.lr has %ld values, more than the reference's %ld", field, N, T);
        free(rv); free(gv);
        return -1;
    }
    *n = N;
    double *s = calloc((size_t)N, sizeof(double));
    HG_CHECK(s, "calloc");
    int bad = 0;
    for (long t = 0; t < T; t++) {
        bad |= !isfinite(rv[t]);
        s[t * N / T] += rv[t];
    }
    for (long k = 0; k < N; k++) bad |= !isfinite(gv[k]);
    if (!bad) {
        double d2 = 0, r2 = 0, g2 = 0, gr = 0;
        for (long k = 0; k < N; k++) {
            double d = gv[k] - s[k];
            d2 += d * d;
            r2 += s[k] * s[k];
            g2 += gv[k] * gv[k];
            gr += gv[k] * s[k];
        }
        if (r2 > 0) *rel = sqrt(d2 / r2);
        if (r2 > 0 && g2 > 0) *cosine = gr / sqrt(r2 * g2);
    }
    free(s); free(rv); free(gv);
    return 0;
}

double runs_param(RunsFile *f, const char *key)
{
    rj_at(&f->r, "params");
    double x = rj_num(&f->r, f->params, key);
    rj_at(&f->r, "%s", "");
    return x;
}

const char *runs_param_str(RunsFile *f, const char *key)
{
    rj_at(&f->r, "params");
    json_t *v = json_object_get(f->params, key);
    if (json_is_number(v)) { /* "100": a one-value list the collector took for a number */
        snprintf(f->buf, sizeof f->buf, "%.17g", json_number_value(v));
        rj_at(&f->r, "%s", "");
        return f->buf;
    }
    const char *s = rj_str(&f->r, f->params, key);
    rj_at(&f->r, "%s", "");
    return s;
}

int runs_ints(const char *s, long *out, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s) { s++; continue; }
        out[n++] = v;
        s = end;
    }
    return n;
}

const char *runs_short_g(char *buf, size_t n, double x)
{
    snprintf(buf, n, "%g", x);
    char *e = strstr(buf, "e-0");
    if (!e) e = strstr(buf, "e+0");
    if (e) memmove(e + 2, e + 3, strlen(e + 3) + 1);
    return buf;
}
