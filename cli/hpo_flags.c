/* hpo_flags.c — `hgbench hpo`'s flags (cli_hpo.h): its own (the outer
 * optimiser, --patience, --resample, --test, --json, --resume) are taken out of argv;
 * every other flag must be one of hypergrad's problem flags (the engines'
 * options among them) and goes, in order, to hypergrad_parse, so the
 * problem's defaults, checks and messages are hypergrad's. --export (one
 * problem, not a loop of them) is refused.
 */
#include "cli_hpo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/flags.h"
#include "../common/real.h"
#include "../engines/engine.h"
#include "../harness/problem.h"

#define MAX_OUTER_STEPS 1000000

/* ------------------------------------------------------------ flags */

typedef enum HpoFlag {
    H_OUTER, H_OUTER_STEPS, H_OUTER_LR, H_SIGN_STEP, H_SIGN_DECAY, H_CLIP, H_BOUNDS,
    H_PATIENCE, H_RESAMPLE, H_TEST, H_JSON, H_RESUME, H_HELP, H_COUNT
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
    fputs("\nThe protocol of the FDS paper's code differs from the defaults: a new batch order\n"
          "and validation sample at each outer step (--resample batches,val), the inner\n"
          "gradients clamped (--clamp C) and the Hessian-vector products too (--hvp-clamp C;\n"
          "not greedy's, which forms none). Both are stated in the table's header and the\n"
          "--json log (\"resample\", \"hvp_clamp\"); --resume needs the same.\n",
          f);
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
static int parse_sign_step(const char *spec, double steps[OUTER_GROUPS], HgErr *err)
{
    int seen[OUTER_GROUPS] = {0};
    if (!*spec)
        return hg_fail(err, "--sign-step '': empty (e.g. --sign-step lr:0.02)");
    for (const char *p = spec;;) {
        const size_t len = strcspn(p, ","), klen = strcspn(p, ":,");
        int kind = -1;
        for (int k = 0; k < OUTER_GROUPS; k++)
            if (strlen(outer_group_name(k)) == klen && !strncmp(p, outer_group_name(k), klen))
                kind = k;
        if (klen == len)
            return hg_fail(err, "--sign-step '%s': '%.*s' needs a value, as lr:0.02", spec,
                           (int)len, p);
        if (kind < 0)
            return hg_fail(err, "--sign-step '%s': unknown kind '%.*s' (valid: lr, mom, wd, ex)",
                           spec, (int)klen, p);
        if (seen[kind]++)
            return hg_fail(err, "--sign-step '%s': %s is given twice", spec,
                           outer_group_name(kind));
        char value[64], flag[32];
        const size_t vlen = len - klen - 1;
        if (vlen >= sizeof value)
            return hg_fail(err, "--sign-step '%s': value too long", spec);
        memcpy(value, p + klen + 1, vlen);
        value[vlen] = '\0';
        snprintf(flag, sizeof flag, "--sign-step %s:", outer_group_name(kind));
        if (flags_parse_real(flag, value, 0, INFINITY, 0, &steps[kind], err))
            return -1;
        if (!(steps[kind] > 0))
            return hg_fail(err, "--sign-step '%s': the %s step must be > 0", spec,
                           outer_group_name(kind));
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

/* "batches,val" into ProblemResample bits; "none" alone is 0. */
static int set_resample(const char *flag, const char *v, void *target, HgErr *err)
{
    unsigned *bits = target;
    *bits = 0;
    if (!strcmp(v, "none"))
        return 0;
    for (const char *p = v;;) {
        const size_t len = strcspn(p, ",");
        int kind = -1;
        for (int k = 0; problem_resample_name(k); k++)
            if (strlen(problem_resample_name(k)) == len && !strncmp(p, problem_resample_name(k), len))
                kind = k;
        if (kind < 0)
            return hg_fail(err, "%s '%s': unknown '%.*s' (valid: a comma list of batches, val, "
                           "init; or none)", flag, v, (int)len, p);
        if (*bits & 1u << kind)
            return hg_fail(err, "%s '%s': %s is given twice", flag, v,
                           problem_resample_name(kind));
        *bits |= 1u << kind;
        p += len;
        if (!*p)
            return 0;
        p++;
    }
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
         "sign: initial step per kind, kind:X comma-separated, kinds lr, mom, wd, ex (the "
         "example weights' gamma, 0.5 unless given); each > 0; the same step for each entry "
         "of a kind learned per layer or weight",
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
        {"--resample", "LIST", "none",
         "draw anew at each outer step s > 0, a comma list of: batches (the batch order), "
         "val (the validation split: other images of the train part, the same number), init "
         "(w0); seeds from s (outer step 0 is the run without it); with val the best outer "
         "step is judged on each step's own validation sample", FLAG_FUNC, .target = &o->resample,
         .parse = set_resample, .given = &given[H_RESAMPLE]},
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
    const int N = p->K[HYPER_LR] + p->K[HYPER_MOM] + p->K[HYPER_WD] + p->examples;
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
    if ((o->resample & PROBLEM_RESAMPLE_VAL) && (p->train_size > 0 || p->label_noise > 0))
        return hg_fail(err, "--resample val with %s: the training subset and its corrupted "
                       "labels are drawn with the split (harness/problem.h), so another split "
                       "would need them drawn again; resample batches or init only",
                       p->train_size > 0 ? "--train-size" : "--label-noise");
    if (o->test && p->synthetic)
        return hg_fail(err, "--test with --data %s: synthetic data has no test split",
                       p->data);
    const char *moving = engine_moving_option(engine_find(p->engine), &p->opt);
    if (o->test && moving)
        return hg_fail(err, "--test with %s: the run moves the schedule and does not return "
                       "it, so retraining theta for the test accuracy would not be the run "
                       "that was logged", moving);
    HyperLayout h;
    OuterOpt opt;
    if (hyper_layout_init(&h, p->steps, p->K, err) || hyper_layout_examples(&h, p->examples, err))
        return -1; /* per layer or weight: the same groups, wider (outer.h) */
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
