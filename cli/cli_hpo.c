/* cli_hpo.c — `hgbench hpo` (cli_hpo.h): flags, the outer loop, the table
 * and the JSON log.
 *
 * Flags: hpo's own (below) are taken out of argv; every other flag must be
 * one of hypergrad's problem flags and goes, in order, to hypergrad_parse,
 * so the problem's defaults, checks and messages are hypergrad's. --export
 * (one problem, not a loop of them) is refused.
 *
 * Order of work: flags checked (exit 2, no work); --json's folder checked;
 * the engine's memory estimate printed (a run that cannot fit: exit 1); data
 * loaded (train/val as hypergrad; with --test, the test split normalised by
 * the train statistics); then outer step s = 0 .. S-1: run the engine on
 * theta_s, retrain theta_s for the test accuracy when --test (the engines do
 * not return w_T), update theta_{s+1} = outer(theta_s, g_s); then a plain
 * training run evaluates theta_S. Entry s of the log is theta_s with its
 * accuracies, its hypergradient g_s and the update's flips and clamps.
 * --resume LOG: after the data is loaded, the log's finished outer steps are
 * checked against this command and restored (hpo_resume.h), and the loop
 * goes on from there; the log is rewritten (--json defaults to LOG).
 * Leaves out: repeated seeds per outer step.
 */
#include "cli_hpo.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "../common/mem.h"
#include "../common/real.h"
#include "../common/timer.h"
#include "../engines/engine.h"
#include "../harness/hpo.h"
#include "../harness/problem.h"
#include "../io/atomic_file.h"
#include "../io/json_writer.h"
#include "../io/progress.h"
#include "../common/flags.h"
#include "hpo_resume.h"
#include "interrupt.h"

#define MAX_OUTER_STEPS 1000000

/* ------------------------------------------------------------ flags */

typedef enum HpoFlag {
    H_OUTER, H_OUTER_STEPS, H_OUTER_LR, H_SIGN_STEP, H_SIGN_DECAY, H_CLIP, H_BOUNDS,
    H_PATIENCE, H_TEST, H_JSON, H_RESUME, H_HELP, H_COUNT
} HpoFlag;

/* hypergrad flags hpo does not pass on: its own --json and --help, and
 * --export */
static const char *const OMITTED[] = {"--json", "--help", "--export", NULL};
/* hpo's own: --export is in the table only to be refused by name */
static const char *const OWN_OMITTED[] = {"--export", NULL};

static FlagTable hpo_flags(HpoOptions *o, int given[H_COUNT]);

void hpo_usage(FILE *f)
{
    fputs("usage: hgbench hpo [flags]\n"
          "Gradient-based hyperparameter optimisation: each outer step runs one engine on the\n"
          "current schedule (the learned values, theta) and moves theta by an outer optimiser;\n"
          "logs validation (and test) accuracy per outer step and keeps the best schedule.\n"
          "At the precision of this binary (" HG_REAL_NAME "). Flags take a value as --flag V\n"
          "or --flag=V; the last of a repeated flag wins.\n\n"
          "Outer optimisation:\n",
          f);
    HpoOptions scratch;
    int given[H_COUNT];
    const FlagTable t = hpo_flags(&scratch, given);
    flags_usage_omit(f, t.f, OWN_OMITTED);
    fputs("\nThe inner problem (hgbench hypergrad's flags and defaults; --learn says what is\n"
          "learned, --lr/--mom/--wd/--schedule give the initial schedule; --greedy-online-lr\n"
          "makes each greedy run an online HD run from theta, whose moved schedule is not\n"
          "returned: the log holds theta, the run's start):\n",
          f);
    hypergrad_print_flags(f, OMITTED);
    fputs("\nOutputs: the per-outer-step table and the best and final schedules on stdout;\n"
          "the memory estimate, notes and a progress bar on stderr.\n"
          "Exit status: 0 done (also when stopped early by --patience or by a failed inner\n"
          "run, which the log reports); 1 the first inner run failed or the engine refused;\n"
          "2 a usage error, refused before any work, or a --resume log that does not match;\n"
          "3 data not loaded or output not written; 130/143 interrupted (the log of the\n"
          "finished outer steps is written: --resume it).\n",
          f);
}

