/* test_outer.c — the outer optimisers (harness/outer.h) and `hgbench hpo`.
 *
 * Optimisers, on hand-made hypergradients: sign moves by its step, decays a
 * value's step exactly when that value's hypergradient flips sign (not on
 * zeros, not on repeats), and stays within initial +- step x steps; bounds
 * clamp lr, wd to >= 0 and momentum to [0, OUTER_MOM_MAX] (and nothing when
 * off); sgd clips per entry; Adam's first step is lr sign(g) and it
 * converges on a quadratic, as does sign; bad settings and non-finite
 * hypergradients are refused with messages.
 *
 * The command, end to end (build/<config>/hgbench beside this test's folder,
 * tiny synthetic problems and a tiny IDX set written here): the usage, every
 * refusal (exit 2, nothing on stdout, no work), the table and the JSON log,
 * --outer-steps 0, --patience, --test, divergence logged and stopped
 * cleanly, greedy with K = T, and (float64) the same outer trajectory from
 * bptt and forward (FDS) hypergradients.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness/outer.h"
#include "support_files.h"
#include "test.h"

/* ------------------------------------------------------------ optimisers */

static HyperLayout layout(int T, int klr, int kmom, int kwd)
{
    HyperLayout h;
    HgErr err;
    const int K[HYPER_KINDS] = {klr, kmom, kwd};
    HG_CHECK(hyper_layout_init(&h, T, K, &err) == 0, "%s", err.msg);
    return h;
}

static void test_sign_decays_on_flips_only(void)
{
    const HyperLayout h = layout(4, 4, 0, 0);
    OuterConfig c = outer_defaults();
    c.sign_step[HYPER_LR] = 0.1;
    c.sign_decay = 0.5;
    c.bounded = 0;
    OuterOpt o;
    HgErr err;
    EXPECT(outer_init(&o, &c, &h, &err) == 0, "init: %s", err.msg);
    double theta[4] = {1, 1, 1, 1};
    /* entry 0: always +, never flips; 1: flips at every step; 2: a zero
     * neither moves nor counts, and the next sign is compared with the last
     * nonzero one (+ at step 1, - at step 3: a flip); 3: -, -, +, + */
    const double g[4][4] = {{2, -1, 0, -3}, {5, 1, 1, -1}, {1, -7, 0, 4}, {3, 2, -2, 4}};
    const int flips[4] = {0, 1, 2, 2};
    const double want[4][4] = {{0.9, 1.1, 1.0, 1.1},
                               {0.8, 1.05, 0.9, 1.2},
                               {0.7, 1.075, 0.9, 1.15},
                               {0.6, 1.0625, 0.95, 1.1}};
    for (int s = 0; s < 4; s++) {
        OuterStepInfo info;
        EXPECT(outer_step(&o, theta, g[s], &info, &err) == 0, "step %d: %s", s, err.msg);
        EXPECT(info.flips == flips[s] && info.clamped == 0, "step %d: %d flips (want %d), %d "
               "clamped", s, info.flips, flips[s], info.clamped);
        for (int i = 0; i < 4; i++)
            EXPECT(fabs(theta[i] - want[s][i]) < 1e-12, "step %d entry %d: %.17g, want %g", s,
                   i, theta[i], want[s][i]);
    }
    EXPECT(o.step[0] == 0.1 && o.step[1] == 0.1 * 0.125 && o.step[2] == 0.05 &&
               o.step[3] == 0.05,
           "steps %g %g %g %g", o.step[0], o.step[1], o.step[2], o.step[3]);
    outer_free(&o);
    outer_free(&o); /* a freed optimiser frees again as a no-op */
}

