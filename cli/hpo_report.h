/* hpo_report.h — between `hgbench hpo`'s files (cli_hpo.h): the state of
 * one run, and what hpo_report.c prints and writes of it.
 */
#ifndef HG_HPO_REPORT_H
#define HG_HPO_REPORT_H

#include "../harness/hpo.h"
#include "../harness/runner.h"
#include "../io/json_writer.h"
#include "../io/progress.h"
#include "cli_hpo.h"

typedef struct HpoRun {
    const HpoOptions *ho;
    const HypergradOptions *o;
    Problem pb;          /* train, val, model, w0 (problem.h) */
    Dataset test;
    Dataset dev_test;    /* test where the runs read it (problem_place_set) */
    Runner run;          /* layout, schedule (learned kinds from theta), engine
                          * config: the run builder's (harness/runner.h) */
    double range[OUTER_GROUPS][2]; /* sign: search range per learned kind (and ex) */
    Hpo loop;            /* the outer loop and its log (harness/hpo.h) */
    Progress pg;
    double estimate;
    int val_mismatch_noted;
} HpoRun;

/* 1: the step ran an engine (it has a hypergradient). */
int hpo_step_has_grad(const HpoStep *e);
/* Why the loop stopped, in a sentence. */
const char *hpo_stop_text(const HpoRun *H, char *buf, size_t cap);
/* The per-step schedule of an entry's theta, into H->run.sched. */
void hpo_load_theta(HpoRun *H, const double *theta);

/* --resample's kinds as the flag takes them ("batches,val"; "none"). */
const char *hpo_resample_text(unsigned bits, char *buf, size_t cap);
/* The seed of kind (one ProblemResample bit) that outer step s ran with:
 * problem_outer_seed's for a resampled kind, else outer step 0's. */
uint64_t hpo_step_seed(const HpoRun *H, unsigned kind, int outer);
/* 1: --test evaluates each outer step's w_T as the engine run left it (its
 * engine's plain_wT), 0: each schedule is retrained for it. */
int hpo_test_at_wT(const HpoRun *H);
/* The Hessian-vector product clamp the run's engine applies (0: none; greedy
 * forms no HVP). */
double hpo_hvp_clamp(const HpoRun *H);
/* How the best outer step is chosen, in a sentence. */
const char *hpo_best_rule(const HpoRun *H);

/* The '#' context lines before the table. */
void hpo_report_header(const HpoRun *H);
/* One row of the table (an evaluated step). */
void hpo_report_row(const HpoRun *H, const HpoStep *e);
/* Why it stopped, the best and final steps, and the schedules per inner
 * step (gnuplot's index 1). */
void hpo_report_footer(HpoRun *H);
/* The JSON fields before "log": the problem and the outer settings,
 * everything a resumed run must share with the run that wrote its log. */
void hpo_report_json_header(JsonWriter *j, const HpoRun *H);
/* The whole --json log, atomically. */
int hpo_report_json(HpoRun *H, HgErr *err);

#endif
