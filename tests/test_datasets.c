/* test_datasets.c — the data-set loaders on small files written here in the
 * true formats (IDX plain and gzip, MATLAB level-5 with and without
 * compression, CIFAR-10 binary), on corrupted variants of them, and the
 * split, statistics, gather, batch order and synthetic sets. Fashion-MNIST
 * is loaded from Debian's package when installed (skipped loudly if not).
 *
 * Files go to a mkdtemp folder under /tmp, removed at exit. The .mat writer
 * here assumes a little-endian host (as the format's 'IM' files are).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/mem.h"
#include "../common/rng.h"
#include "../common/timer.h"
#include "../datasets/dataset.h"
#include "test.h"

#define PATH_LEN 512
#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

/* ---- files and buffers ---------------------------------------------------- */

static char tmp_root[64];

static const char *tmp_dir(void)
{
    if (!tmp_root[0]) {
        strcpy(tmp_root, "/tmp/hg-test-datasets-XXXXXX");
        if (!mkdtemp(tmp_root)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return tmp_root;
}

static char *join(char *out, const char *dir, const char *name)
{
    int len = snprintf(out, PATH_LEN, "%s/%s", dir, name);
    if (len < 0 || len >= PATH_LEN)
        abort();
    return out;
}

static char *tpath(char *out, const char *name) { return join(out, tmp_dir(), name); }

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[PATH_LEN];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

typedef struct Buf {
    unsigned char *p;
    size_t n, cap;
} Buf;

static void buf_put(Buf *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void buf_byte(Buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    buf_put(b, &c, 1);
}

static void buf_u32be(Buf *b, uint32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        buf_byte(b, (v >> s) & 0xff);
}

static void buf_u32le(Buf *b, uint32_t v)
{
    for (int s = 0; s < 32; s += 8)
        buf_byte(b, (v >> s) & 0xff);
}

static void buf_f64le(Buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    for (int s = 0; s < 64; s += 8)
        buf_byte(b, (unsigned)(u >> s) & 0xff);
}

static void buf_pad8(Buf *b)
{
    while (b->n % 8)
        buf_byte(b, 0);
}

static void buf_free(Buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static void write_gz(const char *path, const void *data, size_t n)
{
    gzFile g = gzopen(path, "wb");
    if (!g || (n && gzwrite(g, data, (unsigned)n) != (int)n) || gzclose(g) != Z_OK) {
        perror(path);
        exit(2);
    }
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int dataset_is_zero(const Dataset *d)
{
    return d->n == 0 && d->c == 0 && d->h == 0 && d->w == 0 &&
           d->classes == 0 && !d->x && !d->y;
}

/* A failed load: rc -1, a message holding `what` and the file's path, *out
 * zeroed, and no MEM_DATA bytes left behind. */
static void expect_fail_at(const char *file, int line, int rc, const HgErr *e,
                           const Dataset *d, const char *path, const char *what,
                           size_t mem_before)
{
    if (rc != -1) {
        test_fail_at(file, line, "expected failure with '%s', got rc %d", what, rc);
        return;
    }
    printf("#   (expected) %s\n", e->msg);
    if (!strstr(e->msg, what))
        test_fail_at(file, line, "message '%s' lacks '%s'", e->msg, what);
    if (path && !strstr(e->msg, path))
        test_fail_at(file, line, "message '%s' does not name %s", e->msg, path);
    if (d && !dataset_is_zero(d))
        test_fail_at(file, line, "Dataset not left zeroed after an error");
    if (mem_current(MEM_DATA) != mem_before)
        test_fail_at(file, line, "MEM_DATA %zu bytes after the error, %zu before",
                     mem_current(MEM_DATA), mem_before);
}
#define EXPECT_FAIL(rc, err, d, path, what, before) \
    expect_fail_at(__FILE__, __LINE__, (rc), &(err), (d), (path), (what), (before))

/* Garbage in *out: a loader must zero it whatever it was. */
static void scribble(Dataset *d) { memset(d, 0x5a, sizeof *d); }

static real u8(unsigned v) { return (real)(v / 255.0); }

/* ---- IDX ------------------------------------------------------------------ */

static unsigned idx_pixel(int e, int r, int c) { return (unsigned)(e * 31 + r * 7 + c * 3 + 1) % 256; }
static unsigned idx_label(int e) { return (unsigned)(e * 3) % 10; }

/* Header for n images of rows x cols, then `stored` images of data. */
static void idx_images(Buf *b, uint32_t n, uint32_t rows, uint32_t cols, int stored)
{
    buf_u32be(b, 0x803);
    buf_u32be(b, n);
    buf_u32be(b, rows);
    buf_u32be(b, cols);
    for (int e = 0; e < stored; e++)
        for (uint32_t r = 0; r < rows; r++)
            for (uint32_t c = 0; c < cols; c++)
                buf_byte(b, idx_pixel(e, (int)r, (int)c));
}

static void idx_labels(Buf *b, uint32_t n, int stored)
{
    buf_u32be(b, 0x801);
    buf_u32be(b, n);
    for (int e = 0; e < stored; e++)
        buf_byte(b, idx_label(e));
}

/* Writes a pair as NAME-images / NAME-labels, gzip or plain. */
static void idx_write(const Buf *im, const Buf *lb, const char *name, int gz,
                      char *im_path, char *lb_path)
{
    char file[128];
    snprintf(file, sizeof file, "%s-images%s", name, gz ? ".gz" : "");
    tpath(im_path, file);
    snprintf(file, sizeof file, "%s-labels%s", name, gz ? ".gz" : "");
    tpath(lb_path, file);
    (gz ? write_gz : write_file)(im_path, im->p, im->n);
    (gz ? write_gz : write_file)(lb_path, lb->p, lb->n);
}

static void check_idx_values(const Dataset *d, int n, int rows, int cols)
{
    EXPECT(d->n == n && d->c == 1 && d->h == rows && d->w == cols &&
           d->classes == 10, "shape %d x %dx%dx%d, %d classes", d->n, d->c,
           d->h, d->w, d->classes);
    if (d->n != n || d->h != rows || d->w != cols)
        return;
    int bad = 0;
    for (int e = 0; e < n; e++) {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                bad += d->x[(e * rows + r) * cols + c] != u8(idx_pixel(e, r, c));
        bad += d->y[e] != (int32_t)idx_label(e);
    }
    EXPECT(bad == 0, "%d values differ from the written ones", bad);
}

static void test_idx_plain_and_gzip(void)
{
    const int n = 7, rows = 5, cols = 4;
    Buf im = { 0 }, lb = { 0 };
    idx_images(&im, n, rows, cols, n);
    idx_labels(&lb, n, n);
    char ip[PATH_LEN], lp[PATH_LEN], gip[PATH_LEN], glp[PATH_LEN];
    idx_write(&im, &lb, "ok", 0, ip, lp);
    idx_write(&im, &lb, "ok", 1, gip, glp);
    EXPECT(file_size(gip) != (long)im.n, "gzip file is not plain");

    HgErr err = { { 0 } };
    Dataset a, b;
    scribble(&a);
    scribble(&b);
    EXPECT(idx_load(ip, lp, &a, &err) == 0, "plain: %s", err.msg);
    EXPECT(idx_load(gip, glp, &b, &err) == 0, "gzip: %s", err.msg);
    check_idx_values(&a, n, rows, cols);
    check_idx_values(&b, n, rows, cols);
    if (a.x && b.x)
        EXPECT(memcmp(a.x, b.x, sizeof(real) * n * rows * cols) == 0,
               "plain and gzip differ");
    /* Content, not the name, decides: gzip bytes in a plain-named file. */
    char odd[PATH_LEN];
    write_gz(tpath(odd, "gzip-without-suffix"), im.p, im.n);
    Dataset c;
    EXPECT(idx_load(odd, lp, &c, &err) == 0, "gzip under a plain name: %s", err.msg);
    check_idx_values(&c, n, rows, cols);
    dataset_free(&a);
    dataset_free(&b);
    dataset_free(&c);
    EXPECT(dataset_is_zero(&a), "dataset_free zeroes");
    dataset_free(&a); /* a zeroed set is a no-op */
    buf_free(&im);
    buf_free(&lb);
}

static void test_idx_corrupt(void)
{
    const int n = 6, rows = 3, cols = 3;
    size_t before = mem_current(MEM_DATA);
    HgErr err;
    Dataset d;
    char ip[PATH_LEN], lp[PATH_LEN], gip[PATH_LEN], glp[PATH_LEN];
    Buf im = { 0 }, lb = { 0 };
    idx_images(&im, n, rows, cols, n);
    idx_labels(&lb, n, n);
    idx_write(&im, &lb, "good", 0, ip, lp);
    idx_write(&im, &lb, "good", 1, gip, glp);
    char bp[PATH_LEN], blp[PATH_LEN];

    /* Truncated images, plain and gzip: one pixel short. */
    for (int gz = 0; gz < 2; gz++) {
        Buf t = { 0 };
        buf_put(&t, im.p, im.n - 1);
        (gz ? write_gz : write_file)(tpath(bp, gz ? "trunc-im.gz" : "trunc-im"), t.p, t.n);
        scribble(&d);
        EXPECT_FAIL(idx_load(bp, gz ? glp : lp, &d, &err), err, &d, bp,
                    "truncated: header says 6 images of 3x3 but file has 53 bytes "
                    "of pixels", before);
        buf_free(&t);
    }
    /* Trailing bytes are an error too. */
    {
        Buf t = { 0 };
        buf_put(&t, im.p, im.n);
        buf_byte(&t, 0);
        write_gz(tpath(bp, "trail-im.gz"), t.p, t.n);
        EXPECT_FAIL(idx_load(bp, lp, &d, &err), err, &d, bp, "trailing data", before);
        buf_free(&t);
    }
    /* Truncated labels. */
    {
        Buf t = { 0 };
        buf_put(&t, lb.p, lb.n - 2);
        write_file(tpath(blp, "trunc-lb"), t.p, t.n);
        EXPECT_FAIL(idx_load(ip, blp, &d, &err), err, &d, blp,
                    "truncated: header says 6 labels but file has 4 bytes", before);
        buf_free(&t);
    }
    /* Truncated headers. */
    write_file(tpath(bp, "short-im"), im.p, 10);
    EXPECT_FAIL(idx_load(bp, lp, &d, &err), err, &d, bp, "truncated header", before);
    write_file(tpath(bp, "empty-im"), im.p, 0);
    EXPECT_FAIL(idx_load(bp, lp, &d, &err), err, &d, bp, "truncated header", before);
    /* Bad magic; and the two files swapped. */
    {
        Buf t = { 0 };
        buf_put(&t, im.p, im.n);
        t.p[3] = 0x04;
        write_file(tpath(bp, "magic-im"), t.p, t.n);
        EXPECT_FAIL(idx_load(bp, lp, &d, &err), err, &d, bp,
                    "bad magic 0x00000804 (expected 0x00000803", before);
        buf_free(&t);
    }
    EXPECT_FAIL(idx_load(lp, ip, &d, &err), err, &d, lp,
                "bad magic 0x00000801 (expected 0x00000803", before);
    EXPECT(strstr(err.msg, "other file of the pair") != NULL, "no hint: %s", err.msg);
    /* A zero dim. */
    {
        Buf t = { 0 };
        idx_images(&t, n, 0, cols, 0);
        write_file(tpath(bp, "zero-rows"), t.p, t.n);
        EXPECT_FAIL(idx_load(bp, lp, &d, &err), err, &d, bp, "header dim 1 is 0", before);
        buf_free(&t);
    }
    /* Counts that disagree. */
    {
        Buf t = { 0 };
        idx_labels(&t, n - 1, n - 1);
        write_file(tpath(blp, "five-labels"), t.p, t.n);
        EXPECT_FAIL(idx_load(ip, blp, &d, &err), err, &d, blp, "6 images but 5 labels",
                    before);
        EXPECT(strstr(err.msg, ip) != NULL, "count message names both files: %s", err.msg);
        buf_free(&t);
    }
    /* A label out of range. */
    {
        Buf t = { 0 };
        buf_put(&t, lb.p, lb.n);
        t.p[8 + 5] = 12;
        write_gz(tpath(blp, "label12.gz"), t.p, t.n);
        EXPECT_FAIL(idx_load(ip, blp, &d, &err), err, &d, blp,
                    "label 12 at index 5 out of range [0,10)", before);
        buf_free(&t);
    }
    /* A cut gzip stream (its trailer gone): the data is all there, the
     * stream is not. */
    {
        long sz = file_size(gip);
        FILE *f = fopen(gip, "rb");
        Buf t = { 0 };
        unsigned char tmp[4096];
        size_t got = f ? fread(tmp, 1, sizeof tmp, f) : 0;
        if (f)
            fclose(f);
        EXPECT(got == (size_t)sz, "read %s", gip);
        buf_put(&t, tmp, got - 6);
        write_file(tpath(bp, "cut.gz"), t.p, t.n);
        EXPECT_FAIL(idx_load(bp, lp, &d, &err), err, &d, bp, "bad gzip stream", before);
        buf_free(&t);
    }
    /* Missing files. */
    tpath(bp, "no-such-file");
    EXPECT_FAIL(idx_load(bp, lp, &d, &err), err, &d, bp, "cannot open", before);
    EXPECT_FAIL(idx_load(ip, bp, &d, &err), err, &d, bp, "cannot open", before);
    buf_free(&im);
    buf_free(&lb);
}

/* A header claiming 2^31 - 1 images of 28x28 over a few real ones must be
 * refused from the data's real length, with no large allocation. */
static void test_idx_huge_header(void)
{
    size_t before = mem_current(MEM_DATA);
    char ip[PATH_LEN], lp[PATH_LEN];
    for (int gz = 0; gz < 2; gz++) {
        Buf im = { 0 }, lb = { 0 };
        idx_images(&im, 0x7fffffff, 28, 28, 3);
        idx_labels(&lb, 0x7fffffff, 3);
        idx_write(&im, &lb, gz ? "huge-gz" : "huge", gz, ip, lp);
        HgErr err;
        Dataset d;
        mem_reset_peaks();
        EXPECT_FAIL(idx_load(ip, lp, &d, &err), err, &d, ip,
                    "header says 2147483647 images of 28x28 but file has 2352 bytes",
                    before);
        EXPECT(mem_peak(MEM_DATA) - before < (1u << 20),
               "peak MEM_DATA %zu bytes for a refused file", mem_peak(MEM_DATA));
        /* Right pixel count but a huge label count. */
        Buf im3 = { 0 };
        idx_images(&im3, 3, 28, 28, 3);
        (gz ? write_gz : write_file)(ip, im3.p, im3.n);
        EXPECT_FAIL(idx_load(ip, lp, &d, &err), err, &d, lp,
                    "truncated: header says 2147483647 labels but file has 3 bytes",
                    before);
        EXPECT(mem_peak(MEM_DATA) - before < (1u << 20),
               "peak MEM_DATA %zu bytes for a refused file", mem_peak(MEM_DATA));
        buf_free(&im);
        buf_free(&im3);
        buf_free(&lb);
    }
}

/* ---- MATLAB level 5 ------------------------------------------------------- */

enum {
    MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_INT32 = 5, MI_UINT32 = 6,
    MI_DOUBLE = 9, MI_MATRIX = 14, MI_COMPRESSED = 15,
};
enum { MX_CHAR = 4, MX_DOUBLE = 6, MX_UINT8 = 9, MX_INT16 = 10, MX_INT32 = 12 };

static void mat_header(Buf *b, unsigned version, const char *endian)
{
    char text[116];
    memset(text, ' ', sizeof text);
    const char *s = "MATLAB 5.0 MAT-file, Platform: GLNXA64, written by hgbench tests";
    memcpy(text, s, strlen(s));
    buf_put(b, text, sizeof text);
    for (int i = 0; i < 8; i++)
        buf_byte(b, 0); /* subsystem data offset: none */
    buf_byte(b, version & 0xff);
    buf_byte(b, version >> 8);
    buf_put(b, endian, 2);
}

/* A sub-element: tag, data, padding; or the small format (n <= 4). */
static void mat_sub(Buf *b, uint32_t type, const void *data, uint32_t n, int small)
{
    if (small) {
        unsigned char w[4] = { 0 };
        memcpy(w, data, n);
        buf_u32le(b, n << 16 | type);
        buf_put(b, w, 4);
        return;
    }
    buf_u32le(b, type);
    buf_u32le(b, n);
    buf_put(b, data, n);
    buf_pad8(b);
}

typedef struct MatArray {
    const char *name;
    int cls, nd;
    int32_t dims[4];
    uint32_t dtype;
    const Buf *data;     /* the real part's bytes, little-endian */
    int small_name, small_data;
} MatArray;

static void mat_matrix(Buf *b, const MatArray *a)
{
    Buf c = { 0 };
    unsigned char flags[8] = { (unsigned char)a->cls };
    mat_sub(&c, MI_UINT32, flags, 8, 0);
    Buf dims = { 0 };
    for (int i = 0; i < a->nd; i++)
        buf_u32le(&dims, (uint32_t)a->dims[i]);
    mat_sub(&c, MI_INT32, dims.p, (uint32_t)dims.n, 0);
    mat_sub(&c, MI_INT8, a->name, (uint32_t)strlen(a->name), a->small_name);
    mat_sub(&c, a->dtype, a->data->p, (uint32_t)a->data->n, a->small_data);
    buf_u32le(b, MI_MATRIX);
    buf_u32le(b, (uint32_t)c.n);
    buf_put(b, c.p, c.n);
    buf_free(&c);
    buf_free(&dims);
}

/* miCOMPRESSED holding `elem` (a whole miMATRIX element), via compress(). */
static void mat_compressed(Buf *b, const Buf *elem)
{
    uLongf len = compressBound((uLong)elem->n);
    unsigned char *z = malloc(len);
    if (!z || compress(z, &len, elem->p, (uLong)elem->n) != Z_OK)
        abort();
    buf_u32le(b, MI_COMPRESSED);
    buf_u32le(b, (uint32_t)len);
    buf_put(b, z, len);
    free(z);
}

static void mat_var(Buf *b, const MatArray *a, int compress)
{
    if (!compress) {
        mat_matrix(b, a);
        return;
    }
    Buf e = { 0 };
    mat_matrix(&e, a);
    mat_compressed(b, &e);
    buf_free(&e);
}

/* Test pattern: X(i, j, k, e), i the row, j the column, k the channel. The
 * row and column weights differ, so a transposed load shows. */
static unsigned svhn_x(int i, int j, int k, int e) { return (unsigned)(i * 5 + j * 17 + k * 60 + e * 23) % 256; }
static int svhn_y(int e) { return e % 10 + 1; } /* 1..10 */

/* X in MATLAB order: uint8 bytes, or doubles. */
static void svhn_xdata(Buf *b, int n, int chans, int as_double)
{
    for (int e = 0; e < n; e++)
        for (int k = 0; k < chans; k++)
            for (int j = 0; j < 32; j++)
                for (int i = 0; i < 32; i++) {
                    unsigned v = svhn_x(i, j, k, e);
                    if (as_double)
                        buf_f64le(b, v);
                    else
                        buf_byte(b, v);
                }
}

static void svhn_ydata(Buf *b, int n, uint32_t dtype, int bad_at0)
{
    for (int e = 0; e < n; e++) {
        int v = e == 0 && bad_at0 ? bad_at0 : svhn_y(e);
        if (dtype == MI_DOUBLE)
            buf_f64le(b, v);
        else if (dtype == MI_INT32)
            buf_u32le(b, (uint32_t)v);
        else if (dtype == MI_INT16)
            buf_put(b, (unsigned char[2]){ (unsigned char)v, 0 }, 2);
        else
            buf_byte(b, (unsigned)v);
    }
}

typedef struct SvhnSpec {
    int n;          /* images in X */
    int ny;         /* labels in y (n if 0) */
    int chans;      /* X's third dim (3 if 0) */
    int compress;
    int no_x, no_y;
    int bad_label;  /* nonzero: y(1) gets it */
} SvhnSpec;

/* X (uint8), then y (double class stored as miUINT8, as MATLAB writes). */
static void svhn_build(Buf *b, const SvhnSpec *s)
{
    int ny = s->ny ? s->ny : s->n, chans = s->chans ? s->chans : 3;
    Buf xd = { 0 }, yd = { 0 };
    svhn_xdata(&xd, s->n, chans, 0);
    svhn_ydata(&yd, ny, MI_UINT8, s->bad_label);
    mat_header(b, 0x0100, "IM");
    MatArray X = { "X", MX_UINT8, 4, { 32, 32, chans, s->n }, MI_UINT8, &xd, 0, 0 };
    MatArray y = { "y", MX_DOUBLE, 2, { ny, 1 }, MI_UINT8, &yd, 0, 0 };
    if (!s->no_x)
        mat_var(b, &X, s->compress);
    if (!s->no_y)
        mat_var(b, &y, s->compress);
    buf_free(&xd);
    buf_free(&yd);
}

static void check_svhn_values(const Dataset *d, int n)
{
    EXPECT(d->n == n && d->c == 3 && d->h == 32 && d->w == 32 && d->classes == 10,
           "shape %d x %dx%dx%d, %d classes", d->n, d->c, d->h, d->w, d->classes);
    if (d->n != n)
        return;
    int bad = 0;
    for (int e = 0; e < n; e++) {
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 32; i++)
                for (int j = 0; j < 32; j++)
                    bad += d->x[((e * 3 + k) * 32 + i) * 32 + j] != u8(svhn_x(i, j, k, e));
        bad += d->y[e] != svhn_y(e) % 10;
    }
    EXPECT(bad == 0, "%d values differ from the written ones", bad);
    /* Spot checks of the column-major -> NCHW mapping and of 10 -> 0. */
    EXPECT(d->x[(0 * 32 + 1) * 32 + 0] == u8(5) && d->x[(0 * 32 + 0) * 32 + 1] == u8(17),
           "X(2,1,1,1) -> x[0][0][1][0] and X(1,2,1,1) -> x[0][0][0][1]");
    if (n >= 2)
        EXPECT(d->x[((1 * 3 + 2) * 32 + 3) * 32 + 4] == u8(3 * 5 + 4 * 17 + 120 + 23),
               "X(4,5,3,2) -> x[1][2][3][4]");
    if (n >= 10)
        EXPECT(d->y[9] == 0, "label 10 -> class 0, got %d", d->y[9]);
}

/* Compressed X and y (X needs more than one output buffer when inflated),
 * after a compressed variable that is skipped. */
static void test_svhn_compressed(void)
{
    const int n = 30;
    Buf b = { 0 }, junk = { 0 };
    mat_header(&b, 0x0100, "IM");
    for (int i = 0; i < 4; i++)
        buf_f64le(&junk, i + 0.5);
    MatArray J = { "junk", MX_DOUBLE, 2, { 2, 2 }, MI_DOUBLE, &junk, 0, 0 };
    mat_var(&b, &J, 1);
    Buf xy = { 0 };
    svhn_build(&xy, &(SvhnSpec){ .n = n, .compress = 1 });
    buf_put(&b, xy.p + 128, xy.n - 128);
    char p[PATH_LEN];
    write_file(tpath(p, "svhn-z.mat"), b.p, b.n);
    EXPECT(file_size(p) < 32 * 32 * 3 * n, "file is compressed: %ld bytes", file_size(p));
    HgErr err;
    Dataset d;
    scribble(&d);
    EXPECT(svhn_load(p, &d, &err) == 0, "%s", err.msg);
    check_svhn_values(&d, n);
    dataset_free(&d);
    buf_free(&b);
    buf_free(&junk);
    buf_free(&xy);
}

/* Uncompressed elements, small-format names and label data, y before X,
 * y as a 1xN row of doubles, and skipped variables (one with a name past the
 * first 4096 bytes of its element). */
static void test_svhn_uncompressed(void)
{
    const int n = 3;
    Buf b = { 0 }, xd = { 0 }, yd = { 0 }, big = { 0 }, s1 = { 0 };
    mat_header(&b, 0x0100, "IM");
    svhn_xdata(&xd, n, 3, 0);
    svhn_ydata(&yd, n, MI_DOUBLE, 0);
    for (int i = 0; i < 5000; i++)
        buf_byte(&big, 'a' + i % 26);
    buf_byte(&s1, 'Q');
    char longname[5001];
    memcpy(longname, big.p, 5000);
    longname[5000] = 0;
    MatArray text = { "notes", MX_CHAR, 2, { 1, 5000 }, MI_UINT8, &big, 0, 0 };
    MatArray lname = { longname, MX_UINT8, 2, { 1, 1 }, MI_UINT8, &s1, 0, 1 };
    MatArray y = { "y", MX_DOUBLE, 2, { 1, n }, MI_DOUBLE, &yd, 1, 0 };
    MatArray X = { "X", MX_UINT8, 4, { 32, 32, 3, n }, MI_UINT8, &xd, 1, 0 };
    mat_var(&b, &text, 0);
    mat_var(&b, &lname, 0);
    mat_var(&b, &y, 0);
    mat_var(&b, &lname, 1);
    mat_var(&b, &X, 0);
    char p[PATH_LEN];
    write_file(tpath(p, "svhn-plain.mat"), b.p, b.n);
    HgErr err;
    Dataset d;
    EXPECT(svhn_load(p, &d, &err) == 0, "%s", err.msg);
    check_svhn_values(&d, n);
    dataset_free(&d);
    buf_free(&b);
    buf_free(&xd);
    buf_free(&yd);
    buf_free(&big);
    buf_free(&s1);
}

/* One image: MATLAB drops the trailing singleton, X is 32x32x3. X stored as
 * doubles, y as int16 in a small element, zero padding at the end. */
static void test_svhn_single_image(void)
{
    Buf b = { 0 }, xd = { 0 }, yd = { 0 };
    mat_header(&b, 0x0100, "IM");
    svhn_xdata(&xd, 1, 3, 1);
    svhn_ydata(&yd, 1, MI_INT16, 0);
    MatArray X = { "X", MX_DOUBLE, 3, { 32, 32, 3 }, MI_DOUBLE, &xd, 0, 0 };
    MatArray y = { "y", MX_INT16, 2, { 1, 1 }, MI_INT16, &yd, 1, 1 };
    mat_var(&b, &X, 1);
    mat_var(&b, &y, 1);
    for (int i = 0; i < 4; i++)
        buf_byte(&b, 0);
    char p[PATH_LEN];
    write_file(tpath(p, "svhn-one.mat"), b.p, b.n);
    HgErr err;
    Dataset d;
    EXPECT(svhn_load(p, &d, &err) == 0, "%s", err.msg);
    check_svhn_values(&d, 1);
    dataset_free(&d);
    buf_free(&b);
    buf_free(&xd);
    buf_free(&yd);
}

static void expect_svhn_fail_at(const char *file, int line, const Buf *b,
                                const char *name, const char *what)
{
    char p[PATH_LEN];
    write_file(tpath(p, name), b->p, b->n);
    size_t before = mem_current(MEM_DATA);
    HgErr err;
    Dataset d;
    scribble(&d);
    mem_reset_peaks();
    int rc = svhn_load(p, &d, &err);
    expect_fail_at(file, line, rc, &err, &d, p, what, before);
    if (mem_peak(MEM_DATA) - before > 4 * b->n + (1u << 20))
        test_fail_at(file, line, "peak MEM_DATA %zu bytes for a %zu-byte file",
                     mem_peak(MEM_DATA) - before, b->n);
}
#define EXPECT_SVHN_FAIL(b, name, what) expect_svhn_fail_at(__FILE__, __LINE__, b, name, what)

static void test_svhn_corrupt(void)
{
    const int n = 4;
    for (int z = 0; z < 2; z++) {
        Buf b = { 0 };
        svhn_build(&b, &(SvhnSpec){ .n = n, .compress = z, .no_y = 1 });
        EXPECT_SVHN_FAIL(&b, "no-y.mat", "no variable 'y'");
        buf_free(&b);
        svhn_build(&b, &(SvhnSpec){ .n = n, .compress = z, .no_x = 1 });
        EXPECT_SVHN_FAIL(&b, "no-x.mat", "no variable 'X'");
        buf_free(&b);
        svhn_build(&b, &(SvhnSpec){ .n = n, .compress = z, .chans = 4 });
        EXPECT_SVHN_FAIL(&b, "x-dims.mat", "variable 'X' (offset 128): dims 32x32x4x4, "
                                           "expected 32x32x3xN");
        buf_free(&b);
        svhn_build(&b, &(SvhnSpec){ .n = n, .compress = z, .ny = n - 1 });
        EXPECT_SVHN_FAIL(&b, "n-mismatch.mat", "3 labels but X has 4 images");
        buf_free(&b);
        svhn_build(&b, &(SvhnSpec){ .n = n, .compress = z, .bad_label = 11 });
        EXPECT_SVHN_FAIL(&b, "label11.mat", "label 11 at index 0 out of range 1..10");
        buf_free(&b);
        /* Truncated in the middle of X. */
        svhn_build(&b, &(SvhnSpec){ .n = n, .compress = z });
        b.n = 128 + 8 + 100;
        EXPECT_SVHN_FAIL(&b, "cut.mat", "truncated: tag says");
        buf_free(&b);
        /* A huge size in the first element's tag. */
        svhn_build(&b, &(SvhnSpec){ .n = n, .compress = z });
        memcpy(b.p + 128 + 4, (unsigned char[4]){ 0xf0, 0xff, 0xff, 0xff }, 4);
        EXPECT_SVHN_FAIL(&b, "huge-tag.mat", "truncated: tag says 4294967280 bytes");
        buf_free(&b);
    }
    /* Label 0 (SVHN writes digit 0 as 10). */
    {
        Buf b = { 0 }, xd = { 0 }, yd = { 0 };
        mat_header(&b, 0x0100, "IM");
        svhn_xdata(&xd, 2, 3, 0);
        buf_f64le(&yd, 3);
        buf_f64le(&yd, 0);
        MatArray X = { "X", MX_UINT8, 4, { 32, 32, 3, 2 }, MI_UINT8, &xd, 0, 0 };
        MatArray y = { "y", MX_DOUBLE, 2, { 2, 1 }, MI_DOUBLE, &yd, 0, 0 };
        mat_var(&b, &X, 1);
        mat_var(&b, &y, 1);
        EXPECT_SVHN_FAIL(&b, "label0.mat", "label 0 at index 1 out of range 1..10");
        buf_free(&yd);
        buf_f64le(&yd, 3);
        buf_f64le(&yd, 2.5);
        b.n = 0;
        mat_header(&b, 0x0100, "IM");
        mat_var(&b, &X, 1);
        mat_var(&b, &y, 1);
        EXPECT_SVHN_FAIL(&b, "label-frac.mat", "label 2.5 at index 1 out of range");
        /* y as a matrix, not a vector. */
        MatArray y2 = { "y", MX_DOUBLE, 3, { 2, 1, 1 }, MI_DOUBLE, &yd, 0, 0 };
        b.n = 0;
        mat_header(&b, 0x0100, "IM");
        mat_var(&b, &X, 0);
        mat_var(&b, &y2, 0);
        EXPECT_SVHN_FAIL(&b, "y-dims.mat", "variable 'y' (offset");
        EXPECT_SVHN_FAIL(&b, "y-dims.mat", "dims 2x1x1, expected Nx1");
        /* X's dims claim 2^31 - 1 images over 2 images of data. */
        MatArray Xh = X;
        Xh.dims[3] = 0x7fffffff;
        b.n = 0;
        mat_header(&b, 0x0100, "IM");
        mat_var(&b, &Xh, 1);
        EXPECT_SVHN_FAIL(&b, "x-huge-dims.mat", "real part holds 6144 bytes but its "
                                                "dims need 6597069763584 values");
        /* Two X. */
        b.n = 0;
        mat_header(&b, 0x0100, "IM");
        mat_var(&b, &X, 1);
        mat_var(&b, &X, 0);
        EXPECT_SVHN_FAIL(&b, "two-x.mat", "a second variable 'X'");
        buf_free(&b);
        buf_free(&xd);
        buf_free(&yd);
    }
    /* Bad zlib data: everything after the zlib header of X replaced. */
    {
        Buf b = { 0 };
        svhn_build(&b, &(SvhnSpec){ .n = n, .compress = 1 });
        memset(b.p + 128 + 8 + 2, 0xff, 16);
        EXPECT_SVHN_FAIL(&b, "bad-zlib.mat", "bad zlib stream");
        buf_free(&b);
    }
    /* A zlib stream cut short inside a whole element. */
    {
        Buf b = { 0 }, e = { 0 }, xd = { 0 };
        svhn_xdata(&xd, n, 3, 0);
        MatArray X = { "X", MX_UINT8, 4, { 32, 32, 3, n }, MI_UINT8, &xd, 0, 0 };
        mat_matrix(&e, &X);
        mat_header(&b, 0x0100, "IM");
        mat_compressed(&b, &e);
        uint32_t clen = (uint32_t)(b.n - 136) / 2;
        b.n = 136 + clen;
        memcpy(b.p + 132, (unsigned char[4]){ clen & 0xff, clen >> 8 & 0xff, 0, 0 }, 4);
        EXPECT_SVHN_FAIL(&b, "short-zlib.mat", "truncated zlib stream");
        buf_free(&b);
        buf_free(&e);
        buf_free(&xd);
    }
    /* The inner tag of a compressed element claims 2 GiB: the stream is
     * inflated as it comes, never sized from the tag. */
    {
        Buf b = { 0 }, e = { 0 }, xd = { 0 };
        svhn_xdata(&xd, n, 3, 0);
        MatArray X = { "X", MX_UINT8, 4, { 32, 32, 3, n }, MI_UINT8, &xd, 0, 0 };
        mat_matrix(&e, &X);
        uint32_t real_len = (uint32_t)e.n - 8;
        memcpy(e.p + 4, (unsigned char[4]){ 0, 0, 0, 0x80 }, 4);
        mat_header(&b, 0x0100, "IM");
        mat_compressed(&b, &e);
        EXPECT_SVHN_FAIL(&b, "inner-huge.mat", "inflates to 12360 bytes but its "
                                               "miMATRIX tag says 2147483656");
        EXPECT(real_len + 8 == 12360, "test's X element is %u bytes", real_len + 8);
        /* And one claiming less than it holds. */
        memcpy(e.p + 4, (unsigned char[4]){ 0, 1, 0, 0 }, 4);
        b.n = 0;
        mat_header(&b, 0x0100, "IM");
        mat_compressed(&b, &e);
        EXPECT_SVHN_FAIL(&b, "inner-short.mat", "inflates to more than the 264 bytes");
        /* A compressed element holding no miMATRIX. */
        memcpy(e.p, (unsigned char[4]){ MI_DOUBLE, 0, 0, 0 }, 4);
        b.n = 0;
        mat_header(&b, 0x0100, "IM");
        mat_compressed(&b, &e);
        EXPECT_SVHN_FAIL(&b, "inner-type.mat", "compressed element holds type 9");
        buf_free(&b);
        buf_free(&e);
        buf_free(&xd);
    }
    /* Headers. */
    {
        Buf b = { 0 };
        svhn_build(&b, &(SvhnSpec){ .n = n, .compress = 1 });
        Buf t = { 0 };
        buf_put(&t, b.p, 100);
        EXPECT_SVHN_FAIL(&t, "short.mat", "too short for a MAT-file: 100 bytes");
        buf_free(&t);
        b.p[126] = 'M';
        b.p[127] = 'I';
        EXPECT_SVHN_FAIL(&b, "big-endian.mat", "big-endian MAT-file");
        b.p[126] = 'x';
        EXPECT_SVHN_FAIL(&b, "endian.mat", "bad header: endian indicator");
        b.p[126] = 'I';
        b.p[127] = 'M';
        b.p[125] = 0x02;
        EXPECT_SVHN_FAIL(&b, "v73.mat", "v7.3 (HDF5)");
        b.p[125] = 0x07;
        EXPECT_SVHN_FAIL(&b, "version.mat", "bad header: version 0x0700");
        b.p[125] = 0x01;
        memset(b.p, 0, 4);
        EXPECT_SVHN_FAIL(&b, "level4.mat", "not a level-5 MAT-file");
        memcpy(b.p, "MATL", 4);
        /* A top-level element that is neither miMATRIX nor miCOMPRESSED. */
        b.p[128] = MI_DOUBLE;
        EXPECT_SVHN_FAIL(&b, "top-type.mat", "element at offset 128: element of type 9");
        b.p[128] = MI_COMPRESSED;
        /* Stray bytes at the end. */
        buf_put(&b, "abc", 3);
        EXPECT_SVHN_FAIL(&b, "stray.mat", "3 stray bytes at the end");
        buf_free(&b);
    }
    char p[PATH_LEN];
    HgErr err;
    Dataset d;
    EXPECT_FAIL(svhn_load(tpath(p, "no-such.mat"), &d, &err), err, &d, p,
                "cannot open", mem_current(MEM_DATA));
}

/* ---- CIFAR-10 ------------------------------------------------------------- */

static unsigned cifar_label(int e) { return (unsigned)(e * 7) % 10; }
static unsigned cifar_pixel(int e, int p) { return (unsigned)(e * 13 + p * 5) % 256; }

/* Records first..first+count of the test pattern. */
static void cifar_records(Buf *b, int first, int count)
{
    for (int e = first; e < first + count; e++) {
        buf_byte(b, cifar_label(e));
        for (int p = 0; p < 3072; p++)
            buf_byte(b, cifar_pixel(e, p));
    }
}

static void test_cifar10(void)
{
    Buf b1 = { 0 }, b2 = { 0 };
    cifar_records(&b1, 0, 3);
    cifar_records(&b2, 3, 2);
    char p1[PATH_LEN], p2[PATH_LEN];
    write_file(tpath(p1, "cifar-a.bin"), b1.p, b1.n);
    write_file(tpath(p2, "cifar-b.bin"), b2.p, b2.n);
    const char *paths[] = { p1, p2 };
    HgErr err;
    Dataset d;
    scribble(&d);
    EXPECT(cifar10_load(paths, 2, &d, &err) == 0, "%s", err.msg);
    EXPECT(d.n == 5 && d.c == 3 && d.h == 32 && d.w == 32 && d.classes == 10,
           "shape %d x %dx%dx%d", d.n, d.c, d.h, d.w);
    int bad = 0;
    for (int e = 0; e < d.n; e++) {
        bad += d.y[e] != (int32_t)cifar_label(e);
        for (int p = 0; p < 3072; p++)
            bad += d.x[e * 3072 + p] != u8(cifar_pixel(e, p));
    }
    EXPECT(bad == 0, "%d values differ", bad);
    /* Channel-major: x[e][k][i][j] is byte 1 + k*1024 + i*32 + j. */
    EXPECT(d.x[4 * 3072 + 2 * 1024 + 5 * 32 + 7] == u8(cifar_pixel(4, 2 * 1024 + 5 * 32 + 7)),
           "B plane, row 5, column 7 of record 4");
    dataset_free(&d);

    size_t before = mem_current(MEM_DATA);
    char bp[PATH_LEN];
    Buf t = { 0 };
    buf_put(&t, b1.p, b1.n - 5);
    write_file(tpath(bp, "cifar-cut.bin"), t.p, t.n);
    const char *cut[] = { p1, bp };
    EXPECT_FAIL(cifar10_load(cut, 2, &d, &err), err, &d, bp,
                "size 9214 bytes is not a positive multiple of 3073", before);
    write_file(bp, t.p, 0);
    EXPECT_FAIL(cifar10_load(cut, 2, &d, &err), err, &d, bp,
                "size 0 bytes is not a positive multiple", before);
    buf_free(&t);
    buf_put(&t, b2.p, b2.n);
    t.p[3073] = 10;
    write_file(bp, t.p, t.n);
    EXPECT_FAIL(cifar10_load(cut, 2, &d, &err), err, &d, bp,
                "label 10 at record 1 out of range [0,10)", before);
    tpath(bp, "cifar-missing.bin");
    EXPECT_FAIL(cifar10_load(cut, 2, &d, &err), err, &d, bp, "cannot open", before);
    EXPECT_FAIL(cifar10_load(cut, 0, &d, &err), err, &d, NULL, "no batch files", before);
    buf_free(&t);
    buf_free(&b1);
    buf_free(&b2);
}

/* ---- dataset_load --------------------------------------------------------- */

static void test_dataset_load_names(void)
{
    HgErr err;
    Dataset d;
    size_t before = mem_current(MEM_DATA);
    char dir[PATH_LEN], p[PATH_LEN], sub[PATH_LEN];

    /* mnist: images as .gz, labels plain (NAME.gz tried, then NAME). */
    tpath(dir, "mnist");
    mkdir(dir, 0700);
    Buf im = { 0 }, lb = { 0 }, im2 = { 0 }, lb2 = { 0 };
    idx_images(&im, 5, 28, 28, 5);
    idx_labels(&lb, 5, 5);
    idx_images(&im2, 2, 28, 28, 2);
    idx_labels(&lb2, 2, 2);
    join(p, dir, "train-images-idx3-ubyte.gz");
    write_gz(p, im.p, im.n);
    join(p, dir, "train-labels-idx1-ubyte");
    write_file(p, lb.p, lb.n);
    join(p, dir, "t10k-images-idx3-ubyte");
    write_file(p, im2.p, im2.n);
    join(p, dir, "t10k-labels-idx1-ubyte.gz");
    write_gz(p, lb2.p, lb2.n);
    EXPECT(dataset_load("mnist", dir, 0, &d, &err) == 0, "%s", err.msg);
    check_idx_values(&d, 5, 28, 28);
    dataset_free(&d);
    EXPECT(dataset_load("fashion-mnist", dir, 1, &d, &err) == 0, "%s", err.msg);
    check_idx_values(&d, 2, 28, 28);
    dataset_free(&d);

    /* Missing files: the paths tried, and for fashion-mnist the package. */
    tpath(dir, "empty");
    mkdir(dir, 0700);
    join(p, dir, "train-images-idx3-ubyte");
    EXPECT_FAIL(dataset_load("fashion-mnist", dir, 0, &d, &err), err, &d, p,
                "apt-get install dataset-fashion-mnist", before);
    EXPECT(strstr(err.msg, "--data-dir") && strstr(err.msg, ".gz"), "%s", err.msg);
    EXPECT_FAIL(dataset_load("mnist", dir, 0, &d, &err), err, &d, p, "cannot find",
                before);
    EXPECT(!strstr(err.msg, "apt-get"), "no package hint for mnist: %s", err.msg);
    join(p, dir, "test_32x32.mat");
    EXPECT_FAIL(dataset_load("svhn", dir, 1, &d, &err), err, &d, p, "cannot find",
                before);
    join(p, dir, "cifar-10-batches-bin/data_batch_1.bin");
    EXPECT_FAIL(dataset_load("cifar10", dir, 0, &d, &err), err, &d, p, "cannot find",
                before);

    /* svhn. */
    Buf m = { 0 };
    svhn_build(&m, &(SvhnSpec){ .n = 2, .compress = 1 });
    tpath(dir, "svhn");
    mkdir(dir, 0700);
    join(p, dir, "train_32x32.mat");
    write_file(p, m.p, m.n);
    EXPECT(dataset_load("svhn", dir, 0, &d, &err) == 0, "%s", err.msg);
    check_svhn_values(&d, 2);
    dataset_free(&d);

    /* cifar10 in the archive's subfolder, then in dir itself. */
    tpath(dir, "cifar");
    mkdir(dir, 0700);
    join(sub, dir, "cifar-10-batches-bin");
    mkdir(sub, 0700);
    for (int i = 1; i <= 5; i++) {
        Buf r = { 0 };
        cifar_records(&r, i - 1, 1);
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", i);
        join(p, sub, name);
        write_file(p, r.p, r.n);
        buf_free(&r);
    }
    Buf r = { 0 };
    cifar_records(&r, 0, 2);
    join(p, sub, "test_batch.bin");
    write_file(p, r.p, r.n);
    EXPECT(dataset_load("cifar10", dir, 0, &d, &err) == 0, "%s", err.msg);
    EXPECT(d.n == 5 && d.y[3] == (int32_t)cifar_label(3), "n %d", d.n);
    dataset_free(&d);
    EXPECT(dataset_load("cifar10", sub, 1, &d, &err) == 0, "%s", err.msg);
    EXPECT(d.n == 2, "n %d", d.n);
    dataset_free(&d);
    buf_free(&r);

    /* Names and directories. */
    EXPECT_FAIL(dataset_load("imagenet", dir, 0, &d, &err), err, &d, "'imagenet'",
                "valid: fashion-mnist, mnist, svhn, cifar10", before);
    EXPECT_FAIL(dataset_load(NULL, dir, 0, &d, &err), err, &d, NULL,
                "unknown data set", before);
    EXPECT_FAIL(dataset_load("svhn", NULL, 0, &d, &err), err, &d, "svhn",
                "no default directory", before);
    EXPECT_FAIL(dataset_load("cifar10", NULL, 0, &d, &err), err, &d, "cifar10",
                "--data-dir", before);
    EXPECT(dataset_default_dir("fashion-mnist") &&
           strcmp(dataset_default_dir("fashion-mnist"), FMNIST_DIR) == 0,
           "fashion-mnist's default dir");
    EXPECT(!dataset_default_dir("mnist") && !dataset_default_dir("svhn") &&
           !dataset_default_dir("cifar10") && !dataset_default_dir("nope"),
           "no other default dirs");
    buf_free(&im);
    buf_free(&lb);
    buf_free(&im2);
    buf_free(&lb2);
    buf_free(&m);
}

/* The installed Fashion-MNIST (Debian's dataset-fashion-mnist). */
static void test_fashion_mnist_installed(void)
{
    char p[PATH_LEN];
    join(p, FMNIST_DIR, "train-images-idx3-ubyte.gz");
    if (access(p, R_OK) != 0) {
        test_skip("Fashion-MNIST not installed at %s (apt-get install "
                  "dataset-fashion-mnist)", FMNIST_DIR);
        return;
    }
    static const int first_train[10] = { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 };
    static const int first_test[10] = { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 };
    for (int split = 0; split < 2; split++) {
        HgErr err;
        Dataset d;
        double t0 = now_s();
        int rc = dataset_load("fashion-mnist", NULL, split, &d, &err);
        EXPECT(rc == 0, "%s", err.msg);
        if (rc)
            continue;
        int n = split ? 10000 : 60000;
        printf("#   fashion-mnist %s: %d examples in %.2f s\n",
               split ? "test" : "train", d.n, now_s() - t0);
        EXPECT(d.n == n && d.c == 1 && d.h == 28 && d.w == 28 && d.classes == 10,
               "shape %d x %dx%dx%d, %d classes", d.n, d.c, d.h, d.w, d.classes);
        long hist[10] = { 0 };
        for (int i = 0; i < d.n; i++)
            hist[d.y[i] >= 0 && d.y[i] < 10 ? d.y[i] : 0]++;
        for (int k = 0; k < 10; k++)
            EXPECT(hist[k] == n / 10, "class %d: %ld examples", k, hist[k]);
        for (int i = 0; i < 10; i++)
            EXPECT(d.y[i] == (split ? first_test : first_train)[i], "label %d: %d",
                   i, d.y[i]);
        double sum = 0, lo = 1, hi = 0;
        for (long i = 0; i < (long)d.n * 784; i++) {
            sum += d.x[i];
            lo = fmin(lo, d.x[i]);
            hi = fmax(hi, d.x[i]);
        }
        EXPECT(lo == 0 && hi == 1, "pixels in [%g, %g]", lo, hi);
        EXPECT(fabs(sum / ((double)d.n * 784) - 0.286) < 0.01,
               "mean pixel %.4f, Fashion-MNIST's is about 0.286",
               sum / ((double)d.n * 784));
        if (!split) {
            /* Image 0 (an ankle boot): blank corner, 76247 / 255 in all. */
            double s0 = 0;
            for (int k = 0; k < 784; k++)
                s0 += d.x[k] * 255.0;
            EXPECT(d.x[0] == 0 && d.x[1] == 0 && d.x[27] == 0, "corner pixels");
            EXPECT(fabs(s0 - 76247) < 0.05, "image 0 sums to %.3f, expected 76247", s0);
            EXPECT(d.x[3 * 28 + 12] == u8(1) && d.x[3 * 28 + 15] == u8(13) &&
                   d.x[3 * 28 + 16] == u8(73), "pixels of row 3");
        }
        dataset_free(&d);
    }
}

/* ---- split, statistics, gather ------------------------------------------- */

/* x = (i, -i) for example i: the values name the original index. */
static void make_indexed(Dataset *d, int n)
{
    HgErr err;
    HG_CHECK(dataset_alloc(d, n, 2, 1, 1, 10, &err) == 0, "%s", err.msg);
    for (int i = 0; i < n; i++) {
        d->x[2 * i] = (real)i;
        d->x[2 * i + 1] = (real)-i;
        d->y[i] = i % 10;
    }
}

static void test_split(void)
{
    const int n = 100, n_val = 30;
    const uint64_t seed = 7;
    Dataset full, tr, va, tr2, va2;
    make_indexed(&full, n);
    HgErr err;
    EXPECT(dataset_split(&full, n_val, seed, &tr, &va, &err) == 0, "%s", err.msg);
    EXPECT(tr.n == n - n_val && va.n == n_val && tr.c == 2 && va.classes == 10,
           "sizes %d + %d", tr.n, va.n);
    int seen[100] = { 0 }, in_val[100] = { 0 };
    for (int part = 0; part < 2; part++) {
        const Dataset *s = part ? &va : &tr;
        int last = -1;
        for (int k = 0; k < s->n; k++) {
            int i = (int)s->x[2 * k];
            EXPECT(i >= 0 && i < n && s->x[2 * k + 1] == -i && s->y[k] == i % 10,
                   "row %d of part %d", k, part);
            EXPECT(i > last, "part %d not in original order at %d", part, k);
            last = i;
            if (i >= 0 && i < n) {
                seen[i]++;
                in_val[i] = part;
            }
        }
    }
    for (int i = 0; i < n; i++)
        EXPECT(seen[i] == 1, "example %d appears %d times", i, seen[i]);
    /* val = the first n_val of rng_seed(seed)'s permutation. */
    int perm[100];
    for (int i = 0; i < n; i++)
        perm[i] = i;
    Rng r = rng_seed(seed);
    rng_shuffle_int(&r, perm, n);
    for (int k = 0; k < n_val; k++)
        EXPECT(in_val[perm[k]] == 1, "perm[%d] = %d not in val", k, perm[k]);

    EXPECT(dataset_split(&full, n_val, seed, &tr2, &va2, &err) == 0, "%s", err.msg);
    EXPECT(memcmp(tr.x, tr2.x, sizeof(real) * 2 * tr.n) == 0 &&
           memcmp(va.y, va2.y, sizeof(int32_t) * va.n) == 0, "same seed, same split");
    dataset_free(&tr2);
    dataset_free(&va2);
    EXPECT(dataset_split(&full, n_val, seed + 1, &tr2, &va2, &err) == 0, "%s", err.msg);
    EXPECT(memcmp(va.x, va2.x, sizeof(real) * 2 * va.n) != 0, "another seed, another split");
    dataset_free(&tr2);
    dataset_free(&va2);

    size_t before = mem_current(MEM_DATA);
    scribble(&tr2);
    scribble(&va2);
    EXPECT_FAIL(dataset_split(&full, 0, seed, &tr2, &va2, &err), err, &tr2, NULL,
                "n_val = 0 must be in [1, 100)", before);
    EXPECT(dataset_is_zero(&va2), "val zeroed");
    EXPECT_FAIL(dataset_split(&full, n, seed, &tr2, &va2, &err), err, &va2, NULL,
                "n_val = 100", before);
    dataset_free(&tr);
    dataset_free(&va);
    dataset_free(&full);
}

static void test_stats_normalize_gather(void)
{
    HgErr err;
    Dataset d;
    /* Two examples of 2 channels x 2 values: channel 0 holds 1..4, channel 1
     * is constant (std 0, treated as 1). */
    HG_CHECK(dataset_alloc(&d, 2, 2, 1, 2, 2, &err) == 0, "%s", err.msg);
    const real v[8] = { 1, 2, 5, 5, 3, 4, 5, 5 };
    memcpy(d.x, v, sizeof v);
    double mean[3], std[3];
    dataset_channel_stats(&d, mean, std);
    EXPECT(mean[0] == 2.5 && fabs(std[0] - sqrt(1.25)) < 1e-15 && mean[1] == 5 &&
           std[1] == 0, "stats %g %g %g %g", mean[0], std[0], mean[1], std[1]);
    dataset_normalize(&d, mean, std);
    EXPECT_REL(d.x[0], -1.5 / sqrt(1.25), 1e-6, 1e-12, "x[0] normalised");
    EXPECT(d.x[2] == 0 && d.x[7] == 0, "constant channel -> 0");
    dataset_free(&d);

    HG_CHECK(synthetic_make(200, 3, 4, 4, 5, 0.7, 11, &d, &err) == 0, "%s", err.msg);
    dataset_channel_stats(&d, mean, std);
    dataset_normalize(&d, mean, std);
    dataset_channel_stats(&d, mean, std);
    for (int c = 0; c < 3; c++) {
        EXPECT(fabs(mean[c]) < 1e-6, "channel %d mean %g", c, mean[c]);
        EXPECT_REL(std[c], 1.0, 1e-5, 0, "channel std");
    }

    int idx[3] = { 7, 0, 199 };
    real xb[3 * 48];
    int32_t yb[3];
    dataset_gather(&d, idx, 3, xb, yb);
    for (int k = 0; k < 3; k++) {
        EXPECT(memcmp(xb + k * 48, d.x + idx[k] * 48, 48 * sizeof(real)) == 0,
               "gathered row %d", k);
        EXPECT(yb[k] == d.y[idx[k]], "gathered label %d", k);
    }
    dataset_free(&d);
}

/* ---- batch order ---------------------------------------------------------- */

static void test_batch_order(void)
{
    const int n = 10, batch = 3, epochs = 4;
    const uint64_t seed = 5;
    HgErr err;
    BatchOrder a, b;
    EXPECT(batch_order_init(&a, n, batch, seed, &err) == 0, "%s", err.msg);
    EXPECT(batch_order_init(&b, n, batch, seed, &err) == 0, "%s", err.msg);
    EXPECT(a.per_epoch == 3, "per_epoch %d (last partial batch dropped)", a.per_epoch);
    int steps[4 * 3][3];
    for (long t = 0; t < (long)epochs * a.per_epoch; t++)
        memcpy(steps[t], batch_order_step(&a, t), sizeof steps[t]);
    for (int e = 0; e < epochs; e++) {
        int seen[10] = { 0 };
        for (int s = 0; s < a.per_epoch; s++)
            for (int k = 0; k < batch; k++) {
                int i = steps[e * a.per_epoch + s][k];
                EXPECT(i >= 0 && i < n, "index %d", i);
                if (i >= 0 && i < n)
                    seen[i]++;
            }
        int distinct = 0;
        for (int i = 0; i < n; i++) {
            EXPECT(seen[i] <= 1, "epoch %d: %d seen %d times", e, i, seen[i]);
            distinct += seen[i] == 1;
        }
        EXPECT(distinct == a.per_epoch * batch, "epoch %d: %d distinct", e, distinct);
    }
    EXPECT(memcmp(steps[0], steps[3], sizeof steps[0]) != 0 ||
           memcmp(steps[1], steps[4], sizeof steps[1]) != 0,
           "epochs 0 and 1 in the same order");
    /* A pure function of t: b asked out of order gives a's answers. */
    const long order[] = { 7, 0, 11, 3, 7, 2, 9, 1 };
    for (int k = 0; k < ARRAY_LEN(order); k++)
        EXPECT(memcmp(batch_order_step(&b, order[k]), steps[order[k]],
                      sizeof steps[0]) == 0, "step %ld", order[k]);
    batch_order_free(&b);
    EXPECT(batch_order_init(&b, n, batch, seed + 1, &err) == 0, "%s", err.msg);
    EXPECT(memcmp(batch_order_step(&b, 0), steps[0], sizeof steps[0]) != 0 ||
           memcmp(batch_order_step(&b, 1), steps[1], sizeof steps[1]) != 0,
           "another seed, the same batches");
    batch_order_free(&b);
    batch_order_free(&a);
    batch_order_free(&a); /* zeroed: a no-op */

    EXPECT(batch_order_init(&b, n, n, seed, &err) == 0 && b.per_epoch == 1,
           "batch = n");
    batch_order_free(&b);
    size_t before = mem_current(MEM_DATA);
    EXPECT_FAIL(batch_order_init(&b, n, n + 1, seed, &err), err, NULL, NULL,
                "batch size 11 must be in [1, 10]", before);
    EXPECT_FAIL(batch_order_init(&b, n, 0, seed, &err), err, NULL, NULL,
                "batch size 0", before);
    EXPECT(!b.perm, "no perm after a failed init");
}

/* ---- synthetic ------------------------------------------------------------ */

static void test_synthetic(void)
{
    HgErr err;
    Dataset a, b, c;
    EXPECT(synthetic_make(100, 2, 3, 3, 4, 0.5, 42, &a, &err) == 0, "%s", err.msg);
    EXPECT(synthetic_make(100, 2, 3, 3, 4, 0.5, 42, &b, &err) == 0, "%s", err.msg);
    EXPECT(synthetic_make(100, 2, 3, 3, 4, 0.5, 43, &c, &err) == 0, "%s", err.msg);
    EXPECT(a.n == 100 && a.c == 2 && a.h == 3 && a.w == 3 && a.classes == 4, "shape");
    EXPECT(memcmp(a.x, b.x, sizeof(real) * 100 * 18) == 0 &&
           memcmp(a.y, b.y, sizeof(int32_t) * 100) == 0, "same seed, same bytes");
    EXPECT(memcmp(a.x, c.x, sizeof(real) * 100 * 18) != 0, "another seed, same x");
    int hist[4] = { 0 }, sorted = 1;
    for (int i = 0; i < 100; i++) {
        EXPECT(a.y[i] >= 0 && a.y[i] < 4, "label %d", a.y[i]);
        hist[a.y[i] & 3]++;
        sorted &= i == 0 || a.y[i] >= a.y[i - 1];
    }
    for (int k = 0; k < 4; k++)
        EXPECT(hist[k] == 25, "class %d: %d examples", k, hist[k]);
    EXPECT(!sorted, "labels shuffled");
    dataset_free(&a);
    dataset_free(&b);
    dataset_free(&c);

    /* noise 0: every example is its class mean. */
    EXPECT(synthetic_make(20, 1, 2, 2, 3, 0.0, 1, &a, &err) == 0, "%s", err.msg);
    for (int i = 1; i < 20; i++)
        for (int j = 0; j < i; j++)
            if (a.y[i] == a.y[j])
                EXPECT(memcmp(a.x + 4 * i, a.x + 4 * j, 4 * sizeof(real)) == 0,
                       "examples %d and %d of class %d differ", i, j, a.y[i]);
    dataset_free(&a);

    size_t before = mem_current(MEM_DATA);
    scribble(&a);
    EXPECT_FAIL(synthetic_make(0, 1, 1, 1, 2, 1, 1, &a, &err), err, &a, NULL,
                "n = 0 examples, must be > 0", before);
    EXPECT_FAIL(synthetic_make(10, 1, 1, 1, 1, 1, 1, &a, &err), err, &a, NULL,
                "1 classes, must be >= 2", before);
    EXPECT_FAIL(synthetic_make(10, 1, 0, 1, 2, 1, 1, &a, &err), err, &a, NULL,
                "shape 1x0x1", before);
    EXPECT_FAIL(synthetic_make(10, 1, 1, 1, 2, -1, 1, &a, &err), err, &a, NULL,
                "noise -1", before);
    EXPECT_FAIL(synthetic_make(10, 1, 1, 1, 2, NAN, 1, &a, &err), err, &a, NULL,
                "noise nan", before);
}

/* ---- failed allocations --------------------------------------------------- */

/* Each allocation of each loader in turn fails: the loader must return -1,
 * free what it had, and leave *out zeroed. */
static void test_alloc_failures(void)
{
    char gi[PATH_LEN], gl[PATH_LEN], mz[PATH_LEN], mp[PATH_LEN], cf[PATH_LEN];
    Buf im = { 0 }, lb = { 0 }, m = { 0 }, c = { 0 };
    idx_images(&im, 4, 6, 6, 4);
    idx_labels(&lb, 4, 4);
    idx_write(&im, &lb, "oom", 1, gi, gl);
    svhn_build(&m, &(SvhnSpec){ .n = 30, .compress = 1 });
    write_file(tpath(mz, "oom-z.mat"), m.p, m.n);
    buf_free(&m);
    svhn_build(&m, &(SvhnSpec){ .n = 2, .compress = 0 });
    write_file(tpath(mp, "oom-plain.mat"), m.p, m.n);
    cifar_records(&c, 0, 2);
    write_file(tpath(cf, "oom.bin"), c.p, c.n);
    const char *cpaths[] = { cf, cf };
    Dataset full;
    make_indexed(&full, 20);

    for (int which = 0; which < 6; which++) {
        int failures = 0, ok = 0;
        for (long k = 1; k < 100 && !ok; k++) {
            size_t before = mem_current(MEM_DATA);
            HgErr err = { { 0 } };
            Dataset d, v;
            scribble(&d);
            mem_fail_after(k);
            int rc;
            switch (which) {
            case 0: rc = idx_load(gi, gl, &d, &err); break;
            case 1: rc = svhn_load(mz, &d, &err); break;
            case 2: rc = svhn_load(mp, &d, &err); break;
            case 3: rc = cifar10_load(cpaths, 2, &d, &err); break;
            case 4: rc = synthetic_make(10, 1, 2, 2, 2, 1, 3, &d, &err); break;
            default: rc = dataset_split(&full, 5, 1, &d, &v, &err); break;
            }
            mem_fail_after(0);
            if (rc == 0) {
                ok = 1;
                dataset_free(&d);
                if (which == 5)
                    dataset_free(&v);
                continue;
            }
            failures++;
            EXPECT_FAIL(rc, err, &d, NULL, "out of memory", before);
        }
        EXPECT(ok && failures > 0, "loader %d: %d injected failures, then %s",
               which, failures, ok ? "success" : "no success");
    }
    dataset_free(&full);
    buf_free(&im);
    buf_free(&lb);
    buf_free(&m);
    buf_free(&c);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_idx_plain_and_gzip),
        TEST(test_idx_corrupt),
        TEST(test_idx_huge_header),
        TEST(test_svhn_compressed),
        TEST(test_svhn_uncompressed),
        TEST(test_svhn_single_image),
        TEST(test_svhn_corrupt),
        TEST(test_cifar10),
        TEST(test_dataset_load_names),
        TEST(test_fashion_mnist_installed),
        TEST(test_split),
        TEST(test_stats_normalize_gather),
        TEST(test_batch_order),
        TEST(test_synthetic),
        TEST(test_alloc_failures),
    };
    int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    if (tmp_root[0])
        rm_rf(tmp_root);
    return rc;
}
