/* json_reader.c — a recursive-descent JSON reader (json_reader.h). The tree
 * is plain malloc: it lives only while a file is read back. */
#include "json_reader.h"

#include <stdlib.h>
#include <string.h>

typedef struct Reader {
    const char *p;
    size_t len, at;
    const char *name;
    HgErr *err;
} Reader;

static int fail_at(Reader *r, const char *what)
{
    if (r->at >= r->len)
        return hg_fail(r->err, "%s: byte %zu: %s (the text ends there)", r->name, r->at, what);
    const unsigned char c = (unsigned char)r->p[r->at];
    if (c >= 0x20 && c < 0x7f)
        return hg_fail(r->err, "%s: byte %zu: %s (found '%c')", r->name, r->at, what, c);
    return hg_fail(r->err, "%s: byte %zu: %s (found byte 0x%02x)", r->name, r->at, what, c);
}

static void skip_ws(Reader *r)
{
    while (r->at < r->len && strchr(" \t\n\r", r->p[r->at]) && r->p[r->at])
        r->at++;
}

static int peek(const Reader *r) { return r->at < r->len ? (unsigned char)r->p[r->at] : -1; }

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int hex4(Reader *r, unsigned *u)
{
    *u = 0;
    for (int i = 0; i < 4; i++, r->at++) {
        const int c = peek(r);
        const int d = is_digit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return fail_at(r, "\\u needs four hex digits");
        *u = *u * 16 + (unsigned)d;
    }
    return 0;
}

/* A string at r->at (the opening quote), decoded into *out (malloc). */
static int read_string(Reader *r, char **out)
{
    r->at++; /* the quote */
    const size_t from = r->at;
    size_t cap = 0;
    while (r->at < r->len && r->p[r->at] != '"') /* the decoded text is never longer */
        r->at += r->p[r->at] == '\\' && r->at + 1 < r->len ? 2 : 1;
    cap = r->at - from + 1;
    r->at = from;
    char *s = malloc(cap), *o = s;
    if (!s)
        return hg_fail(r->err, "%s: out of memory: a string (%zu bytes)", r->name, cap);
    for (;;) {
        const int c = peek(r);
        if (c < 0) {
            free(s);
            return fail_at(r, "a string is not closed");
        }
        if (c == '"')
            break;
        if (c < 0x20) {
            free(s);
            return fail_at(r, "a control character in a string must be escaped");
        }
        r->at++;
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        const int e = peek(r);
        const char *const from_esc = "\"\\/bfnrt", *const to_esc = "\"\\/\b\f\n\r\t";
        const char *hit = e > 0 ? strchr(from_esc, e) : NULL;
        if (hit && e) {
            *o++ = to_esc[hit - from_esc];
            r->at++;
        } else if (e == 'u') {
            unsigned u;
            r->at++;
            if (hex4(r, &u) || (u >= 0xd800 && u <= 0xdfff && fail_at(r, "a \\u surrogate "
                                                                       "pair is not read"))) {
                free(s);
                return -1;
            }
            if (u < 0x80) { /* UTF-8, at most 3 bytes for one unit: within the 6 of \uXXXX */
                *o++ = (char)u;
            } else if (u < 0x800) {
                *o++ = (char)(0xc0 | u >> 6);
                *o++ = (char)(0x80 | (u & 0x3f));
            } else {
                *o++ = (char)(0xe0 | u >> 12);
                *o++ = (char)(0x80 | (u >> 6 & 0x3f));
                *o++ = (char)(0x80 | (u & 0x3f));
            }
        } else {
            free(s);
            return fail_at(r, "an unknown escape in a string");
        }
    }
    r->at++; /* the closing quote */
    *o = '\0';
    *out = s;
    return 0;
}

static int read_number(Reader *r, JsonValue *v)
{
    const size_t from = r->at;
    if (peek(r) == '-')
        r->at++;
    if (peek(r) == '0')
        r->at++;
    else if (is_digit(peek(r)))
        while (is_digit(peek(r)))
            r->at++;
    else
        return fail_at(r, "a number needs a digit");
    if (peek(r) == '.') {
        r->at++;
        if (!is_digit(peek(r)))
            return fail_at(r, "a digit must follow the decimal point");
        while (is_digit(peek(r)))
            r->at++;
    }
    if (peek(r) == 'e' || peek(r) == 'E') {
        r->at++;
        if (peek(r) == '+' || peek(r) == '-')
            r->at++;
        if (!is_digit(peek(r)))
            return fail_at(r, "an exponent needs a digit");
        while (is_digit(peek(r)))
            r->at++;
    }
    char buf[128];
    const size_t n = r->at - from;
    if (n >= sizeof buf) {
        r->at = from;
        return fail_at(r, "a number longer than 127 characters");
    }
    memcpy(buf, r->p + from, n);
    buf[n] = '\0';
    v->type = JSON_NUMBER;
    v->number = strtod(buf, NULL); /* the grammar above is a subset of strtod's */
    return 0;
}

static int read_value(Reader *r, JsonValue *v, int depth);

