/* cli_hpo.c — `hgbench hpo` (cli_hpo.h): the run. Flags are hpo_flags.c's,
 * the table and JSON log hpo_report.c's; each inner run is the run
 * builder's (harness/runner.h), the one hgbench hypergrad makes, so every
 * engine option reaches the engine the same way in both commands.
 *
 * Order of work: flags checked (exit 2, no work); --json's folder checked;
 * the engine's memory estimate printed (a run that cannot fit: exit 1); data
 * loaded (train/val as hypergrad; with --test, the test split normalised by
 * the train statistics); then outer step s = 0 .. S-1: run the engine on
 * theta_s, evaluate its w_T on the test split when --test (the engine's own
 * when the engine declares it the plain run's, EngineOps.plain_wT; else
 * theta_s retrained), update theta_{s+1} = outer(theta_s, g_s); then a plain
 * training run evaluates theta_S. Entry s of the log is theta_s with its
 * accuracies, its hypergradient g_s and the update's flips and clamps.
 * --resume LOG: after the data is loaded, the log's finished outer steps are
 * checked against this command and restored (hpo_resume.h), and the loop
 * goes on from there; the log is rewritten (--json defaults to LOG).
 * --resample: before each outer step's runs (and the final evaluation) the
 * problem is made that step's (problem_resample: seeds from the step alone,
 * so a resumed run is bit for bit the uninterrupted one too); the test split
 * stays the same, normalised once.
 */
#include "cli_hpo.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../engines/engine.h"
#include "../harness/problem.h"
#include "hpo_report.h"
#include "hpo_resume.h"
#include "interrupt.h"

static int load_test(HpoRun *H, HgErr *err)
{
    const HypergradOptions *o = H->o;
    HgErr e = {{0}};
    if (dataset_load(o->data, o->data_dir, 1, &H->test, &e))
        return hg_fail(err, "--test: --data %s: %s", o->data, e.msg);
    if (H->test.c != H->pb.train.c || H->test.h != H->pb.train.h || H->test.w != H->pb.train.w ||
        H->test.classes != H->pb.train.classes) {
        hg_fail(err, "--test: --data %s: the test split has %dx%dx%d examples of %d classes, "
                "the train split %dx%dx%d of %d", o->data, H->test.c, H->test.h, H->test.w,
                H->test.classes, H->pb.train.c, H->pb.train.h, H->pb.train.w, H->pb.train.classes);
        dataset_free(&H->test);
        return -1;
    }
    dataset_normalize(&H->test, H->pb.mean, H->pb.std);
    problem_place_set(&H->pb, &H->test, &H->dev_test); /* a device's copy where it has one */
    return 0;
}

/* The loop's hypergradient: one engine run on the problem under sched. */
static int engine_hypergrad(void *ctx, const Schedule *sched, double *grad, double *val_loss,
                            double *val_acc, double *time_s, real *wT, HgErr *err)
{
    HpoRun *H = ctx;
    EngineResult res;
    Runner run = H->run;
    run.cfg.wT = wT;
    if (runner_hypergrad(&run, sched, &res, err))
        return -1;
    memcpy(grad, res.hypergrad, sizeof(double) * (size_t)H->run.layout.N);
    *val_loss = res.val_loss;
    *val_acc = res.val_acc;
    *time_s = res.time_s;
    engine_result_free(&res);
    return 0;
}

/* --resample: outer step s's problem (problem.h) */
static int resample(void *ctx, int outer, HgErr *err)
{
    HpoRun *H = ctx;
    HgErr e = {{0}};
    if (problem_resample(&H->pb, H->ho->resample, outer, &e))
        return hg_fail(err, "--resample: outer step %d: %s", outer, e.msg);
    return 0;
}

/* Each step as the loop reports it: a row of the table, or a comment line
 * for a failure (never a number). */
