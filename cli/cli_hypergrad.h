/* cli_hypergrad.h — `hgbench hypergrad`: one hypergradient of one inner run,
 * by one engine, from the command line; a summary on stdout, optionally a
 * JSON record (--json) and the whole problem for other frameworks
 * (--export, export.h).
 *
 * Exit status: 0 done; 1 the engine failed or refused the run (divergence, a
 * trajectory that does not fit in memory); 2 a usage error (bad flag, value,
 * combination, or a --val the data set cannot give), refused before any work;
 * 3 the data could not be loaded or an output could not be written.
 */
#ifndef HG_CLI_HYPERGRAD_H
#define HG_CLI_HYPERGRAD_H

#include <stdint.h>
#include <stdio.h>

#include "../common/check.h"
#include "../datasets/dataset.h"
#include "../engines/engine.h"
#include "../harness/hyper.h"
#include "../harness/problem.h"
#include "../harness/runner.h"
#include "../models/model.h"

struct JsonWriter;

typedef struct HypergradOptions {
    const char *engine;     /* registry name (engine_find) */
    const char *model;      /* model_by_name spec */
    const char *data;       /* fashion-mnist, mnist, svhn, cifar10, synthetic[:CxHxW|:D] */
    const char *data_dir;   /* NULL: the loader's default */
    const char *device;     /* cpu, cuda (CUDA builds), auto (GPU, else CPU) */
    int steps, batch, val;
    const char *learn;      /* "lr:1,mom:T", or "none" */
    int K[HYPER_KINDS];     /* resolved from learn and steps */
    HyperPer per[HYPER_KINDS]; /* and each kind's values per run, layer or weight */
    const char *theta_file; /* --theta: the learned values to start from; NULL: none */
    int examples;           /* --example-weights E: loss weights learned on E examples */
    double lr, mom, wd, clamp;
    const char *schedule_name;
    ScheduleShape schedule;
    int precision;          /* 32 or 64: the build's */
    uint64_t seed;          /* initialisation */
    uint64_t batch_seed;    /* batch order: derived from seed unless given */
    uint64_t val_seed;      /* validation split (and synthetic data) */
    const char *init_name;
    InitKind init;
    double init_sigma;      /* normal only */
    int threads;
    int kahan;              /* compensated weight update (inner.h) */
    double perturb_w0;      /* w_0 nudged by this relative size (problem.h); 0 off */
    int train_size;         /* training examples kept (problem.h); 0 all */
    double label_noise;     /* fraction of training labels corrupted; 0 off */
    LabelNoiseMode label_noise_mode;
    int train_clean_only;   /* --train-clean-only: the changed examples dropped */
    RoundNoise round_noise; /* --round-noise: the run rounded at every step (round_noise.h) */
    EngineSettings opt;     /* the engines' options: flags made from their
                             * declarations (engine_flags) */
    const char *json;       /* NULL: none */
    const char *export_dir; /* NULL: none */
    int help;               /* --help: print the usage and stop */
    /* from --data: the shape of one example, classes, synthetic or not */
    Shape input;
    int classes, synthetic;
} HypergradOptions;

/* Parses argv[1..argc) (argv[0] is the command name) and checks every value
 * and combination that can be checked without data: 0, or -1 with a message
 * that names the flag. Nothing is loaded or allocated that outlives it. */
int hypergrad_parse(int argc, char **argv, HypergradOptions *o, HgErr *err);
/* The --learn value: "lr:1,mom:T,wd:4" or "none" into K (every kind, 0 if
 * not learned), for T steps; -1 with a message naming the spec. */
int hypergrad_parse_learn(const char *spec, int T, int K[HYPER_KINDS], HgErr *err);
/* The same with "kind:K/layer" and "wd:K/weight" (per[k]: HYPER_PER_RUN when
 * no '/' is given); per NULL refuses them, as hypergrad_parse_learn. */
int hypergrad_parse_learn_per(const char *spec, int T, int K[HYPER_KINDS],
                              HyperPer per[HYPER_KINDS], HgErr *err);

/* Every flag with its default. */
void hypergrad_usage(FILE *f);

/* The batch-order seed that --seed S implies when --batch-seed is not given. */
uint64_t hypergrad_batch_seed(uint64_t seed);

/* Parses, runs, reports; returns the exit status. */
int hypergrad_main(int argc, char **argv);

/* --- shared with commands built on the same inner problem (hpo) --------- */

/* The flag lines of the usage, except the names in omit (NULL-terminated;
 * omit may be NULL). */
void hypergrad_print_flags(FILE *f, const char *const *omit);
/* The folder of --json FILE must exist and be writable. */
int hypergrad_check_json_path(const char *path, HgErr *err);
/* Prints the engine's memory estimate on stderr as "hgbench CMD: ..."
 * (estimate: its bytes, 0 for engines without one); -1 (message in err) if
 * the run cannot fit. */
int hypergrad_memory_estimate(const char *cmd, const HypergradOptions *o, long P, int N,
                              double *estimate, HgErr *err);
/* The problem spec (problem.h) of the options: the one place a command's
 * flags become data, model, w0 and seeds. */
ProblemSpec hypergrad_problem_spec(const HypergradOptions *o);
/* problem_load of the options' spec: train and validation parts of --data,
 * normalised, the model, w0 (problem_free it). On error *status is 2 (a bad
 * name, a --val or --batch the data cannot give) or 3. */
int hypergrad_load_problem(const HypergradOptions *o, Problem *p, int *status, HgErr *err);
/* The problem's JSON members, "model" .. "learn" (and truncate, greedy's
 * settings for those engines), into the open object. */
void hypergrad_json_problem(struct JsonWriter *j, const HypergradOptions *o, const Problem *pb,
                            const HyperLayout *h);
/* "theta": {"layout": [{kind, per, windows, width, offset, count (, layers,
 * layer_starts)} per learned kind], "values": [N]}: what --theta reads back. */
void hypergrad_json_theta(struct JsonWriter *j, const HyperLayout *h, const double *theta);
/* "machine": host, cpu, cores, pus, memory_bytes. */
void hypergrad_json_machine(struct JsonWriter *j);
/* The run builder's spec of the options (harness/runner.h): engine, steps,
 * what is learned, the schedule, the engine's options. hypergrad and hpo
 * both run through it, so an option reaches the engine the same way. */
RunSpec hypergrad_run_spec(const HypergradOptions *o);

/* --- between the command's files (flags, report, run) -------------------- */

/* "hgbench CMD: note: K is learned with N shared values: each window WHAT
 * the mean ..." on stderr, for each kind whose schedule the windows changed. */
void hypergrad_note_windows(const char *cmd, const HypergradOptions *o, const Runner *run,
                            const char *what);
/* --theta: the run's theta read from o->theta_file (cli/theta_file.h) and
 * its schedule set from it; nothing without --theta. -1 with a message
 * naming the file (exit status 2). */
int hypergrad_apply_theta(const HypergradOptions *o, Runner *run, HgErr *err);
/* The summary of a finished run, to out. */
void hypergrad_print_summary(FILE *out, const HypergradOptions *o, const Problem *pb,
                             const Runner *run, const EngineResult *r);
/* The --json record, atomically. */
int hypergrad_write_json(const HypergradOptions *o, const Problem *pb, const Runner *run,
                         const EngineResult *r, double estimate, HgErr *err);

#endif
