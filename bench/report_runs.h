/* report_runs.h — reading a result file of hgbench-runs (bench/runs_collect.c):
 * a section made of single `hgbench hypergrad --json` runs (atlas,
 * conditioning), its rows found by run name, and how far one run's
 * learning-rate hypergradient is from a reference run's.
 *
 * Errors go through the file's Rj (report_json.h): they name the file, the
 * row ("rows[3] (T20-f64-bptt)") and the field.
 */
#ifndef HG_REPORT_RUNS_H
#define HG_REPORT_RUNS_H

#include "report.h"
#include "report_json.h"

typedef struct RunsFile {
    Rj r;
    RjEnvelope env;
    json_t *root, *params, *rows;
    char buf[64];
} RunsFile;

/* Loads <results>/<name>: 1, 0 if absent, -1 with c->err. */
int runs_load(ReportCtx *c, const char *name, RunsFile *f);
void runs_close(RunsFile *f);

/* The row of run `name`: its run object when its status is ok, else NULL
 * with *why its reason ("failed: ..." / "skipped: ...", or "no row" when the
 * file has none: a run the section never listed). Positions f->r's errors. */
json_t *runs_get(RunsFile *f, const char *name, const char **status, const char **reason);

/* |g - g*| / |g*| and the cosine of g and g*, g being run g's `field`.lr
 * ("hypergrad" or "per_step") and g* run ref's hypergrad.lr summed over g's
 * windows (entry k sums the entries t with floor(t N / T_ref) = k, as
 * DESIGN.md defines windows). NaN where a value is not finite or a norm is 0.
 * Returns 0, or -1 with the error in f->r (a vector missing, g longer than
 * the reference), positioned at the run it is about. *n: the length of g. */
int runs_lr_error(RunsFile *f, const char *ref_name, json_t *ref, const char *g_name, json_t *g,
                  const char *field, double *rel, double *cosine, long *n);

/* A number of the file's params, or a string ("10,30"; a number given where
 * a string is asked for is formatted, valid until the next call). */
double runs_param(RunsFile *f, const char *key);
const char *runs_param_str(RunsFile *f, const char *key);

/* The space- or comma-separated integers of s into out (at most cap): the count. */
int runs_ints(const char *s, long *out, int cap);

/* %g without the exponent's leading zero: 1e-7, as the flags spell it. */
const char *runs_short_g(char *buf, size_t n, double x);

#endif