/* Each kind's own initial step; the reachable range is initial +- step x S. */
static void test_sign_steps_per_kind_and_range(void)
{
    const HyperLayout h = layout(6, 2, 3, 1);
    OuterConfig c = outer_defaults();
    c.sign_step[HYPER_LR] = 0.01;
    c.sign_step[HYPER_MOM] = 0.1;
    c.sign_step[HYPER_WD] = 1e-4;
    OuterOpt o;
    HgErr err;
    EXPECT(outer_init(&o, &c, &h, &err) == 0, "init: %s", err.msg);
    double theta[6] = {0.05, 0.05, 0.5, 0.5, 0.5, 1e-3}, g[6] = {-1, -1, -1, -1, -1, -1};
    const int S = 30;
    for (int s = 0; s < S; s++)
        outer_step(&o, theta, g, NULL, &err);
    double lo, hi;
    outer_sign_range(&c, HYPER_LR, 0.05, S, &lo, &hi);
    EXPECT(fabs(theta[0] - 0.35) < 1e-12 && lo == 0 && fabs(hi - 0.35) < 1e-12,
           "lr after %d up-steps %.17g, range [%g, %g]", S, theta[0], lo, hi);
    outer_sign_range(&c, HYPER_MOM, 0.5, S, &lo, &hi);
    EXPECT(theta[2] == OUTER_MOM_MAX && lo == 0 && hi == OUTER_MOM_MAX,
           "mom %.17g, range [%g, %g]", theta[2], lo, hi);
    EXPECT(fabs(theta[5] - (1e-3 + S * 1e-4)) < 1e-15, "wd %.17g", theta[5]);
    c.bounded = 0;
    outer_sign_range(&c, HYPER_LR, 0.05, S, &lo, &hi);
    EXPECT(fabs(lo + 0.25) < 1e-12 && fabs(hi - 0.35) < 1e-12, "unbounded range [%g, %g]", lo,
           hi);
    outer_free(&o);
}

static void test_bounds(void)
{
    const HyperLayout h = layout(3, 1, 1, 1);
    for (int bounded = 0; bounded < 2; bounded++) {
        OuterConfig c = outer_defaults();
        c.kind = OUTER_SGD;
        c.lr = 1;
        c.bounded = bounded;
        OuterOpt o;
        HgErr err;
        EXPECT(outer_init(&o, &c, &h, &err) == 0, "init: %s", err.msg);
        double theta[3] = {0.1, 0.9, 1e-3};
        const double g[3] = {0.5, -0.5, 0.01}; /* lr -> -0.4, mom -> 1.4, wd -> -0.009 */
        OuterStepInfo info;
        EXPECT(outer_step(&o, theta, g, &info, &err) == 0, "%s", err.msg);
        if (bounded)
            EXPECT(theta[0] == 0 && theta[1] == OUTER_MOM_MAX && theta[2] == 0 &&
                       info.clamped == 3,
                   "bounded: %g %g %g, %d clamped", theta[0], theta[1], theta[2], info.clamped);
        else
            EXPECT(fabs(theta[0] + 0.4) < 1e-12 && fabs(theta[1] - 1.4) < 1e-12 &&
                       fabs(theta[2] + 0.009) < 1e-12 && info.clamped == 0,
                   "unbounded: %g %g %g, %d clamped", theta[0], theta[1], theta[2],
                   info.clamped);
        /* inside the bounds nothing is clamped */
        double in[3] = {0.1, 0.5, 1e-3};
        const double small[3] = {0.01, 0.01, 1e-4};
        outer_step(&o, in, small, &info, &err);
        EXPECT(info.clamped == 0, "inside: %d clamped", info.clamped);
        outer_free(&o);
    }
}