/* "lr:0.02,wd:1e-4" into steps (kinds not given keep their value). */
static int parse_sign_step(const char *spec, double steps[HYPER_KINDS], HgErr *err)
{
    int seen[HYPER_KINDS] = {0};
    if (!*spec)
        return hg_fail(err, "--sign-step '': empty (e.g. --sign-step lr:0.02)");
    for (const char *p = spec;;) {
        const size_t len = strcspn(p, ","), klen = strcspn(p, ":,");
        int kind = -1;
        for (int k = 0; k < HYPER_KINDS; k++)
            if (strlen(hyper_kind_name(k)) == klen && !strncmp(p, hyper_kind_name(k), klen))
                kind = k;
        if (klen == len)
            return hg_fail(err, "--sign-step '%s': '%.*s' needs a value, as lr:0.02", spec,
                           (int)len, p);
        if (kind < 0)
            return hg_fail(err, "--sign-step '%s': unknown kind '%.*s' (valid: lr, mom, wd)",
                           spec, (int)klen, p);
        if (seen[kind]++)
            return hg_fail(err, "--sign-step '%s': %s is given twice", spec,
                           hyper_kind_name(kind));
        char value[64], flag[32];
        const size_t vlen = len - klen - 1;
        if (vlen >= sizeof value)
            return hg_fail(err, "--sign-step '%s': value too long", spec);
        memcpy(value, p + klen + 1, vlen);
        value[vlen] = '\0';
        snprintf(flag, sizeof flag, "--sign-step %s:", hyper_kind_name(kind));
        if (flags_parse_real(flag, value, 0, INFINITY, 0, &steps[kind], err))
            return -1;
        if (!(steps[kind] > 0))
            return hg_fail(err, "--sign-step '%s': the %s step must be > 0", spec,
                           hyper_kind_name(kind));
        p += len;
        if (!*p)
            return 0;
        p++;
    }
}

static int set_outer(const char *flag, const char *v, void *target, HgErr *err)
{
    if (outer_kind_parse(v, target))
        return hg_fail(err, "%s '%s': unknown (valid: sign, sgd, adam)", flag, v);
    return 0;
}

static int set_outer_lr(const char *flag, const char *v, void *target, HgErr *err)
{
    double *lr = target;
    if (flags_parse_real(flag, v, 0, INFINITY, 0, lr, err))
        return -1;
    return *lr > 0 ? 0 : hg_fail(err, "%s %s: must be > 0", flag, v);
}

static int set_sign_step(const char *flag, const char *v, void *target, HgErr *err)
{
    return parse_sign_step(v, target, err);
}

static int set_sign_decay(const char *flag, const char *v, void *target, HgErr *err)
{
    double *decay = target;
    if (flags_parse_real(flag, v, 0, 1, 0, decay, err))
        return -1;
    return *decay > 0 ? 0 : hg_fail(err, "%s %s: must be in (0, 1]", flag, v);
}

static int set_bounds(const char *flag, const char *v, void *target, HgErr *err)
{
    if (strcmp(v, "on") && strcmp(v, "off"))
        return hg_fail(err, "%s '%s': must be on or off", flag, v);
    *(int *)target = !strcmp(v, "on");
    return 0;
}

static int refuse_export(const char *flag, const char *v, void *target, HgErr *err)
{
    return hg_fail(err, "%s: hpo runs a sequence of inner problems; export one of them with "
                   "hgbench hypergrad", flag);
}

/* hpo's own flags over o; the rest go to hypergrad_parse. given[id] is set
 * for each flag on the command line. */
