/* label_noise.h — corrupted labels for data hyper-cleaning (Franceschi et
 * al. 2017, section 5.1; the benchopt bilevel benchmark's data cleaning).
 *
 * Two conventions, both seeded (the seed is the problem layer's,
 * harness/problem.h):
 *   LABEL_NOISE_OTHER    exactly round(p n) examples, a uniform choice of
 *                        subset, each given a uniformly drawn *other* class
 *                        (Franceschi et al.: "half of the labels corrupted")
 *   LABEL_NOISE_UNIFORM  each example independently, with probability p,
 *                        given a uniformly drawn class among all of them,
 *                        possibly its own (benchopt's datasets/mnist.py)
 * changed[i] = 1 where the label now differs from the one in the file: the
 * ground truth a detector of corrupted labels is scored against (under
 * UNIFORM, about p / classes of the drawn labels are the old one).
 * Draw order (fixed, so a seed means the same labels everywhere): OTHER
 * shuffles the indices 0..n-1 (Fisher-Yates) and takes the first round(p n),
 * then draws their classes in index order; UNIFORM draws, example by
 * example, a uniform number, and a class when it falls below p.
 */
#ifndef HG_LABEL_NOISE_H
#define HG_LABEL_NOISE_H

#include <stdint.h>

#include "../common/check.h"
#include "dataset.h"

typedef enum LabelNoiseMode { LABEL_NOISE_OTHER, LABEL_NOISE_UNIFORM } LabelNoiseMode;

const char *label_noise_mode_name(LabelNoiseMode m); /* "other", "uniform" */

/* "P" or "P:other" or "P:uniform", P in [0, 1]: 0, or -1 naming flag. */
int label_noise_parse(const char *flag, const char *spec, double *p, LabelNoiseMode *mode,
                      HgErr *err);

/* Corrupts d's labels in place as above; changed [d->n] (may be NULL).
 * Returns how many labels differ from before. d needs >= 2 classes. */
int label_noise_apply(Dataset *d, double p, LabelNoiseMode mode, uint64_t seed,
                      uint8_t *changed);

#endif
