/* cli_hypergrad.c — `hgbench hypergrad` (cli_hypergrad.h): the run. Flags
 * are hypergrad_flags.c's, the summary and JSON hypergrad_report.c's; the
 * run itself is the run builder's (harness/runner.h).
 *
 * Order of work: every flag and combination is checked first (exit 2, no
 * work done); then the outputs are checked writable (--json's folder,
 * --export's folder made); then the engine's memory estimate is printed on
 * stderr and a run that cannot fit is refused (exit 1); only then are data
 * loaded, split and normalised, the weights initialised and the engine run.
 * Leaves out: outer optimisation of the hyperparameters (beyond greedy's
 * online mode: that is `hgbench hpo`, cli_hpo.c, which reuses this
 * command's flags, data loading, run spec and JSON members), repeated
 * timings.
 */
#include "cli_hypergrad.h"

#include <limits.h>
#include <string.h>

#include "../common/mem.h"
#include "../engines/engine.h"
#include "../harness/problem.h"
#include "../harness/runner.h"
#include "../io/export.h"
#include "interrupt.h"
#include "theta_file.h"

int hypergrad_load_problem(const HypergradOptions *o, Problem *p, int *status, HgErr *err)
{
    const ProblemSpec spec = hypergrad_problem_spec(o);
    const int rc = problem_load(&spec, p, err);
    *status = rc == 0 ? 0 : rc == PROBLEM_BAD_SPEC ? 2 : 3;
    return rc ? -1 : 0;
}

RunSpec hypergrad_run_spec(const HypergradOptions *o)
{
    RunSpec s = {.engine = engine_find(o->engine), .T = o->steps, .shape = o->schedule,
                 .lr = o->lr, .mom = o->mom, .wd = o->wd, .clamp = o->clamp, .opt = o->opt};
    memcpy(s.K, o->K, sizeof s.K);
    memcpy(s.per, o->per, sizeof s.per);
    s.examples = o->examples;
    return s;
}

int hypergrad_apply_theta(const HypergradOptions *o, Runner *run, HgErr *err)
{
    if (!o->theta_file)
        return 0;
    if (theta_file_read(o->theta_file, &run->layout, run->theta, err))
        return -1;
    hyper_unpack(&run->layout, run->theta, &run->sched);
    memset(run->windowed, 0, sizeof run->windowed); /* the schedule's means are not used */
    return 0;
}

/* The notes of a learned kind whose schedule became its windows' means. */
void hypergrad_note_windows(const char *cmd, const HypergradOptions *o, const Runner *run,
                            const char *what)
{
    for (int k = 0; k < HYPER_KINDS; k++)
        if (run->windowed[k])
            fprintf(stderr, "hgbench %s: note: %s is learned with %d shared values: each window "
                    "%s the mean of the %s schedule over it\n", cmd, hyper_kind_name(k),
                    run->layout.K[k], what, o->schedule_name);
}

static int write_export(const HypergradOptions *o, const Problem *pb, const InnerProblem *prob,
                        const Runner *run, const EngineResult *res, HgErr *err)
{
    const ExportInfo info = {
        .engine = o->engine, .model_spec = o->model, .data = o->data, .init = o->init_name,
        .init_sigma = o->init_sigma, .init_seed = o->seed, .batch_seed = o->batch_seed,
        .val_seed = o->val_seed, .opt = o->opt, .mean = pb->mean, .std = pb->std};
    /* the files come from the host copies: on a device backend prob's data
     * and w0 are the uploaded ones */
    InnerProblem host = *prob;
    host.train = &pb->train;
    host.val = &pb->val;
    host.w0 = pb->w0;
    return export_problem(o->export_dir, &info, &host, &run->layout, &run->sched, res, err);
}

static int hypergrad_run(const HypergradOptions *o)
{
    HgErr err = {{0}};
    int status = 0;
    BACKEND_CPU.mem.set_threads(o->threads); /* OpenMP and OpenBLAS */
    interrupt_install(); /* Ctrl-C: the engine stops at its next step */

    /* outputs first: a long run must not end unable to write its result */
    if (o->json && hypergrad_check_json_path(o->json, &err)) {
        fprintf(stderr, "hgbench hypergrad: %s\n", err.msg);
        return 2;
    }
    if (o->export_dir && export_make_dir(o->export_dir, &err)) {
        fprintf(stderr, "hgbench hypergrad: --export %s\n", err.msg);
        return 2;
    }

    const ProblemSpec spec = hypergrad_problem_spec(o);
    Model *sized = problem_model(&spec, &err); /* to size the run before loading */
    HG_CHECK(engine_find(o->engine) && sized, "checked by hypergrad_parse: %s", err.msg);
    Problem pb = {0};
    Runner run = {0};
    EngineResult res = {0};
    int have_res = 0;
    double estimate;
    HyperBlocks blocks;
    const long N = hyper_blocks_of_model(sized, &blocks, &err)
                       ? -1
                       : hyper_count(o->K, o->per, blocks.L, sized->nparams) + o->examples;
    const int est_rc = N < 0 || N > INT_MAX
                           ? (N < 0 ? -1 : hg_fail(&err, "--learn %s: %ld learned values: too "
                                                   "many", o->learn, N))
                           : hypergrad_memory_estimate("hypergrad", o, sized->nparams, (int)N,
                                                       &estimate, &err);
    model_free(sized);
    if (est_rc) {
        fprintf(stderr, "hgbench hypergrad: refused: %s\n", err.msg);
        status = 1;
        goto done;
    }
    if (hypergrad_load_problem(o, &pb, &status, &err)) {
        fprintf(stderr, "hgbench hypergrad: %s\n", err.msg);
        goto done;
    }
    InnerProblem prob = pb.inner;
    prob.stop = &interrupt_signal;
    const RunSpec rs = hypergrad_run_spec(o);
    if (runner_build(&run, &prob, &rs, &err) || hypergrad_apply_theta(o, &run, &err)) {
        fprintf(stderr, "hgbench hypergrad: %s\n", err.msg);
        status = 2;
        goto done;
    }
    hypergrad_note_windows("hypergrad", o, &run, "runs");
    if (runner_hypergrad(&run, NULL, &res, &err)) {
        fprintf(stderr, "hgbench hypergrad: %s\n", err.msg);
        status = 1;
        goto done;
    }
    if (interrupt_signal) /* after the last step: no result to write either */
        goto done;
    have_res = 1;
    hypergrad_print_summary(o->json && !strcmp(o->json, "-") ? stderr : stdout, o, &pb, &run,
                            &res);
    if (o->json && hypergrad_write_json(o, &pb, &run, &res, estimate, &err)) {
        fprintf(stderr, "hgbench hypergrad: --json %s\n", err.msg);
        status = 3;
    }
    if (o->export_dir && write_export(o, &pb, &prob, &run, &res, &err)) {
        fprintf(stderr, "hgbench hypergrad: --export %s\n", err.msg);
        status = 3;
    }

done:
    if (have_res)
        engine_result_free(&res);
    runner_free(&run);
    problem_free(&pb);
    if (interrupt_signal) {
        fprintf(stderr, "hgbench hypergrad: interrupted (%s): nothing written\n",
                interrupt_name());
        return interrupt_exit_status();
    }
    return status;
}

int hypergrad_main(int argc, char **argv)
{
    HypergradOptions o;
    HgErr err = {{0}};
    if (hypergrad_parse(argc, argv, &o, &err)) {
        fprintf(stderr, "hgbench hypergrad: %s\n", err.msg);
        return 2;
    }
    if (o.help) {
        hypergrad_usage(stdout);
        return 0;
    }
    return hypergrad_run(&o);
}
