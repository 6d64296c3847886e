/* json_reader.h — reading JSON back with jansson, for what hgbench reads of
 * its own output (hgbench hpo --resume reads its log): the one set of load
 * flags, and messages that name the text.
 *
 * RFC 8259 syntax only (jansson's strict default: no comments, trailing
 * commas or NaN), a duplicate key refused, nesting within jansson's limit
 * (2048). Every number is read as a double (JSON_DECODE_INT_AS_REAL), by
 * strtod: a double json_writer printed with %.17g comes back bit for bit,
 * "-0" keeps its sign, and 1 equals 1.0 (json_equal).
 * Leaves out \u0000 in strings (refused).
 */
#ifndef HG_JSON_READER_H
#define HG_JSON_READER_H

#include <stddef.h>

#include <jansson.h>

#include "../common/check.h"

/* Parses text[0, len) (one value, whitespace around it). The value (the
 * caller's reference: json_decref it), or NULL with err
 * "name: line L, column C (byte B): what jansson found wrong". */
json_t *json_read_text(const char *text, size_t len, const char *name, HgErr *err);
/* "null", "a number", "an object", ... for messages; "missing" for NULL. */
const char *json_kind(const json_t *v);
/* v as compact JSON in buf (cut with "..." to fit), numbers in the fewest
 * digits that read back to the same double; buf is returned. */
const char *json_quote(const json_t *v, char *buf, size_t cap);

#endif
