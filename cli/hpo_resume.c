/* hpo_resume.c — the resumable part of hpo's JSON log (hpo_resume.h). */
#include "hpo_resume.h"

#include <errno.h>
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
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k]) {
            json_field_doubles(j, hyper_kind_name(k), x + h->offset[k], h->K[k]);
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

/* A value's text for a message, shortened to fit. */
static const char *quote(const char *text, const JsonValue *v, char *buf, size_t cap)
{
    const size_t n = v->end - v->start;
    if (n + 1 <= cap)
        snprintf(buf, cap, "%.*s", (int)n, text + v->start);
    else
        snprintf(buf, cap, "%.*s...", (int)(cap - 4), text + v->start);
    return buf;
}

/* Every member of the expected object `want` must be in `got` with an equal
 * value (json_equal); objects are compared member by member so that a
 * message names the innermost field. Differences go into msg (the first
 * few, by path); the count is returned. */
static int diff_fields(const char *wtext, const JsonValue *want, const char *gtext,
                       const JsonValue *got, const char *where, char *msg, size_t cap)
{
    int count = 0;
    for (int i = 0; i < want->n; i++) {
        char path[256], a[96], b[96];
        snprintf(path, sizeof path, "%s%s%s", where, *where ? "." : "", want->keys[i]);
        const JsonValue *w = &want->items[i], *g = json_member(got, want->keys[i]);
        if (g && w->type == JSON_OBJECT && g->type == JSON_OBJECT) {
            const size_t used = strlen(msg);
            count += diff_fields(wtext, w, gtext, g, path, msg + used, cap - used);
            continue;
        }
        if (g && json_equal(w, g))
            continue;
        const size_t used = strlen(msg);
        if (count++ < 3 && used + 1 < cap)
            snprintf(msg + used, cap - used, "%s%s is %s in the log but %s in this command",
                     used ? "; " : "", path, g ? quote(gtext, g, a, sizeof a) : "missing",
                     quote(wtext, w, b, sizeof b));
    }
    return count;
}

static int get_number(const JsonValue *obj, const char *key, const char *where, int null_ok,
                      double *x, HgErr *err)
{
    const JsonValue *v = json_member(obj, key);
    if (v && v->type == JSON_NULL && null_ok) {
        *x = NAN;
        return 0;
    }
    if (!v || v->type != JSON_NUMBER)
        return hg_fail(err, "%s.%s: %s, not a number%s", where, key,
                       v ? json_type_name(v->type) : "missing", null_ok ? " or null" : "");
    *x = v->number;
    return 0;
}

static int get_int(const JsonValue *obj, const char *key, const char *where, long lo, long hi,
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
static int get_kinds(const JsonValue *parent, const char *key, const char *where,
                     const HyperLayout *h, double *out, HgErr *err)
{
    const JsonValue *obj = json_member(parent, key);
    if (!obj || obj->type != JSON_OBJECT)
        return hg_fail(err, "%s.%s: %s, not an object of the learned kinds", where, key,
                       obj ? json_type_name(obj->type) : "missing");
    for (int i = 0; i < obj->n; i++) {
        int learned = 0;
        for (int k = 0; k < HYPER_KINDS; k++)
            learned |= h->K[k] && !strcmp(obj->keys[i], hyper_kind_name(k));
        if (!learned)
            return hg_fail(err, "%s.%s.%s: not a learned kind of this command", where, key,
                           obj->keys[i]);
    }
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (!h->K[k])
            continue;
        const JsonValue *a = json_member(obj, hyper_kind_name(k));
        if (!a || a->type != JSON_ARRAY || a->n != h->K[k])
            return hg_fail(err, "%s.%s.%s: must be an array of %d numbers (the learned "
                           "values of %s)", where, key, hyper_kind_name(k), h->K[k],
                           hyper_kind_name(k));
        for (int j = 0; j < a->n; j++) {
            if (a->items[j].type != JSON_NUMBER || !isfinite(a->items[j].number))
                return hg_fail(err, "%s.%s.%s[%d]: not a finite number", where, key,
                               hyper_kind_name(k), j);
            out[h->offset[k] + j] = a->items[j].number;
        }
    }
    return 0;
}

static int read_entry(const JsonValue *v, int s, const HyperLayout *h, HpoStep *e, HgErr *err)
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
    const JsonValue *f = json_member(v, "flips");
    if (f && f->type != JSON_NULL && get_int(v, "flips", where, 0, h->N, &flips, err))
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
    const JsonValue *root = &r->root;
    JsonValue want;
    if (root->type != JSON_OBJECT)
        return hg_fail(err, "not a JSON object");
    const JsonValue *cmd = json_member(root, "command");
    if (!cmd || cmd->type != JSON_STRING || strcmp(cmd->string, "hpo"))
        return hg_fail(err, "command: not the log of hgbench hpo");
    HG_CHECK(json_parse(header, header_len, "the command's header", &want, err) == 0,
             "the writer's own header does not parse: %s", err->msg);
    char msg[sizeof err->msg - 64] = "";
    const int diffs = diff_fields(header, &want, r->text, root, "", msg, sizeof msg);
    json_value_free(&want);
    if (diffs)
        return hg_fail(err, "%s%s: resume with the flags of the run that wrote the log", msg,
                       diffs > 3 ? " (and more)" : "");
    const JsonValue *log = json_member(root, "log");
    if (!log || log->type != JSON_ARRAY)
        return hg_fail(err, "log: %s, not an array", log ? json_type_name(log->type) : "missing");
    r->done = calloc((size_t)log->n + 1, sizeof *r->done);
    if (!r->done)
        return hg_fail(err, "out of memory: %d log entries", log->n);
    for (int s = 0; s < log->n; s++) {
        const JsonValue *e = &log->items[s], *st = json_member(e, "status");
        if (!st || st->type != JSON_STRING)
            return hg_fail(err, "log[%d].status: missing or not a string", s);
        if (!strcmp(st->string, "final")) {
            if (s != log->n - 1)
                return hg_fail(err, "log[%d]: the final entry is not the last", s);
            break;
        }
        if (strcmp(st->string, "ok"))
            return hg_fail(err, "log[%d].status: '%s' (want ok or final)", s, st->string);
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
    if (read_file(r, path, &e) || json_parse(r->text, r->len, path, &r->root, &e) ||
        read_log(r, header, header_len, h, &e))
        return hg_fail(err, "%s", e.msg);
    return 0;
}

static int same_kinds(const JsonValue *state, const char *key, const HyperLayout *h,
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
    const JsonValue *st = json_member(&r->root, "outer_state");
    if (!st || st->type != JSON_OBJECT)
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
    json_value_free(&r->root);
    free(r->text);
    memset(r, 0, sizeof *r);
}