static void on_step(void *ctx, const HpoStep *e)
{
    HpoRun *H = ctx;
    if (e->status == HPO_STEP_FAILED) {
        printf("# outer step %d: inner run %s: %s\n", e->outer, H->loop.fail_status, e->msg);
        fflush(stdout);
        return;
    }
    if (e->status == HPO_STEP_OK && e->has_test && e->retrain_val_acc != e->val_acc &&
        !H->val_mismatch_noted) {
        fprintf(stderr, "\nhgbench hpo: note: retraining for the test accuracy gave validation "
                "accuracy %.6f against the engine's %.6f (a different summation order); the "
                "log keeps the engine's\n", e->retrain_val_acc, e->val_acc);
        H->val_mismatch_noted = 1;
    }
    hpo_report_row(H, e);
    if (e->status == HPO_STEP_OK)
        progress_update(&H->pg, e->outer + 1);
}

/* --resume: the log's finished outer steps, checked against this command,
 * restored into the loop (hpo_resume.h, hpo_restore). */
static int resume(HpoRun *H, HgErr *err)
{
    char *header = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&header, &len);
    HG_CHECK(f, "open_memstream: out of memory");
    JsonWriter j;
    json_init(&j, f);
    json_object_begin(&j, 0);
    hpo_report_json_header(&j, H);
    json_object_end(&j);
    fclose(f);
    HpoResumeLog log;
    int rc = hpo_resume_read(&log, H->ho->resume, header, len, &H->run.layout, err);
    if (rc == 0)
        rc = hpo_restore(&H->loop, log.done, log.n, err);
    if (rc == 0)
        rc = hpo_resume_check_state(&log, H->ho->resume, &H->run.layout, &H->loop.opt,
                                    H->loop.theta, err);
    if (rc == 0)
        fprintf(stderr, "hgbench hpo: resumed after %d finished outer steps of %d\n", log.n,
                H->ho->outer_steps);
    hpo_resume_free(&log);
    free(header);
    return rc;
}

static void hpo_run_free(HpoRun *H)
{
    hpo_free(&H->loop);
    problem_free_set(&H->pb, &H->dev_test);
    runner_free(&H->run);
    problem_free(&H->pb);
    dataset_free(&H->test);
}

/* The sign optimiser's search range of each learned kind (initial +- step x
 * outer steps, within the bounds), kept for the header and printed. */
static void sign_ranges(HpoRun *H)
{
    const HpoOptions *ho = H->ho;
    const HyperLayout *h = &H->run.layout;
    for (int k = 0; k < OUTER_GROUPS; k++) {
        const long n = outer_group_count(h, k), at = outer_group_offset(h, k);
        if (!n)
            continue;
        double lo = INFINITY, hi = -INFINITY;
        for (long j = 0; j < n; j++) {
            double a, b;
            outer_sign_range(&ho->outer, k, H->run.theta[at + j], ho->outer_steps, &a, &b);
            lo = fmin(lo, a);
            hi = fmax(hi, b);
        }
        H->range[k][0] = lo;
        H->range[k][1] = hi;
        if (ho->outer.kind == OUTER_SIGN && ho->outer_steps > 0)
            fprintf(stderr, "hgbench hpo: sign search range of %s: [%g, %g] (initial +- %g x "
                    "%d outer steps%s)\n", outer_group_name(k), lo, hi,
                    ho->outer.sign_step[k], ho->outer_steps,
                    ho->outer.bounded ? ", within the bounds" : "");
    }
}

