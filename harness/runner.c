/* runner.c — the run builder (runner.h). */
#include "runner.h"

#include <math.h>
#include <string.h>

#include "../common/mem.h"

RunSpec runner_spec(const EngineOps *engine, int T, const int K[HYPER_KINDS], double lr,
                 double mom, double wd)
{
    RunSpec s = {.engine = engine, .T = T, .shape = SCHEDULE_CONSTANT, .lr = lr, .mom = mom,
                 .wd = wd, .opt = engine_settings_defaults()};
    memcpy(s.K, K, sizeof s.K);
    return s;
}

EngineOptions runner_options(const RunSpec *spec, int kahan)
{
    int N = 0;
    for (int k = 0; k < HYPER_KINDS; k++)
        N += spec->K[k];
    EngineOptions o = engine_options_plain(spec->T, N);
    o.kahan = kahan;
    o.trajectory = spec->trajectory != NULL;
    o.opt = spec->opt;
    o.asked = engine_options_set(&spec->opt);
    for (int k = 0; k < HYPER_KINDS; k++)
        o.per[k] = spec->K[k] ? spec->per[k] : HYPER_PER_RUN;
    o.E = spec->examples;
    o.N += spec->examples;
    return o;
}

int runner_build(Runner *r, const InnerProblem *prob, const RunSpec *spec, HgErr *err)
{
    memset(r, 0, sizeof *r);
    r->engine = spec->engine;
    HyperBlocks blocks;
    if (hyper_blocks_of_model(prob->model, &blocks, err) ||
        hyper_layout_init_per(&r->layout, spec->T, spec->K, spec->per, &blocks, err) ||
        hyper_layout_examples(&r->layout, spec->examples, err) ||
        schedule_init(&r->sched, spec->T, spec->shape, spec->lr, spec->mom, spec->wd,
                      spec->clamp, err))
        return -1;
    /* Runner the schedule that theta describes: a learned kind's steps take their
     * window's mean, so the hypergradient is the derivative at this run. */
    if (spec->examples > prob->train->n)
        return hg_fail(err, "--example-weights %d: the training part has %d examples",
                       spec->examples, prob->train->n);
    const int N = r->layout.N;
    r->theta = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(N ? N : 1));
    hyper_pack(&r->layout, &r->sched, r->theta);
    for (int k = 0; k < HYPER_KINDS; k++)
        for (int t = 0; r->layout.K[k] && t < spec->T; t++)
            r->windowed[k] |= fabs(r->theta[hyper_column(&r->layout, k, t)] -
                                   r->sched.v[k][t]) > 1e-12 * fabs(r->sched.v[k][t]);
    hyper_unpack(&r->layout, r->theta, &r->sched);
    r->cfg = (EngineConfig){.prob = prob, .layout = &r->layout, .sched = &r->sched,
                            .opt = spec->opt, .trajectory = spec->trajectory};
    return 0;
}

int runner_hypergrad(const Runner *r, const Schedule *sched, EngineResult *out, HgErr *err)
{
    EngineConfig cfg = r->cfg;
    if (sched)
        cfg.sched = sched;
    return engine_run(r->engine, &cfg, out, err);
}

void runner_free(Runner *r)
{
    schedule_free(&r->sched);
    mem_free(r->theta);
    r->theta = NULL;
}

int runner_once(const InnerProblem *prob, const RunSpec *spec, EngineResult *out, HgErr *err)
{
    Runner r;
    int rc = runner_build(&r, prob, spec, err);
    mem_free(r.theta); /* not needed by the run: not in its "other" bytes either */
    r.theta = NULL;
    if (rc == 0)
        rc = runner_hypergrad(&r, NULL, out, err);
    runner_free(&r);
    return rc;
}
