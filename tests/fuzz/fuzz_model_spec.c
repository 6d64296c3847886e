/* fuzz_model_spec.c — libFuzzer harness of model_by_name (models/zoo.c):
 * the model spec (logreg, lenet, mlp[:H1,H2,...][:tanh|relu]). Input: the
 * spec's text (cut at the first NUL), for a 1x8x8 input and 10 classes.
 * Specs whose hidden layers would need more than 2^26 weights in all are
 * left out: they are valid, and only big. */
#include <stdlib.h>
#include <string.h>

#include "../../models/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The weights an mlp spec asks for, as the parser reads its numbers (a
 * rough upper bound: every run of digits is a layer). */
static double weights_bound(const char *s)
{
    double total = 0, prev = 64;
    while (*s) {
        if (*s >= '0' && *s <= '9') {
            char *end;
            const double h = strtod(s, &end);
            total += prev * h;
            prev = h;
            s = end;
        } else {
            s++;
        }
    }
    return total + prev * 10;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    if (!spec)
        abort();
    memcpy(spec, data, size);
    spec[size] = '\0';
    if (weights_bound(spec) <= (double)(1 << 26)) {
        HgErr err = {{0}};
        const Shape in = {1, 8, 8};
        Model *m = model_by_name(spec, in, 10, &err);
        if (m)
            model_free(m);
        else if (!err.msg[0])
            abort();
    }
    free(spec);
    return 0;
}