static FlagTable hpo_flags(HpoOptions *o, int given[H_COUNT])
{
    return (FlagTable){{
        {"--outer", "sign|sgd|adam", "sign",
         "outer optimiser: sign (a fixed step per kind, decayed on each sign flip; FDS "
         "appendix G), sgd (with per-entry clipping, as HD), adam", FLAG_FUNC,
         .target = &o->outer.kind, .parse = set_outer, .given = &given[H_OUTER]},
        {"--outer-steps", "S", "50",
         "updates of the hyperparameters; the final ones are then evaluated by a plain "
         "training run; 0 evaluates the initial schedule only", FLAG_INT,
         .target = &o->outer_steps, .lo = 0, .hi = MAX_OUTER_STEPS,
         .given = &given[H_OUTER_STEPS]},
        {"--outer-lr", "X", "0.01", "sgd and adam: outer learning rate, > 0", FLAG_FUNC,
         .target = &o->outer.lr, .parse = set_outer_lr, .given = &given[H_OUTER_LR]},
        {"--sign-step", "LIST", "lr:0.02,mom:0.05,wd:0.0001",
         "sign: initial step per kind, kind:X comma-separated, kinds lr, mom, wd; each > 0",
         FLAG_FUNC, .target = o->outer.sign_step, .parse = set_sign_step,
         .given = &given[H_SIGN_STEP]},
        {"--sign-decay", "X", "0.5",
         "sign: the step of a value is multiplied by X when its hypergradient's sign flips "
         "between two outer steps, in (0, 1]", FLAG_FUNC, .target = &o->outer.sign_decay,
         .parse = set_sign_decay, .given = &given[H_SIGN_DECAY]},
        {"--clip", "C", "0", "sgd: clip each hypergradient entry to [-C, C]; 0 = off",
         FLAG_REAL, .target = &o->outer.clip, .lo = 0, .hi = INFINITY,
         .given = &given[H_CLIP]},
        {"--bounds", "on|off", "on",
         "after each update clamp lr and wd to >= 0 and momentum to [0, 0.999]", FLAG_FUNC,
         .target = &o->outer.bounded, .parse = set_bounds, .given = &given[H_BOUNDS]},
        {"--patience", "P", "0",
         "stop after P outer steps without a better validation accuracy (the best schedule "
         "is kept either way); 0 = off", FLAG_INT, .target = &o->patience, .lo = 0,
         .hi = MAX_OUTER_STEPS, .given = &given[H_PATIENCE]},
        {"--test", NULL, "off",
         "also evaluate the test accuracy on the data set's test split at every outer step, "
         "by retraining the schedule (not for synthetic data)", FLAG_SWITCH,
         .target = &o->test, .given = &given[H_TEST]},
        {"--json", "FILE", "none",
         "write the whole log (every outer step's schedule, accuracies, hypergradient) and "
         "the best and final schedules as JSON to FILE, atomically", FLAG_STRING,
         .target = &o->json, .given = &given[H_JSON]},
        {"--resume", "LOG", "none",
         "continue the run whose --json log is LOG (interrupted, or stopped early) from its "
         "last finished outer step, with the same flags; the result is bit for bit the "
         "uninterrupted run's; the log is rewritten unless --json names another file",
         FLAG_STRING, .target = &o->resume, .given = &given[H_RESUME]},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &o->help,
         .given = &given[H_HELP]},
        /* not in the usage: hypergrad's --export, refused here by name */
        {"--export", "DIR", NULL, "", FLAG_FUNC, .parse = refuse_export},
    }};
}