/* Appends one zeroed slot to v's items (and keys for an object). */
static JsonValue *grow(Reader *r, JsonValue *v, int *cap)
{
    if (v->n == *cap) {
        const int nc = *cap ? *cap * 2 : 4;
        JsonValue *items = realloc(v->items, sizeof *items * (size_t)nc);
        if (items)
            v->items = items;
        char **keys = v->type == JSON_OBJECT && items ? realloc(v->keys, sizeof *keys * (size_t)nc)
                                                     : NULL;
        if (keys)
            v->keys = keys;
        if (!items || (v->type == JSON_OBJECT && !keys)) {
            hg_fail(r->err, "%s: out of memory: %d members", r->name, nc);
            return NULL;
        }
        *cap = nc;
    }
    JsonValue *slot = &v->items[v->n];
    memset(slot, 0, sizeof *slot);
    if (v->type == JSON_OBJECT)
        v->keys[v->n] = NULL;
    v->n++;
    return slot;
}

static int read_container(Reader *r, JsonValue *v, int depth)
{
    const int object = peek(r) == '{', close = object ? '}' : ']';
    int cap = 0;
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    r->at++;
    skip_ws(r);
    if (peek(r) == close) {
        r->at++;
        return 0;
    }
    for (;;) {
        skip_ws(r);
        JsonValue *slot = grow(r, v, &cap);
        if (!slot)
            return -1;
        if (object) {
            if (peek(r) != '"')
                return fail_at(r, "an object member needs a quoted key");
            if (read_string(r, &v->keys[v->n - 1]))
                return -1;
            for (int i = 0; i < v->n - 1; i++)
                if (!strcmp(v->keys[i], v->keys[v->n - 1])) {
                    r->at--;
                    return hg_fail(r->err, "%s: byte %zu: key \"%s\" appears twice", r->name,
                                   r->at, v->keys[i]);
                }
            skip_ws(r);
            if (peek(r) != ':')
                return fail_at(r, "a ':' must follow an object key");
            r->at++;
            skip_ws(r);
        }
        if (read_value(r, slot, depth + 1))
            return -1;
        skip_ws(r);
        if (peek(r) == close) {
            r->at++;
            return 0;
        }
        if (peek(r) != ',')
            return fail_at(r, object ? "',' or '}' expected" : "',' or ']' expected");
        r->at++;
    }
}

static int read_literal(Reader *r, const char *word, JsonType t, double num, JsonValue *v)
{
    const size_t n = strlen(word);
    if (r->len - r->at < n || memcmp(r->p + r->at, word, n))
        return fail_at(r, "a value expected (an object, array, string, number, true, false "
                          "or null)");
    r->at += n;
    v->type = t;
    v->number = num;
    return 0;
}

static int read_value(Reader *r, JsonValue *v, int depth)
{
    memset(v, 0, sizeof *v);
    if (depth > JSON_READ_MAX_DEPTH)
        return fail_at(r, "nested deeper than 64 levels");
    skip_ws(r);
    v->start = r->at;
    const int c = peek(r);
    int rc;
    if (c == '{' || c == '[')
        rc = read_container(r, v, depth);
    else if (c == '"') {
        v->type = JSON_STRING;
        rc = read_string(r, &v->string);
    } else if (c == '-' || is_digit(c))
        rc = read_number(r, v);
    else if (c == 't')
        rc = read_literal(r, "true", JSON_BOOL, 1, v);
    else if (c == 'f')
        rc = read_literal(r, "false", JSON_BOOL, 0, v);
    else
        rc = read_literal(r, "null", JSON_NULL, 0, v);
    v->end = r->at;
    return rc;
}

int json_parse(const char *text, size_t len, const char *name, JsonValue *out, HgErr *err)
{
    Reader r = {.p = text, .len = len, .name = name, .err = err};
    if (read_value(&r, out, 0)) {
        json_value_free(out);
        return -1;
    }
    skip_ws(&r);
    if (r.at != r.len) {
        json_value_free(out);
        return fail_at(&r, "text after the value");
    }
    return 0;
}

void json_value_free(JsonValue *v)
{
    for (int i = 0; i < v->n; i++) {
        json_value_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    memset(v, 0, sizeof *v);
}

const JsonValue *json_member(const JsonValue *v, const char *key)
{
    if (!v || v->type != JSON_OBJECT)
        return NULL;
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key))
            return &v->items[i];
    return NULL;
}

const char *json_type_name(JsonType t)
{
    static const char *const names[] = {"null", "true or false", "a number", "a string",
                                        "an array", "an object"};
    return (unsigned)t <= JSON_OBJECT ? names[t] : "?";
}

int json_equal(const JsonValue *a, const JsonValue *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case JSON_NULL:
        return 1;
    case JSON_BOOL:
    case JSON_NUMBER:
        return a->number == b->number;
    case JSON_STRING:
        return !strcmp(a->string, b->string);
    case JSON_ARRAY:
        if (a->n != b->n)
            return 0;
        for (int i = 0; i < a->n; i++)
            if (!json_equal(&a->items[i], &b->items[i]))
                return 0;
        return 1;
    case JSON_OBJECT:
        if (a->n != b->n)
            return 0;
        for (int i = 0; i < a->n; i++) {
            const JsonValue *m = json_member(b, a->keys[i]);
            if (!m || !json_equal(&a->items[i], m))
                return 0;
        }
        return 1;
    }
    return 0;
}
