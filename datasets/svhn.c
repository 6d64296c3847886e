/* svhn.c — SVHN cropped digits from a MATLAB level-5 .mat file.
 *
 * A level-5 file is a 128-byte header (text, subsystem offset, version
 * 0x0100, endian indicator), then data elements: an 8-byte tag (type, byte
 * count) and the data, padded to 8 bytes inside a matrix. A "small" element
 * packs count and type into its first word and up to 4 data bytes into the
 * second. A variable is a miMATRIX element (array flags, dims, name, real
 * part), written as is or zlib-compressed inside a miCOMPRESSED element. As
 * in scipy's reader, top-level elements follow each other without padding.
 *
 * We read X (uint8 values 32x32x3xn, column-major) and y (n labels 1..10, 10
 * meaning digit 0, any numeric class) and skip every other variable after a
 * look at its name. Sizes: an uncompressed element is checked against the
 * file's length before it is read; a compressed one is inflated into a
 * buffer grown as output arrives (never more than twice what it has
 * produced), never sized from its tag alone.
 *
 * Leaves out big-endian ('MI') and v7.3 (HDF5) files, and refuses an X or y
 * that is complex, sparse, a cell or a struct.
 * Not libmatio (1.5.23, tried for issue 25): it sizes buffers from header
 * fields before any check of ours can run (fuzz_svhn found a 272-byte file
 * that makes it malloc 4 GiB, and inputs under 12 KiB that touch 2 GiB), and
 * it fuzzed at half this parser's rate.
 */
#include "dataset.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "../common/mem.h"

enum { /* data types (mi*) */
    MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_UINT16 = 4, MI_INT32 = 5,
    MI_UINT32 = 6, MI_SINGLE = 7, MI_DOUBLE = 9, MI_INT64 = 12,
    MI_UINT64 = 13, MI_MATRIX = 14, MI_COMPRESSED = 15, MI_UTF8 = 16,
};
enum { /* array classes (mx*): the numeric ones are 6..15 */
    MX_DOUBLE = 6, MX_UINT64 = 15, MX_OPAQUE = 17,
};

#define MAT_HEADER 128
#define MAT_PEEK 4096       /* bytes inflated to find a variable's name */
#define MAT_CHUNK (1 << 16) /* compressed bytes read at a time */
#define MAT_MAXDIMS 8       /* dims kept; more are counted, for messages */
#define SVHN_SIDE 32
#define SVHN_PIXELS (3 * SVHN_SIDE * SVHN_SIDE)

typedef struct MatFile {
    const char *path;
    FILE *f;
    long long size;
    HgErr *err;
} MatFile;

typedef struct MatVar {
    uint8_t *buf;       /* owns the whole miMATRIX element, tag included */
    long long off;      /* the element's file offset, for messages */
    char name[64];
    int cls, is_complex, ndims;
    uint64_t dims[MAT_MAXDIMS];
    uint64_t numel;     /* UINT64_MAX if the product overflows */
    uint32_t dtype;     /* type of the real part, 0 if not parsed */
    const uint8_t *data;
} MatVar;

static uint16_t mat_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t mat_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t mat_rd64(const uint8_t *p)
{
    return (uint64_t)mat_rd32(p) | (uint64_t)mat_rd32(p + 4) << 32;
}

static int mat_type_size(uint32_t t)
{
    switch (t) {
    case MI_INT8: case MI_UINT8: return 1;
    case MI_INT16: case MI_UINT16: return 2;
    case MI_INT32: case MI_UINT32: case MI_SINGLE: return 4;
    case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
    default: return 0;
    }
}

