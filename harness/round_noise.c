/* round_noise.c — stochastic rounding to float32's grid (round_noise.h). */
#include "round_noise.h"

#include <float.h>
#include <math.h>
#include <string.h>

int round_noise_parse(const char *name, RoundNoise *out)
{
    if (!strcmp(name, "off")) *out = ROUND_NOISE_OFF;
    else if (!strcmp(name, "sr32")) *out = ROUND_NOISE_SR32;
    else return -1;
    return 0;
}

const char *round_noise_name(RoundNoise r)
{
    return r == ROUND_NOISE_SR32 ? "sr32" : "off";
}

double round_noise_sr32(double x, double u)
{
    if (!(fabs(x) <= FLT_MAX)) /* NaN, inf, beyond float32's range */
        return x;
    const float near = (float)x;
    if ((double)near == x)
        return x;
    /* lo < x < hi, adjacent float32 values; x - lo and hi - lo are exact
     * in double (Sterbenz), so p is x's position between them */
    const float lo = (double)near < x ? near : nextafterf(near, -INFINITY);
    const float hi = (double)near > x ? near : nextafterf(near, INFINITY);
    const double p = (x - (double)lo) / ((double)hi - (double)lo);
    return u < p ? (double)hi : (double)lo;
}

/* splitmix64's finaliser: a bijection of 64 bits that mixes every input bit */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double round_noise_uniform(uint64_t seed, long t, int b, long i)
{
    const uint64_t step = mix(seed ^ mix(((uint64_t)t << 1 | (uint64_t)(b & 1)) + 0x9e3779b97f4a7c15ULL));
    return (double)(mix(step + (uint64_t)i * 0x9e3779b97f4a7c15ULL) >> 11) * 0x1.0p-53;
}

void round_noise_apply(real *x, long n, uint64_t seed, long t, int b)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        x[i] = (real)round_noise_sr32((double)x[i], round_noise_uniform(seed, t, b, i));
}
