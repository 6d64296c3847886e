/* hpo_json.c — `hgbench hpo`'s --json log (hpo_report.h): the problem and
 * outer settings (what --resume checks), every outer step, the optimiser's
 * state, why it stopped, the best and final schedules.
 */
#include "hpo_report.h"

#include <math.h>

#include "../common/mem.h"
#include "../engines/engine.h"
#include "../harness/problem.h"
#include "../io/atomic_file.h"
#include "hpo_resume.h"

static void json_theta(JsonWriter *j, const HyperLayout *h, const double *theta)
{
    json_object_begin(j, 0);
    for (int k = 0; k < OUTER_GROUPS; k++) /* per layer or weight: K x width, window-major */
        if (outer_group_count(h, k)) {
            json_field_doubles(j, outer_group_name(k), theta + outer_group_offset(h, k),
                               outer_group_count(h, k));
        }
    json_object_end(j);
}

/* A value a step does not have is written as NaN, which the writer prints
 * as null. */
static void json_entry_summary(JsonWriter *j, HpoRun *H, const HpoStep *e, int with_schedule)
{
    json_object_begin(j, 0);
    json_field_int(j, "outer", e->outer);
    json_field_double(j, "val_loss", e->val_loss);
    json_field_double(j, "val_acc", e->val_acc);
    json_field_double(j, "test_loss", e->has_test ? e->test_loss : NAN);
    json_field_double(j, "test_acc", e->has_test ? e->test_acc : NAN);
    if (with_schedule) {
        json_key(j, "theta");
        json_theta(j, &H->run.layout, e->theta);
        json_key(j, "schedule"); /* per inner step, every kind */
        hpo_load_theta(H, e->theta);
        json_object_begin(j, 0);
        for (int k = 0; k < HYPER_KINDS; k++) {
            json_field_doubles(j, hyper_kind_name(k), H->run.sched.v[k], H->run.layout.T);
        }
        json_object_end(j);
    }
    json_object_end(j);
}

void hpo_report_json_header(JsonWriter *j, const HpoRun *H)
{
    const HpoOptions *ho = H->ho;
    const HypergradOptions *o = H->o;
    const HyperLayout *h = &H->run.layout;
    const OuterConfig *c = &ho->outer;
    json_field_string(j, "command", "hpo");
    json_field_string(j, "engine", o->engine);
    hypergrad_json_problem(j, o, &H->pb, h);
    json_key(j, "resample"); /* the kinds drawn anew at each outer step, [] for none */
    json_array_begin(j, 1);
    for (int k = 0; problem_resample_name(k); k++)
        if (ho->resample & 1u << k)
            json_put_string(j, problem_resample_name(k));
    json_array_end(j);
    if (!engine_takes(H->run.engine, "--hvp-clamp")) { /* else the engine's option above */
        json_field_double(j, "hvp_clamp", 0);
    }
    json_field_string(j, "best_rule", hpo_best_rule(H));
    json_key(j, "test_examples");
    if (ho->test)
        json_int(j, H->test.n);
    else
        json_put_null(j);
    json_key(j, "test_at"); /* where each outer step's test accuracy is measured */
    if (ho->test)
        json_put_string(j, hpo_test_at_wT(H) ? "engine_wT" : "retrained");
    else
        json_put_null(j);
    json_key(j, "outer");
    json_object_begin(j, 0);
    json_field_string(j, "optimizer", outer_kind_name(c->kind));
    json_field_int(j, "steps", ho->outer_steps);
    if (c->kind == OUTER_SIGN) {
        json_key(j, "sign_step");
        json_object_begin(j, 1);
        for (int k = 0; k < OUTER_GROUPS; k++)
            if (outer_group_count(h, k)) {
                json_field_double(j, outer_group_name(k), c->sign_step[k]);
            }
        json_object_end(j);
        json_field_double(j, "sign_decay", c->sign_decay);
        json_key(j, "search_range");
        json_object_begin(j, 1);
        for (int k = 0; k < OUTER_GROUPS; k++)
            if (outer_group_count(h, k)) {
                json_field_doubles(j, outer_group_name(k), H->range[k], 2);
            }
        json_object_end(j);
    } else {
        json_field_double(j, "lr", c->lr);
    }
    if (c->kind == OUTER_SGD) {
        json_field_double(j, "clip", c->clip > 0 ? c->clip : NAN);
    }
    if (c->kind == OUTER_ADAM) {
        json_field_double(j, "beta1", c->beta1);
        json_field_double(j, "beta2", c->beta2);
        json_field_double(j, "eps", c->eps);
    }
    json_key(j, "bounds"); /* [lo, hi] per kind, null for no upper bound */
    if (c->bounded) {
        json_object_begin(j, 1);
        for (int k = 0; k < (h->E ? OUTER_GROUPS : HYPER_KINDS); k++) {
            double lo, hi;
            outer_bounds(k, &lo, &hi);
            json_field_doubles(j, outer_group_name(k),
                               (double[]){isinf(lo) ? NAN : lo, isinf(hi) ? NAN : hi}, 2);
        }
        json_object_end(j);
    } else {
        json_put_null(j);
    }
    json_field_int(j, "patience", ho->patience);
    json_object_end(j);
}