static void test_sgd_clip(void)
{
    const HyperLayout h = layout(4, 4, 0, 0);
    OuterConfig c = outer_defaults();
    c.kind = OUTER_SGD;
    c.lr = 0.1;
    c.clip = 1;
    c.bounded = 0;
    OuterOpt o;
    HgErr err;
    EXPECT(outer_init(&o, &c, &h, &err) == 0, "init: %s", err.msg);
    double theta[4] = {0, 0, 0, 0};
    const double g[4] = {10, -10, 0.5, -1};
    outer_step(&o, theta, g, NULL, &err);
    const double want[4] = {-0.1, 0.1, -0.05, 0.1};
    for (int i = 0; i < 4; i++)
        EXPECT(fabs(theta[i] - want[i]) < 1e-15, "clip: entry %d %.17g, want %g", i, theta[i],
               want[i]);
    outer_free(&o);
    c.clip = 0; /* off: the raw gradient */
    EXPECT(outer_init(&o, &c, &h, &err) == 0, "init: %s", err.msg);
    double t2[4] = {0, 0, 0, 0};
    outer_step(&o, t2, g, NULL, &err);
    EXPECT(fabs(t2[0] + 1) < 1e-15 && fabs(t2[1] - 1) < 1e-15, "no clip: %g %g", t2[0], t2[1]);
    outer_free(&o);
}

/* f = sum_i a_i (theta_i - c_i)^2, with curvatures over three decades. */
static void quad_grad(const double *theta, double *g)
{
    static const double a[3] = {100, 1, 0.1}, c[3] = {0.3, 0.5, 0.01};
    for (int i = 0; i < 3; i++)
        g[i] = 2 * a[i] * (theta[i] - c[i]);
}

static void test_adam_and_sign_converge(void)
{
    const HyperLayout h = layout(3, 1, 1, 1);
    const double target[3] = {0.3, 0.5, 0.01};
    /* Adam's first step is lr g / |g| (bias-corrected moments) */
    OuterConfig c = outer_defaults();
    c.kind = OUTER_ADAM;
    c.lr = 0.01;
    OuterOpt o;
    HgErr err;
    EXPECT(outer_init(&o, &c, &h, &err) == 0, "init: %s", err.msg);
    double theta[3] = {0.1, 0.1, 0.1}, g[3];
    quad_grad(theta, g);
    outer_step(&o, theta, g, NULL, &err);
    EXPECT(fabs(theta[0] - 0.11) < 1e-8 && fabs(theta[1] - 0.11) < 1e-8 &&
               fabs(theta[2] - 0.09) < 1e-8, /* eps: lr eps / |g| = 6e-9 off */
           "adam first step: %.12g %.12g %.12g", theta[0], theta[1], theta[2]);
    for (int s = 1; s < 5000; s++) {
        quad_grad(theta, g);
        outer_step(&o, theta, g, NULL, &err);
    }
    for (int i = 0; i < 3; i++)
        EXPECT(fabs(theta[i] - target[i]) < 2e-3, "adam: theta[%d] = %.6g, optimum %g", i,
               theta[i], target[i]);
    outer_free(&o);

    /* sign with decay: within a few decayed steps of the optimum */
    c = outer_defaults();
    c.sign_step[HYPER_LR] = c.sign_step[HYPER_MOM] = 0.07; /* off the optima's grid */
    c.sign_step[HYPER_WD] = 0.013;
    EXPECT(outer_init(&o, &c, &h, &err) == 0, "init: %s", err.msg);
    double t2[3] = {0, 0, 0};
    for (int s = 0; s < 60; s++) {
        quad_grad(t2, g);
        outer_step(&o, t2, g, NULL, &err);
    }
    for (int i = 0; i < 3; i++)
        EXPECT(fabs(t2[i] - target[i]) < 1e-4 && o.step[i] < 1e-4,
               "sign: theta[%d] = %.6g (optimum %g), step %.3g", i, t2[i], target[i],
               o.step[i]);
    outer_free(&o);
}

