/* fuzz_learn.c — libFuzzer harness of the --learn spec parser
 * (hypergrad_parse_learn and _per, cli/hypergrad_flags.c) and the --schedule shape
 * parser (schedule_shape_parse, harness/hyper.c). Input: a first byte
 * choosing T (1..256) and the parser, then the spec (cut at a NUL). */
#include <stdlib.h>
#include <string.h>

#include "../../cli/cli_hypergrad.h"
#include "../../harness/hyper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *spec = malloc(size);
    if (!spec)
        abort();
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';
    const int T = data[0] % 128 + 1;
    if (data[0] & 128) {
        ScheduleShape s;
        (void)schedule_shape_parse(spec, &s);
    } else {
        int K[HYPER_KINDS];
        HyperPer per[HYPER_KINDS];
        HgErr err = {{0}};
        if (hypergrad_parse_learn_per(spec, T, K, per, &err) == 0) {
            for (int k = 0; k < HYPER_KINDS; k++)
                if (K[k] < 0 || K[k] > T || (unsigned)per[k] >= HYPER_PERS ||
                    (per[k] == HYPER_PER_WEIGHT && k != HYPER_WD))
                    abort();
        } else if (!err.msg[0]) {
            abort();
        }
        err.msg[0] = '\0'; /* the per-run parser refuses what has a '/' */
        if (hypergrad_parse_learn(spec, T, K, &err) == 0) {
            if (strchr(spec, '/'))
                abort();
        } else if (!err.msg[0]) {
            abort();
        }
    }
    free(spec);
    return 0;
}
