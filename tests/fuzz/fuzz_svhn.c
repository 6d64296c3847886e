/* fuzz_svhn.c — libFuzzer harness of svhn_load (datasets/svhn.c): a MATLAB
 * level-5 .mat, its miCOMPRESSED (zlib) elements included. Input: the file. */
#include "../../datasets/dataset.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Dataset d = {0};
    HgErr err = {{0}};
    fuzz_check_load(svhn_load(fuzz_file(0, data, size), &d, &err), &d, &err, 3, 32, 32);
    return 0;
}