static int check_hpo(HpoOptions *o, const int given[H_COUNT], HgErr *err)
{
    const HypergradOptions *p = &o->prob;
    const OuterKind kind = o->outer.kind;
    const int N = p->K[HYPER_LR] + p->K[HYPER_MOM] + p->K[HYPER_WD];
    if ((given[H_SIGN_STEP] || given[H_SIGN_DECAY]) && kind != OUTER_SIGN)
        return hg_fail(err, "--%s: only for --outer sign (--outer %s)",
                       given[H_SIGN_STEP] ? "sign-step" : "sign-decay", outer_kind_name(kind));
    if (given[H_OUTER_LR] && kind == OUTER_SIGN)
        return hg_fail(err, "--outer-lr: --outer sign takes no learning rate; its steps are "
                       "--sign-step (or use --outer sgd or adam)");
    if (given[H_CLIP] && kind != OUTER_SGD)
        return hg_fail(err, "--clip: only --outer sgd clips hypergradients (--outer %s)",
                       outer_kind_name(kind));
    if (o->outer_steps > 0 && N == 0)
        return hg_fail(err, "--learn %s: nothing is learned, so there is nothing to optimise; "
                       "learn a kind (e.g. --learn lr:T) or give --outer-steps 0 to evaluate "
                       "the initial schedule only", p->learn);
    if (o->resume && !o->json)
        o->json = o->resume; /* the resumed run's log replaces the one it continues */
    if (o->test && p->synthetic)
        return hg_fail(err, "--test with --data %s: synthetic data has no test split",
                       p->data);
    if (o->test && p->greedy_online_lr > 0)
        return hg_fail(err, "--test with --greedy-online-lr: the online run moves the "
                       "schedule and does not return it, so retraining theta for the test "
                       "accuracy would not be the run that was logged");
    HyperLayout h;
    OuterOpt opt;
    if (hyper_layout_init(&h, p->steps, p->K, err))
        return -1;
    if (outer_init(&opt, &o->outer, &h, err)) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return hg_fail(err, "--outer %s: %s", outer_kind_name(kind), msg);
    }
    outer_free(&opt);
    return 0;
}

int hpo_parse(int argc, char **argv, HpoOptions *o, HgErr *err)
{
    int given[H_COUNT] = {0};
    memset(o, 0, sizeof *o);
    o->outer = outer_defaults();
    o->outer_steps = 50;
    /* hpo's flags here, the problem's, in order, for hypergrad_parse */
    char **sub = malloc(sizeof(char *) * (size_t)(argc + 1));
    HG_CHECK(sub, "out of memory");
    int nsub = 0;
    const FlagTable t = hpo_flags(o, given);
    int rc = flags_parse_known(t.f, argc, argv, &nsub, sub, err);
    if (rc == 0)
        rc = hypergrad_parse(nsub, sub, &o->prob, err);
    free(sub);
    if (rc || o->help)
        return rc;
    return check_hpo(o, given, err);
}

/* ------------------------------------------------------------ the run */

typedef struct HpoRun {
    const HpoOptions *ho;
    const HypergradOptions *o;
    Problem pb;          /* train, val, model, w0 (problem.h) */
    Dataset test;
    HyperLayout layout;
    Schedule sched;      /* the run's schedule: learned kinds from theta */
    double range[HYPER_KINDS][2]; /* sign: search range per learned kind */
    Hpo loop;            /* the outer loop and its log (harness/hpo.h) */
    const EngineOps *ops;
    EngineConfig cfg;
    Progress pg;
    double estimate;
    int val_mismatch_noted;
} HpoRun;

static int has_grad(const HpoStep *e)
{
    return e->status == HPO_STEP_OK;
}

