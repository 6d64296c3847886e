/* fuzz_idx.c — libFuzzer harness of idx_load (datasets/idx.c): IDX images
 * and labels, plain or gzip. Input: a 2-byte split point (fuzz_split2),
 * then the images file's bytes, then the labels file's. */
#include "../../datasets/dataset.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *im, *lb;
    size_t nim, nlb;
    if (fuzz_split2(data, size, &im, &nim, &lb, &nlb))
        return 0;
    const char *ip = fuzz_file(0, im, nim), *lp = fuzz_file(1, lb, nlb);
    Dataset d = {0};
    HgErr err = {{0}};
    fuzz_check_load(idx_load(ip, lp, &d, &err), &d, &err, 0, 0, 0);
    return 0;
}
