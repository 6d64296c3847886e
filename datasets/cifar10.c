/* cifar10.c — CIFAR-10 binary batches (data_batch_*.bin, test_batch.bin).
 *
 * A file is a whole number of 3073-byte records: a label byte < 10, then
 * 3072 pixels as R, G and B planes of 32x32, rows first — already NCHW. The
 * files' sizes fix n before anything is allocated; several files are
 * concatenated in the order given.
 *
 * Leaves out CIFAR-100 (two label bytes) and the Python pickle version.
 */
#include "dataset.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/mem.h"

#define CIFAR_PIXELS 3072
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define CIFAR_CHUNK 256 /* records read at a time */

/* Size of a regular file, or -1 with err set. */
static long long cifar_size(const char *path, HgErr *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return hg_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return hg_fail(err, "%s: not a regular file", path);
    return (long long)st.st_size;
}

static int cifar_read(const char *path, long long records, Dataset *d,
                      long long first, unsigned char *buf, HgErr *err)
{
    real scale[256];
    for (int v = 0; v < 256; v++)
        scale[v] = (real)(v / 255.0);
    FILE *f = fopen(path, "rb");
    if (!f)
        return hg_fail(err, "%s: cannot open: %s", path, strerror(errno));
    int rc = 0;
    for (long long r = 0; r < records && rc == 0;) {
        long long k = records - r < CIFAR_CHUNK ? records - r : CIFAR_CHUNK;
        if (fread(buf, CIFAR_RECORD, (size_t)k, f) != (size_t)k) {
            rc = hg_fail(err, "%s: read failed at record %lld: %s", path, r,
                         ferror(f) ? strerror(errno) : "file shrank");
            break;
        }
        for (long long j = 0; j < k; j++, r++) {
            const unsigned char *rec = buf + j * CIFAR_RECORD;
            if (rec[0] >= 10) {
                rc = hg_fail(err, "%s: label %u at record %lld out of range "
                             "[0,10)", path, rec[0], r);
                break;
            }
            d->y[first + r] = rec[0];
            real *x = d->x + (first + r) * CIFAR_PIXELS;
            for (int p = 0; p < CIFAR_PIXELS; p++)
                x[p] = scale[rec[1 + p]];
        }
    }
    fclose(f);
    return rc;
}

int cifar10_load(const char *const *paths, int npaths, Dataset *out, HgErr *err)
{
    memset(out, 0, sizeof *out);
    if (npaths <= 0)
        return hg_fail(err, "cifar10: no batch files given");
    long long *records = mem_try_alloc(MEM_DATA, (size_t)npaths * sizeof *records);
    if (!records)
        return hg_fail(err, "cifar10: out of memory");
    unsigned char *buf = NULL;
    int rc = 0;
    long long total = 0;
    for (int i = 0; rc == 0 && i < npaths; i++) {
        long long size = cifar_size(paths[i], err);
        if (size < 0)
            rc = -1;
        else if (size == 0 || size % CIFAR_RECORD != 0)
            rc = hg_fail(err, "%s: size %lld bytes is not a positive multiple "
                         "of %d (1 label byte + %d pixels per record)",
                         paths[i], size, CIFAR_RECORD, CIFAR_PIXELS);
        else {
            records[i] = size / CIFAR_RECORD;
            total += records[i];
            if (total > INT_MAX)
                rc = hg_fail(err, "%s: more than %d records in all", paths[i],
                             INT_MAX);
        }
    }
    if (rc == 0)
        rc = dataset_alloc(out, (int)total, 3, 32, 32, 10, err);
    /* the read buffer: a chunk of records, or all of them if fewer (small
     * files, such as the fuzzer's, need not clear 787 KB each) */
    const long long chunk = total < CIFAR_CHUNK ? total : CIFAR_CHUNK;
    if (rc == 0 && !(buf = mem_try_alloc(MEM_DATA, (size_t)chunk * CIFAR_RECORD)))
        rc = hg_fail(err, "cifar10: out of memory");
    for (long long first = 0, i = 0; rc == 0 && i < npaths; i++) {
        rc = cifar_read(paths[i], records[i], out, first, buf, err);
        first += records[i];
    }
    mem_free(records);
    mem_free(buf);
    if (rc)
        dataset_free(out);
    return rc;
}
