/* problem.h — the one problem layer: a spec (names and seeds, as the
 * command-line flags give them) -> the data (loaded, a validation part held
 * out, both normalised), the model, w_0 and the InnerProblem the engines run.
 *
 * Seeds, derived here and nowhere else:
 *   init         spec.seed                       model_init of w_0
 *   batch order  problem_batch_seed(spec)        spec.batch_seed if given, else
 *                                                inner_batch_seed(spec.seed)
 *   val split    spec.val_seed                   dataset_split (default 1 for
 *                                                every seed: one validation set)
 *   synthetic    problem_data_seed(spec)         spec.val_seed + 1
 *   w_0 nudge    problem_perturb_seed(spec)      derived from spec.seed (only
 *                                                with spec.perturb_w0 > 0)
 *   train subset problem_subset_seed(spec)       derived from spec.val_seed (only
 *                                                with spec.train_size > 0)
 *   label noise  problem_label_noise_seed(spec)  derived from spec.val_seed (only
 *                                                with spec.label_noise > 0)
 *   outer step s problem_outer_seed(spec, what, s) hgbench hpo --resample: for
 *                                                s = 0 the seed above (init,
 *                                                batch order or val split), for
 *                                                s > 0 one derived from it, the
 *                                                kind and s (below)
 *   rounding     problem_round_seed(spec)        derived from spec.seed (only
 *                                                with spec.round_noise sr32)
 * The subset and the label noise belong to the data, like the split: every
 * init seed sees the same corrupted examples unless --val-seed changes.
 * Synthetic data (synthetic[:CxHxW|:D]: 10 Gaussian classes, noise 1) has
 * min(60000, max(batch, steps x batch)) training examples plus val: so it,
 * unlike a data set from files, depends on spec.steps.
 * Normalisation: per channel, by the training part's mean and std, applied
 * to both parts.
 * Perturbation (spec.perturb_w0 = eps > 0): w_0 += eps |w_0| d / |d|, d a
 * N(0, I) direction from problem_perturb_seed, norms over all of w_0; so
 * |w_0' - w_0| = eps |w_0| up to rounding. It measures how sensitive the
 * hypergradient is to its starting point (a conditioning test, not noise:
 * the same spec gives the same nudge).
 * Training subset (spec.train_size = n > 0): after the split, n of the
 * training part's examples, a seeded choice kept in their original order
 * (dataset_split's: the rest is dropped). Label noise (spec.label_noise = p
 * > 0, datasets/label_noise.h): then the kept examples' labels corrupted;
 * Problem.label_changed marks the examples whose label now differs from the
 * file's. Clean only (spec.train_clean_only, with label noise): the
 * examples whose label the noise changed are then dropped (the rest kept in
 * their order; Problem.labels_dropped counts them, label_changed is all 0):
 * the oracle of data hyper-cleaning, trained on exactly the clean examples
 * of the noisy run with the same seeds. All before normalisation, whose
 * statistics see only the kept examples.
 * Resampling (problem_resample, hgbench hpo --resample): outer step s's
 * batch order, validation split and/or w_0 from problem_outer_seed; what is
 * not resampled keeps outer step 0's. A resampled split is another split of
 * the same examples (train and val together), the same sizes; every split
 * is normalised by outer step 0's statistics (those of the spec's training
 * part), so that one normalisation holds for all of them and a test split.
 * Each outer step's problem follows from the spec and s alone, not from the
 * steps before it (a resumed run reaches step s directly). s = 0 is the
 * problem problem_load gives, bit for bit. A training subset or label noise is drawn with
 * the split, so the split is not resampled with them (refused).
 * Errors name the flag of the field at fault (--data, --model, --device,
 * --val, --batch), so a command can print them as they are.
 * On a device with its own memory (CUDA) the data and w_0 are uploaded
 * once; the host copies stay for what reads them on the host (export).
 * Leaves out: test splits (a command that wants one loads it and normalises
 * it by the problem's mean and std).
 */
#ifndef HG_PROBLEM_H
#define HG_PROBLEM_H

#include <stdint.h>

#include "../common/check.h"
#include "../datasets/dataset.h"
#include "../datasets/label_noise.h"
#include "../models/model.h"
#include "inner.h"

#define PROBLEM_DEFAULT_VAL_SEED 1
#define PROBLEM_DEFAULT_NORMAL_SIGMA 0.01
#define PROBLEM_SYNTHETIC_CLASSES 10
#define PROBLEM_SYNTHETIC_TRAIN_MAX 60000 /* like Fashion-MNIST's train split */
#define PROBLEM_SYNTHETIC_NOISE 1.0

/* problem_load's return for a spec the data cannot satisfy or a bad name
 * (a usage error: commands exit 2); -1 is a load failure (exit 3). */
#define PROBLEM_BAD_SPEC (-2)

typedef struct ProblemSpec {
    const char *model;    /* model_by_name spec: logreg, mlp, lenet, mlp:256,128:relu;
                           * NULL: the data only (no model, w0 or inner problem) */
    const char *data;     /* fashion-mnist, mnist, svhn, cifar10, synthetic[:CxHxW|:D] */
    const char *data_dir; /* NULL: the loader's default; must be NULL for synthetic */
    const char *device;   /* "cpu", "cuda" (CUDA builds), "auto" (the GPU if one
                           * works, else the CPU); NULL = cpu */
    int steps;            /* T: sizes synthetic data only */
    int batch, val;       /* examples per step; validation examples held out */
    uint64_t seed;        /* initialisation */
    int batch_seed_given; /* 1: batch_seed below, else derived from seed */
    uint64_t batch_seed;
    uint64_t val_seed;    /* validation split (and synthetic data) */
    InitKind init;
    double init_sigma;    /* INIT_NORMAL only */
    int kahan;            /* compensated weight update (inner.h) */
    double perturb_w0;    /* eps >= 0: w_0 nudged by eps relative (above); 0 = off */
    int train_size;       /* training examples kept after the split; 0 = all */
    double label_noise;   /* fraction of training labels corrupted; 0 = off */
    LabelNoiseMode label_noise_mode;
    int train_clean_only; /* with label noise: drop the changed examples (below) */
    RoundNoise round_noise; /* sr32: the run rounded to float32's grid at every
                             * step (round_noise.h; float64 builds, cpu only) */
} ProblemSpec;

