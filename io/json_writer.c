/* json_writer.c — the streaming writer of json_writer.h. */
#include "json_writer.h"

#include <inttypes.h>
#include <math.h>

#include "../common/check.h"

void json_init(JsonWriter *j, FILE *f)
{
    *j = (JsonWriter){.f = f};
}

static void newline(JsonWriter *j)
{
    fputc('\n', j->f);
    for (int d = 0; d < j->depth; d++)
        fputs("  ", j->f);
}

/* Separator and indentation before a value or a key. */
static void before(JsonWriter *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth == 0)
        return;
    const int d = j->depth - 1;
    if (j->count[d]++)
        fputc(',', j->f);
    if (j->inline_[d]) {
        if (j->count[d] > 1)
            fputc(' ', j->f);
    } else {
        newline(j);
    }
}

static void container_open(JsonWriter *j, char c, int inline_)
{
    before(j);
    HG_CHECK(j->depth < JSON_MAX_DEPTH, "JSON nested deeper than %d", JSON_MAX_DEPTH);
    const int parent_inline = j->depth > 0 && j->inline_[j->depth - 1];
    fputc(c, j->f);
    j->count[j->depth] = 0;
    j->inline_[j->depth] = inline_ || parent_inline;
    j->depth++;
}

static void container_close(JsonWriter *j, char c)
{
    HG_CHECK(j->depth > 0 && !j->after_key, "JSON container closed out of order");
    j->depth--;
    if (!j->inline_[j->depth] && j->count[j->depth])
        newline(j);
    fputc(c, j->f);
    if (j->depth == 0)
        fputc('\n', j->f);
}

void json_object_begin(JsonWriter *j, int inline_) { container_open(j, '{', inline_); }
void json_object_end(JsonWriter *j) { container_close(j, '}'); }
void json_array_begin(JsonWriter *j, int inline_) { container_open(j, '[', inline_); }
void json_array_end(JsonWriter *j) { container_close(j, ']'); }

void json_write_escaped(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void json_key(JsonWriter *j, const char *key)
{
    HG_CHECK(j->depth > 0 && !j->after_key, "JSON key '%s' outside an object", key);
    before(j);
    json_write_escaped(j->f, key);
    fputs(": ", j->f);
    j->after_key = 1;
}

void json_put_string(JsonWriter *j, const char *s)
{
    before(j);
    if (s)
        json_write_escaped(j->f, s);
    else
        fputs("null", j->f);
}

static void put_double(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.17g", x);
    else
        fputs("null", f);
}

void json_double(JsonWriter *j, double x)
{
    before(j);
    put_double(j->f, x);
}

void json_int(JsonWriter *j, long long x)
{
    before(j);
    fprintf(j->f, "%lld", x);
}

void json_uint(JsonWriter *j, uint64_t x)
{
    before(j);
    fprintf(j->f, "%" PRIu64, x);
}

void json_bool(JsonWriter *j, int b)
{
    before(j);
    fputs(b ? "true" : "false", j->f);
}

void json_put_null(JsonWriter *j)
{
    before(j);
    fputs("null", j->f);
}

void json_doubles(JsonWriter *j, const double *a, long n)
{
    if (!a) {
        json_put_null(j);
        return;
    }
    json_array_begin(j, 1);
    for (long i = 0; i < n; i++)
        json_double(j, a[i]);
    json_array_end(j);
}

void json_longs(JsonWriter *j, const long *a, int n)
{
    json_array_begin(j, 1);
    for (int i = 0; i < n; i++)
        json_int(j, a[i]);
    json_array_end(j);
}

void json_field_string(JsonWriter *j, const char *key, const char *s)
{
    json_key(j, key);
    json_put_string(j, s);
}

void json_field_double(JsonWriter *j, const char *key, double x)
{
    json_key(j, key);
    json_double(j, x);
}

void json_field_int(JsonWriter *j, const char *key, long long x)
{
    json_key(j, key);
    json_int(j, x);
}

void json_field_uint(JsonWriter *j, const char *key, uint64_t x)
{
    json_key(j, key);
    json_uint(j, x);
}

void json_field_bool(JsonWriter *j, const char *key, int b)
{
    json_key(j, key);
    json_bool(j, b);
}

void json_field_null(JsonWriter *j, const char *key)
{
    json_key(j, key);
    json_put_null(j);
}

void json_field_doubles(JsonWriter *j, const char *key, const double *a, long n)
{
    json_key(j, key);
    json_doubles(j, a, n);
}

void json_field_longs(JsonWriter *j, const char *key, const long *a, int n)
{
    json_key(j, key);
    json_longs(j, a, n);
}