static void print_header(const HpoRun *H)
{
    const HpoOptions *ho = H->ho;
    const HypergradOptions *o = H->o;
    const HyperLayout *h = &H->layout;
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
    printf("# learned:");
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k])
            printf(" %s:%d", hyper_kind_name(k), h->K[k]);
    printf("%s (N = %d)", h->N ? "" : " none", h->N);
    if (engine_takes(engine_find(o->engine), "look-ahead"))
        printf("; greedy look-ahead on the %s%s",
               o->greedy_on_train ? "next batch" : "validation set",
               o->greedy_online_lr > 0 ? ", online HD updates in each run" : "");
    if (o->truncate > 0)
        printf("; bptt truncated to the last %d steps", o->truncate);
    printf("\n# outer: %s, %d outer steps", outer_kind_name(c->kind), ho->outer_steps);
    if (c->kind == OUTER_SIGN) {
        printf("; initial steps");
        for (int k = 0; k < HYPER_KINDS; k++)
            if (h->K[k])
                printf(" %s %g", hyper_kind_name(k), c->sign_step[k]);
        printf(", x %g on each sign flip; search range", c->sign_decay);
        for (int k = 0; k < HYPER_KINDS; k++)
            if (h->K[k])
                printf(" %s [%g, %g]", hyper_kind_name(k), H->range[k][0], H->range[k][1]);
        printf(" (initial +- step x outer steps at most)");
    } else {
        printf("; outer learning rate %g", c->lr);
        if (c->kind == OUTER_SGD && c->clip > 0)
            printf(", hypergradient entries clipped to [-%g, %g]", c->clip, c->clip);
        if (c->kind == OUTER_ADAM)
            printf(", beta1 %g, beta2 %g, eps %g", c->beta1, c->beta2, c->eps);
    }
    printf("\n# bounds: %s\n", c->bounded ? "on: after each update lr >= 0, 0 <= mom <= 0.999, "
                                            "wd >= 0; values outside are clamped (column "
                                            "clamped counts them)"
                                          : "off");
    if (ho->patience)
        printf("# patience: stop after %d outer steps without a better validation accuracy\n",
               ho->patience);
    if (ho->test)
        printf("# test accuracy: each schedule retrained from w0 (the engines do not return "
               "w_T) and evaluated on the test split\n");
    printf("# entry s: the schedule theta_s, its run's accuracies, its hypergradient g_s; flips "
           "and clamped are of the update to theta_{s+1}; the last entry (status final) is the "
           "final theta, evaluated by a plain training run\n");
    printf("# time_s: wall time of the outer step (engine%s, update)\n",
           ho->test ? ", retraining and test evaluation" : "");
    printf("# columns: outer val_loss val_acc test_acc hg_norm time_s flips clamped");
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k])
            printf(" %s_mean %s_min %s_max", hyper_kind_name(k), hyper_kind_name(k),
                   hyper_kind_name(k));
    printf(" status\n");
    fflush(stdout);
}

static void print_row(const HpoRun *H, const HpoStep *e)
{
    const HyperLayout *h = &H->layout;
    char test[32] = "-", hg[32] = "-", flips[16] = "-", clamped[16] = "-";
    if (e->has_test)
        snprintf(test, sizeof test, "%.4f", e->test_acc);
    if (has_grad(e)) {
        snprintf(hg, sizeof hg, "%.4e", e->hg_norm);
        snprintf(flips, sizeof flips, "%d", e->flips);
        snprintf(clamped, sizeof clamped, "%d", e->clamped);
    }
    printf("%5d %10.6f %8.4f %8s %11s %8.3f %5s %7s", e->outer, e->val_loss, e->val_acc, test,
           hg, e->time_s, flips, clamped);
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (!h->K[k])
            continue;
        const double *x = e->theta + h->offset[k];
        double sum = 0, lo = INFINITY, hi = -INFINITY;
        for (int j = 0; j < h->K[k]; j++) {
            sum += x[j];
            lo = fmin(lo, x[j]);
            hi = fmax(hi, x[j]);
        }
        printf(" %11.5g %11.5g %11.5g", sum / h->K[k], lo, hi);
    }
    printf(" %s\n", has_grad(e) ? "ok" : "final");
    fflush(stdout);
}

static const char *stop_text(const HpoRun *H, char *buf, size_t cap)
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

/* The per-step schedule of an entry's theta (into H->sched). */
static void load_theta(HpoRun *H, const double *theta)
{
    hyper_unpack(&H->layout, theta, &H->sched);
}

static void print_footer(HpoRun *H)
{
    char buf[700];
    printf("# stopped: %s\n", stop_text(H, buf, sizeof buf));
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
        if (has_grad(&H->loop.log[i])) {
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
    const int T = H->layout.T;
    double *best[HYPER_KINDS];
    load_theta(H, b->theta);
    for (int k = 0; k < HYPER_KINDS; k++) {
        best[k] = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)T);
        memcpy(best[k], H->sched.v[k], sizeof(double) * (size_t)T);
    }
    load_theta(H, f->theta);
    for (int t = 0; t < T; t++)
        printf("%d %.9g %.9g %.9g %.9g %.9g %.9g\n", t, best[0][t], best[1][t], best[2][t],
               H->sched.v[0][t], H->sched.v[1][t], H->sched.v[2][t]);
    for (int k = 0; k < HYPER_KINDS; k++)
        mem_free(best[k]);
    fflush(stdout);
}

