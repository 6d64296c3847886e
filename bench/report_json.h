/* report_json.h — reading a bench result file (jansson) so that every
 * missing or malformed field is an error naming the file and the field.
 *
 *   Rj r;
 *   json_t *root = rj_load(&r, path);          NULL: r.err says why
 *   json_t *rows = rj_array(&r, root, "rows");
 *   for (size_t i = 0; i < json_array_size(rows); i++) {
 *       json_t *row = rj_row(&r, rows, "rows", i);   positions the errors
 *       double t = rj_num(&r, row, "time_s");
 *       ...
 *   }
 *   if (r.bad) return hg_fail(&c->err, "%s", r.err.msg);
 *   rj_close(&r);
 *
 * Getters never return garbage: after the first error they return 0, "" or
 * NULL, keep that first message ("bench/results/x.json: rows[3]: field
 * 'time_s' is missing"), and set r.bad; a renderer checks once at the end.
 * Leaves out: writing (io/json_writer.h).
 */
#ifndef HG_REPORT_JSON_H
#define HG_REPORT_JSON_H

#include <jansson.h>

#include "../common/check.h"

typedef struct Rj {
    char file[512];
    char at[128];    /* where in the file the getters read: "rows[3]" */
    json_t *root;
    int bad;
    HgErr err;
} Rj;

/* The envelope of io/envelope.h, read back. */
typedef struct RjEnvelope {
    const char *program, *commit, *command, *date, *precision, *device;
    long threads, ranks;
    const char *cpu, *host;
    long cores, pus, packages;
    const char *blas_core; /* the machine record's OpenBLAS core, "" if none */
} RjEnvelope;

/* Loads path; NULL with r->err (the file, and jansson's line, column and
 * reason) when it is missing or not JSON. Integers beyond int64 (the
 * unsigned 64-bit seeds past 2^63, which jansson refuses) read as their
 * decimal strings, exactly. */
json_t *rj_load(Rj *r, const char *path);
void rj_close(Rj *r);
/* rj_load for JSON written by other programs that print non-finite numbers
 * as bare NaN, nan, inf or Infinity (Google Benchmark's aggregates: the cv
 * of a counter that is 0 in every repetition is NaN): those tokens, outside
 * strings, read as null (a getter's rj_num_or_null gives NaN). */
json_t *rj_load_lenient(Rj *r, const char *path);
/* The JSON of path read as rj_load reads it (nonfinite: as rj_load_lenient),
 * with jansson's error in e; for programs that keep their own Rj-less flow. */
json_t *rj_parse_file(const char *path, int nonfinite, json_error_t *e);
/* 1 if path exists (a section whose file is absent did not run). */
int rj_exists(const char *path);

/* Where the next getters read, for their errors ("rows[3]"); "" at the top. */
void rj_at(Rj *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* arr's i-th element, an object; positions the errors at "<name>[i]". */
json_t *rj_row(Rj *r, json_t *arr, const char *name, size_t i);

/* Required members: an error when absent or of another type. */
double rj_num(Rj *r, json_t *obj, const char *key);      /* a number */
long rj_int(Rj *r, json_t *obj, const char *key);        /* an integer */
const char *rj_str(Rj *r, json_t *obj, const char *key); /* a string */
json_t *rj_array(Rj *r, json_t *obj, const char *key);
json_t *rj_object(Rj *r, json_t *obj, const char *key);
int rj_bool(Rj *r, json_t *obj, const char *key);
/* A number or null (the writers' NaN and infinities): null reads as NaN. */
double rj_num_or_null(Rj *r, json_t *obj, const char *key);

/* Optional members: absent (or null) gives the default; present but of
 * another type is still an error. */
double rj_num_opt(Rj *r, json_t *obj, const char *key, double dflt);
long rj_int_opt(Rj *r, json_t *obj, const char *key, long dflt);
const char *rj_str_opt(Rj *r, json_t *obj, const char *key, const char *dflt);
int rj_has(json_t *obj, const char *key);

/* A number array's n entries into out (at most cap); the count, or -1. */
long rj_nums(Rj *r, json_t *obj, const char *key, double *out, long cap);

/* The envelope members of root (io/envelope.h); errors as above. */
void rj_envelope(Rj *r, json_t *root, RjEnvelope *e);

/* Records an error of the renderer's own about the file ("rows[2]: engine
 * 'x' is not one of ..."): the first one is kept. Returns -1. */
int rj_fail(Rj *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
