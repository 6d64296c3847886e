/* hpo_report.c — what `hgbench hpo` prints (hpo_report.h): the table with
 * its '#' context, the best and final schedules per inner step. The JSON
 * log is hpo_json.c's.
 */
#include "hpo_report.h"

#include <math.h>
#include <string.h>

#include "../common/mem.h"
#include "../common/real.h"
#include "../engines/engine.h"
#include "../harness/problem.h"

int hpo_step_has_grad(const HpoStep *e)
{
    return e->status == HPO_STEP_OK;
}

const char *hpo_resample_text(unsigned bits, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; problem_resample_name(k) && at < cap; k++)
        if (bits & 1u << k)
            at += (size_t)snprintf(buf + at, cap - at, "%s%s", at ? "," : "",
                                   problem_resample_name(k));
    if (!at)
        snprintf(buf, cap, "none");
    return buf;
}

uint64_t hpo_step_seed(const HpoRun *H, unsigned kind, int outer)
{
    return problem_outer_seed(&H->pb.spec, (ProblemResample)kind,
                              H->ho->resample & kind ? outer : 0);
}

int hpo_test_at_wT(const HpoRun *H)
{
    return H->run.engine->plain_wT;
}

double hpo_hvp_clamp(const HpoRun *H)
{
    return H->o->opt.hvp_clamp;
}

const char *hpo_best_rule(const HpoRun *H)
{
    return H->ho->resample & PROBLEM_RESAMPLE_VAL
               ? "the highest val_acc, each outer step's on its own validation sample "
                 "(--resample val: different samples of the same size)"
               : "the highest val_acc, on the same validation set at every outer step";
}