static void json_theta(JsonWriter *j, const HyperLayout *h, const double *theta)
{
    json_object_begin(j, 0);
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k]) {
            json_field_doubles(j, hyper_kind_name(k), theta + h->offset[k], h->K[k]);
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
        json_theta(j, &H->layout, e->theta);
        json_key(j, "schedule"); /* per inner step, every kind */
        load_theta(H, e->theta);
        json_object_begin(j, 0);
        for (int k = 0; k < HYPER_KINDS; k++) {
            json_field_doubles(j, hyper_kind_name(k), H->sched.v[k], H->layout.T);
        }
        json_object_end(j);
    }
    json_object_end(j);
}

/* The fields before "log": the problem and the outer settings, everything
 * a resumed run must share with the run that wrote its log. */
static void write_json_header(JsonWriter *j, const HpoRun *H)
{
    const HpoOptions *ho = H->ho;
    const HypergradOptions *o = H->o;
    const HyperLayout *h = &H->layout;
    const OuterConfig *c = &ho->outer;
    json_field_string(j, "command", "hpo");
    json_field_string(j, "engine", o->engine);
    hypergrad_json_problem(j, o, H->pb.model, &H->pb.train, &H->pb.val, h);
    json_key(j, "test_examples");
    if (ho->test)
        json_int(j, H->test.n);
    else
        json_null(j);
    json_key(j, "outer");
    json_object_begin(j, 0);
    json_field_string(j, "optimizer", outer_kind_name(c->kind));
    json_field_int(j, "steps", ho->outer_steps);
    if (c->kind == OUTER_SIGN) {
        json_key(j, "sign_step");
        json_object_begin(j, 1);
        for (int k = 0; k < HYPER_KINDS; k++)
            if (h->K[k]) {
                json_field_double(j, hyper_kind_name(k), c->sign_step[k]);
            }
        json_object_end(j);
        json_field_double(j, "sign_decay", c->sign_decay);
        json_key(j, "search_range");
        json_object_begin(j, 1);
        for (int k = 0; k < HYPER_KINDS; k++)
            if (h->K[k]) {
                json_field_doubles(j, hyper_kind_name(k), H->range[k], 2);
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
        for (int k = 0; k < HYPER_KINDS; k++) {
            double lo, hi;
            outer_bounds((HyperKind)k, &lo, &hi);
            json_field_doubles(j, hyper_kind_name(k), (double[]){lo, isinf(hi) ? NAN : hi}, 2);
        }
        json_object_end(j);
    } else {
        json_null(j);
    }
    json_field_int(j, "patience", ho->patience);
    json_object_end(j);
}

static int write_json(HpoRun *H, HgErr *err)
{
    const HpoOptions *ho = H->ho;
    const HyperLayout *h = &H->layout;
    const OuterConfig *c = &ho->outer;
    AtomicFile af;
    if (atomic_open(&af, ho->json, err))
        return -1;
    JsonWriter jw, *j = &jw;
    json_init(j, af.f);
    json_object_begin(j, 0);
    write_json_header(j, H);

    json_key(j, "log");
    json_array_begin(j, 0);
    for (int i = 0; i < H->loop.nlog; i++) {
        const HpoStep *e = &H->loop.log[i];
        json_object_begin(j, 0);
        json_field_int(j, "outer", e->outer);
        json_field_string(j, "status", has_grad(e) ? "ok" : "final");
        json_field_double(j, "val_loss", e->val_loss);
        json_field_double(j, "val_acc", e->val_acc);
        json_field_double(j, "test_loss", e->has_test ? e->test_loss : NAN);
        json_field_double(j, "test_acc", e->has_test ? e->test_acc : NAN);
        json_field_double(j, "hypergrad_norm", has_grad(e) ? e->hg_norm : NAN);
        json_field_double(j, "time_s", e->time_s);
        json_field_double(j, "engine_time_s", has_grad(e) ? e->engine_time_s : NAN);
        json_key(j, "flips");
        if (has_grad(e) && c->kind == OUTER_SIGN)
            json_int(j, e->flips);
        else
            json_null(j);
        json_key(j, "clamped");
        if (has_grad(e))
            json_int(j, e->clamped);
        else
            json_null(j);
        json_key(j, "theta");
        json_theta(j, h, e->theta);
        json_key(j, "hypergrad");
        if (has_grad(e))
            json_theta(j, h, e->grad);
        else
            json_null(j);
        json_object_end(j);
    }
    json_array_end(j);
    hpo_resume_write_state(j, h, &H->loop.opt, H->loop.theta);

    char buf[700];
    json_key(j, "stop");
    json_object_begin(j, 0);
    json_key(j, "reason");
    json_string(j, H->loop.stop == HPO_COMPLETED ? "completed"
                   : H->loop.stop == HPO_PATIENCE ? "patience" : H->loop.fail_status);
    json_key(j, "outer");
    json_int(j, H->loop.stop == HPO_FAILED ? H->loop.fail_outer
                : H->loop.nlog ? H->loop.log[H->loop.nlog - 1].outer : 0);
    json_field_string(j, "message", stop_text(H, buf, sizeof buf));
    json_object_end(j);
    json_key(j, "best");
    if (H->loop.best >= 0)
        json_entry_summary(j, H, &H->loop.log[H->loop.best], 1);
    else
        json_null(j);
    json_key(j, "final");
    if (H->loop.nlog)
        json_entry_summary(j, H, &H->loop.log[H->loop.nlog - 1], 1);
    else
        json_null(j);
    json_field_double(j, "time_s", H->loop.total_s);
    if (H->estimate > 0) {
        json_field_double(j, "mem_estimate", H->estimate);
    }
    json_field_uint(j, "peak_rss", mem_peak_rss());
    hypergrad_json_machine(j);
    json_object_end(j);
    return atomic_commit(&af, err);
}

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
    return 0;
}

