/* npy.c — .npy writer and reader, format 1.0 (npy.h). */
#include "npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"

static size_t descr_size(const char *descr)
{
    if (!strcmp(descr, NPY_F4))
        return 4;
    if (!strcmp(descr, NPY_F8) || !strcmp(descr, NPY_I8) || !strcmp(descr, NPY_U8))
        return 8;
    return 0;
}

long npy_header(char *buf, size_t cap, const char *descr, const long *shape, int ndim)
{
    if (!descr_size(descr) || ndim < 0 || ndim > NPY_MAX_DIMS)
        return -1;
    /* the dict, as numpy.lib.format writes it: "(n,)" for one dimension */
    char dict[512], dims[NPY_MAX_DIMS * 24 + 8] = "";
    size_t len = 0;
    for (int d = 0; d < ndim; d++)
        len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%ld", d ? ", " : "", shape[d]);
    if (ndim == 1)
        snprintf(dims + len, sizeof dims - len, ",");
    const int dl = snprintf(dict, sizeof dict,
                            "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr,
                            dims);
    /* magic 6 + version 2 + length 2 + dict + padding + '\n' = multiple of 64 */
    const size_t total = ((size_t)10 + (size_t)dl + 1 + 63) / 64 * 64;
    if (total - 10 > UINT16_MAX || total + 1 > cap)
        return -1;
    const size_t hlen = total - 10;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)dl);
    memset(buf + 10 + dl, ' ', total - 10 - (size_t)dl - 1);
    buf[total - 1] = '\n';
    buf[total] = '\0';
    return (long)total;
}

int npy_begin(NpyFile *n, const char *path, const char *descr, const long *shape, int ndim,
              HgErr *err)
{
    memset(n, 0, sizeof *n);
    char header[1024];
    const long hl = npy_header(header, sizeof header, descr, shape, ndim);
    if (hl < 0)
        return hg_fail(err, "%s: cannot describe a '%s' array of %d dimensions", path, descr,
                       ndim);
    n->elem_size = descr_size(descr);
    n->want = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return hg_fail(err, "%s: negative dimension %ld", path, shape[d]);
        n->want *= (size_t)shape[d];
    }
    if (atomic_open(&n->out, path, err))
        return -1;
    if (fwrite(header, 1, (size_t)hl, n->out.f) != (size_t)hl) {
        const int e = errno;
        atomic_abort(&n->out);
        return hg_fail(err, "%s: cannot write the header: %s", path,
                       e ? strerror(e) : "write error");
    }
    return 0;
}

int npy_append(NpyFile *n, const void *data, size_t count, HgErr *err)
{
    if (n->have + count > n->want) {
        npy_abort(n);
        return hg_fail(err, "%s: %zu elements for a shape of %zu", n->out.path,
                       n->have + count, n->want);
    }
    if (count && fwrite(data, n->elem_size, count, n->out.f) != count) {
        const int e = errno;
        npy_abort(n);
        return hg_fail(err, "%s: cannot write the data: %s", n->out.path,
                       e ? strerror(e) : "write error");
    }
    n->have += count;
    return 0;
}

int npy_end(NpyFile *n, HgErr *err)
{
    if (n->have != n->want) {
        npy_abort(n);
        return hg_fail(err, "%s: %zu of %zu elements written", n->out.path, n->have, n->want);
    }
    return atomic_commit(&n->out, err);
}

void npy_abort(NpyFile *n) { atomic_abort(&n->out); }

int npy_write(const char *path, const char *descr, const long *shape, int ndim,
              const void *data, HgErr *err)
{
    NpyFile n;
    if (npy_begin(&n, path, descr, shape, ndim, err))
        return -1;
    if (npy_append(&n, data, n.want, err))
        return -1;
    return npy_end(&n, err);
}

/* ------------------------------------------------------------ reading */

/* The header dict as npy_header writes it (and numpy.lib.format does):
 * {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), } then spaces
 * and '\n'. Keys in that order; whitespace between items as numpy's. */