void hpo_report_header(const HpoRun *H)
{
    const HpoOptions *ho = H->ho;
    const HypergradOptions *o = H->o;
    const HyperLayout *h = &H->run.layout;
    const OuterConfig *c = &ho->outer;
    printf("# hgbench hpo: engine %s, model %s (%ld parameters), data %s (%dx%dx%d): %d train, "
           "%d val", o->engine, o->model, H->pb.model->nparams, o->data, H->pb.model->input.c,
           H->pb.model->input.h, H->pb.model->input.w, H->pb.train.n, H->pb.val.n);
    if (ho->test)
        printf(", %d test", H->test.n);
    printf(" examples, " HG_REAL_NAME ", %d threads\n", o->threads);
    printf("# inner: T = %d steps, batch %d, initial schedule %s (lr %g, mom %g, wd %g), clamp ",
           o->steps, o->batch, o->schedule_name, o->lr, o->mom, o->wd);
    if (o->clamp > 0)
        printf("%g", o->clamp);
    else
        printf("off");
    printf("; seeds init %llu, batch order %llu, val split %llu\n", (unsigned long long)o->seed,
           (unsigned long long)o->batch_seed, (unsigned long long)o->val_seed);
    char rs[64];
    printf("# protocol: resample %s", hpo_resample_text(ho->resample, rs, sizeof rs));
    if (ho->resample)
        printf(" (outer step s > 0 draws its own from seeds derived from s; the --json log "
               "holds each step's seeds)");
    printf("; inner-gradient clamp ");
    if (o->clamp > 0)
        printf("%g", o->clamp);
    else
        printf("off");
    printf("; Hessian-vector product clamp ");
    if (hpo_hvp_clamp(H) > 0)
        printf("%g", hpo_hvp_clamp(H));
    else
        printf(engine_takes(H->run.engine, "--hvp-clamp") ? "off" : "none (%s forms no HVP)",
               o->engine);
    printf("\n# best outer step: %s\n", hpo_best_rule(H));
    printf("# learned:");
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k])
            printf(" %s:%d%s%s", hyper_kind_name(k), h->K[k], h->per[k] ? "/" : "",
                   h->per[k] ? hyper_per_name(h->per[k]) : "");
    if (h->E)
        printf(" ex:%d (example weights)", h->E);
    printf("%s (N = %d)", h->N ? "" : " none", h->N);
    const char *sep = "; engine options"; /* as the engine declares them, with their values */
    for (const EngineOption *x = H->run.engine->options; x && x->flag; x++, sep = ",") {
        char v[64];
        engine_option_text(x, &o->opt, v, sizeof v);
        printf("%s %s %s", sep, x->flag, v);
    }
    printf("\n# outer: %s, %d outer steps", outer_kind_name(c->kind), ho->outer_steps);
    if (c->kind == OUTER_SIGN) {
        printf("; initial steps");
        for (int k = 0; k < OUTER_GROUPS; k++)
            if (outer_group_count(h, k))
                printf(" %s %g", outer_group_name(k), c->sign_step[k]);
        printf(", x %g on each sign flip; search range", c->sign_decay);
        for (int k = 0; k < OUTER_GROUPS; k++)
            if (outer_group_count(h, k))
                printf(" %s [%g, %g]", outer_group_name(k), H->range[k][0], H->range[k][1]);
        printf(" (initial +- step x outer steps at most)");
    } else {
        printf("; outer learning rate %g", c->lr);
        if (c->kind == OUTER_SGD && c->clip > 0)
            printf(", hypergradient entries clipped to [-%g, %g]", c->clip, c->clip);
        if (c->kind == OUTER_ADAM)
            printf(", beta1 %g, beta2 %g, eps %g", c->beta1, c->beta2, c->eps);
    }
    printf("\n# bounds: %s%s\n", c->bounded ? "on: after each update lr >= 0, 0 <= mom <= 0.999, "
                                              "wd >= 0; values outside are clamped (column "
                                              "clamped counts them)"
                                            : "off",
           h->E ? "; the example weights' gamma unbounded" : "");
    if (ho->patience)
        printf("# patience: stop after %d outer steps without a better validation accuracy\n",
               ho->patience);
    if (ho->test)
        printf("# test accuracy: %s\n",
               hpo_test_at_wT(H) ? "the test split evaluated at each outer step's w_T, the "
                                   "engine run's own (bit for bit a plain training run's: "
                                   "EngineOps.plain_wT)"
                                 : "each schedule retrained from w0 (this engine's w_T is not a "
                                   "plain training run's) and evaluated on the test split");
    printf("# entry s: the schedule theta_s, its run's accuracies, its hypergradient g_s; flips "
           "and clamped are of the update to theta_{s+1}; the last entry (status final) is the "
           "final theta, evaluated by a plain training run\n");
    printf("# time_s: wall time of the outer step (engine%s, update)\n",
           !ho->test ? "" : hpo_test_at_wT(H) ? ", test evaluation" : ", retraining and test "
                                                                      "evaluation");
    printf("# columns: outer val_loss val_acc test_acc hg_norm time_s flips clamped");
    for (int k = 0; k < OUTER_GROUPS; k++)
        if (outer_group_count(h, k))
            printf(" %s_mean %s_min %s_max", outer_group_name(k), outer_group_name(k),
                   outer_group_name(k));
    printf(" status\n");
    fflush(stdout);
}

void hpo_report_row(const HpoRun *H, const HpoStep *e)
{
    const HyperLayout *h = &H->run.layout;
    char test[32] = "-", hg[32] = "-", flips[16] = "-", clamped[16] = "-";
    if (e->has_test)
        snprintf(test, sizeof test, "%.4f", e->test_acc);
    if (hpo_step_has_grad(e)) {
        snprintf(hg, sizeof hg, "%.4e", e->hg_norm);
        snprintf(flips, sizeof flips, "%d", e->flips);
        snprintf(clamped, sizeof clamped, "%d", e->clamped);
    }
    printf("%5d %10.6f %8.4f %8s %11s %8.3f %5s %7s", e->outer, e->val_loss, e->val_acc, test,
           hg, e->time_s, flips, clamped);
    for (int k = 0; k < OUTER_GROUPS; k++) {
        const long n = outer_group_count(h, k);
        if (!n)
            continue;
        const double *x = e->theta + outer_group_offset(h, k);
        double sum = 0, lo = INFINITY, hi = -INFINITY;
        for (long j = 0; j < n; j++) {
            sum += x[j];
            lo = fmin(lo, x[j]);
            hi = fmax(hi, x[j]);
        }
        printf(" %11.5g %11.5g %11.5g", sum / n, lo, hi);
    }
    printf(" %s\n", hpo_step_has_grad(e) ? "ok" : "final");
    fflush(stdout);
}