/* lenet on fashion-mnist, cpu, T 100, batch 128, val 10000, seed 0 (batch
 * seed derived), val seed 1, xavier (sigma 0.01 for normal), no kahan:
 * `hgbench hypergrad`'s defaults. */
ProblemSpec problem_spec_defaults(void);

/* What --data names, known without loading it. */
typedef struct ProblemData {
    Shape input;   /* one example: C x H x W (D x 1 x 1 for flat synthetic data) */
    int classes;
    int synthetic;
} ProblemData;

/* The seeds of the table above. */
uint64_t problem_batch_seed(const ProblemSpec *s);
uint64_t problem_data_seed(const ProblemSpec *s);
uint64_t problem_perturb_seed(const ProblemSpec *s);
uint64_t problem_subset_seed(const ProblemSpec *s);
uint64_t problem_label_noise_seed(const ProblemSpec *s);

/* What each outer step may draw anew (hgbench hpo --resample), as bits. */
typedef enum ProblemResample {
    PROBLEM_RESAMPLE_BATCHES = 1, /* the batch order */
    PROBLEM_RESAMPLE_VAL = 2,     /* the validation split */
    PROBLEM_RESAMPLE_INIT = 4,    /* w_0 */
} ProblemResample;
#define PROBLEM_RESAMPLE_KINDS 3
/* "batches", "val", "init" for bit i (1 << i), NULL past the last. */
const char *problem_resample_name(int i);
/* Outer step s's seed of what (one bit): s = 0 gives the spec's own
 * (problem_batch_seed, val_seed, seed), s > 0 a seed mixed from that one,
 * the kind and s. */
uint64_t problem_outer_seed(const ProblemSpec *s, ProblemResample what, int outer);
uint64_t problem_round_seed(const ProblemSpec *s);

/* --data's shape and classes: 0, or -1 naming --data and the valid names. */
int problem_parse_data(const char *data, ProblemData *out, HgErr *err);

/* Every name in the spec (device, data, model for the data's shape) and
 * data_dir against synthetic data, without loading anything: 0 or -1 with
 * a message naming the flag. d (may be NULL) gets the data's shape. */
int problem_check(const ProblemSpec *s, ProblemData *d, HgErr *err);

/* The spec's model, built for its data's shape but with no data (to size a
 * run before loading): NULL with err set on a bad name. */
Model *problem_model(const ProblemSpec *s, HgErr *err);

typedef struct Problem {
    ProblemSpec spec;       /* a copy (its strings are the caller's) */
    ProblemData data;
    const Backend *be;      /* --device's backend: the model's passes and the
                             * engines' ops run on it */
    uint64_t batch_seed, val_seed, data_seed; /* as derived; val_seed the split's now */
    uint64_t init_seed;     /* w_0's now: spec.seed unless resampled */
    Dataset train, val;     /* normalised */
    uint8_t *label_changed; /* [train.n] 1 where label noise changed the label;
                             * NULL without label noise */
    int labels_changed;     /* how many (0 under train_clean_only) */
    int labels_dropped;     /* train_clean_only: the changed examples left out */
    double *mean, *std;     /* [C] the training part's per-channel statistics */
    Model *model;
    real *w0;               /* [P] */
    /* A backend with memory of its own (be->device_memory): train, val and
     * w0 uploaded there once by problem_load (and w0 again by
     * problem_reseed); inner points to these. A data-only load (no model)
     * uploads train and val too. Empty on the CPU, where inner points to
     * the host ones above. */
    Dataset dev_train, dev_val;
    real *dev_w0;
    InnerProblem inner;     /* points into this struct: do not copy or move it */
} Problem;

/* Checks the spec, loads and splits the data, normalises it, builds the
 * model, initialises w_0 and fills p->inner. 0; -1 (data not loaded, err
 * says why); PROBLEM_BAD_SPEC (a bad name, or a --val or --batch the data
 * cannot give). *p is zeroed first, so problem_free is safe after any
 * return. */
int problem_load(const ProblemSpec *s, Problem *p, HgErr *err);

/* Another seed on the same data: w_0 re-initialised by seed (and nudged by
 * that seed's direction if spec.perturb_w0 > 0), the batch seed
 * derived from it (batch_seed_given is cleared): what problem_load gives for
 * the spec with that seed, without reloading. */
void problem_reseed(Problem *p, uint64_t seed);

/* The problem of outer step s for the kinds in what (ProblemResample bits;
 * the others stay as they are): the batch seed, the split and/or w_0 from
 * problem_outer_seed (uploaded again on a device with its own memory). 0, or
 * -1 (out of memory while splitting) with err set and the split as it was. */
int problem_resample(Problem *p, unsigned what, int outer, HgErr *err);

/* A set that is not the problem's (a test split, normalised by the caller)
 * where the problem's runs read it: on a backend with memory of its own a
 * copy uploaded into *dev, which problem_free_set frees; else *dev = *host
 * (the same arrays, problem_free_set then does nothing). */
void problem_place_set(const Problem *p, const Dataset *host, Dataset *dev);
void problem_free_set(const Problem *p, Dataset *dev);

void problem_free(Problem *p);

#endif