int hpo_report_json(HpoRun *H, HgErr *err)
{
    const HpoOptions *ho = H->ho;
    const HyperLayout *h = &H->run.layout;
    const OuterConfig *c = &ho->outer;
    AtomicFile af;
    if (atomic_open(&af, ho->json, err))
        return -1;
    JsonWriter jw, *j = &jw;
    json_init(j, af.f);
    json_object_begin(j, 0);
    hpo_report_json_header(j, H);

    json_key(j, "log");
    json_array_begin(j, 0);
    for (int i = 0; i < H->loop.nlog; i++) {
        const HpoStep *e = &H->loop.log[i];
        json_object_begin(j, 0);
        json_field_int(j, "outer", e->outer);
        json_field_string(j, "status", hpo_step_has_grad(e) ? "ok" : "final");
        json_field_double(j, "val_loss", e->val_loss);
        json_field_double(j, "val_acc", e->val_acc);
        json_field_double(j, "test_loss", e->has_test ? e->test_loss : NAN);
        json_field_double(j, "test_acc", e->has_test ? e->test_acc : NAN);
        json_field_double(j, "hypergrad_norm", hpo_step_has_grad(e) ? e->hg_norm : NAN);
        json_field_double(j, "time_s", e->time_s);
        json_field_double(j, "engine_time_s", hpo_step_has_grad(e) ? e->engine_time_s : NAN);
        json_key(j, "flips");
        if (hpo_step_has_grad(e) && c->kind == OUTER_SIGN)
            json_int(j, e->flips);
        else
            json_put_null(j);
        json_key(j, "clamped");
        if (hpo_step_has_grad(e))
            json_int(j, e->clamped);
        else
            json_put_null(j);
        if (ho->resample) { /* the seeds this step ran with (problem.h's table) */
            json_key(j, "seeds");
            json_object_begin(j, 1);
            json_field_uint(j, "init", hpo_step_seed(H, PROBLEM_RESAMPLE_INIT, e->outer));
            json_field_uint(j, "batches", hpo_step_seed(H, PROBLEM_RESAMPLE_BATCHES, e->outer));
            json_field_uint(j, "val", hpo_step_seed(H, PROBLEM_RESAMPLE_VAL, e->outer));
            json_object_end(j);
        }
        json_key(j, "theta");
        json_theta(j, h, e->theta);
        json_key(j, "hypergrad");
        if (hpo_step_has_grad(e))
            json_theta(j, h, e->grad);
        else
            json_put_null(j);
        json_object_end(j);
    }
    json_array_end(j);
    hpo_resume_write_state(j, h, &H->loop.opt, H->loop.theta);

    char buf[700];
    json_key(j, "stop");
    json_object_begin(j, 0);
    json_key(j, "reason");
    json_put_string(j, H->loop.stop == HPO_COMPLETED ? "completed"
                   : H->loop.stop == HPO_PATIENCE ? "patience" : H->loop.fail_status);
    json_key(j, "outer");
    json_int(j, H->loop.stop == HPO_FAILED ? H->loop.fail_outer
                : H->loop.nlog ? H->loop.log[H->loop.nlog - 1].outer : 0);
    json_field_string(j, "message", hpo_stop_text(H, buf, sizeof buf));
    json_object_end(j);
    json_key(j, "best");
    if (H->loop.best >= 0)
        json_entry_summary(j, H, &H->loop.log[H->loop.best], 1);
    else
        json_put_null(j);
    json_key(j, "final");
    if (H->loop.nlog)
        json_entry_summary(j, H, &H->loop.log[H->loop.nlog - 1], 1);
    else
        json_put_null(j);
    json_field_double(j, "time_s", H->loop.total_s);
    if (H->estimate > 0) {
        json_field_double(j, "mem_estimate", H->estimate);
    }
    json_field_uint(j, "peak_rss", mem_peak_rss());
    hypergrad_json_machine(j);
    json_object_end(j);
    return atomic_commit(&af, err);
}