static int hpo_command(const HpoOptions *ho)
{
    const HypergradOptions *o = &ho->prob;
    HgErr err = {{0}};
    int status = 0;
    BACKEND_CPU.mem.set_threads(o->threads); /* OpenMP and OpenBLAS */
    interrupt_install(); /* Ctrl-C: the running inner step is the last */
    if (ho->json && hypergrad_check_json_path(ho->json, &err)) {
        fprintf(stderr, "hgbench hpo: %s\n", err.msg);
        return 2;
    }
    HpoRun H = {.ho = ho, .o = o, .loop = {.best = -1}};
    const ProblemSpec spec = hypergrad_problem_spec(o);
    Model *sized = problem_model(&spec, &err); /* to size the run before loading */
    HG_CHECK(engine_find(o->engine) && sized, "checked by hpo_parse: %s", err.msg);
    const long P = sized->nparams;
    HyperBlocks blocks; /* N as hypergrad counts it: layers, weights, examples */
    const long N = hyper_blocks_of_model(sized, &blocks, &err)
                       ? -1
                       : hyper_count(o->K, o->per, blocks.L, P) + o->examples;
    model_free(sized);
    if (N < 0 || N > INT_MAX) {
        fprintf(stderr, "hgbench hpo: refused: --learn %s: %s\n", o->learn,
                N < 0 ? err.msg : "too many learned values");
        status = 2;
        goto done;
    }
    if (ho->outer_steps > 0 &&
        hypergrad_memory_estimate("hpo", o, P, (int)N, &H.estimate, &err)) {
        fprintf(stderr, "hgbench hpo: refused: %s\n", err.msg);
        status = 1;
        goto done;
    }
    if (hypergrad_load_problem(o, &H.pb, &status, &err)) {
        fprintf(stderr, "hgbench hpo: %s\n", err.msg);
        goto done;
    }
    if (ho->test && load_test(&H, &err)) {
        fprintf(stderr, "hgbench hpo: %s\n", err.msg);
        status = 3;
        goto done;
    }
    const RunSpec rs = hypergrad_run_spec(o); /* the same run hgbench hypergrad makes */
    if (runner_build(&H.run, &H.pb.inner, &rs, &err) || hypergrad_apply_theta(o, &H.run, &err)) {
        fprintf(stderr, "hgbench hpo: %s\n", err.msg);
        status = 2;
        goto done;
    }
    const HpoConfig hc = {.prob = &H.pb.inner, .layout = &H.run.layout, .outer = ho->outer,
                          .outer_steps = ho->outer_steps, .patience = ho->patience,
                          .test = ho->test ? &H.dev_test : NULL, .hypergrad = engine_hypergrad,
                          .hypergrad_ctx = &H, .run_wT = hpo_test_at_wT(&H),
                          .on_step = on_step, .ctx = &H,
                          .resample = ho->resample ? resample : NULL, .resample_ctx = &H};
    if (hpo_init(&H.loop, &hc, H.run.theta, &H.run.sched, &err)) {
        fprintf(stderr, "hgbench hpo: %s\n", err.msg);
        status = 2;
        goto done;
    }
    hypergrad_note_windows("hpo", o, &H.run, "starts at");
    sign_ranges(&H);
    if (ho->resume && resume(&H, &err)) {
        fprintf(stderr, "hgbench hpo: --resume %s: %s\n", ho->resume, err.msg);
        status = 2;
        goto done;
    }
    hpo_report_header(&H);
    char label[64];
    snprintf(label, sizeof label, "hpo %s", o->engine);
    progress_start(&H.pg, label, ho->outer_steps + 1);
    H.pb.inner.stop = &interrupt_signal; /* engines and retraining poll it */
    hpo_run(&H.loop);
    progress_end(&H.pg);
    hpo_report_footer(&H);
    if (H.loop.best < 0)
        status = 1;
    if (ho->json && hpo_report_json(&H, &err)) {
        fprintf(stderr, "hgbench hpo: --json %s\n", err.msg);
        status = 3;
    }
    if (H.loop.stop == HPO_FAILED)
        fprintf(stderr, "hgbench hpo: stopped at outer step %d: inner run %s: %s\n",
                H.loop.fail_outer, H.loop.fail_status, H.loop.fail_msg);

done:
    hpo_run_free(&H);
    if (interrupt_signal) { /* the log of the finished outer steps was written */
        fprintf(stderr, "hgbench hpo: interrupted (%s)\n", interrupt_name());
        return interrupt_exit_status();
    }
    return status;
}

int hpo_main(int argc, char **argv)
{
    HpoOptions o;
    HgErr err = {{0}};
    if (hpo_parse(argc, argv, &o, &err)) {
        fprintf(stderr, "hgbench hpo: %s\n", err.msg);
        return 2;
    }
    if (o.help) {
        hpo_usage(stdout);
        return 0;
    }
    return hpo_command(&o);
}
