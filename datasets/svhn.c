/* svhn.c — SVHN cropped digits from a MATLAB .mat file, read by libmatio.
 *
 * We read X (pixel values 0..255 as 32x32x3xn, column-major; MATLAB drops the
 * trailing 1 of one image) and y (n labels 1..10, 10 meaning digit 0), each
 * of any real numeric class, and skip every other variable. libmatio reads
 * level-5 files (plain or zlib-compressed variables, either byte order) and
 * v7.3 (HDF5) ones.
 *
 * Before any data is read, every variable's header is looked at (a second X
 * or y is refused) and X's and y's class and dims are checked; their element
 * count is then bounded by what the file can hold (one byte per element, or
 * 1032 with compression, deflate's largest ratio), so that a corrupt header
 * cannot make libmatio allocate gigabytes. libmatio's own log lines are
 * caught (never printed) and its last one is quoted in our message.
 *
 * Leaves out complex, sparse, cell, struct and char X or y (refused).
 */
#include "dataset.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <matio.h>

#define MAT_HEADER 128 /* text, subsystem offset, version, endian indicator */
#define SVHN_SIDE 32
#define SVHN_PIXELS (3 * SVHN_SIDE * SVHN_SIDE)
#define DEFLATE_MAX_RATIO 1032 /* zlib's technical note: at most 1032:1 */

/* libmatio's last log line (it has no context pointer; loads are serial),
 * and the one that ended the walk over the headers. */
static char svhn_matio_said[256], svhn_walk_said[256];

static void svhn_matio_log(int level, char *message)
{
    (void)level;
    size_t o = 0; /* on one line: HDF5's stack comes in several */
    for (const char *c = message ? message : ""; *c && o + 1 < sizeof svhn_matio_said; c++)
        if (!isspace((unsigned char)*c))
            svhn_matio_said[o++] = *c;
        else if (o && svhn_matio_said[o - 1] != ' ')
            svhn_matio_said[o++] = ' ';
    svhn_matio_said[o] = 0;
}

/* " (libmatio: line)", or "" if it said nothing. */
static const char *svhn_said(char *buf, size_t cap, const char *line)
{
    buf[0] = 0;
    if (line[0])
        snprintf(buf, cap, " (libmatio: %s)", line);
    return buf;
}

/* "path[: variable 'v']: msg" */
__attribute__((format(printf, 4, 5)))
static int svhn_fail(HgErr *err, const char *path, const matvar_t *v, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (v)
        return hg_fail(err, "%s: variable '%s': %s", path, v->name ? v->name : "?", msg);
    return hg_fail(err, "%s: %s", path, msg);
}

static void svhn_dims_str(const matvar_t *v, char *s, size_t size)
{
    int len = 0;
    s[0] = 0;
    for (int i = 0; i < v->rank && len >= 0 && (size_t)len < size; i++)
        len += snprintf(s + len, size - (size_t)len, "%s%zu", i ? "x" : "", v->dims[i]);
}

/* The product of v's dims, SIZE_MAX if it overflows. */
static size_t svhn_numel(const matvar_t *v)
{
    size_t n = 1;
    for (int i = 0; i < v->rank; i++) {
        if (v->dims[i] && n > SIZE_MAX / v->dims[i])
            return SIZE_MAX;
        n *= v->dims[i];
    }
    return n;
}

/* Element i of v's data (its class's C type), as a double. */
static double svhn_value(const matvar_t *v, size_t i)
{
    switch (v->class_type) {
    case MAT_C_DOUBLE: return ((const double *)v->data)[i];
    case MAT_C_SINGLE: return ((const float *)v->data)[i];
    case MAT_C_INT8: return ((const int8_t *)v->data)[i];
    case MAT_C_UINT8: return ((const uint8_t *)v->data)[i];
    case MAT_C_INT16: return ((const int16_t *)v->data)[i];
    case MAT_C_UINT16: return ((const uint16_t *)v->data)[i];
    case MAT_C_INT32: return ((const int32_t *)v->data)[i];
    case MAT_C_UINT32: return ((const uint32_t *)v->data)[i];
    case MAT_C_INT64: return (double)((const int64_t *)v->data)[i];
    case MAT_C_UINT64: return (double)((const uint64_t *)v->data)[i];
    default: return NAN;
    }
}

/* Walks every variable's header: X's and y's kept in *X, *Y (owned). The
 * walk ends at the end of the file or at a header libmatio cannot read (its
 * line then kept for the message of a missing X or y). */
