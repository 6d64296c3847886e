/* report_hpo_run.c — an hpo log's numbers (report_hpo_run.h). */
#include "report_hpo_run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* best or final: NULL when null (no outer step succeeded) */
static json_t *entry(Rj *r, json_t *run, const char *key)
{
    json_t *e = json_object_get(run, key);
    if (e && json_is_null(e)) return NULL;
    return rj_object(r, run, key);
}

/* best.theta.<kind> into a new array, *n its length */
static double *theta_of(Rj *r, json_t *best, const char *kind, long *n)
{
    json_t *th = rj_object(r, best, "theta");
    json_t *a = rj_array(r, th, kind);
    *n = (long)json_array_size(a);
    if (r->bad) return NULL;
    double *x = calloc((size_t)(*n > 0 ? *n : 1), sizeof *x);
    HG_CHECK(x, "calloc");
    rj_nums(r, th, kind, x, *n);
    return x;
}

int hpo_run_read(RunsFile *f, const char *name, const char *kinds, HpoRunNums *n)
{
    memset(n, 0, sizeof *n);
    n->best_outer = n->final_outer = -1;
    n->best_val = n->best_test = n->final_val = n->final_test = n->s_per_outer = NAN;
    const char *status, *reason;
    json_t *run = runs_get(f, name, &status, &reason);
    if (!run) {
        n->why = reason;
        return 0;
    }
    Rj *r = &f->r;
    n->ok = 1;
    n->T = rj_int(r, run, "steps");
    n->val_n = rj_int(r, run, "val_examples");
    n->test_n = rj_int(r, run, "test_examples");
    n->params = rj_int(r, run, "model_params");
    n->lr = rj_num(r, run, "lr");
    n->mom = rj_num(r, run, "mom");
    n->wd = rj_num(r, run, "wd");
    n->outer_steps = rj_int(r, rj_object(r, run, "outer"), "steps");
    const json_t *test_at = json_object_get(run, "test_at");
    n->retrained = !json_is_string(test_at) || strcmp(json_string_value(test_at), "engine_wT");
    json_t *log = rj_array(r, run, "log");
    double sum = 0;
    int k = 0;
    char at[160];
    snprintf(at, sizeof at, "%s", r->at);
    for (size_t i = 0; i < json_array_size(log) && !r->bad; i++) {
        json_t *e = rj_row(r, log, "log", i);
        rj_at(r, "%s.log[%zu]", at, i);
        if (!strcmp(rj_str(r, e, "status"), "ok")) {
            sum += rj_num(r, e, "time_s");
            k++;
        }
    }
    rj_at(r, "%s", at);
    if (k) n->s_per_outer = sum / k;
    json_t *best = entry(r, run, "best"), *fin = entry(r, run, "final");
    if (best && !r->bad) {
        n->best_outer = rj_int(r, best, "outer");
        n->best_val = rj_num(r, best, "val_acc");
        n->best_test = rj_num_or_null(r, best, "test_acc");
        if (kinds) {
            char first[16];
            const char *comma = strchr(kinds, ',');
            snprintf(first, sizeof first, "%.*s", comma ? (int)(comma - kinds) : (int)strlen(kinds), kinds);
            n->theta = theta_of(r, best, first, &n->ntheta);
            if (comma) n->theta2 = theta_of(r, best, comma + 1, &n->ntheta2);
        }
    }
    if (fin && !r->bad) {
        n->final_outer = rj_int(r, fin, "outer");
        n->final_val = rj_num(r, fin, "val_acc");
        n->final_test = rj_num_or_null(r, fin, "test_acc");
    }
    return r->bad ? -1 : 0;
}

void hpo_run_free(HpoRunNums *n)
{
    free(n->theta);
    free(n->theta2);
    n->theta = n->theta2 = NULL;
}