static int parse_dict(const char *path, const char *d, NpyArray *a, HgErr *err)
{
    const char *p = d;
    if (strncmp(p, "{'descr': '", 11))
        return hg_fail(err, "%s: header: expected {'descr': ...", path);
    p += 11;
    const size_t dl = strcspn(p, "'");
    if (dl != 3 || p[dl] != '\'')
        return hg_fail(err, "%s: header: descr is not a 3-letter dtype", path);
    memcpy(a->descr, p, 3);
    a->descr[3] = 0;
    if (!descr_size(a->descr))
        return hg_fail(err, "%s: header: dtype '%s' not supported (<f4, <f8, <i8, <u8)", path,
                       a->descr);
    p += dl + 1;
    if (strncmp(p, ", 'fortran_order': False, 'shape': (", 36))
        return hg_fail(err, "%s: header: expected 'fortran_order': False, then 'shape'", path);
    p += 36;
    a->ndim = 0;
    while (*p != ')') {
        if (a->ndim == NPY_MAX_DIMS)
            return hg_fail(err, "%s: header: shape has more than %d dimensions", path,
                           NPY_MAX_DIMS);
        if (*p < '0' || *p > '9')
            return hg_fail(err, "%s: header: shape entry is not a non-negative integer", path);
        char *end;
        errno = 0;
        const long v = strtol(p, &end, 10);
        if (errno == ERANGE)
            return hg_fail(err, "%s: header: shape entry out of range", path);
        a->shape[a->ndim++] = v;
        p = end;
        if (*p == ',')
            p++;
        else if (*p != ')')
            return hg_fail(err, "%s: header: shape is not a tuple of integers", path);
        while (*p == ' ')
            p++;
    }
    if (strncmp(p, "), }", 4))
        return hg_fail(err, "%s: header: expected '), }' after the shape", path);
    p += 4;
    while (*p == ' ')
        p++;
    if (*p != '\n' || p[1])
        return hg_fail(err, "%s: header: not closed by spaces and a newline", path);
    return 0;
}

int npy_read(const char *path, NpyArray *a, HgErr *err)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f)
        return hg_fail(err, "%s: cannot open: %s", path, strerror(errno));
    unsigned char pre[10];
    char dict[UINT16_MAX + 1];
    int rc = 0;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6)) {
        rc = hg_fail(err, "%s: not a .npy file (bad magic)", path);
        goto done;
    }
    if (pre[6] != 1 || pre[7] != 0) {
        rc = hg_fail(err, "%s: format version %d.%d, only 1.0 is read", path, pre[6], pre[7]);
        goto done;
    }
    const size_t hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    if ((10 + hlen) % 16 || fread(dict, 1, hlen, f) != hlen) {
        rc = hg_fail(err, "%s: header length %zu: truncated or misaligned", path, hlen);
        goto done;
    }
    dict[hlen] = 0;
    if (memchr(dict, 0, hlen)) {
        rc = hg_fail(err, "%s: header: holds a NUL byte", path);
        goto done;
    }
    if ((rc = parse_dict(path, dict, a, err)))
        goto done;
    const size_t es = descr_size(a->descr);
    a->count = 1;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] && a->count > SIZE_MAX / es / (size_t)a->shape[d]) {
            rc = hg_fail(err, "%s: shape: too many elements", path);
            goto done;
        }
        a->count *= (size_t)a->shape[d];
    }
    /* the data must be exactly what the shape says, checked before allocating */
    const long at = ftell(f);
    if (at < 0 || fseek(f, 0, SEEK_END) || ftell(f) < at ||
        (size_t)(ftell(f) - at) != a->count * es || fseek(f, at, SEEK_SET)) {
        rc = hg_fail(err, "%s: data: the file does not hold the %zu elements of its shape", path,
                     a->count);
        goto done;
    }
    a->data = mem_try_alloc(MEM_OTHER, a->count > 0 ? a->count * es : 1);
    if (!a->data) {
        rc = hg_fail(err, "%s: data: cannot allocate %zu bytes", path, a->count * es);
        goto done;
    }
    if (a->count && fread(a->data, es, a->count, f) != a->count) {
        rc = hg_fail(err, "%s: data: cannot read: %s", path, ferror(f) ? strerror(errno) : "short");
        goto done;
    }
done:
    fclose(f);
    if (rc)
        npy_array_free(a);
    return rc;
}

void npy_array_free(NpyArray *a)
{
    mem_free(a->data);
    memset(a, 0, sizeof *a);
}

double npy_get_double(const NpyArray *a, size_t i)
{
    if (!strcmp(a->descr, NPY_F4))
        return ((const float *)a->data)[i];
    return ((const double *)a->data)[i];
}

int npy_expect(const NpyArray *a, const char *path, const char *descr, const long *shape,
               int ndim, HgErr *err)
{
    const int any_float = !descr;
    if (any_float ? strcmp(a->descr, NPY_F4) && strcmp(a->descr, NPY_F8)
                  : strcmp(a->descr, descr) != 0)
        return hg_fail(err, "%s: dtype %s, expected %s", path, a->descr,
                       any_float ? "<f4 or <f8" : descr);
    int same = a->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = a->shape[d] == shape[d];
    if (!same) {
        char got[256] = "", want[256] = "";
        size_t gl = 0, wl = 0;
        for (int d = 0; d < a->ndim; d++)
            gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%ld", d ? "x" : "", a->shape[d]);
        for (int d = 0; d < ndim; d++)
            wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%ld", d ? "x" : "", shape[d]);
        return hg_fail(err, "%s: shape %s, expected %s", path, got, want);
    }
    return 0;
}
