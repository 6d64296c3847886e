/* npy.c — .npy writer, format 1.0 (npy.h). */
#include "npy.h"

#include <stdint.h>
#include <string.h>

static size_t descr_size(const char *descr)
{
    if (!strcmp(descr, NPY_F4))
        return 4;
    if (!strcmp(descr, NPY_F8) || !strcmp(descr, NPY_I8))
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
        atomic_abort(&n->out);
        return hg_fail(err, "%s: cannot write the header", path);
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
        npy_abort(n);
        return hg_fail(err, "%s: cannot write the data", n->out.path);
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
