/* runner.h — the run builder: one hypergradient run from a problem and the
 * run's settings, the sequence every program shares (hgbench hypergrad and
 * hpo, hgbench-engines, hgbench-micro, hgbench-fig2):
 *
 *   layout (which kinds are learned, K values each)
 *   -> schedule (shape, lr, mom, wd, clamp)
 *   -> theta = hyper_pack (each window's mean of the schedule)
 *   -> hyper_unpack (the schedule theta describes: the run's)
 *   -> the engine's config (problem, layout, schedule, its options)
 *   -> engine_run.
 *
 * The engine and harness are one layer: this file calls engine_run, and
 * nothing below it includes it.
 */
#ifndef HG_RUNNER_H
#define HG_RUNNER_H

#include "../engines/engine.h"
#include "hyper.h"
#include "inner.h"

typedef struct RunSpec {
    const EngineOps *engine;
    int T;                 /* inner steps */
    int K[HYPER_KINDS];    /* learned values per kind; 0: not learned */
    HyperPer per[HYPER_KINDS]; /* per run (0, the default), layer or weight */
    int examples;          /* learned loss weights on training examples 0 .. E-1 */
    ScheduleShape shape;   /* of the learning rate */
    double lr, mom, wd, clamp;
    EngineSettings opt;    /* the engine's options (engine_settings_defaults for none) */
    const TrajectoryHook *trajectory; /* bptt: record or replay; NULL: none */
} RunSpec;

/* A spec of engine with every option at its default, T steps, K[] learned,
 * a constant schedule (lr, mom, wd), no clamp. */
RunSpec runner_spec(const EngineOps *engine, int T, const int K[HYPER_KINDS], double lr,
                 double mom, double wd);

typedef struct Runner {
    HyperLayout layout;
    Schedule sched;           /* the schedule theta describes: the one run */
    double *theta;            /* [N] the learned values (MEM_OTHER) */
    int windowed[HYPER_KINDS];/* 1: kind k's schedule became its windows' means */
    const EngineOps *engine;
    EngineConfig cfg;         /* what engine_run takes */
} Runner;

/* The options spec asks of its engine, before any data (kahan: the
 * problem's), for refusals and the memory estimate (N counts a kind per
 * layer or weight once per window: set it from hyper_count once the model's
 * size is known). */
EngineOptions runner_options(const RunSpec *spec, int kahan);

/* Layout, schedule, theta and config of spec on prob: 0, or -1 with a
 * message (a K out of 1..T, a schedule value refused). runner_free it either
 * way. */
int runner_build(Runner *r, const InnerProblem *prob, const RunSpec *spec, HgErr *err);

/* The built run's engine on its schedule (sched NULL) or on another of the
 * same layout (the HPO loop's theta): engine_run's result and status. */
int runner_hypergrad(const Runner *r, const Schedule *sched, EngineResult *out, HgErr *err);

void runner_free(Runner *r);

/* runner_build, runner_hypergrad, runner_free: one hypergradient of spec on
 * prob (theta is freed before the engine runs: the run's memory peaks are the
 * engine's alone). */
int runner_once(const InnerProblem *prob, const RunSpec *spec, EngineResult *out, HgErr *err);

#endif
