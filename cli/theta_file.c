/* theta_file.c — reading --theta FILE (theta_file.h). */
#include "theta_file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../io/json_reader.h"
#include "../io/npy.h"

#define THETA_MAX_FILE (1L << 30)

static int ends_with(const char *s, const char *tail)
{
    const size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

static int read_npy(const char *path, const HyperLayout *h, double *theta, HgErr *err)
{
    NpyArray a;
    if (npy_read(path, &a, err))
        return -1;
    int rc = 0;
    if (strcmp(a.descr, NPY_F8) && strcmp(a.descr, NPY_F4))
        rc = hg_fail(err, "%s: dtype %s: need float64 (<f8) or float32 (<f4)", path, a.descr);
    else if (a.ndim != 1 || a.count != (size_t)h->N)
        rc = hg_fail(err, "%s: %zu entries (%d dimensions): this run learns N = %d values "
                     "(a 1-D array of N)", path, a.count, a.ndim, h->N);
    for (size_t i = 0; rc == 0 && i < a.count; i++) {
        theta[i] = npy_get_double(&a, i);
        if (!isfinite(theta[i]))
            rc = hg_fail(err, "%s: entry %zu is %g: every learned value must be finite", path, i,
                         theta[i]);
    }
    npy_array_free(&a);
    return rc;
}

static char *slurp(const char *path, size_t *len, HgErr *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        hg_fail(err, "%s: cannot open it: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || st.st_size > THETA_MAX_FILE) {
        fclose(f);
        hg_fail(err, "%s: not a regular file of at most 1 GiB", path);
        return NULL;
    }
    *len = (size_t)st.st_size;
    char *text = malloc(*len + 1);
    const size_t got = text ? fread(text, 1, *len, f) : 0;
    const int bad = ferror(f);
    fclose(f);
    if (!text || bad || got != *len) {
        free(text);
        hg_fail(err, "%s: cannot read it", path);
        return NULL;
    }
    text[*len] = '\0';
    return text;
}

/* obj[key] as an integer equal to want, or -1 naming it. */
static int expect_int(const char *path, int i, const json_t *obj, const char *key, long want,
                      HgErr *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return hg_fail(err, "%s: theta.layout[%d].%s: %s, this run has %ld", path, i, key,
                       json_kind(v), want);
    if (json_number_value(v) != (double)want)
        return hg_fail(err, "%s: theta.layout[%d].%s: %.17g, this run has %ld", path, i, key,
                       json_number_value(v), want);
    return 0;
}

static int expect_string(const char *path, int i, const json_t *obj, const char *key,
                         const char *want, HgErr *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || strcmp(json_string_value(v), want))
        return hg_fail(err, "%s: theta.layout[%d].%s: %s%s%s, this run has \"%s\"", path, i,
                       key, json_is_string(v) ? "\"" : json_kind(v),
                       json_is_string(v) ? json_string_value(v) : "",
                       json_is_string(v) ? "\"" : "", want);
    return 0;
}

static int read_json(const char *path, const HyperLayout *h, double *theta, HgErr *err)
{
    size_t len;
    char *text = slurp(path, &len, err);
    if (!text)
        return -1;
    json_t *root = json_read_text(text, len, path, err);
    free(text);
    if (!root)
        return -1;
    int rc = 0;
    const json_t *th = json_object_get(root, "theta");
    if (!th && json_object_get(root, "layout"))
        th = root; /* a bare theta object */
    const json_t *layout = json_object_get(th, "layout"), *values = json_object_get(th, "values");
    int learned = h->E > 0;
    for (int k = 0; k < HYPER_KINDS; k++)
        learned += h->K[k] != 0;
    if (!json_is_object(th))
        rc = hg_fail(err, "%s: theta: %s, not an object with layout and values (a --json "
                     "record of hgbench hypergrad)", path, json_kind(th));
    else if (!json_is_array(layout) || (int)json_array_size(layout) != learned)
        rc = hg_fail(err, "%s: theta.layout: %s of %zu kinds, this run learns %d (--learn)",
                     path, json_kind(layout), json_is_array(layout) ? json_array_size(layout) : 0,
                     learned);
    for (int k = 0, i = 0; rc == 0 && k < HYPER_KINDS; k++) {
        if (!h->K[k])
            continue;
        const json_t *e = json_array_get(layout, (size_t)i);
        if (expect_string(path, i, e, "kind", hyper_kind_name(k), err) ||
            expect_string(path, i, e, "per", hyper_per_name(h->per[k]), err) ||
            expect_int(path, i, e, "windows", h->K[k], err) ||
            expect_int(path, i, e, "width", h->width[k], err) ||
            expect_int(path, i, e, "offset", h->offset[k], err))
            rc = -1;
        i++;
    }
    if (rc == 0 && h->E) {
        const json_t *e = json_array_get(layout, (size_t)(learned - 1));
        if (expect_string(path, learned - 1, e, "kind", "ex", err) ||
            expect_int(path, learned - 1, e, "width", h->E, err) ||
            expect_int(path, learned - 1, e, "offset", h->ex_offset, err))
            rc = -1;
    }
    if (rc == 0 && (!json_is_array(values) || json_array_size(values) != (size_t)h->N))
        rc = hg_fail(err, "%s: theta.values: %s of %zu, this run learns N = %d values", path,
                     json_kind(values), json_is_array(values) ? json_array_size(values) : 0,
                     h->N);
    for (int q = 0; rc == 0 && q < h->N; q++) {
        const json_t *v = json_array_get(values, (size_t)q);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            rc = hg_fail(err, "%s: theta.values[%d]: %s: every learned value must be a finite "
                         "number", path, q, json_kind(v));
        else
            theta[q] = json_number_value(v);
    }
    json_decref(root);
    return rc;
}

int theta_file_read(const char *path, const HyperLayout *h, double *theta, HgErr *err)
{
    return ends_with(path, ".npy") ? read_npy(path, h, theta, err)
                                   : read_json(path, h, theta, err);
}