/* Element i of a real part of type t (little-endian), as a double. */
static double mat_value(uint32_t t, const uint8_t *p, uint64_t i)
{
    switch (t) {
    case MI_INT8: return (int8_t)p[i];
    case MI_UINT8: return p[i];
    case MI_INT16: return (int16_t)mat_rd16(p + 2 * i);
    case MI_UINT16: return mat_rd16(p + 2 * i);
    case MI_INT32: return (int32_t)mat_rd32(p + 4 * i);
    case MI_UINT32: return mat_rd32(p + 4 * i);
    case MI_INT64: return (double)(int64_t)mat_rd64(p + 8 * i);
    case MI_UINT64: return (double)mat_rd64(p + 8 * i);
    case MI_SINGLE: {
        uint32_t u = mat_rd32(p + 4 * i);
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    case MI_DOUBLE: {
        uint64_t u = mat_rd64(p + 8 * i);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    default: return NAN;
    }
}

/* "path: element at offset N[, variable 'v']: msg" */
__attribute__((format(printf, 3, 4)))
static int mat_fail(const MatFile *m, const MatVar *v, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (v && v->name[0])
        return hg_fail(m->err, "%s: variable '%s' (offset %lld): %s", m->path,
                       v->name, v->off, msg);
    if (v)
        return hg_fail(m->err, "%s: element at offset %lld: %s", m->path,
                       v->off, msg);
    return hg_fail(m->err, "%s: %s", m->path, msg);
}

static int mat_read_at(const MatFile *m, long long off, void *buf, size_t n)
{
    errno = 0;
    if (fseeko(m->f, (off_t)off, SEEK_SET) != 0 || fread(buf, 1, n, m->f) != n)
        return mat_fail(m, NULL, "read of %zu bytes at offset %lld failed: %s",
                        n, off, errno ? strerror(errno) : "unexpected end of file");
    return 0;
}

static void mat_dims_str(const MatVar *v, char *s, size_t size)
{
    int len = 0, shown = v->ndims < MAT_MAXDIMS ? v->ndims : MAT_MAXDIMS;
    s[0] = 0;
    for (int i = 0; i < shown && len >= 0 && (size_t)len < size; i++)
        len += snprintf(s + len, size - (size_t)len, "%s%llu", i ? "x" : "",
                        (unsigned long long)v->dims[i]);
    if (v->ndims > shown && len >= 0 && (size_t)len < size)
        snprintf(s + len, size - (size_t)len, "x... (%d dims)", v->ndims);
}

/* ---- parsing a miMATRIX held in memory ---------------------------------- */

/* The sub-element at *pos of c[0..len): type, byte count, data; moves *pos
 * past it and its padding. 0: read; 1: it runs past len; 2: a malformed
 * small element. */
static int mat_sub(const uint8_t *c, size_t len, size_t *pos, uint32_t *type,
                   uint32_t *nbytes, const uint8_t **data)
{
    size_t p = *pos;
    if (len - p < 8)
        return 1;
    uint32_t w = mat_rd32(c + p);
    if (w >> 16) { /* small: count in the high half, data in the next word */
        *type = w & 0xffff;
        *nbytes = w >> 16;
        *data = c + p + 4;
        *pos = p + 8;
        return *nbytes > 4 ? 2 : 0;
    }
    *type = w;
    *nbytes = mat_rd32(c + p + 4);
    if (*nbytes > len - p - 8)
        return 1;
    *data = c + p + 8;
    size_t padded = ((size_t)*nbytes + 7) / 8 * 8;
    /* A missing pad after the last sub-element is let pass. */
    *pos = padded <= len - p - 8 ? p + 8 + padded : len;
    return 0;
}

/* Parses the miMATRIX element b[0..len) (tag included) into v. With
 * name_only it stops after the name, and b may be a prefix (partial): then 1
 * means the name lies past it. 0: parsed; -1: malformed, err set. */
static int mat_parse(const MatFile *m, const uint8_t *b, size_t len,
                     int partial, int name_only, MatVar *v)
{
    const uint8_t *c = b + 8, *p;
    size_t clen = len - 8, pos = 0;
    uint32_t type, nb;
    v->name[0] = 0;
    v->dtype = 0;
    v->data = NULL;

#define MAT_SUB(what)                                                        \
    do {                                                                     \
        int r_ = mat_sub(c, clen, &pos, &type, &nb, &p);                     \
        if (r_ == 1 && partial)                                              \
            return 1;                                                        \
        if (r_ == 1)                                                         \
            return mat_fail(m, v, "truncated: %s runs past the end of the "  \
                            "matrix (%zu bytes)", what, clen);               \
        if (r_ == 2)                                                         \
            return mat_fail(m, v, "%s: small data element of %u bytes "      \
                            "(at most 4)", what, nb);                        \
    } while (0)

    MAT_SUB("array flags");
    if (type != MI_UINT32 || nb != 8)
        return mat_fail(m, v, "array flags are type %u, %u bytes (expected "
                        "miUINT32, 8 bytes)", type, nb);
    uint32_t flags = mat_rd32(p);
    v->cls = (int)(flags & 0xff);
    v->is_complex = (flags >> 11) & 1;

    v->ndims = 0;
    v->numel = 1;
    if (v->cls != MX_OPAQUE) { /* objects have no dims sub-element */
        MAT_SUB("dimensions");
        if (type != MI_INT32 || nb % 4 != 0 || nb < 8)
            return mat_fail(m, v, "dimensions are type %u, %u bytes "
                            "(expected miINT32, at least 2 dims)", type, nb);
        v->ndims = (int)(nb / 4);
        for (int i = 0; i < v->ndims; i++) {
            int32_t d = (int32_t)mat_rd32(p + 4 * i);
            if (d < 0)
                return mat_fail(m, v, "dimension %d is negative (%d)", i, d);
            if (i < MAT_MAXDIMS)
                v->dims[i] = (uint64_t)d;
            if (v->numel != UINT64_MAX)
                v->numel = d && v->numel > UINT64_MAX / (uint64_t)d
                               ? UINT64_MAX : v->numel * (uint64_t)d;
        }
    }

    MAT_SUB("array name");
    if (type != MI_INT8 && type != MI_UTF8)
        return mat_fail(m, v, "array name is type %u (expected miINT8)", type);
    size_t n = nb < sizeof v->name - 1 ? nb : sizeof v->name - 1;
    memcpy(v->name, p, n);
    v->name[n] = 0; /* and a NUL inside ends it */
    if (name_only || v->cls < MX_DOUBLE || v->cls > MX_UINT64)
        return 0;

    MAT_SUB("real part");
    int size = mat_type_size(type);
    if (!size)
        return mat_fail(m, v, "real part has type %u, not a numeric type", type);
    if (v->numel == UINT64_MAX || v->numel * (uint64_t)size != nb)
        return mat_fail(m, v, "real part holds %u bytes but its dims need %llu "
                        "values of %d bytes", nb,
                        (unsigned long long)v->numel, size);
    v->dtype = type;
    v->data = p;
    return 0;
#undef MAT_SUB
}

/* ---- reading elements ---------------------------------------------------- */

/* Inflates the miCOMPRESSED data of clen bytes at file offset off. The result
 * is one miMATRIX element, tag included. With limit > 0 stops after limit
 * bytes (a look at the header); *complete tells whether it is all there. */
static int mat_inflate(const MatFile *m, const MatVar *v, long long off,
                       uint32_t clen, size_t limit, uint8_t **out,
                       size_t *outlen, int *complete)
{
    *out = NULL;
    *complete = 0;
    if (fseeko(m->f, (off_t)off, SEEK_SET) != 0)
        return mat_fail(m, v, "seek failed: %s", strerror(errno));
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK)
        return mat_fail(m, v, "zlib init failed");
    uint8_t in[MAT_CHUNK];
    uint32_t fed = 0;
    size_t cap = limit ? limit : MAT_CHUNK, have = 0;
    uint64_t total = 0; /* 8 + the inner tag's byte count, once seen */
    uint8_t *buf = mem_try_alloc(MEM_DATA, cap);
    int rc = buf ? 0 : mat_fail(m, v, "out of memory");
    while (rc == 0) {
        if (zs.avail_in == 0 && fed < clen) {
            uint32_t k = clen - fed < sizeof in ? clen - fed : (uint32_t)sizeof in;
            if (fread(in, 1, k, m->f) != k) {
                rc = mat_fail(m, v, "read failed: %s",
                              ferror(m->f) ? strerror(errno) : "unexpected end of file");
                break;
            }
            zs.next_in = in;
            zs.avail_in = k;
            fed += k;
        }
        if (have == cap) {
            if (limit)
                break;
            /* Grown with the output, capped one past the tag's size so that
             * a longer stream shows as an error below. */
            size_t next = 2 * cap;
            if (total && next > total + 1)
                next = (size_t)total + 1;
            uint8_t *grown = mem_try_alloc(MEM_DATA, next);
            if (!grown) {
                rc = mat_fail(m, v, "out of memory");
                break;
            }
            memcpy(grown, buf, have);
            mem_free(buf);
            buf = grown;
            cap = next;
        }
        size_t room = cap - have < (1u << 30) ? cap - have : (1u << 30);
        zs.next_out = buf + have;
        zs.avail_out = (uInt)room;
        int zr = inflate(&zs, Z_NO_FLUSH);
        have += room - zs.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            rc = mat_fail(m, v, "bad zlib stream in compressed element: %s",
                          zs.msg ? zs.msg : zError(zr));
            break;
        }
        if (!total && have >= 8) {
            if (mat_rd32(buf) != MI_MATRIX) {
                rc = mat_fail(m, v, "compressed element holds type %u "
                              "(expected miMATRIX, 14)", mat_rd32(buf));
                break;
            }
            total = 8 + (uint64_t)mat_rd32(buf + 4);
        }
        if (total && have > total) {
            rc = mat_fail(m, v, "compressed element inflates to more than the "
                          "%llu bytes its miMATRIX tag says",
                          (unsigned long long)total);
            break;
        }
        if (zr == Z_STREAM_END) {
            *complete = 1;
            break;
        }
        if (zr == Z_BUF_ERROR && zs.avail_in == 0 && fed == clen) {
            rc = mat_fail(m, v, "truncated zlib stream: its %u bytes end "
                          "before the stream does", clen);
            break;
        }
    }
    inflateEnd(&zs);
    /* Bytes after the zlib stream's end are let pass, as scipy does. */
    if (rc == 0 && *complete && (have < 8 || have != total))
        rc = mat_fail(m, v, "compressed element inflates to %zu bytes but its "
                      "miMATRIX tag says %llu", have, (unsigned long long)total);
    if (rc) {
        mem_free(buf);
        return -1;
    }
    *out = buf;
    *outlen = have;
    return 0;
}

