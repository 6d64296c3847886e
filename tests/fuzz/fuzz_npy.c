/* fuzz_npy.c — libFuzzer harness of io/npy.c: npy_read on the input as a
 * .npy file; whatever it accepts is written back with npy_write and read
 * again, and must come back identical (the writer/reader round trip). */
#include <stdlib.h>
#include <string.h>

#include "../../io/npy.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t elem_size(const char *descr)
{
    return !strcmp(descr, NPY_F4) ? 4 : 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = fuzz_file(0, data, size);
    NpyArray a = {.data = NULL};
    HgErr err = {{0}};
    if (npy_read(in, &a, &err)) {
        if (!err.msg[0] || a.data)
            abort();
        return 0;
    }
    size_t count = 1;
    for (int i = 0; i < a.ndim; i++)
        count *= (size_t)a.shape[i];
    if (a.ndim < 0 || a.ndim > NPY_MAX_DIMS || count != a.count || (a.count && !a.data))
        abort();
    /* round trip: out through the writer (atomic: temp file, rename) */
    if (!fuzz_paths[1][0])
        fuzz_file(1, NULL, 0);
    char out[sizeof fuzz_paths[1] + 8];
    snprintf(out, sizeof out, "%s.npy", fuzz_paths[1]);
    if (npy_write(out, a.descr, a.shape, a.ndim, a.data, &err)) {
        fprintf(stderr, "npy_write refused what npy_read accepted: %s\n", err.msg);
        abort();
    }
    NpyArray b = {.data = NULL};
    if (npy_read(out, &b, &err)) {
        fprintf(stderr, "npy_read refused what npy_write wrote: %s\n", err.msg);
        abort();
    }
    remove(out);
    if (strcmp(a.descr, b.descr) || a.ndim != b.ndim || a.count != b.count ||
        memcmp(a.shape, b.shape, sizeof a.shape[0] * (size_t)a.ndim) ||
        (a.count && memcmp(a.data, b.data, a.count * elem_size(a.descr))))
        abort();
    npy_array_free(&a);
    npy_array_free(&b);
    return 0;
}
