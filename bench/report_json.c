/* report_json.c — the checked getters of report_json.h, on jansson. */
#include "report_json.h"

#include <math.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The file's bytes, NUL-terminated; NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *in = malloc(cap);
    HG_CHECK(in, "malloc");
    while ((k = fread(in + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap) { cap *= 2; in = realloc(in, cap); HG_CHECK(in, "realloc"); }
    }
    fclose(f);
    in[n] = '\0';
    *len = n;
    return in;
}

/* 1 if the token of k bytes is an integer beyond int64 (jansson refuses it:
 * "too big integer"), as the unsigned 64-bit seeds past 2^63 are. */
static int big_integer(const char *t, size_t k)
{
    const int neg = k && *t == '-';
    if (neg) { t++; k--; }
    for (size_t i = 0; i < k; i++)
        if (t[i] < '0' || t[i] > '9') return 0;
    const char *max = neg ? "9223372036854775808" : "9223372036854775807"; /* 19 digits */
    return k > 19 || (k == 19 && memcmp(t, max, k) > 0);
}

/* One pass over JSON text, outside strings: integers beyond int64 become
 * their decimal strings, exactly (a seed is a name, not a quantity); with
 * nonfinite, bare NaN, nan, inf or Infinity become null. Returns new text. */
static char *tidy(const char *in, size_t n, int nonfinite, size_t *len)
{
    char *out = malloc(2 * n + 3); /* "nan" -> "null": +1 per 3; quotes: +2 per 20 */
    HG_CHECK(out, "malloc");
    static const char *const tokens[] = {"-Infinity", "Infinity", "-NaN", "NaN", "-nan", "nan",
                                         "-inf", "inf"};
    size_t o = 0;
    int str = 0;
    for (size_t i = 0; i < n;) {
        if (str) {
            if (in[i] == '\\' && i + 1 < n) { out[o++] = in[i++]; out[o++] = in[i++]; continue; }
            if (in[i] == '"') str = 0;
            out[o++] = in[i++];
            continue;
        }
        if (in[i] == '"') { str = 1; out[o++] = in[i++]; continue; }
        size_t t = 0;
        for (; nonfinite && t < sizeof tokens / sizeof tokens[0]; t++) {
            size_t tl = strlen(tokens[t]);
            if (i + tl <= n && !memcmp(in + i, tokens[t], tl)) break;
        }
        if (nonfinite && t < sizeof tokens / sizeof tokens[0]) {
            memcpy(out + o, "null", 4);
            o += 4;
            i += strlen(tokens[t]);
            continue;
        }
        if (in[i] == '-' || (in[i] >= '0' && in[i] <= '9')) {
            size_t k = strspn(in + i, "-+0123456789.eE");
            const int quote = big_integer(in + i, k);
            if (quote) out[o++] = '"';
            memcpy(out + o, in + i, k);
            o += k;
            i += k;
            if (quote) out[o++] = '"';
            continue;
        }
        out[o++] = in[i++];
    }
    out[o] = '\0';
    *len = o;
    return out;
}

json_t *rj_parse_file(const char *path, int nonfinite, json_error_t *e)
{
    size_t n, len;
    char *in = slurp(path, &n);
    if (!in) return json_load_file(path, 0, e); /* its error names the cause */
    char *text = tidy(in, n, nonfinite, &len);
    free(in);
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, e);
    free(text);
    return root;
}

static json_t *load(Rj *r, const char *path, int nonfinite)
{
    memset(r, 0, sizeof *r);
    snprintf(r->file, sizeof r->file, "%s", path);
    json_error_t e;
    r->root = rj_parse_file(path, nonfinite, &e);
    if (!r->root) {
        r->bad = 1;
        if (!rj_exists(path))
            hg_fail(&r->err, "%s: no such file (the run that writes it did not finish?)", path);
        else
            hg_fail(&r->err, "%s: line %d, column %d: not valid JSON: %s", path, e.line,
                    e.column, e.text);
    }
    return r->root;
}

json_t *rj_load(Rj *r, const char *path)
{
    return load(r, path, 0);
}

json_t *rj_load_lenient(Rj *r, const char *path)
{
    return load(r, path, 1);
}

void rj_close(Rj *r)
{
    json_decref(r->root);
    r->root = NULL;
}

int rj_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

void rj_at(Rj *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->at, sizeof r->at, fmt, ap);
    va_end(ap);
}

int rj_fail(Rj *r, const char *fmt, ...)
{
    if (r->bad) return -1;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->bad = 1;
    return hg_fail(&r->err, "%s: %s%s%s", r->file, r->at, r->at[0] ? ": " : "", msg);
}

json_t *rj_row(Rj *r, json_t *arr, const char *name, size_t i)
{
    rj_at(r, "%s[%zu]", name, i);
    json_t *v = json_array_get(arr, i);
    if (!json_is_object(v)) {
        rj_fail(r, "not an object");
        return NULL;
    }
    return v;
}

