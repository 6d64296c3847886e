/* export.h — `hgbench hypergrad --export DIR`: the whole inner problem of a
 * run, written so that another framework (PyTorch, JAX, NumPy) can rebuild
 * it and recompute the same hypergradient.
 *
 * DIR/problem.json  model (layers in order with their settings, parameter
 *                   table in w0 order, PyTorch shapes), input shape,
 *                   classes, steps, batch, the per-step lr/mom/wd actually
 *                   run, clamp, what was learned and its windows, the loss,
 *                   the update rule and the definition of the hypergradient
 * DIR/w0.npy        [P] initial weights
 * DIR/train_x.npy   [n, C, H, W] or [n, D]: the training examples the run
 *                   uses, in order of first use, normalised as fed to the model
 * DIR/train_y.npy   [n] int64 labels
 * DIR/batches.npy   [rows, B] int64 row indices into train_x; row t is
 *                   step t's batch (rows = T, or T + 1 for greedy looking
 *                   ahead on the next training batch)
 * DIR/val_x.npy, DIR/val_y.npy   the validation set (normalised; int64 labels)
 * DIR/hypergrad.npy [N] float64: the learned values' hypergradients, lr
 *                   windows then mom then wd (theta order)
 * DIR/per_step.npy  [kinds, T] float64, kinds listed in problem.json's
 *                   "per_step_kinds" (absent when the engine gave none)
 * DIR/theta.npy     [N] float64 the learned values (only when a kind is
 *                   learned per layer or per weight: problem.json's
 *                   "theta_layout" says which entry is which, and its
 *                   per-step lr/mom/wd of such a kind are not used)
 * Real-valued arrays are '<f4' in float32 builds and '<f8' in float64;
 * hypergradients are float64 in both (the engines return double). Every file
 * is written atomically; problem.json is written last.
 * Leaves out: the engine's internal state, the untouched training examples.
 */
#ifndef HG_EXPORT_H
#define HG_EXPORT_H

#include <stdint.h>

#include "../engines/engine.h"

typedef struct ExportInfo {
    const char *engine;      /* registry name */
    const char *model_spec;  /* as given to --model */
    const char *data;        /* as given to --data */
    const char *init;        /* "xavier", "kaiming", "normal" */
    double init_sigma;       /* normal only */
    uint64_t init_seed, batch_seed, val_seed;
    EngineSettings opt;      /* the engine's options: bptt's truncate, greedy's
                              * look-ahead (batches get one more row) and online
                              * updates (refused: the schedule would change) */
    const double *mean, *std; /* [C] normalisation of train and val */
} ExportInfo;

/* Creates dir and its parents as needed (mkdir -p); -1 with a message. */
int export_make_dir(const char *dir, HgErr *err);

/* Writes every file above for a finished run. */
int export_problem(const char *dir, const ExportInfo *info, const InnerProblem *prob,
                   const HyperLayout *layout, const Schedule *sched, const EngineResult *res,
                   HgErr *err);

/* key (problem.json: "theta_layout"; --json: theta's "layout"): [{kind, per, windows, width, offset, count (, layers,
 * layer_starts)} per learned kind] (hgbench hypergrad --json's theta.layout,
 * export's problem.json): window j of a kind holds entries offset + j width
 * + i, i the layer (w[layer_starts[i], layer_starts[i + 1])) or the weight. */
struct JsonWriter;
void export_json_theta_layout(struct JsonWriter *j, const char *key, const HyperLayout *h);

#endif
