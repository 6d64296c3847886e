/* json_reader.c — jansson with hgbench's flags and messages (json_reader.h). */
#include "json_reader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *json_read_text(const char *text, size_t len, const char *name, HgErr *err)
{
    json_error_t e;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &e);
    if (!v)
        hg_fail(err, "%s: line %d, column %d (byte %d): %s", name, e.line, e.column,
                e.position, e.text);
    return v;
}

const char *json_kind(const json_t *v)
{
    if (!v)
        return "missing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "true or false";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* Appends v to buf[*at, cap), as json_quote writes it. */
static void quote_into(const json_t *v, char *buf, size_t cap, size_t *at)
{
    char num[32];
    const char *text = num;
    char *dumped = NULL;
    if (json_is_number(v)) { /* jansson would print 17 digits: 0.10000000000000001 */
        const double x = json_number_value(v);
        for (int digits = 1; digits <= 17; digits++) {
            snprintf(num, sizeof num, "%.*g", digits, x);
            if (strtod(num, NULL) == x)
                break;
        }
        if (fabs(x) < 1e17 && x == (double)(long long)x && !signbit(x)) /* 24000, not 2.4e+04 */
            snprintf(num, sizeof num, "%lld", (long long)x);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        if (*at < cap)
            *at += (size_t)snprintf(buf + *at, cap - *at, "[");
        json_array_foreach((json_t *)v, i, item) {
            if (i && *at < cap)
                *at += (size_t)snprintf(buf + *at, cap - *at, ",");
            quote_into(item, buf, cap, at);
        }
        text = "]";
    } else {
        text = dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    }
    if (*at < cap)
        *at += (size_t)snprintf(buf + *at, cap - *at, "%s", text ? text : "?");
    free(dumped);
}

const char *json_quote(const json_t *v, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    quote_into(v, buf, cap, &at);
    if (at >= cap && cap > 4) /* cut: mark it */
        memcpy(buf + cap - 4, "...", 4);
    return buf;
}
