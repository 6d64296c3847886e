/* round_noise.h — float32-sized noise at every step of a float64 run
 * (hgbench hypergrad --round-noise sr32): after each inner update every
 * entry of w_{t+1} and v_{t+1} is rounded stochastically to one of the two
 * float32 values around it, lo <= x <= hi, the upper one with probability
 * (x - lo) / (hi - lo). The rounded value is x on average (unbiased) and
 * off by at most one float32 ulp, so the run carries rounding of float32's
 * size at every step, as a float32 run does, while its arithmetic and the
 * hypergradient stay float64: the reference that float32's own gap is
 * compared with (scripts/bench-conditioning.sh).
 *
 * The draw for entry i of buffer b (0: w, 1: v) at step t is a hash of
 * (seed, t, b, i), not a stream: a step recomputed (the checkpoint engine)
 * rounds to the same bits, and threads need no shared state.
 * Leaves out: values beyond float32's range (kept as they are: a diverging
 * run fails its finiteness check anyway), other target precisions.
 */
#ifndef HG_ROUND_NOISE_H
#define HG_ROUND_NOISE_H

#include <stdint.h>

#include "../common/real.h"

typedef enum RoundNoise { ROUND_NOISE_OFF = 0, ROUND_NOISE_SR32 = 1 } RoundNoise;

/* "off" or "sr32" -> *out: 0, or -1 for another name. */
int round_noise_parse(const char *name, RoundNoise *out);
const char *round_noise_name(RoundNoise r);

/* x rounded to the float32 value below or above it: the one above when
 * u < (x - lo) / (hi - lo), u in [0, 1). x already float32-representable
 * (and x beyond float32's largest finite value, or not finite) is returned
 * as it is. */
double round_noise_sr32(double x, double u);

/* The uniform in [0, 1) drawn for entry i of buffer b at step t (53 bits). */
double round_noise_uniform(uint64_t seed, long t, int b, long i);

/* x[0..n) rounded in place by round_noise_sr32 with the draws of (seed, t, b). */
void round_noise_apply(real *x, long n, uint64_t seed, long t, int b);

#endif