static void test_refusals(void)
{
    const HyperLayout h = layout(5, 5, 1, 0);
    static const struct { OuterKind kind; double lr, clip, decay, step_lr, beta1, eps;
                          const char *want; } cases[] = {
        {OUTER_SIGN, 0.01, 0, 0.5, 0, 0.9, 1e-8, "sign step for lr 0: must be finite and > 0"},
        {OUTER_SIGN, 0.01, 0, 0.5, -1, 0.9, 1e-8, "sign step for lr -1"},
        {OUTER_SIGN, 0.01, 0, 0.5, NAN, 0.9, 1e-8, "sign step for lr nan"},
        {OUTER_SIGN, 0.01, 0, 0, 0.02, 0.9, 1e-8, "sign decay 0: must be in (0, 1]"},
        {OUTER_SIGN, 0.01, 0, 1.5, 0.02, 0.9, 1e-8, "sign decay 1.5"},
        {OUTER_SIGN, 0.01, 1, 0.5, 0.02, 0.9, 1e-8, "only the sgd outer optimiser clips"},
        {OUTER_SGD, 0, 0, 0.5, 0.02, 0.9, 1e-8, "outer learning rate 0: must be finite and > 0"},
        {OUTER_SGD, INFINITY, 0, 0.5, 0.02, 0.9, 1e-8, "outer learning rate inf"},
        {OUTER_SGD, 0.01, -1, 0.5, 0.02, 0.9, 1e-8, "clip -1: must be finite and >= 0"},
        {OUTER_ADAM, -0.1, 0, 0.5, 0.02, 0.9, 1e-8, "outer learning rate -0.1"},
        {OUTER_ADAM, 0.01, 0.5, 0.5, 0.02, 0.9, 1e-8, "this is adam"},
        {OUTER_ADAM, 0.01, 0, 0.5, 0.02, 1, 1e-8, "adam betas 1, 0.999: each must be in [0, 1)"},
        {OUTER_ADAM, 0.01, 0, 0.5, 0.02, 0.9, 0, "adam eps 0: must be finite and > 0"},
        {(OuterKind)7, 0.01, 0, 0.5, 0.02, 0.9, 1e-8, "outer optimiser 7: unknown"},
    };
    for (int i = 0; i < ARRAY_LEN(cases); i++) {
        OuterConfig c = outer_defaults();
        c.kind = cases[i].kind;
        c.lr = cases[i].lr;
        c.clip = cases[i].clip;
        c.sign_decay = cases[i].decay;
        c.sign_step[HYPER_LR] = cases[i].step_lr;
        c.beta1 = cases[i].beta1;
        c.eps = cases[i].eps;
        OuterOpt o;
        HgErr err = {{0}};
        const int rc = outer_init(&o, &c, &h, &err);
        EXPECT(rc == -1 && strstr(err.msg, cases[i].want), "case %d: rc %d, '%s', want '%s'",
               i, rc, err.msg, cases[i].want);
        outer_free(&o); /* safe after a failed init */
    }
    /* a kind not learned needs no step */
    OuterConfig c = outer_defaults();
    c.sign_step[HYPER_WD] = 0;
    OuterOpt o;
    HgErr err;
    EXPECT(outer_init(&o, &c, &h, &err) == 0, "wd not learned, step 0: %s", err.msg);
    /* a non-finite hypergradient is refused, theta untouched */
    double theta[6] = {1, 1, 1, 1, 1, 0.5};
    const double g[6] = {1, 1, NAN, 1, 1, 1};
    EXPECT(outer_step(&o, theta, g, NULL, &err) == -1 && strstr(err.msg, "entry 2 is not finite")
               && theta[0] == 1 && o.t == 0,
           "NaN hypergradient: '%s', theta[0] %g", err.msg, theta[0]);
    outer_free(&o);
    OuterKind k;
    EXPECT(outer_kind_parse("sign", &k) == 0 && k == OUTER_SIGN &&
               outer_kind_parse("adam", &k) == 0 && k == OUTER_ADAM &&
               outer_kind_parse("rprop", &k) == -1 && !strcmp(outer_kind_name(OUTER_SGD), "sgd"),
           "kind names");
}

/* ------------------------------------------------------------ the command */

/* build/<config>/hgbench with the words of args (split on spaces). */
static Run hgbench(const char *args)
{
    return run_bin("hgbench", args);
}

