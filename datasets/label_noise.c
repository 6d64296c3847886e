/* label_noise.c — seeded label corruption (see label_noise.h). */
#include "label_noise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../common/rng.h"

const char *label_noise_mode_name(LabelNoiseMode m)
{
    return m == LABEL_NOISE_UNIFORM ? "uniform" : "other";
}

int label_noise_parse(const char *flag, const char *spec, double *p, LabelNoiseMode *mode,
                      HgErr *err)
{
    char *end = NULL;
    const double v = strtod(spec, &end);
    if (end == spec || !(v >= 0 && v <= 1))
        return hg_fail(err, "%s '%s': expected a fraction in [0, 1], optionally followed by "
                       ":other or :uniform (as 0.5:uniform)", flag, spec);
    *mode = LABEL_NOISE_OTHER;
    if (*end == ':' && !strcmp(end + 1, "uniform"))
        *mode = LABEL_NOISE_UNIFORM;
    else if (*end && !(*end == ':' && !strcmp(end + 1, "other")))
        return hg_fail(err, "%s '%s': unknown convention '%s' (valid: :other, a different "
                       "class for exactly P n examples; :uniform, each example with "
                       "probability P a class drawn among all)", flag, spec, end);
    *p = v;
    return 0;
}

/* A class drawn uniformly among the classes other than y. */
static int32_t other_class(Rng *r, int classes, int32_t y)
{
    const int32_t k = (int32_t)rng_below(r, (uint64_t)classes - 1);
    return k >= y ? k + 1 : k;
}

int label_noise_apply(Dataset *d, double p, LabelNoiseMode mode, uint64_t seed,
                      uint8_t *changed)
{
    HG_CHECK(d->classes >= 2, "label noise needs two classes or more (%d)", d->classes);
    const int n = d->n;
    if (changed)
        memset(changed, 0, (size_t)n);
    Rng r = rng_seed(seed);
    int count = 0;
    if (mode == LABEL_NOISE_OTHER) {
        const int m = (int)lround(p * n);
        int *perm = mem_alloc(MEM_DATA, sizeof(int) * (size_t)(n > 0 ? n : 1));
        uint8_t *pick = mem_alloc(MEM_DATA, (size_t)(n > 0 ? n : 1));
        memset(pick, 0, (size_t)(n > 0 ? n : 1));
        for (int i = 0; i < n; i++)
            perm[i] = i;
        rng_shuffle_int(&r, perm, n);
        for (int i = 0; i < m; i++)
            pick[perm[i]] = 1;
        for (int i = 0; i < n; i++)
            if (pick[i]) {
                d->y[i] = other_class(&r, d->classes, d->y[i]);
                count++;
                if (changed)
                    changed[i] = 1;
            }
        mem_free(pick);
        mem_free(perm);
        return count;
    }
    for (int i = 0; i < n; i++) {
        if (!(rng_uniform(&r) < p))
            continue;
        const int32_t y = (int32_t)rng_below(&r, (uint64_t)d->classes);
        if (y != d->y[i]) {
            d->y[i] = y;
            count++;
            if (changed)
                changed[i] = 1;
        }
    }
    return count;
}
