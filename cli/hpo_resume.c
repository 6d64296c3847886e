/* hpo_resume.c — the resumable part of hpo's JSON log (hpo_resume.h). */
#include "hpo_resume.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/mem.h"

#define RESUME_MAX_FILE (1L << 30)

/* ------------------------------------------------------------ writing */

static void write_kinds(JsonWriter *j, const char *key, const HyperLayout *h, const double *x)
{
    json_key(j, key);
    json_object_begin(j, 0);
    for (int k = 0; k < OUTER_GROUPS; k++) /* per layer or weight: K x width, window-major */
        if (outer_group_count(h, k)) {
            json_field_doubles(j, outer_group_name(k), x + outer_group_offset(h, k),
                               outer_group_count(h, k));
        }
    json_object_end(j);
}

void hpo_resume_write_state(JsonWriter *j, const HyperLayout *h, const OuterOpt *o,
                            const double *theta)
{
    json_key(j, "outer_state");
    json_object_begin(j, 0);
    json_field_int(j, "updates", o->t);
    write_kinds(j, "theta", h, theta);
    if (o->step) {
        double *last = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(h->N ? h->N : 1));
        for (int i = 0; i < h->N; i++)
            last[i] = o->last[i];
        write_kinds(j, "sign_step", h, o->step);
        write_kinds(j, "last_sign", h, last);
        mem_free(last);
    }
    if (o->m) {
        write_kinds(j, "adam_m", h, o->m);
        write_kinds(j, "adam_v", h, o->v);
    }
    json_object_end(j);
}

/* ------------------------------------------------------------ reading */

static int read_file(HpoResumeLog *r, const char *path, HgErr *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hg_fail(err, "cannot open it: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || st.st_size > RESUME_MAX_FILE) {
        fclose(f);
        return hg_fail(err, "not a regular file of at most 1 GiB");
    }
    r->len = (size_t)st.st_size;
    r->text = malloc(r->len + 1);
    if (!r->text) {
        fclose(f);
        return hg_fail(err, "out of memory: the log (%zu bytes)", r->len);
    }
    const size_t got = fread(r->text, 1, r->len, f);
    const int bad = ferror(f);
    fclose(f);
    if (bad || got != r->len)
        return hg_fail(err, "cannot read it: %s", bad ? strerror(errno) : "it shrank");
    r->text[r->len] = '\0';
    return 0;
}

/* Every member of the expected object `want` must be in `got` with an equal
 * value (json_equal, numbers as doubles); objects are compared member by
 * member so that a message names the innermost field. Differences are
 * counted in *count and the first few go into msg, by path. */
static void diff_fields(const json_t *want, const json_t *got, const char *where, char *msg,
                        size_t cap, int *count)
{
    const char *key;
    const json_t *w;
    json_object_foreach((json_t *)want, key, w) {
        char path[256], a[96], b[96];
        snprintf(path, sizeof path, "%s%s%s", where, *where ? "." : "", key);
        const json_t *g = json_object_get(got, key);
        if (json_is_object(w) && json_is_object(g)) {
            diff_fields(w, g, path, msg, cap, count);
            continue;
        }
        if (g && json_equal((json_t *)w, (json_t *)g))
            continue;
        const size_t used = strlen(msg);
        if ((*count)++ < 3 && used + 1 < cap)
            snprintf(msg + used, cap - used, "%s%s is %s in the log but %s in this command",
                     used ? "; " : "", path, g ? json_quote(g, a, sizeof a) : "missing",
                     json_quote(w, b, sizeof b));
    }
}

static int get_number(const json_t *obj, const char *key, const char *where, int null_ok,
                      double *x, HgErr *err)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_null(v) && null_ok) {
        *x = NAN;
        return 0;
    }
    if (!json_is_number(v))
        return hg_fail(err, "%s.%s: %s, not a number%s", where, key, json_kind(v),
                       null_ok ? " or null" : "");
    *x = json_number_value(v);
    return 0;
}

static int get_int(const json_t *obj, const char *key, const char *where, long lo, long hi,
                   long *x, HgErr *err)
{
    double d;
    if (get_number(obj, key, where, 0, &d, err))
        return -1;
    if (!(d >= (double)lo && d <= (double)hi && d == floor(d)))
        return hg_fail(err, "%s.%s: %.17g: must be an integer in [%ld, %ld]", where, key, d,
                       lo, hi);
    *x = (long)d;
    return 0;
}