static int run_ok(const char *args, Run *r)
{
    *r = hgbench(args);
    if (r->status != 0) {
        test_fail_at(__FILE__, __LINE__, "hgbench %s: exit %d: %s", args, r->status, r->err);
        return 0;
    }
    return 1;
}

/* The number after "key": at or after from (NAN if none). */
static double json_num(const char *from, const char *key, const char **after)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = from ? strstr(from, pat) : NULL;
    if (!p)
        return NAN;
    p += strlen(pat);
    if (after)
        *after = p;
    if (!strncmp(p, "null", 4))
        return NAN;
    return strtod(p, NULL);
}

/* Rows of the table: lines that start with a digit or a space then a digit,
 * before the schedules' block. */
static int table_rows(const char *out)
{
    int n = 0;
    const char *end = strstr(out, "\n\n\n");
    for (const char *p = out; p && *p && (!end || p < end); p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (*p == ' ' || (*p >= '0' && *p <= '9'))
            n++;
    return n;
}

/* Does a table row (not a '#' line) contain word? */
static int rows_contain(const char *out, const char *word)
{
    for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        const char *eol = strchr(p, '\n');
        const size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (*p == '#')
            continue;
        const char *hit = strstr(p, word);
        if (hit && hit < p + len)
            return 1;
    }
    return 0;
}

#define TINY "hpo --data synthetic:16 --model logreg --steps 12 --batch 8 --val 24 --threads 1 "

static void test_cli_usage_and_refusals(void)
{
    files_setup("outer");
    Run r = hgbench("hpo --help");
    EXPECT(r.status == 0 && strstr(r.out, "--outer sign|sgd|adam") &&
               strstr(r.out, "--sign-step") && strstr(r.out, "--patience") &&
               strstr(r.out, "--learn") && !strstr(r.out, "--export"),
           "hpo --help: %d", r.status);
    run_free(&r);
    r = hgbench("--help");
    EXPECT(r.status == 0 && strstr(r.out, "hpo"), "hgbench --help lists hpo");
    run_free(&r);
    const struct { const char *args, *want; } cases[] = {
        {"hpo --nope", "unknown flag '--nope' (hgbench hpo --help"},
        {"hpo stray", "unexpected argument 'stray'"},
        {"hpo --outer rprop", "--outer 'rprop': unknown (valid: sign, sgd, adam)"},
        {"hpo --outer-steps -1", "--outer-steps -1: out of range"},
        {"hpo --outer-steps", "flag --outer-steps needs a value"},
        {"hpo --outer sgd --outer-lr 0", "--outer-lr 0: must be > 0"},
        {"hpo --outer-lr 0.1", "--outer sign takes no learning rate"},
        {"hpo --sign-step lr:0", "the lr step must be > 0"},
        {"hpo --sign-step lr:x", "--sign-step lr: 'x': not a number"},
        {"hpo --sign-step mom", "needs a value"},
        {"hpo --sign-step beta:1", "unknown kind 'beta'"},
        {"hpo --sign-step lr:1,lr:2", "lr is given twice"},
        {"hpo --sign-decay 0", "--sign-decay 0: must be in (0, 1]"},
        {"hpo --sign-decay 2", "--sign-decay 2: out of range"},
        {"hpo --outer adam --sign-decay 0.5", "--sign-decay: only for --outer sign"},
        {"hpo --clip 1", "--clip: only --outer sgd clips"},
        {"hpo --outer sgd --clip -1", "--clip -1: out of range"},
        {"hpo --bounds maybe", "--bounds 'maybe': must be on or off"},
        {"hpo --patience -2", "--patience -2: out of range"},
        {"hpo --test=1", "flag --test takes no value"},
        {"hpo --export d", "--export: hpo runs a sequence"},
        {"hpo --learn none", "nothing is learned, so there is nothing to optimise"},
        {"hpo --data synthetic:16 --model logreg --test", "synthetic data has no test split"},
        {"hpo --engine greedy --greedy-online-lr 0.1 --test", "--test with --greedy-online-lr"},
        {"hpo --steps 10 --learn lr:11", "K > T"},
        {"hpo --engine adjoint", "--engine 'adjoint': unknown engine"},
        {"hpo --steps", "flag --steps needs a value"},
        {"hpo --data synthetic:8 --model logreg --json /nonexistent-dir/x.json",
         "cannot write in folder"},
    };
    for (int i = 0; i < ARRAY_LEN(cases); i++) {
        r = hgbench(cases[i].args);
        EXPECT(r.status == 2 && strstr(r.err, cases[i].want) && !r.out[0] &&
                   !strstr(r.err, "memory estimate"),
               "'%s': exit %d, stdout '%.80s', stderr '%s' (want exit 2, '%s')", cases[i].args,
               r.status, r.out, r.err, cases[i].want);
        run_free(&r);
    }
}