/* The loop's hypergradient: one engine run on the problem under sched. */
static int engine_hypergrad(void *ctx, const Schedule *sched, double *grad, double *val_loss,
                            double *val_acc, double *time_s, HgErr *err)
{
    HpoRun *H = ctx;
    EngineConfig cfg = H->cfg;
    cfg.sched = sched;
    EngineResult res;
    if (engine_run(H->ops, &cfg, &res, err))
        return -1;
    memcpy(grad, res.hypergrad, sizeof(double) * (size_t)H->layout.N);
    *val_loss = res.val_loss;
    *val_acc = res.val_acc;
    *time_s = res.time_s;
    engine_result_free(&res);
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
    print_row(H, e);
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
    write_json_header(&j, H);
    json_object_end(&j);
    fclose(f);
    HpoResumeLog log;
    int rc = hpo_resume_read(&log, H->ho->resume, header, len, &H->layout, err);
    if (rc == 0)
        rc = hpo_restore(&H->loop, log.done, log.n, err);
    if (rc == 0)
        rc = hpo_resume_check_state(&log, H->ho->resume, &H->layout, &H->loop.opt,
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
    schedule_free(&H->sched);
    problem_free(&H->pb);
    dataset_free(&H->test);
}

static int hpo_command(const HpoOptions *ho)
{
    const HypergradOptions *o = &ho->prob;
    HgErr err = {{0}};
    int status = 0;
    BACKEND_CPU.set_threads(o->threads); /* OpenMP and OpenBLAS */
    interrupt_install(); /* Ctrl-C: the running inner step is the last */
    if (ho->json && hypergrad_check_json_path(ho->json, &err)) {
        fprintf(stderr, "hgbench hpo: %s\n", err.msg);
        return 2;
    }
    HpoRun H = {.ho = ho, .o = o, .loop = {.best = -1}};
    H.ops = engine_find(o->engine);
    const ProblemSpec spec = hypergrad_problem_spec(o);
    Model *sized = problem_model(&spec, &err); /* to size the run before loading */
    HG_CHECK(H.ops && sized, "checked by hpo_parse: %s", err.msg);
    const long P = sized->nparams;
    model_free(sized);
    const int N = o->K[HYPER_LR] + o->K[HYPER_MOM] + o->K[HYPER_WD];
    double *theta = NULL;
    if (ho->outer_steps > 0 && hypergrad_memory_estimate("hpo", o, P, N, &H.estimate, &err)) {
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
    if (hyper_layout_init(&H.layout, o->steps, o->K, &err) ||
        schedule_init(&H.sched, o->steps, o->schedule, o->lr, o->mom, o->wd, o->clamp, &err)) {
        fprintf(stderr, "hgbench hpo: %s\n", err.msg);
        status = 2;
        goto done;
    }
    const size_t nbytes = sizeof(double) * (size_t)(N ? N : 1);
    theta = mem_alloc(MEM_OTHER, nbytes);
    hyper_pack(&H.layout, &H.sched, theta);
    H.cfg = (EngineConfig){.prob = &H.pb.inner, .layout = &H.layout, .sched = &H.sched,
                           .truncate = o->truncate, .greedy_on_train = o->greedy_on_train,
                           .greedy_online_lr = o->greedy_online_lr};
    const HpoConfig hc = {.prob = &H.pb.inner, .layout = &H.layout, .outer = ho->outer,
                          .outer_steps = ho->outer_steps, .patience = ho->patience,
                          .test = ho->test ? &H.test : NULL, .hypergrad = engine_hypergrad,
                          .hypergrad_ctx = &H, .on_step = on_step, .ctx = &H};
    if (hpo_init(&H.loop, &hc, theta, &H.sched, &err)) {
        fprintf(stderr, "hgbench hpo: %s\n", err.msg);
        status = 2;
        goto done;
    }
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (!H.layout.K[k])
            continue;
        double lo = INFINITY, hi = -INFINITY;
        int changed = 0;
        for (int j = 0; j < H.layout.K[k]; j++) {
            const double x = theta[H.layout.offset[k] + j];
            double a, b;
            outer_sign_range(&ho->outer, (HyperKind)k, x, ho->outer_steps, &a, &b);
            lo = fmin(lo, a);
            hi = fmax(hi, b);
        }
        H.range[k][0] = lo;
        H.range[k][1] = hi;
        for (int t = 0; t < o->steps; t++)
            changed |= fabs(theta[hyper_column(&H.layout, k, t)] - H.sched.v[k][t]) >
                       1e-12 * fabs(H.sched.v[k][t]);
        if (changed)
            fprintf(stderr, "hgbench hpo: note: %s is learned with %d shared values: each "
                    "window starts at the mean of the %s schedule over it\n",
                    hyper_kind_name(k), H.layout.K[k], o->schedule_name);
        if (ho->outer.kind == OUTER_SIGN && ho->outer_steps > 0)
            fprintf(stderr, "hgbench hpo: sign search range of %s: [%g, %g] (initial +- %g x "
                    "%d outer steps%s)\n", hyper_kind_name(k), lo, hi,
                    ho->outer.sign_step[k], ho->outer_steps,
                    ho->outer.bounded ? ", within the bounds" : "");
    }
    if (ho->resume && resume(&H, &err)) {
        fprintf(stderr, "hgbench hpo: --resume %s: %s\n", ho->resume, err.msg);
        status = 2;
        goto done;
    }
    print_header(&H);
    char label[64];
    snprintf(label, sizeof label, "hpo %s", o->engine);
    progress_start(&H.pg, label, ho->outer_steps + 1);
    H.pb.inner.stop = &interrupt_signal; /* engines and retraining poll it */
    hpo_run(&H.loop);
    progress_end(&H.pg);
    print_footer(&H);
    if (H.loop.best < 0)
        status = 1;
    if (ho->json && write_json(&H, &err)) {
        fprintf(stderr, "hgbench hpo: --json %s\n", err.msg);
        status = 3;
    }
    if (H.loop.stop == HPO_FAILED)
        fprintf(stderr, "hgbench hpo: stopped at outer step %d: inner run %s: %s\n",
                H.loop.fail_outer, H.loop.fail_status, H.loop.fail_msg);

done:
    mem_free(theta);
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
