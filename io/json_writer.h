/* json_writer.h — a small streaming JSON writer: objects one member per
 * line (indented by two spaces), arrays and objects opened "inline" on one
 * line. The writer puts the commas; strings are escaped (", \, control
 * characters; other bytes pass through, so UTF-8 stays UTF-8). Doubles are
 * printed with %.17g, which reads back to the same double, so one run
 * printed twice gives the same bytes; NaN and infinities become null.
 * Leaves out: reading, checking that keys are unique, non-UTF-8 input.
 */
#ifndef HG_JSON_WRITER_H
#define HG_JSON_WRITER_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct JsonWriter {
    FILE *f;
    int depth;
    int count[JSON_MAX_DEPTH];   /* values written in each open container */
    int inline_[JSON_MAX_DEPTH]; /* container written on one line */
    int after_key;               /* a key was written; its value comes next */
} JsonWriter;

void json_init(JsonWriter *j, FILE *f);
/* inline_: the container and everything in it on one line. */
void json_object_begin(JsonWriter *j, int inline_);
void json_object_end(JsonWriter *j);
void json_array_begin(JsonWriter *j, int inline_);
void json_array_end(JsonWriter *j);
/* The key of the next member of the open object. */
void json_key(JsonWriter *j, const char *key);

void json_put_string(JsonWriter *j, const char *s); /* NULL writes null */
void json_double(JsonWriter *j, double x);
void json_int(JsonWriter *j, long long x);
void json_uint(JsonWriter *j, uint64_t x);
void json_bool(JsonWriter *j, int b);
void json_put_null(JsonWriter *j);
/* An inline array of n doubles; NULL writes null. */
void json_doubles(JsonWriter *j, const double *a, long n);
/* An inline array of n longs. */
void json_longs(JsonWriter *j, const long *a, int n);

/* One member of the open object per call: key, then its value, as json_key
 * followed by the value's writer (writers read one line per field). */
void json_field_string(JsonWriter *j, const char *key, const char *s);
void json_field_double(JsonWriter *j, const char *key, double x);
void json_field_int(JsonWriter *j, const char *key, long long x);
void json_field_uint(JsonWriter *j, const char *key, uint64_t x);
void json_field_bool(JsonWriter *j, const char *key, int b);
void json_field_null(JsonWriter *j, const char *key);
void json_field_doubles(JsonWriter *j, const char *key, const double *a, long n);
void json_field_longs(JsonWriter *j, const char *key, const long *a, int n);

/* The escaped form of s, quotes included. */
void json_write_escaped(FILE *f, const char *s);

#endif