static void test_cli_run_and_json(void)
{
    files_setup("outer");
    char args[1024];
    char js[300];
    snprintf(js, sizeof js, "%s", files_tmp("run.json"));
    snprintf(args, sizeof args, TINY "--learn lr:T,mom:2 --lr 0 --outer-steps 4 --json %s", js);
    Run r;
    if (run_ok(args, &r)) {
        EXPECT(table_rows(r.out) == 5, "4 outer steps + the final evaluation: %d rows:\n%s",
               table_rows(r.out), r.out);
        EXPECT(strstr(r.out, "# columns: outer val_loss val_acc test_acc hg_norm time_s flips "
                             "clamped lr_mean lr_min lr_max mom_mean mom_min mom_max status") &&
                   strstr(r.out, "search range lr [0, 0.08] mom [0.7, 0.999]") &&
                   strstr(r.out, "# stopped: completed 4 outer steps") &&
                   strstr(r.out, "\n\n\n# schedules per inner step") && strstr(r.out, " final\n"),
               "table:\n%s", r.out);
        EXPECT(strstr(r.err, "sign search range of lr: [0, 0.08]") && strstr(r.err, "[hpo bptt]"),
               "stderr: %s", r.err);
        char *j = files_slurp(js, NULL);
        EXPECT(j && strstr(j, "\"command\": \"hpo\"") && strstr(j, "\"optimizer\": \"sign\"") &&
                   strstr(j, "\"reason\": \"completed\"") && strstr(j, "\"best\": {") &&
                   strstr(j, "\"final\": {") && strstr(j, "\"schedule\": {") &&
                   strstr(j, "\"search_range\": {\"lr\": [0, 0.080000000000000002], \"mom\": ["),
               "JSON keys");
        /* log entry 1: theta = 0.02 everywhere in lr (one up-step from 0) */
        const char *e1 = j ? strstr(j, "\"outer\": 1,") : NULL;
        const char *th = e1 ? strstr(e1, "\"theta\": {") : NULL;
        EXPECT(th && strstr(th, "\"lr\": [0.02, 0.02,"), "entry 1's theta");
        EXPECT(json_num(j, "val_acc", NULL) >= 0 && !isnan(json_num(e1, "hypergrad_norm", NULL)),
               "numbers in the log");
        free(j);
    }
    run_free(&r);
    /* sgd and adam run too; --outer-steps 0 only evaluates */
    EXPECT(run_ok(TINY "--learn lr:3 --outer sgd --outer-lr 0.01 --clip 1 --outer-steps 2", &r) &&
               strstr(r.out, "sgd, 2 outer steps; outer learning rate 0.01, hypergradient "
                             "entries clipped to [-1, 1]"), "sgd: %s", r.out);
    run_free(&r);
    EXPECT(run_ok(TINY "--learn wd:1 --outer adam --outer-steps 2 --bounds off", &r) &&
               strstr(r.out, "# bounds: off"), "adam: %s", r.out);
    run_free(&r);
    snprintf(args, sizeof args, TINY "--learn none --schedule cosine --lr 0.1 --outer-steps 0 "
             "--json %s", js);
    if (run_ok(args, &r)) {
        EXPECT(table_rows(r.out) == 1 && !strstr(r.err, "memory estimate"),
               "outer steps 0: %d rows, stderr %s", table_rows(r.out), r.err);
        char *j = files_slurp(js, NULL);
        const char *b = j ? strstr(j, "\"best\": {") : NULL;
        EXPECT(b && strstr(b, "\"lr\": [0.10000000000000001, 0.098"), "cosine schedule in best");
        free(j);
    }
    run_free(&r);
}