/* obj: {"lr": [K values], ...}, exactly the learned kinds, finite numbers. */
static int get_kinds(const json_t *parent, const char *key, const char *where,
                     const HyperLayout *h, double *out, HgErr *err)
{
    const json_t *obj = json_object_get(parent, key);
    if (!json_is_object(obj))
        return hg_fail(err, "%s.%s: %s, not an object of the learned kinds", where, key,
                       json_kind(obj));
    const char *name;
    const json_t *a;
    json_object_foreach((json_t *)obj, name, a) {
        int learned = 0;
        for (int k = 0; k < OUTER_GROUPS; k++)
            learned |= outer_group_count(h, k) && !strcmp(name, outer_group_name(k));
        if (!learned)
            return hg_fail(err, "%s.%s.%s: not a learned kind of this command", where, key,
                           name);
    }
    for (int k = 0; k < OUTER_GROUPS; k++) {
        const long n = outer_group_count(h, k), at = outer_group_offset(h, k);
        const char *kn = outer_group_name(k);
        if (!n)
            continue;
        a = json_object_get(obj, kn);
        if (!json_is_array(a) || json_array_size(a) != (size_t)n)
            return hg_fail(err, "%s.%s.%s: must be an array of %ld numbers (the learned "
                           "values of %s)", where, key, kn, n, kn);
        for (long j = 0; j < n; j++) {
            const json_t *x = json_array_get(a, (size_t)j);
            if (!json_is_number(x) || !isfinite(json_number_value(x)))
                return hg_fail(err, "%s.%s.%s[%ld]: not a finite number", where, key, kn, j);
            out[at + j] = json_number_value(x);
        }
    }
    return 0;
}

static int read_entry(const json_t *v, int s, const HyperLayout *h, HpoStep *e, HgErr *err)
{
    char where[32];
    long outer, flips = 0, clamped;
    double tl, ta;
    snprintf(where, sizeof where, "log[%d]", s);
    if (get_int(v, "outer", where, s, s, &outer, err) ||
        get_number(v, "val_loss", where, 0, &e->val_loss, err) ||
        get_number(v, "val_acc", where, 0, &e->val_acc, err) ||
        get_number(v, "test_loss", where, 1, &tl, err) ||
        get_number(v, "test_acc", where, 1, &ta, err) ||
        get_number(v, "hypergrad_norm", where, 0, &e->hg_norm, err) ||
        get_number(v, "time_s", where, 0, &e->time_s, err) ||
        get_number(v, "engine_time_s", where, 0, &e->engine_time_s, err) ||
        get_int(v, "clamped", where, 0, h->N, &clamped, err))
        return -1;
    const json_t *f = json_object_get(v, "flips");
    if (f && !json_is_null(f) && get_int(v, "flips", where, 0, h->N, &flips, err))
        return -1;
    if (!(isfinite(e->val_loss) && e->val_acc >= 0 && e->val_acc <= 1))
        return hg_fail(err, "%s: val_loss %g, val_acc %g: not a finished step's", where,
                       e->val_loss, e->val_acc);
    e->outer = s;
    e->status = HPO_STEP_OK;
    e->has_test = !isnan(ta);
    e->test_loss = tl;
    e->test_acc = ta;
    e->retrain_val_acc = e->val_acc; /* not logged: only a note compares it */
    e->flips = (int)flips;
    e->clamped = (int)clamped;
    const size_t bytes = sizeof(double) * (size_t)(h->N ? h->N : 1);
    e->theta = malloc(bytes);
    e->grad = malloc(bytes);
    if (!e->theta || !e->grad)
        return hg_fail(err, "out of memory: %s (%zu bytes)", where, 2 * bytes);
    return get_kinds(v, "theta", where, h, e->theta, err) ||
           get_kinds(v, "hypergrad", where, h, e->grad, err) ? -1 : 0;
}