static int svhn_find(mat_t *mat, const char *path, matvar_t **X, matvar_t **Y, HgErr *err)
{
    matvar_t *v;
    while ((v = Mat_VarReadNextInfo(mat)) != NULL) {
        matvar_t **keep = !v->name ? NULL : !strcmp(v->name, "X") ? X
                        : !strcmp(v->name, "y") ? Y : NULL;
        if (keep && *keep) {
            const int rc = svhn_fail(err, path, v, "a second variable '%s'", v->name);
            Mat_VarFree(v);
            return rc;
        }
        if (keep)
            *keep = v;
        else
            Mat_VarFree(v);
    }
    memcpy(svhn_walk_said, svhn_matio_said, sizeof svhn_walk_said);
    return 0;
}

/* A variable's header (v NULL if the file has none named `name`): a real
 * numeric array of no more values than the file can hold. */
static int svhn_check_var(const char *path, long long file_size, const char *name,
                          const char *what, const matvar_t *v, HgErr *err)
{
    char said[sizeof svhn_walk_said + 16];
    if (!v)
        return svhn_fail(err, path, NULL, "no variable '%s' (%s)%s%s", name, what,
                         svhn_walk_said[0] ? " before a variable libmatio cannot read" : "",
                         svhn_said(said, sizeof said, svhn_walk_said));
    if (v->class_type < MAT_C_DOUBLE || v->class_type > MAT_C_UINT64)
        return svhn_fail(err, path, v, "class %d is not a numeric array", (int)v->class_type);
    if (v->isComplex)
        return svhn_fail(err, path, v, "complex values");
    char dims[128];
    const size_t numel = svhn_numel(v);
    const size_t ratio = v->compression == MAT_COMPRESSION_ZLIB ? DEFLATE_MAX_RATIO : 1;
    svhn_dims_str(v, dims, sizeof dims);
    if (numel == SIZE_MAX || numel / ratio > (size_t)file_size)
        return svhn_fail(err, path, v, "dims %s: more values than the file's %lld bytes can "
                         "hold%s (cut short?)", dims, file_size,
                         ratio > 1 ? " at deflate's largest ratio, 1032:1" : "");
    return 0;
}

/* X's dims: 32x32x3xN, *n = N. */
static int svhn_check_x(const char *path, const matvar_t *X, size_t *n, HgErr *err)
{
    char dims[128];
    svhn_dims_str(X, dims, sizeof dims);
    const int shape_ok = (X->rank == 4 || X->rank == 3) && X->dims[0] == SVHN_SIDE &&
                         X->dims[1] == SVHN_SIDE && X->dims[2] == 3;
    /* MATLAB drops trailing singleton dims: one image is 32x32x3. */
    *n = X->rank == 4 ? X->dims[3] : 1;
    if (!shape_ok || *n == 0)
        return svhn_fail(err, path, X, "dims %s, expected 32x32x3xN with N >= 1", dims);
    if (*n > INT_MAX)
        return svhn_fail(err, path, X, "%zu images, more than %d", *n, INT_MAX);
    return 0;
}

/* y's dims: Nx1 or 1xN, n labels. */
static int svhn_check_y(const char *path, const matvar_t *Y, size_t n, HgErr *err)
{
    char dims[128];
    svhn_dims_str(Y, dims, sizeof dims);
    if (Y->rank != 2 || (Y->dims[0] != 1 && Y->dims[1] != 1))
        return svhn_fail(err, path, Y, "dims %s, expected Nx1", dims);
    if (svhn_numel(Y) != n)
        return svhn_fail(err, path, Y, "%zu labels but X has %zu images", svhn_numel(Y), n);
    return 0;
}

/* X(i, j, k, e) at i + 32 (j + 32 (k + 3 e)), i the row and j the column,
 * goes to x[e][k][i][j]. */
static int svhn_convert(const char *path, const matvar_t *X, const matvar_t *Y, Dataset *d,
                        HgErr *err)
{
    real scale[256];
    for (int v = 0; v < 256; v++)
        scale[v] = (real)(v / 255.0);
    size_t s = 0;
    for (long e = 0; e < d->n; e++)
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < SVHN_SIDE; j++)
                for (int i = 0; i < SVHN_SIDE; i++, s++) {
                    real *to = d->x + e * SVHN_PIXELS + (k * SVHN_SIDE + i) * SVHN_SIDE + j;
                    if (X->class_type == MAT_C_UINT8) {
                        *to = scale[((const uint8_t *)X->data)[s]];
                        continue;
                    }
                    const double v = svhn_value(X, s);
                    if (!(v >= 0 && v <= 255) || v != floor(v))
                        return svhn_fail(err, path, X, "value %g at index %zu is not a "
                                         "pixel value 0..255", v, s);
                    *to = scale[(int)v];
                }
    for (long e = 0; e < d->n; e++) {
        const double v = svhn_value(Y, (size_t)e);
        if (!(v >= 1 && v <= 10) || v != floor(v))
            return svhn_fail(err, path, Y, "label %g at index %ld out of range 1..10", v, e);
        d->y[e] = v == 10 ? 0 : (int32_t)v; /* SVHN writes digit 0 as 10 */
    }
    return 0;
}

