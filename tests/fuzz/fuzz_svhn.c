/* fuzz_svhn.c — libFuzzer harness of svhn_load (datasets/svhn.c): a MATLAB
 * level-5 .mat, its miCOMPRESSED (zlib) elements included. Input: the file. */
#include "../../datasets/dataset.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Dataset d = {0};
    HgErr err = {{0}};
    if (svhn_load(fuzz_file(0, data, size), &d, &err) == 0) {
        if (d.n < 1 || d.c != 3 || d.h != 32 || d.w != 32)
            abort();
        for (int i = 0; i < d.n; i++)
            if (d.y[i] < 0 || d.y[i] >= d.classes)
                abort();
        dataset_free(&d);
    } else if (!err.msg[0] || d.x || d.y) {
        abort();
    }
    return 0;
}
