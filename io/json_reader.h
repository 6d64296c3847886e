/* json_reader.h — a strict JSON reader into a small tree, for what hgbench
 * reads back of its own output (hgbench hpo --resume reads its log).
 *
 * RFC 8259 syntax only: no comments, trailing commas, NaN or leading zeros;
 * nesting at most JSON_READ_MAX_DEPTH; a duplicate key is refused. Numbers
 * are read by strtod, so a double json_writer printed with %.17g comes back
 * bit for bit. Every value keeps the span of its text in the source, so a
 * caller can quote it in a message.
 * Errors give the name of the text and the byte offset.
 * Leaves out: \u escapes beyond one UTF-16 unit (surrogate pairs are
 * refused), numbers as integers wider than a double holds exactly.
 * (libjansson would do; its headers are not on the machines hgbench builds on.)
 */
#ifndef HG_JSON_READER_H
#define HG_JSON_READER_H

#include <stddef.h>

#include "../common/check.h"

#define JSON_READ_MAX_DEPTH 64

typedef enum JsonType { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY,
                        JSON_OBJECT } JsonType;

typedef struct JsonValue {
    JsonType type;
    double number;            /* JSON_NUMBER; JSON_BOOL: 0 or 1 */
    char *string;             /* JSON_STRING: decoded, NUL-terminated */
    int n;                    /* JSON_ARRAY, JSON_OBJECT: members */
    struct JsonValue *items;  /* [n] */
    char **keys;              /* JSON_OBJECT: [n], decoded */
    size_t start, end;        /* the value's text: source[start, end) */
} JsonValue;

/* Parses text[0, len) (one value, whitespace around it). 0, or -1 with err
 * "name: byte N: what was wrong"; *out is then empty (freeing it is safe). */
int json_parse(const char *text, size_t len, const char *name, JsonValue *out, HgErr *err);
void json_value_free(JsonValue *v);

/* The member named key of an object, NULL if absent or v is no object. */
const JsonValue *json_member(const JsonValue *v, const char *key);
const char *json_type_name(JsonType t); /* "null", "number", ... */
/* The same value, whatever the layout: numbers equal as doubles, strings
 * byte for byte, arrays item by item, objects the same keys (in any order)
 * with equal values. */
int json_equal(const JsonValue *a, const JsonValue *b);

#endif