/* A huge step makes the second run diverge: logged, stopped, exit 0; a first
 * run that diverges exits 1. Never a number in the table. */
static void test_cli_divergence(void)
{
    files_setup("outer");
    char args[1024];
    char js[300];
    snprintf(js, sizeof js, "%s", files_tmp("div.json"));
    snprintf(args, sizeof args, TINY "--learn lr:1 --lr 0 --sign-step lr:1e30 --outer-steps 5 "
             "--json %s", js);
    Run r;
    if (run_ok(args, &r)) {
        EXPECT(table_rows(r.out) == 1 && strstr(r.out, "# outer step 1: inner run diverged: ") &&
                   strstr(r.out, "# stopped: outer step 1: inner run diverged") &&
                   !rows_contain(r.out, "nan") && !rows_contain(r.out, "inf"),
               "divergence in the table:\n%s", r.out);
        char *j = files_slurp(js, NULL);
        EXPECT(j && strstr(j, "\"reason\": \"diverged\"") &&
                   json_num(j ? strstr(j, "\"stop\"") : NULL, "outer", NULL) == 1 &&
                   json_num(j ? strstr(j, "\"best\"") : NULL, "outer", NULL) == 0,
               "divergence in the JSON");
        free(j);
    }
    run_free(&r);
    snprintf(args, sizeof args, TINY "--learn lr:1 --lr 1e30 --outer-steps 3 --json %s", js);
    r = hgbench(args);
    char *j = files_slurp(js, NULL);
    EXPECT(r.status == 1 && strstr(r.err, "stopped at outer step 0: inner run diverged") && j &&
               strstr(j, "\"best\": null"),
           "first run diverges: exit %d, %s", r.status, r.err);
    free(j);
    run_free(&r);
}

/* A tiny step leaves the predictions as they were: no better validation
 * accuracy, so --patience 2 stops after outer step 2 and keeps step 0. */
static void test_cli_patience(void)
{
    files_setup("outer");
    Run r;
    if (run_ok(TINY "--learn lr:1 --lr 0.05 --sign-step lr:1e-12 --outer-steps 10 --patience 2",
               &r))
        EXPECT(table_rows(r.out) == 3 &&
                   strstr(r.out, "# stopped: patience: no better validation accuracy in 2 outer "
                                 "steps after outer step 0") &&
                   strstr(r.out, "# best: outer step 0"),
               "patience:\n%s", r.out);
    run_free(&r);
}

static void test_cli_test_split_and_greedy(void)
{
    files_setup("outer");
    char dir[300];
    snprintf(dir, sizeof dir, "%s", files_tmp("idx"));
    mkdir(dir, 0755);
    files_write_idx(dir, "train", 120, 0);
    files_write_idx(dir, "t10k", 50, 3);
    char args[1200];
    char js[300];
    snprintf(js, sizeof js, "%s", files_tmp("test.json"));
    snprintf(args, sizeof args, "hpo --data mnist --data-dir %s --model logreg --steps 6 "
             "--batch 16 --val 20 --threads 1 --engine greedy --learn lr:T --lr 0 "
             "--outer-steps 3 --test --json %s", dir, js);
    Run r;
    if (run_ok(args, &r)) {
        EXPECT(strstr(r.out, "100 train, 20 val, 50 test examples") &&
                   strstr(r.out, "engine options --greedy-target val") &&
                   strstr(r.out, ", test_acc ") && table_rows(r.out) == 4,
               "greedy with --test:\n%s", r.out);
        char *j = files_slurp(js, NULL);
        EXPECT(j && json_num(j, "test_examples", NULL) == 50 &&
                   json_num(strstr(j, "\"log\""), "test_acc", NULL) >= 0 &&
                   json_num(strstr(j, "\"best\""), "test_acc", NULL) >= 0,
               "test accuracy in the JSON");
        free(j);
    }
    run_free(&r);
    snprintf(args, sizeof args, "hpo --data mnist --data-dir %s --model logreg --steps 6 "
             "--batch 16 --val 20 --test --outer-steps 1", files_tmp_dir());
    r = hgbench(args);
    EXPECT(r.status == 3 && strstr(r.err, "train-images-idx3-ubyte"),
           "missing data: exit %d, %s", r.status, r.err);
    run_free(&r);
}