/* Reads the element (type, nbytes) at off into *out as a miMATRIX element,
 * inflated if compressed; with limit > 0 only its first ~limit bytes. */
static int mat_element(const MatFile *m, const MatVar *v, long long off,
                       uint32_t type, uint32_t nbytes, size_t limit,
                       uint8_t **out, size_t *len, int *complete)
{
    if (type == MI_COMPRESSED)
        return mat_inflate(m, v, off + 8, nbytes, limit, out, len, complete);
    size_t want = 8 + (size_t)nbytes; /* checked against the file's length */
    *complete = !limit || want <= limit;
    *len = *complete ? want : limit;
    *out = mem_try_alloc(MEM_DATA, *len);
    if (!*out)
        return mat_fail(m, v, "out of memory");
    if (mat_read_at(m, off, *out, *len)) {
        mem_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static int mat_header(const MatFile *m)
{
    uint8_t h[MAT_HEADER];
    if (m->size < MAT_HEADER)
        return mat_fail(m, NULL, "too short for a MAT-file: %lld bytes, the "
                        "header alone is %d", m->size, MAT_HEADER);
    if (mat_read_at(m, 0, h, sizeof h))
        return -1;
    if (!h[0] || !h[1] || !h[2] || !h[3])
        return mat_fail(m, NULL, "bad header: not a level-5 MAT-file (a zero "
                        "byte in its first 4, as in level 4)");
    if (h[126] == 'M' && h[127] == 'I')
        return mat_fail(m, NULL, "big-endian MAT-file (endian indicator 'MI') "
                        "is not supported; re-save it on a little-endian "
                        "machine");
    if (h[126] != 'I' || h[127] != 'M')
        return mat_fail(m, NULL, "bad header: endian indicator 0x%02x 0x%02x "
                        "(expected 'IM')", h[126], h[127]);
    unsigned version = mat_rd16(h + 124);
    if (version == 0x0200)
        return mat_fail(m, NULL, "MATLAB v7.3 (HDF5) MAT-file is not "
                        "supported; save it with -v7");
    if (version != 0x0100)
        return mat_fail(m, NULL, "bad header: version 0x%04x (expected "
                        "0x0100)", version);
    return 0;
}

/* Walks the top-level elements and keeps X and y (their buffers owned by
 * them); skips the rest after a look at the name. */
static int mat_find_vars(const MatFile *m, MatVar *X, MatVar *Y)
{
    long long pos = MAT_HEADER;
    while (pos < m->size) {
        long long left = m->size - pos;
        uint8_t tag[8] = { 0 };
        MatVar v = { .off = pos };
        if (mat_read_at(m, pos, tag, left < 8 ? (size_t)left : 8))
            return -1;
        if (left < 8) { /* zero padding at the end is let pass */
            for (int i = 0; i < left; i++)
                if (tag[i])
                    return mat_fail(m, &v, "%lld stray bytes at the end of "
                                    "the file", left);
            break;
        }
        uint32_t type = mat_rd32(tag), nbytes = mat_rd32(tag + 4);
        if (type != MI_MATRIX && type != MI_COMPRESSED)
            return mat_fail(m, &v, "element of type %u (tag 0x%08x) where a "
                            "variable should be (miMATRIX 14 or miCOMPRESSED "
                            "15)", type & 0xffff, type);
        if ((long long)nbytes > left - 8)
            return mat_fail(m, &v, "truncated: tag says %u bytes but only %lld "
                            "remain in the file", nbytes, left - 8);
        if (type == MI_MATRIX && nbytes == 0) { /* an empty array */
            pos += 8;
            continue;
        }

        uint8_t *buf;
        size_t len;
        int complete, r;
        if (mat_element(m, &v, pos, type, nbytes, MAT_PEEK, &buf, &len, &complete))
            return -1;
        r = mat_parse(m, buf, len, !complete, 1, &v);
        if (r == 1) { /* a name past the first MAT_PEEK bytes */
            mem_free(buf);
            if (mat_element(m, &v, pos, type, nbytes, 0, &buf, &len, &complete))
                return -1;
            r = mat_parse(m, buf, len, 0, 1, &v);
        }
        MatVar *keep = strcmp(v.name, "X") == 0 ? X
                       : strcmp(v.name, "y") == 0 ? Y : NULL;
        if (r == 0 && keep && keep->buf)
            r = mat_fail(m, &v, "a second variable '%s' (the first is at "
                         "offset %lld)", v.name, keep->off);
        if (r == 0 && keep && !complete) {
            mem_free(buf);
            if (mat_element(m, &v, pos, type, nbytes, 0, &buf, &len, &complete))
                return -1;
        }
        if (r == 0 && keep)
            r = mat_parse(m, buf, len, 0, 0, &v);
        if (r != 0 || !keep) {
            mem_free(buf);
            if (r != 0)
                return -1;
        } else {
            v.buf = buf;
            *keep = v;
        }
        pos += 8 + (long long)nbytes;
    }
    return 0;
}

/* ---- SVHN ---------------------------------------------------------------- */

static int svhn_check(const MatFile *m, const MatVar *X, const MatVar *Y,
                      uint64_t *n)
{
    char dims[128];
    if (!X->buf)
        return mat_fail(m, NULL, "no variable 'X' (the images, uint8 "
                        "32x32x3xN)");
    if (!Y->buf)
        return mat_fail(m, NULL, "no variable 'y' (the labels, Nx1)");
    const MatVar *vs[2] = { X, Y };
    for (int i = 0; i < 2; i++) {
        if (vs[i]->cls < MX_DOUBLE || vs[i]->cls > MX_UINT64)
            return mat_fail(m, vs[i], "class %d is not a numeric array",
                            vs[i]->cls);
        if (vs[i]->is_complex)
            return mat_fail(m, vs[i], "complex values");
    }
    mat_dims_str(X, dims, sizeof dims);
    int shape_ok = (X->ndims == 4 || X->ndims == 3) && X->dims[0] == SVHN_SIDE &&
                   X->dims[1] == SVHN_SIDE && X->dims[2] == 3;
    /* MATLAB drops trailing singleton dims: one image is 32x32x3. */
    *n = X->ndims == 4 ? X->dims[3] : 1;
    if (!shape_ok || *n == 0)
        return mat_fail(m, X, "dims %s, expected 32x32x3xN with N >= 1", dims);
    if (*n > INT_MAX)
        return mat_fail(m, X, "%llu images, more than %d",
                        (unsigned long long)*n, INT_MAX);
    mat_dims_str(Y, dims, sizeof dims);
    if (Y->ndims != 2 || (Y->dims[0] != 1 && Y->dims[1] != 1))
        return mat_fail(m, Y, "dims %s, expected Nx1", dims);
    if (Y->numel != *n)
        return mat_fail(m, Y, "%llu labels but X has %llu images",
                        (unsigned long long)Y->numel, (unsigned long long)*n);
    return 0;
}

/* X(i, j, k, e) at i + 32 (j + 32 (k + 3 e)), i the row and j the column,
 * goes to x[e][k][i][j]. */
static int svhn_convert(const MatFile *m, const MatVar *X, const MatVar *Y,
                        Dataset *d)
{
    real scale[256];
    for (int v = 0; v < 256; v++)
        scale[v] = (real)(v / 255.0);
    uint64_t s = 0;
    for (long e = 0; e < d->n; e++)
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < SVHN_SIDE; j++)
                for (int i = 0; i < SVHN_SIDE; i++, s++) {
                    real *to = d->x + e * SVHN_PIXELS +
                               (k * SVHN_SIDE + i) * SVHN_SIDE + j;
                    if (X->dtype == MI_UINT8) {
                        *to = scale[X->data[s]];
                        continue;
                    }
                    double v = mat_value(X->dtype, X->data, s);
                    if (!(v >= 0 && v <= 255) || v != floor(v))
                        return mat_fail(m, X, "value %g at index %llu is not "
                                        "a pixel value 0..255", v,
                                        (unsigned long long)s);
                    *to = scale[(int)v];
                }
    for (long e = 0; e < d->n; e++) {
        double v = mat_value(Y->dtype, Y->data, (uint64_t)e);
        if (!(v >= 1 && v <= 10) || v != floor(v))
            return mat_fail(m, Y, "label %g at index %ld out of range 1..10",
                            v, e);
        d->y[e] = v == 10 ? 0 : (int32_t)v; /* SVHN writes digit 0 as 10 */
    }
    return 0;
}

int svhn_load(const char *mat_path, Dataset *out, HgErr *err)
{
    memset(out, 0, sizeof *out);
    MatFile m = { .path = mat_path, .err = err };
    MatVar X = { 0 }, Y = { 0 };
    uint64_t n = 0;
    m.f = fopen(mat_path, "rb");
    if (!m.f)
        return hg_fail(err, "%s: cannot open: %s", mat_path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fileno(m.f), &st) != 0 || !S_ISREG(st.st_mode))
        rc = mat_fail(&m, NULL, "not a regular file");
    else
        m.size = (long long)st.st_size;
    if (rc == 0)
        rc = mat_header(&m);
    if (rc == 0)
        rc = mat_find_vars(&m, &X, &Y);
    if (rc == 0)
        rc = svhn_check(&m, &X, &Y, &n);
    if (rc == 0)
        rc = dataset_alloc(out, (int)n, 3, SVHN_SIDE, SVHN_SIDE, 10, err);
    if (rc == 0)
        rc = svhn_convert(&m, &X, &Y, out);
    if (rc)
        dataset_free(out);
    mem_free(X.buf);
    mem_free(Y.buf);
    fclose(m.f);
    return rc;
}
