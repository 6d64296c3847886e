/* report_fig3_load.c — Figure 3's results read (report_fig3.h): a manifest
 * and, if it ran, its R hpo logs per method, the numbers copied out so that
 * each log's JSON is closed at once. Every missing or mistyped field is an
 * error naming the file and field (report_json.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_fig3.h"

const char *const FIG3_METHOD_NAMES[FIG3_METHODS] = {"greedy", "nongreedy", "fds", "cosine"};

static double *nums_alloc(long n)
{
    double *x = calloc((size_t)(n > 0 ? n : 1), sizeof *x);
    HG_CHECK(x, "calloc");
    return x;
}

/* entry.schedule.lr into a new array; *n its length */
static double *schedule_lr(Rj *r, json_t *entry, const char *which, long *n)
{
    rj_at(r, "%s.schedule", which);
    json_t *lr = rj_array(r, rj_object(r, entry, "schedule"), "lr");
    *n = (long)json_array_size(lr);
    double *x = nums_alloc(*n);
    rj_nums(r, rj_object(r, entry, "schedule"), "lr", x, *n);
    rj_at(r, "%s", "");
    return x;
}

/* best or final: NULL when null (no outer step succeeded), else the object */
static json_t *entry_or_null(Rj *r, json_t *root, const char *key)
{
    json_t *e = json_object_get(root, key);
    if (e && json_is_null(e)) return NULL;
    return rj_object(r, root, key);
}

/* One log: 0 (run->present says whether it was there) or -1 with err. */
static int run_load(Fig3Run *run, const ReportCtx *c, const char *file, HgErr *err)
{
    char path[4096];
    memset(run, 0, sizeof *run);
    run->best_outer = run->final_outer = -1;
    run->best_val = run->best_test = run->final_val = run->s_per_outer = NAN;
    report_path(c, file, path, sizeof path);
    if (!rj_exists(path)) return 0;
    Rj r;
    json_t *root = rj_load(&r, path);
    if (!root) { *err = r.err; return -1; }
    run->present = 1;
    run->classes = (int)rj_int(&r, root, "classes");
    run->n_val = rj_int(&r, root, "val_examples");
    run->n_test = rj_int_opt(&r, root, "test_examples", 0);
    snprintf(run->best_rule, sizeof run->best_rule, "%s", rj_str_opt(&r, root, "best_rule", ""));
    snprintf(run->status, sizeof run->status, "%s",
             rj_str(&r, rj_object(&r, root, "stop"), "reason"));
    json_t *log = rj_array(&r, root, "log");
    run->nlog = (long)json_array_size(log);
    run->outer = calloc((size_t)(run->nlog > 0 ? run->nlog : 1), sizeof *run->outer);
    HG_CHECK(run->outer, "calloc");
    run->val = nums_alloc(run->nlog);
    run->test = nums_alloc(run->nlog);
    double sum = 0;
    int n = 0;
    for (long i = 0; i < run->nlog && !r.bad; i++) {
        json_t *e = rj_row(&r, log, "log", (size_t)i);
        run->outer[i] = rj_int(&r, e, "outer");
        run->val[i] = rj_num_or_null(&r, e, "val_acc");
        run->test[i] = rj_num_or_null(&r, e, "test_acc");
        if (!strcmp(rj_str(&r, e, "status"), "ok")) { /* the steps that ran an engine */
            sum += rj_num(&r, e, "time_s");
            n++;
        }
    }
    rj_at(&r, "%s", "");
    if (n) run->s_per_outer = sum / n;
    json_t *best = entry_or_null(&r, root, "best"), *fin = entry_or_null(&r, root, "final");
    if (best && !r.bad) {
        run->has_best = 1;
        rj_at(&r, "best");
        run->best_outer = rj_int(&r, best, "outer");
        run->best_val = rj_num_or_null(&r, best, "val_acc");
        run->best_test = rj_num_or_null(&r, best, "test_acc");
        run->lr_best = schedule_lr(&r, best, "best", &run->nlr);
    }
    if (fin && !r.bad) {
        rj_at(&r, "final");
        run->final_outer = rj_int(&r, fin, "outer");
        run->final_val = rj_num_or_null(&r, fin, "val_acc");
        long nf;
        run->lr_final = schedule_lr(&r, fin, "final", &nf);
        if (!r.bad && run->lr_best && nf != run->nlr)
            rj_fail(&r, "final.schedule: 'lr' has %ld entries, best.schedule's %ld", nf, run->nlr);
        if (!run->lr_best) run->nlr = nf;
    }
    int bad = r.bad;
    if (bad) *err = r.err;
    rj_close(&r);
    return bad ? -1 : 0;
}

