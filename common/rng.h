/* rng.h — seeded, portable random numbers (xoshiro256**, seeded by
 * splitmix64). The same seed gives the same stream on every machine, so
 * inits, batch orders and synthetic data are reproducible bit for bit. */
#ifndef HG_RNG_H
#define HG_RNG_H

#include <stdint.h>

typedef struct Rng {
    uint64_t s[4];
} Rng;

Rng rng_seed(uint64_t seed);
uint64_t rng_next(Rng *r);
double rng_uniform(Rng *r);            /* [0, 1), 53 random bits */
double rng_normal(Rng *r);             /* N(0, 1), Box-Muller */
uint64_t rng_below(Rng *r, uint64_t n); /* uniform in [0, n), unbiased */
void rng_shuffle_int(Rng *r, int *a, int n); /* Fisher-Yates */

#endif