const char *hpo_stop_text(const HpoRun *H, char *buf, size_t cap)
{
    switch (H->loop.stop) {
    case HPO_COMPLETED:
        snprintf(buf, cap, "completed %d outer steps and evaluated the final schedule",
                 H->ho->outer_steps);
        break;
    case HPO_PATIENCE:
        snprintf(buf, cap, "patience: no better validation accuracy in %d outer steps after "
                 "outer step %d", H->ho->patience, H->loop.log[H->loop.best].outer);
        break;
    case HPO_FAILED:
        snprintf(buf, cap, "outer step %d: inner run %s: %s", H->loop.fail_outer,
                 H->loop.fail_status, H->loop.fail_msg);
        break;
    }
    return buf;
}

void hpo_load_theta(HpoRun *H, const double *theta)
{
    hyper_unpack(&H->run.layout, theta, &H->run.sched);
}

void hpo_report_footer(HpoRun *H)
{
    char buf[700];
    printf("# stopped: %s\n", hpo_stop_text(H, buf, sizeof buf));
    if (H->loop.best < 0) {
        printf("# best: none (no schedule was evaluated)\n");
        return;
    }
    const HpoStep *b = &H->loop.log[H->loop.best], *f = &H->loop.log[H->loop.nlog - 1];
    const HpoStep *pair[2] = {b, f};
    const char *names[2] = {"best", "final"};
    for (int i = 0; i < 2; i++) {
        printf("# %s: outer step %d: val_loss %.6f, val_acc %.4f", names[i], pair[i]->outer,
               pair[i]->val_loss, pair[i]->val_acc);
        if (pair[i]->has_test)
            printf(", test_acc %.4f", pair[i]->test_acc);
        printf("\n");
    }
    double eng = 0;
    int runs = 0;
    for (int i = 0; i < H->loop.nlog; i++)
        if (hpo_step_has_grad(&H->loop.log[i])) {
            eng += H->loop.log[i].time_s;
            runs++;
        }
    if (runs)
        printf("# time: %.2f s in all; %.3f s per outer step (mean over %d with an engine "
               "run)\n", H->loop.total_s, eng / runs, runs);
    else
        printf("# time: %.2f s in all; no outer step ran an engine\n", H->loop.total_s);
    /* index 1: the schedules per inner step */
    printf("\n\n# schedules per inner step: best (outer step %d) and final (outer step %d)\n",
           b->outer, f->outer);
    printf("# columns: t lr_best mom_best wd_best lr_final mom_final wd_final\n");
    const int T = H->run.layout.T;
    double *best[HYPER_KINDS];
    hpo_load_theta(H, b->theta);
    for (int k = 0; k < HYPER_KINDS; k++) {
        best[k] = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)T);
        memcpy(best[k], H->run.sched.v[k], sizeof(double) * (size_t)T);
    }
    hpo_load_theta(H, f->theta);
    for (int t = 0; t < T; t++)
        printf("%d %.9g %.9g %.9g %.9g %.9g %.9g\n", t, best[0][t], best[1][t], best[2][t],
               H->run.sched.v[0][t], H->run.sched.v[1][t], H->run.sched.v[2][t]);
    for (int k = 0; k < HYPER_KINDS; k++)
        mem_free(best[k]);
    fflush(stdout);
}