/* The data of the variable whose header is *v, read in its place. Any line
 * libmatio logs meanwhile fails it: a short read still returns data. */
static int svhn_read(mat_t *mat, const char *path, matvar_t **v, HgErr *err)
{
    svhn_matio_said[0] = 0;
    matvar_t *full = Mat_VarRead(mat, (*v)->name);
    if (!full || !full->data || svhn_matio_said[0] || full->class_type != (*v)->class_type ||
        svhn_numel(full) != svhn_numel(*v)) {
        char said[sizeof svhn_matio_said + 16];
        const int rc = svhn_fail(err, path, *v, "its data cannot be read%s",
                                 svhn_said(said, sizeof said, svhn_matio_said));
        Mat_VarFree(full);
        return rc;
    }
    Mat_VarFree(*v);
    *v = full;
    return 0;
}

/* Why libmatio did not open the file, from its 128-byte header: the
 * version (bytes 124-125) and endian indicator (126-127). */
static int svhn_not_mat(const char *path, long long size, HgErr *err)
{
    unsigned char h[MAT_HEADER];
    FILE *f = size >= MAT_HEADER ? fopen(path, "rb") : NULL;
    const int got = f && fread(h, 1, sizeof h, f) == sizeof h;
    if (f)
        fclose(f);
    if (size < MAT_HEADER)
        return svhn_fail(err, path, NULL, "too short for a MAT-file: %lld bytes, the header "
                         "alone is %d", size, MAT_HEADER);
    if (!got)
        return svhn_fail(err, path, NULL, "cannot read its header: %s", strerror(errno));
    const int le = h[126] == 'I' && h[127] == 'M', be = h[126] == 'M' && h[127] == 'I';
    const unsigned version = le ? (unsigned)(h[124] | h[125] << 8) : (unsigned)(h[124] << 8 | h[125]);
    if (!le && !be)
        return svhn_fail(err, path, NULL, "bad header: endian indicator 0x%02x 0x%02x "
                         "(expected 'IM' or 'MI')", h[126], h[127]);
    return svhn_fail(err, path, NULL, "bad header: version 0x%04x (expected 0x0100, level 5, "
                     "or 0x0200, v7.3)", version);
}

int svhn_load(const char *mat_path, Dataset *out, HgErr *err)
{
    memset(out, 0, sizeof *out);
    Mat_LogInitFunc("hgbench", svhn_matio_log);
    svhn_matio_said[0] = svhn_walk_said[0] = 0;
    struct stat st;
    if (stat(mat_path, &st) != 0)
        return hg_fail(err, "%s: cannot open: %s", mat_path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return hg_fail(err, "%s: not a regular file", mat_path);
    mat_t *mat = Mat_Open(mat_path, MAT_ACC_RDONLY);
    if (!mat)
        return svhn_not_mat(mat_path, (long long)st.st_size, err);
    matvar_t *X = NULL, *Y = NULL;
    size_t n = 0;
    const long long size = (long long)st.st_size;
    int rc = Mat_GetVersion(mat) == MAT_FT_MAT4
                 ? svhn_fail(err, mat_path, NULL, "a level-4 MAT-file; save it with -v7")
                 : svhn_find(mat, mat_path, &X, &Y, err);
    /* X before y: a damaged X is named as such even where y is missing. */
    if (rc == 0)
        rc = svhn_check_var(mat_path, size, "X", "the images, 32x32x3xN", X, err);
    if (rc == 0)
        rc = svhn_check_x(mat_path, X, &n, err);
    if (rc == 0)
        rc = svhn_read(mat, mat_path, &X, err);
    if (rc == 0)
        rc = svhn_check_var(mat_path, size, "y", "the labels, Nx1", Y, err);
    if (rc == 0)
        rc = svhn_check_y(mat_path, Y, n, err);
    if (rc == 0)
        rc = svhn_read(mat, mat_path, &Y, err);
    if (rc == 0)
        rc = dataset_alloc(out, (int)n, 3, SVHN_SIDE, SVHN_SIDE, 10, err);
    if (rc == 0)
        rc = svhn_convert(mat_path, X, Y, out, err);
    if (rc)
        dataset_free(out);
    Mat_VarFree(X);
    Mat_VarFree(Y);
    Mat_Close(mat);
    return rc;
}
