/* fuzz_file.h — for the libFuzzer harnesses of parsers that read from a
 * path: the input bytes written to a per-process temporary file, reused
 * (rewritten and truncated) every run, removed at exit.
 */
#ifndef HG_FUZZ_FILE_H
#define HG_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../datasets/dataset.h"

#define FUZZ_MAX_FILES 4
static char fuzz_paths[FUZZ_MAX_FILES][96];

static void fuzz_remove_files(void)
{
    for (int i = 0; i < FUZZ_MAX_FILES; i++)
        if (fuzz_paths[i][0])
            unlink(fuzz_paths[i]);
}

/* Writes len bytes to temporary file `slot`; returns its path. Aborts if
 * the file cannot be written (not the parser's fault: stop the run). */
static const char *fuzz_file(int slot, const uint8_t *data, size_t len)
{
    if (!fuzz_paths[slot][0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(fuzz_paths[slot], sizeof fuzz_paths[slot], "%s/hgfuzz-%ld-%d",
                 dir && *dir ? dir : "/tmp", (long)getpid(), slot);
        static int registered;
        if (!registered++)
            atexit(fuzz_remove_files);
    }
    FILE *f = fopen(fuzz_paths[slot], "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f)) {
        perror(fuzz_paths[slot]);
        abort();
    }
    return fuzz_paths[slot];
}

/* Splits data at a point given by its first two bytes (little-endian,
 * modulo the rest's length + 1): a and b are the two parts after them. */
static inline int fuzz_split2(const uint8_t *data, size_t size, const uint8_t **a,
                              size_t *na, const uint8_t **b, size_t *nb)
{
    if (size < 2)
        return -1;
    const size_t rest = size - 2, cut = ((size_t)data[0] | (size_t)data[1] << 8) % (rest + 1);
    *a = data + 2;
    *na = cut;
    *b = data + 2 + cut;
    *nb = rest - cut;
    return 0;
}

/* A loader's outcome, held to its contract (aborts otherwise): loaded, at
 * least one example with its arrays, of shape c x h x w (c = 0: any), every
 * label < classes, then freed; failed, a message and nothing allocated. */
static inline void fuzz_check_load(int rc, Dataset *d, const HgErr *err, int c, int h, int w)
{
    if (rc != 0) {
        if (!err->msg[0] || d->x || d->y)
            abort();
        return;
    }
    if (d->n < 1 || !d->x || !d->y || (c && (d->c != c || d->h != h || d->w != w)))
        abort();
    for (int i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= d->classes)
            abort();
    dataset_free(d);
}

#endif
