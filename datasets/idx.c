/* idx.c — IDX files (MNIST, Fashion-MNIST), plain or gzip.
 *
 * zlib's gzread reads both (a plain file passes through unchanged), so the
 * format is told by content, not by name. A gzip stream's decompressed
 * length is unknown until it is read, so each file is read twice: once
 * counting bytes in bounded chunks, checked against the header, and only then
 * into freshly allocated x or y. Nothing is allocated from a header field.
 *
 * Leaves out IDX element types other than unsigned byte, and files other
 * than 3-dim images and 1-dim labels.
 */
#include "dataset.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "../common/mem.h"

#define IDX_IMAGES 0x00000803u /* ubyte, 3 dims */
#define IDX_LABELS 0x00000801u /* ubyte, 1 dim */
#define IDX_CHUNK (1 << 16)

typedef struct IdxFile {
    const char *path;
    gzFile gz;
    int ndims;
    uint32_t dims[3];
    long header_bytes;
} IdxFile;

static uint32_t idx_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* zlib's message, less the "path: " it puts first. */
static const char *idx_gz_msg(const IdxFile *f, int *code)
{
    const char *msg = gzerror(f->gz, code);
    size_t len = strlen(f->path);
    if (*code == Z_ERRNO)
        return strerror(errno);
    if (strncmp(msg, f->path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
        msg += len + 2;
    return msg;
}

static int idx_gz_fail(const IdxFile *f, HgErr *err)
{
    int code;
    const char *msg = idx_gz_msg(f, &code);
    return hg_fail(err, "%s: read failed: %s", f->path, msg);
}

/* Reads up to len bytes; fewer only at the end of the stream. -1 on error. */
static long idx_read(const IdxFile *f, unsigned char *buf, unsigned len)
{
    unsigned got = 0;
    while (got < len) {
        int r = gzread(f->gz, buf + got, len - got);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (unsigned)r;
    }
    return got;
}

/* gzread stops quietly at a cut gzip stream; the error is only in gzerror. */
static int idx_check_stream(const IdxFile *f, HgErr *err)
{
    int code;
    const char *msg = idx_gz_msg(f, &code);
    if (code != Z_OK)
        return hg_fail(err, "%s: bad gzip stream: %s", f->path, msg);
    return 0;
}

static void idx_close(IdxFile *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

/* Opens path and reads and checks its header (magic, then the dims). */
static int idx_open(IdxFile *f, const char *path, uint32_t magic, HgErr *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->ndims = (int)(magic & 0xff);
    f->header_bytes = 4 + 4L * f->ndims;
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz)
        return hg_fail(err, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(f->gz, 1 << 17);

    unsigned char hdr[16];
    long got = idx_read(f, hdr, (unsigned)f->header_bytes);
    if (got < 0)
        return idx_gz_fail(f, err);
    if (got >= 4 && idx_be32(hdr) != magic) {
        uint32_t m = idx_be32(hdr), other = magic == IDX_IMAGES ? IDX_LABELS : IDX_IMAGES;
        return hg_fail(err, "%s: bad magic 0x%08x (expected 0x%08x, IDX %s)%s",
                       path, m, magic, magic == IDX_IMAGES ? "images" : "labels",
                       m == other ? "; is this the other file of the pair?" : "");
    }
    if (got < f->header_bytes) {
        if (idx_check_stream(f, err))
            return -1;
        return hg_fail(err, "%s: truncated header: %ld bytes, an IDX %s file "
                       "starts with %ld", path, got,
                       magic == IDX_IMAGES ? "images" : "labels", f->header_bytes);
    }
    for (int i = 0; i < f->ndims; i++) {
        f->dims[i] = idx_be32(hdr + 4 + 4 * i);
        if (f->dims[i] == 0 || f->dims[i] > INT_MAX)
            return hg_fail(err, "%s: header dim %d is %u (must be in [1, %d])",
                           path, i, f->dims[i], INT_MAX);
    }
    return 0;
}

/* First pass: the number of data bytes after the header. */
static int idx_count(const IdxFile *f, unsigned char *buf, uint64_t *count,
                     HgErr *err)
{
    uint64_t total = 0;
    for (;;) {
        int r = gzread(f->gz, buf, IDX_CHUNK);
        if (r < 0)
            return idx_gz_fail(f, err);
        if (r == 0)
            break;
        total += (uint64_t)r;
    }
    *count = total;
    return idx_check_stream(f, err);
}

/* Second pass: back to the first data byte. */
static int idx_rewind(const IdxFile *f, unsigned char *buf, HgErr *err)
{
    if (gzrewind(f->gz) != 0 ||
        idx_read(f, buf, (unsigned)f->header_bytes) != f->header_bytes)
        return hg_fail(err, "%s: cannot reread the file", f->path);
    return 0;
}

static int idx_changed(const IdxFile *f, HgErr *err)
{
    return hg_fail(err, "%s: file changed while it was read", f->path);
}

static int idx_read_images(const IdxFile *f, unsigned char *buf, real *x,
                           uint64_t bytes, HgErr *err)
{
    real scale[256];
    for (int v = 0; v < 256; v++)
        scale[v] = (real)(v / 255.0);
    if (idx_rewind(f, buf, err))
        return -1;
    uint64_t done = 0;
    while (done < bytes) {
        uint64_t want = bytes - done < IDX_CHUNK ? bytes - done : IDX_CHUNK;
        long r = idx_read(f, buf, (unsigned)want);
        if (r < 0)
            return idx_gz_fail(f, err);
        if ((uint64_t)r != want)
            return idx_changed(f, err);
        for (long k = 0; k < r; k++)
            x[done + (uint64_t)k] = scale[buf[k]];
        done += (uint64_t)r;
    }
    return 0;
}

static int idx_read_labels(const IdxFile *f, unsigned char *buf, int32_t *y,
                           uint64_t n, HgErr *err)
{
    if (idx_rewind(f, buf, err))
        return -1;
    uint64_t done = 0;
    while (done < n) {
        uint64_t want = n - done < IDX_CHUNK ? n - done : IDX_CHUNK;
        long r = idx_read(f, buf, (unsigned)want);
        if (r < 0)
            return idx_gz_fail(f, err);
        if ((uint64_t)r != want)
            return idx_changed(f, err);
        for (long k = 0; k < r; k++) {
            if (buf[k] >= 10)
                return hg_fail(err, "%s: label %u at index %llu out of range "
                               "[0,10)", f->path, buf[k],
                               (unsigned long long)(done + (uint64_t)k));
            y[done + (uint64_t)k] = buf[k];
        }
        done += (uint64_t)r;
    }
    return 0;
}

int idx_load(const char *images_path, const char *labels_path, Dataset *out,
             HgErr *err)
{
    memset(out, 0, sizeof *out);
    unsigned char buf[IDX_CHUNK];
    IdxFile im = { 0 }, lb = { 0 };
    uint64_t pixel_bytes = 0, label_bytes = 0;
    int rc = -1;

    if (idx_open(&im, images_path, IDX_IMAGES, err) ||
        idx_count(&im, buf, &pixel_bytes, err))
        goto done;
    uint32_t n = im.dims[0], rows = im.dims[1], cols = im.dims[2];
    uint64_t plane = (uint64_t)rows * cols; /* < 2^62 */
    if (plane > UINT64_MAX / n || plane * n != pixel_bytes) {
        const char *what = plane <= UINT64_MAX / n && plane * n < pixel_bytes
                               ? "trailing data" : "truncated";
        hg_fail(err, "%s: %s: header says %u images of %ux%u but file has "
                "%llu bytes of pixels", images_path, what, n, rows, cols,
                (unsigned long long)pixel_bytes);
        goto done;
    }

    if (idx_open(&lb, labels_path, IDX_LABELS, err) ||
        idx_count(&lb, buf, &label_bytes, err))
        goto done;
    if (label_bytes != lb.dims[0]) {
        hg_fail(err, "%s: %s: header says %u labels but file has %llu bytes "
                "of labels", labels_path,
                label_bytes < lb.dims[0] ? "truncated" : "trailing data",
                lb.dims[0], (unsigned long long)label_bytes);
        goto done;
    }
    if (lb.dims[0] != n) {
        hg_fail(err, "%s and %s: %u images but %u labels", images_path,
                labels_path, n, lb.dims[0]);
        goto done;
    }

    /* Sizes now match what the files really hold. */
    if (dataset_alloc(out, (int)n, 1, (int)rows, (int)cols, 10, err) ||
        idx_read_images(&im, buf, out->x, pixel_bytes, err) ||
        idx_read_labels(&lb, buf, out->y, n, err)) {
        dataset_free(out);
        goto done;
    }
    rc = 0;
done:
    idx_close(&im);
    idx_close(&lb);
    return rc;
}