static int read_log(HpoResumeLog *r, const char *header, size_t header_len,
                    const HyperLayout *h, HgErr *err)
{
    const json_t *root = r->root;
    if (!json_is_object(root))
        return hg_fail(err, "not a JSON object");
    const json_t *cmd = json_object_get(root, "command");
    if (!json_is_string(cmd) || strcmp(json_string_value(cmd), "hpo"))
        return hg_fail(err, "command: not the log of hgbench hpo");
    json_t *want = json_read_text(header, header_len, "the command's header", err);
    HG_CHECK(want, "the writer's own header does not parse: %s", err->msg);
    char msg[sizeof err->msg - 64] = "";
    int diffs = 0;
    diff_fields(want, root, "", msg, sizeof msg, &diffs);
    json_decref(want);
    if (diffs)
        return hg_fail(err, "%s%s: resume with the flags of the run that wrote the log", msg,
                       diffs > 3 ? " (and more)" : "");
    const json_t *log = json_object_get(root, "log");
    if (!json_is_array(log))
        return hg_fail(err, "log: %s, not an array", json_kind(log));
    const int n = json_array_size(log) < INT_MAX ? (int)json_array_size(log) : INT_MAX - 1;
    r->done = calloc((size_t)n + 1, sizeof *r->done);
    if (!r->done)
        return hg_fail(err, "out of memory: %d log entries", n);
    for (int s = 0; s < n; s++) {
        const json_t *e = json_array_get(log, (size_t)s), *st = json_object_get(e, "status");
        if (!json_is_string(st))
            return hg_fail(err, "log[%d].status: missing or not a string", s);
        if (!strcmp(json_string_value(st), "final")) {
            if (s != n - 1)
                return hg_fail(err, "log[%d]: the final entry is not the last", s);
            break;
        }
        if (strcmp(json_string_value(st), "ok"))
            return hg_fail(err, "log[%d].status: '%s' (want ok or final)", s,
                           json_string_value(st));
        if (read_entry(e, s, h, &r->done[s], err))
            return -1;
        r->n = s + 1;
    }
    return 0;
}

int hpo_resume_read(HpoResumeLog *r, const char *path, const char *header, size_t header_len,
                    const HyperLayout *h, HgErr *err)
{
    memset(r, 0, sizeof *r);
    HgErr e = {{0}};
    if (read_file(r, path, &e) || !(r->root = json_read_text(r->text, r->len, path, &e)) ||
        read_log(r, header, header_len, h, &e))
        return hg_fail(err, "%s", e.msg);
    return 0;
}

static int same_kinds(const json_t *state, const char *key, const HyperLayout *h,
                      const double *x, double *scratch, HgErr *err)
{
    if (get_kinds(state, key, "outer_state", h, scratch, err))
        return -1;
    for (int i = 0; i < h->N; i++)
        if (memcmp(&scratch[i], &x[i], sizeof x[i]))
            return hg_fail(err, "outer_state.%s: entry %d is %.17g, but replaying the log's "
                           "hypergradients gives %.17g (an edited log?)", key, i, scratch[i],
                           x[i]);
    return 0;
}

int hpo_resume_check_state(const HpoResumeLog *r, const char *path, const HyperLayout *h,
                           const OuterOpt *o, const double *theta, HgErr *err)
{
    (void)path;
    const json_t *st = json_object_get(r->root, "outer_state");
    if (!json_is_object(st))
        return hg_fail(err, "outer_state: missing (a log written before --resume existed?)");
    long updates;
    if (get_int(st, "updates", "outer_state", 0, 1L << 30, &updates, err))
        return -1;
    if (updates != o->t)
        return hg_fail(err, "outer_state.updates: %ld, but the log has %ld finished outer "
                       "steps", updates, o->t);
    double *x = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(h->N ? h->N : 1) * 2);
    double *last = x + (h->N ? h->N : 1);
    for (int i = 0; o->last && i < h->N; i++)
        last[i] = o->last[i];
    const int rc = same_kinds(st, "theta", h, theta, x, err) ||
                   (o->step && (same_kinds(st, "sign_step", h, o->step, x, err) ||
                                same_kinds(st, "last_sign", h, last, x, err))) ||
                   (o->m && (same_kinds(st, "adam_m", h, o->m, x, err) ||
                             same_kinds(st, "adam_v", h, o->v, x, err)));
    mem_free(x);
    return rc ? -1 : 0;
}

void hpo_resume_free(HpoResumeLog *r)
{
    for (int s = 0; r->done && s < r->n + 1; s++) {
        free(r->done[s].theta);
        free(r->done[s].grad);
    }
    free(r->done);
    json_decref(r->root);
    free(r->text);
    memset(r, 0, sizeof *r);
}
