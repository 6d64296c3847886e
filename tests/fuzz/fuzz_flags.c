/* fuzz_flags.c — libFuzzer harness of flags_parse and flags_parse_known
 * (common/flags.c) over a table with every kind of flag. Input: the argument
 * words, separated by NUL bytes (argv[0] is "fuzz"); a first byte with its
 * low bit set picks flags_parse_known. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/flags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static int parse_pair(const char *flag, const char *value, void *target, HgErr *err)
{
    double *p = target; /* "A:B", two reals */
    const char *colon = strchr(value, ':');
    if (!colon)
        return hg_fail(err, "%s '%s': want A:B", flag, value);
    char a[64];
    const size_t n = (size_t)(colon - value);
    if (n >= sizeof a)
        return hg_fail(err, "%s: too long", flag);
    memcpy(a, value, n);
    a[n] = '\0';
    if (flags_parse_real(flag, a, -INFINITY, INFINITY, 0, &p[0], err) ||
        flags_parse_real(flag, colon + 1, 0, 1, 1, &p[1], err))
        return -1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const modes[] = {"val", "train", "both", NULL};
    int steps = 100, mode = 0, kahan = 0, help = 0, ints[4] = {0}, nints = 0, given = 0;
    double lr = 0.1, wd = 0, pair[2] = {0};
    uint64_t seed = 0;
    const char *path = NULL, *note = NULL, *chosen = NULL;
    const Flag table[] = {
        {"--steps", "T", "100", "steps", FLAG_INT, .target = &steps, .lo = 1, .hi = 10000000,
         .given = &given},
        {"--lr", "LR", "0.1", "rate", FLAG_REAL, .target = &lr, .lo = 0, .hi = INFINITY,
         .open_lo = 1},
        {"--wd", "WD", "0", "decay", FLAG_REAL, .target = &wd, .lo = 0, .hi = 1},
        {"--seed", "S", "0", "seed", FLAG_SEED, .target = &seed},
        {"--json", "PATH", NULL, "output", FLAG_STRING, .target = &path},
        {"--note", "TEXT", NULL, "note", FLAG_STRING, .target = &note, .empty_ok = 1},
        {"--mode", "M", "val", "mode", FLAG_CHOICE, .target = &mode, .choices = modes,
         .chosen = &chosen},
        {"--horizons", "LIST", NULL, "list", FLAG_INTS, .target = ints, .lo = -5, .hi = 1000,
         .count = &nints, .max = 4},
        {"--kahan", NULL, NULL, "switch", FLAG_SWITCH, .target = &kahan},
        {"--pair", "A:B", NULL, "pair", FLAG_FUNC, .target = pair, .parse = parse_pair},
        {"--help", NULL, NULL, "help", FLAG_SWITCH, .target = &help},
        {0},
    };
    if (size < 1)
        return 0;
    /* the words: a NUL-terminated copy, split at NULs */
    char *buf = malloc(size);
    if (!buf)
        abort();
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *argv[MAX_ARGS + 1], *rest[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "fuzz";
    for (char *p = buf; p < buf + size - 1 && argc < MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    if (size == 1)
        argc = 1;
    argv[argc] = NULL;
    HgErr err = {{0}};
    int rc, nrest = 0;
    if (data[0] & 1) {
        rc = flags_parse_known(table, argc, argv, &nrest, rest, &err);
        if (rc == 0 && (nrest < 1 || nrest > argc || rest[nrest] != NULL))
            abort();
    } else {
        rc = flags_parse(table, argc, argv, &err);
    }
    if (rc == 0) {
        if (steps < 1 || steps > 10000000 || !(lr > 0) || !isfinite(lr) || wd < 0 || wd > 1 ||
            mode < 0 || mode > 2 || nints < 0 || nints > 4 || (path && !*path))
            abort();
        for (int i = 0; i < nints; i++)
            if (ints[i] < -5 || ints[i] > 1000)
                abort();
    } else if (!err.msg[0]) {
        abort();
    }
    if (data[0] & 2) { /* the usage printer too, over the same table */
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            flags_usage(null, table);
            fclose(null);
        }
    }
    free(buf);
    return 0;
}