/* The member, or NULL with an error naming it (absent, or obj not one). */
static json_t *member(Rj *r, json_t *obj, const char *key)
{
    if (r->bad) return NULL;
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!v) rj_fail(r, "field '%s' is missing", key);
    return v;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static void wrong_type(Rj *r, const char *key, const json_t *v, const char *want)
{
    rj_fail(r, "field '%s' is %s, expected %s", key, type_name(v), want);
}

double rj_num(Rj *r, json_t *obj, const char *key)
{
    json_t *v = member(r, obj, key);
    if (!v) return 0;
    if (!json_is_number(v)) { wrong_type(r, key, v, "a number"); return 0; }
    return json_number_value(v);
}

double rj_num_or_null(Rj *r, json_t *obj, const char *key)
{
    json_t *v = member(r, obj, key);
    if (!v) return 0;
    if (json_is_null(v)) return NAN;
    if (!json_is_number(v)) { wrong_type(r, key, v, "a number or null"); return 0; }
    return json_number_value(v);
}

long rj_int(Rj *r, json_t *obj, const char *key)
{
    json_t *v = member(r, obj, key);
    if (!v) return 0;
    if (!json_is_integer(v)) { wrong_type(r, key, v, "an integer"); return 0; }
    return (long)json_integer_value(v);
}

const char *rj_str(Rj *r, json_t *obj, const char *key)
{
    json_t *v = member(r, obj, key);
    if (!v) return "";
    if (!json_is_string(v)) { wrong_type(r, key, v, "a string"); return ""; }
    return json_string_value(v);
}

json_t *rj_array(Rj *r, json_t *obj, const char *key)
{
    json_t *v = member(r, obj, key);
    if (v && !json_is_array(v)) { wrong_type(r, key, v, "an array"); return NULL; }
    return v;
}

json_t *rj_object(Rj *r, json_t *obj, const char *key)
{
    json_t *v = member(r, obj, key);
    if (v && !json_is_object(v)) { wrong_type(r, key, v, "an object"); return NULL; }
    return v;
}

int rj_bool(Rj *r, json_t *obj, const char *key)
{
    json_t *v = member(r, obj, key);
    if (!v) return 0;
    if (!json_is_boolean(v)) { wrong_type(r, key, v, "true or false"); return 0; }
    return json_is_true(v);
}

int rj_has(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return v && !json_is_null(v);
}

double rj_num_opt(Rj *r, json_t *obj, const char *key, double dflt)
{
    return rj_has(obj, key) ? rj_num(r, obj, key) : dflt;
}

long rj_int_opt(Rj *r, json_t *obj, const char *key, long dflt)
{
    return rj_has(obj, key) ? rj_int(r, obj, key) : dflt;
}

const char *rj_str_opt(Rj *r, json_t *obj, const char *key, const char *dflt)
{
    return rj_has(obj, key) ? rj_str(r, obj, key) : dflt;
}

long rj_nums(Rj *r, json_t *obj, const char *key, double *out, long cap)
{
    json_t *a = rj_array(r, obj, key);
    if (!a) return -1;
    long n = (long)json_array_size(a);
    if (n > cap) { rj_fail(r, "field '%s' has %ld entries, more than %ld", key, n, cap); return -1; }
    for (long i = 0; i < n; i++) {
        json_t *v = json_array_get(a, (size_t)i);
        if (json_is_null(v)) out[i] = NAN;
        else if (json_is_number(v)) out[i] = json_number_value(v);
        else { rj_fail(r, "field '%s'[%ld] is %s, expected a number", key, i, type_name(v)); return -1; }
    }
    return n;
}

void rj_envelope(Rj *r, json_t *root, RjEnvelope *e)
{
    char at[sizeof r->at];
    memcpy(at, r->at, sizeof at);
    r->at[0] = '\0';
    memset(e, 0, sizeof *e);
    const char *schema = rj_str(r, root, "schema");
    if (!r->bad && strcmp(schema, "hgbench-results/1"))
        rj_fail(r, "field 'schema' is '%s', expected 'hgbench-results/1'", schema);
    e->program = rj_str(r, root, "program");
    e->commit = rj_str(r, root, "commit");
    e->command = rj_str(r, root, "command");
    e->date = rj_str(r, root, "date");
    e->threads = rj_int(r, root, "threads");
    e->ranks = rj_int_opt(r, root, "ranks", 1);
    e->precision = rj_str_opt(r, root, "precision", "");
    e->device = rj_str_opt(r, root, "device", "cpu");
    json_t *m = rj_object(r, root, "machine");
    rj_at(r, "machine");
    e->cpu = rj_str(r, m, "cpu");
    e->host = rj_str(r, m, "host");
    e->cores = rj_int(r, m, "cores");
    e->pus = rj_int(r, m, "pus");
    e->packages = rj_int(r, m, "packages");
    e->blas_core = rj_str_opt(r, m, "blas_core", "");
    memcpy(r->at, at, sizeof at);
}