static void run_free(Fig3Run *run)
{
    free(run->outer);
    free(run->val);
    free(run->test);
    free(run->lr_best);
    free(run->lr_final);
}

int fig3_set_load(Fig3Set *s, const ReportCtx *c, const char *file, unsigned methods_mask,
                  HgErr *err)
{
    char path[4096];
    memset(s, 0, sizeof *s);
    report_path(c, file, path, sizeof path);
    if (!rj_exists(path)) return 0;
    Rj *r = &s->r;
    s->root = rj_load(r, path);
    if (!s->root) { *err = r->err; return -1; }
    s->present = 1;
    rj_envelope(r, s->root, &s->env);
    if (!r->bad && !rj_has(s->root, "repeats")) {
        rj_fail(r, "field 'repeats' is missing: results of the single-run Figure 3; rerun "
                   "scripts/fig3.sh, which now runs REPEATS per method");
        *err = r->err;
        return -1;
    }
    s->repeats = (int)rj_int(r, s->root, "repeats");
    if (!r->bad && (s->repeats < 1 || s->repeats > 10000))
        rj_fail(r, "field 'repeats' is %d: expected 1..10000", s->repeats);
    const char *state = rj_str(r, s->root, "state");
    if (!r->bad && strcmp(state, "ran") && strcmp(state, "skipped"))
        rj_fail(r, "field 'state' is '%s', expected ran or skipped", state);
    s->ran = !r->bad && !strcmp(state, "ran");
    s->name = rj_str_opt(r, s->root, "variant", rj_str(r, s->root, "data"));
    s->label = rj_str_opt(r, s->root, "label", s->name);
    if (s->ran) {
        s->base = rj_str(r, s->root, "base");
        s->runs_ok = (int)rj_int(r, s->root, "runs_ok");
    }
    if (r->bad) { *err = r->err; return -1; }
    for (int k = 0; s->ran && k < FIG3_METHODS; k++) {
        if (!(methods_mask & (1u << k))) continue;
        s->runs[k] = calloc((size_t)s->repeats, sizeof *s->runs[k]);
        HG_CHECK(s->runs[k], "calloc");
        for (int i = 0; i < s->repeats; i++) {
            char name[600];
            snprintf(name, sizeof name, "%s-%s-r%d.json", s->base, FIG3_METHOD_NAMES[k], i);
            if (run_load(&s->runs[k][i], c, name, err)) return -1;
        }
    }
    return 0;
}

void fig3_set_close(Fig3Set *s)
{
    for (int k = 0; k < FIG3_METHODS; k++) {
        for (int i = 0; s->runs[k] && i < s->repeats; i++) run_free(&s->runs[k][i]);
        free(s->runs[k]);
    }
    if (s->present) rj_close(&s->r);
    memset(s, 0, sizeof *s);
}

const Fig3Run *fig3_first_run(const Fig3Set *s)
{
    for (int k = 0; k < FIG3_METHODS; k++)
        for (int i = 0; s->runs[k] && i < s->repeats; i++)
            if (s->runs[k][i].present) return &s->runs[k][i];
    return NULL;
}
