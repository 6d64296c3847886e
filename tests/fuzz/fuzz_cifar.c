/* fuzz_cifar.c — libFuzzer harness of cifar10_load (datasets/cifar10.c):
 * binary batches, two files concatenated. Input: a 2-byte split point
 * (fuzz_split2), then the first file's bytes, then the second's. */
#include "../../datasets/dataset.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *a, *b;
    size_t na, nb;
    if (fuzz_split2(data, size, &a, &na, &b, &nb))
        return 0;
    const char *paths[2] = {fuzz_file(0, a, na), fuzz_file(1, b, nb)};
    Dataset d = {0};
    HgErr err = {{0}};
    fuzz_check_load(cifar10_load(paths, 2, &d, &err), &d, &err, 3, 32, 32);
    return 0;
}