#ifdef HG_F64
/* FDS: forward and bptt give the same windowed hypergradient, so the sign
 * optimiser takes the same steps: the same log. */
static void test_cli_fds_bptt_equals_forward(void)
{
    files_setup("outer");
    char *txt[2] = {NULL, NULL};
    const char *engines[2] = {"bptt", "forward"};
    for (int e = 0; e < 2; e++) {
        char args[1024];
        snprintf(args, sizeof args, TINY "--model mlp:8 --learn lr:3,wd:1 --lr 0.01 "
                 "--outer-steps 4 --engine %s", engines[e]);
        Run r;
        if (run_ok(args, &r)) {
            const char *cols = strstr(r.out, "# columns");
            const char *stop = strstr(r.out, "# stopped");
            if (cols && stop)
                txt[e] = strndup(cols, (size_t)(stop - cols));
        }
        run_free(&r);
    }
    /* every column but time_s (and hg_norm, to its printed digits) the same */
    EXPECT(txt[0] && txt[1], "both runs");
    if (txt[0] && txt[1]) {
        char *s0 = NULL, *s1 = NULL;
        char *l0 = strtok_r(txt[0], "\n", &s0), *l1 = strtok_r(txt[1], "\n", &s1);
        int rows = 0;
        for (; l0 && l1; l0 = strtok_r(NULL, "\n", &s0), l1 = strtok_r(NULL, "\n", &s1)) {
            if (l0[0] == '#')
                continue;
            rows++;
            char *u0 = NULL, *u1 = NULL;
            char *a = strtok_r(l0, " ", &u0), *b = strtok_r(l1, " ", &u1);
            for (int col = 0; a || b; col++, a = strtok_r(NULL, " ", &u0),
                     b = strtok_r(NULL, " ", &u1)) {
                if (!a || !b) {
                    test_fail_at(__FILE__, __LINE__, "row %d: column counts differ", rows);
                    break;
                }
                if (col == 5)
                    continue;
                if (col == 4 && strcmp(a, "-"))
                    EXPECT(rel_err(strtod(a, NULL), strtod(b, NULL), 0) < 1e-3,
                           "row %d hg_norm %s vs %s", rows, a, b);
                else
                    EXPECT(!strcmp(a, b), "row %d column %d: bptt %s, forward %s", rows, col, a,
                           b);
            }
        }
        EXPECT(rows == 5, "%d rows", rows);
    }
    free(txt[0]);
    free(txt[1]);
}
#endif

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_sign_decays_on_flips_only),
        TEST(test_sign_steps_per_kind_and_range),
        TEST(test_bounds),
        TEST(test_sgd_clip),
        TEST(test_adam_and_sign_converge),
        TEST(test_refusals),
        TEST(test_cli_usage_and_refusals),
        TEST(test_cli_run_and_json),
        TEST(test_cli_divergence),
        TEST(test_cli_patience),
        TEST(test_cli_test_split_and_greedy),
        TEST_F64_ONLY(test_cli_fds_bptt_equals_forward,
                      "float32: bptt and forward differ by rounding, so the sign optimiser may flip differently; the same outer log is a float64 property"),
    };
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
