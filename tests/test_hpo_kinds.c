/* test_hpo_kinds.c — the outer loop over the kinds learned per layer, per
 * weight and the example weights (harness/outer.h groups, hpo's log).
 *
 * In process: the retraining that hpo's test accuracy and final evaluation
 * make (inner_train_layout) is the engine's own forward run, so its
 * validation loss equals bptt's for each layout (per layer, per weight,
 * example weights); a per-run layout is inner_train bit for bit.
 * Through the binary, one hpo run per kind, each optimiser once: every
 * logged theta_{s+1} is the optimiser's rule applied by hand to theta_s and
 * g_s, entry by entry (sign with its per-group step and decay, sgd, adam),
 * clamped to the bounds, bit for bit; every value finite and inside its
 * bounds; the update moved theta. Then a run interrupted by SIGINT after
 * its first outer step and resumed gives the uninterrupted log byte for
 * byte (times and peak RSS aside).
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/mem.h"
#include "../engines/engine.h"
#include "../harness/inner_kinds.h"
#include "../harness/outer.h"
#include "../io/json_reader.h"
#include "support_files.h"
#include "support_models.h"
#include "test.h"

/* the retraining against bptt's forward pass: the same ops in the same
 * order, measured 0 here; 1e-13 leaves room for a backend's summation */
#define TOL_RETRAIN 1e-13

/* ------------------------------------------------------------ retraining */

static void retrain_case(const char *what, const char *model, const int K[HYPER_KINDS],
                         const HyperPer per[HYPER_KINDS], int E)
{
    HgErr err = {{0}};
    EngineCase c;
    engine_case_make(&c, model, 160, 32, 12, K, 0, 16, 0);
    HyperBlocks b;
    HG_CHECK(hyper_blocks_of_model(c.model, &b, &err) == 0 &&
                 hyper_layout_init_per(&c.layout, 12, K, per, &b, &err) == 0 &&
                 hyper_layout_examples(&c.layout, E, &err) == 0,
             "%s: %s", what, err.msg);
    const HyperLayout *h = &c.layout;
    double *theta = mem_alloc(MEM_OTHER, sizeof(double) * (size_t)(h->N ? h->N : 1));
    hyper_pack(h, &c.sched, theta);
    for (int q = 0; q < h->N; q++) /* layers, weights and examples differ */
        theta[q] = q >= h->ex_offset && h->E ? 2 * sin(3.0 * q) : theta[q] * (1 + 0.3 * sin(q + 1.0));
    hyper_unpack(h, theta, &c.sched);
    EngineConfig cfg = {.prob = &c.prob, .layout = h, .sched = &c.sched,
                        .opt = engine_settings_defaults()};
    EngineResult r;
    const int rc = engine_run(engine_find("bptt"), &cfg, &r, &err);
    EXPECT(rc == 0, "%s: bptt: %s", what, err.msg);
    const long P = c.model->nparams;
    real *w = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    memcpy(w, c.w0, sizeof(real) * P);
    double vl = NAN, va = NAN;
    const int rt = inner_train_layout(&c.prob, h, &c.sched, w, &vl, &va, &err);
    EXPECT(rt == 0, "%s: retraining: %s", what, err.msg);
    if (rc == 0 && rt == 0) {
        const double gap = fabs(vl - r.val_loss) / fabs(r.val_loss);
        printf("# %s: retrained val loss %.17g, bptt's %.17g, rel gap %.2g\n", what, vl,
               r.val_loss, gap);
        EXPECT(gap <= TOL_RETRAIN && va == r.val_acc, "%s: retrained val loss %.17g acc %g, "
               "bptt's %.17g acc %g", what, vl, va, r.val_loss, r.val_acc);
        /* a weighting that does something: the plain run differs */
        memcpy(w, c.w0, sizeof(real) * P);
        double pl, pa;
        HG_CHECK(inner_train(&c.prob, &c.sched, w, &pl, &pa, &err) == 0, "%s", err.msg);
        EXPECT(pl != vl, "%s: the per-run training gives the same loss %.17g: the layout "
               "changed nothing", what, pl);
    }
    if (rc == 0)
        engine_result_free(&r);
    mem_free(w);
    mem_free(theta);
    engine_case_free(&c);
}

static void test_retrain_is_the_engines_run(void)
{
    const HyperPer layer[HYPER_KINDS] = {HYPER_PER_LAYER, HYPER_PER_LAYER, HYPER_PER_LAYER};
    const HyperPer weight[HYPER_KINDS] = {HYPER_PER_RUN, HYPER_PER_RUN, HYPER_PER_WEIGHT};
    retrain_case("mlp lr, mom, wd per layer", "mlp-tanh", (int[]){2, 1, 1}, layer, 0);
    retrain_case("logreg wd per weight", "logreg", (int[]){0, 0, 2}, weight, 0);
    retrain_case("logreg example weights", "logreg", (int[]){1, 0, 0}, NULL, 40);
    /* a per-run layout: inner_train itself */
    HgErr err = {{0}};
    EngineCase c;
    engine_case_make(&c, "logreg", 160, 32, 12, (int[]){1, 1, 1}, 0, 16, 0);
    const long P = c.model->nparams;
    real *w1 = mem_alloc(MEM_PARAMS, sizeof(real) * P), *w2 = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    memcpy(w1, c.w0, sizeof(real) * P);
    memcpy(w2, c.w0, sizeof(real) * P);
    double l1, a1, l2, a2;
    HG_CHECK(inner_train(&c.prob, &c.sched, w1, &l1, &a1, &err) == 0 &&
                 inner_train_layout(&c.prob, &c.layout, &c.sched, w2, &l2, &a2, &err) == 0,
             "%s", err.msg);
    EXPECT(!memcmp(w1, w2, sizeof(real) * P) && l1 == l2, "per run: inner_train_layout is "
           "not inner_train bit for bit");
    mem_free(w1);
    mem_free(w2);
    engine_case_free(&c);
}

/* ------------------------------------------------------------ the binary */

/* theta or hypergrad of log entry s, group g, as doubles (n written). */
static long group_of(const json_t *root, int s, const char *member, const char *g, double *out,
                     long cap)
{
    const json_t *e = json_array_get(json_object_get(root, "log"), (size_t)s);
    const json_t *a = json_object_get(json_object_get(e, member), g);
    const long n = json_is_array(a) ? (long)json_array_size(a) : 0;
    for (long i = 0; i < n && i < cap; i++)
        out[i] = json_number_value(json_array_get(a, (size_t)i));
    return n;
}

typedef struct HpoCase {
    const char *what, *args;
    OuterKind outer;
    double lr;         /* sgd, adam */
    double step[OUTER_GROUPS]; /* sign */
} HpoCase;

#define CAP 20000

/* Replays the optimiser on group g through the log's entries: each logged
 * theta_{s+1} must be the rule applied to theta_s and g_s. */
static void check_group(const HpoCase *hc, const json_t *root, int g, int S)
{
    const char *name = outer_group_name(g);
    double *th = malloc(sizeof(double) * CAP * 6), *gr = th + CAP, *next = gr + CAP,
           *step = next + CAP, *m = step + CAP, *v = m + CAP;
    signed char *last = calloc(CAP, 1);
    long n = group_of(root, 0, "theta", name, th, CAP);
    EXPECT(n > 0 && n <= CAP, "%s: theta.%s has %ld entries", hc->what, name, n);
    for (long i = 0; i < n; i++) {
        step[i] = hc->step[g];
        m[i] = v[i] = 0;
    }
    double lo, hi;
    outer_bounds(g, &lo, &hi);
    long moved = 0, bad = 0, out = 0;
    for (int s = 0; s + 1 < S && n > 0 && n <= CAP; s++) {
        group_of(root, s, "theta", name, th, CAP);
        group_of(root, s, "hypergrad", name, gr, CAP);
        group_of(root, s + 1, "theta", name, next, CAP);
        const double t = s + 1, bc1 = 1 - pow(0.9, t), bc2 = 1 - pow(0.999, t);
        for (long i = 0; i < n; i++) {
            double x = th[i];
            const double gi = gr[i];
            if (hc->outer == OUTER_SIGN) {
                const int sg = (gi > 0) - (gi < 0);
                if (sg && last[i] && sg != last[i])
                    step[i] *= 0.5;
                if (sg)
                    last[i] = (signed char)sg;
                x -= step[i] * sg;
            } else if (hc->outer == OUTER_SGD) {
                x -= hc->lr * gi;
            } else {
                m[i] = 0.9 * m[i] + (1 - 0.9) * gi;
                v[i] = 0.999 * v[i] + (1 - 0.999) * gi * gi;
                x -= hc->lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + 1e-8);
            }
            x = fmin(fmax(x, lo), hi);
            bad += memcmp(&x, &next[i], sizeof x) != 0;
            moved += next[i] != th[i];
            out += !(isfinite(next[i]) && next[i] >= lo && next[i] <= hi);
        }
    }
    printf("# %s: %s: %ld entries, %ld moves over %d updates\n", hc->what, name, n, moved, S - 1);
    EXPECT(bad == 0, "%s: %s: %ld logged entries differ from the %s rule by hand", hc->what,
           name, bad, outer_kind_name(hc->outer));
    EXPECT(out == 0, "%s: %s: %ld entries not finite or outside [%g, %g]", hc->what, name, out,
           lo, hi);
    EXPECT(moved > 0, "%s: %s: no entry moved", hc->what, name);
    free(th);
    free(last);
}

static const char *const COMMON =
    "hpo --data synthetic:16 --steps 30 --batch 8 --val 16 --threads 1 --engine bptt "
    "--outer-steps 4";

static const HpoCase CASES[] = {
    {"mlp per layer, sign", "--model mlp:8 --learn lr:2/layer,mom:1/layer", OUTER_SIGN, 0,
     {0.02, 0.05, 1e-4, 0.5}},
    {"logreg wd per weight, adam", "--model logreg --learn wd:1/weight --outer adam "
     "--outer-lr 0.001", OUTER_ADAM, 0.001, {0}},
    {"logreg example weights, sign", "--model logreg --learn lr:1 --example-weights 24 "
     "--sign-step lr:0.01,ex:0.25", OUTER_SIGN, 0, {0.01, 0.05, 1e-4, 0.25}},
    {"mlp wd per layer and example weights, sgd", "--model mlp:8 --learn wd:1/layer "
     "--example-weights 24 --outer sgd --outer-lr 0.01", OUTER_SGD, 0.01, {0}},
};

static void test_outer_rules_per_kind(void)
{
    files_setup("hpo_kinds");
    for (int c = 0; c < ARRAY_LEN(CASES); c++) {
        char args[2048];
        const char *log = files_tmp("log.json");
        snprintf(args, sizeof args, "%s %s --json %s", COMMON, CASES[c].args, log);
        Run r = run_bin("hgbench", args);
        EXPECT(r.status == 0, "%s: exit %d: %s", CASES[c].what, r.status, r.err);
        json_t *root = r.status == 0 ? files_read_json(log) : NULL;
        EXPECT(r.status != 0 || root, "%s: the log does not parse", CASES[c].what);
        if (root) {
            const json_t *th = json_object_get(json_array_get(json_object_get(root, "log"), 0),
                                               "theta");
            for (int g = 0; g < OUTER_GROUPS; g++)
                if (json_object_get(th, outer_group_name(g)))
                    check_group(&CASES[c], root, g, 5); /* 4 outer steps and the final */
            json_decref(root);
        }
        run_free(&r);
    }
}

/* hgbench with args, SIGINT sent once the table's row of outer step 0 is
 * printed; the exit status (128 + SIGINT when the signal stopped it). */
static int run_stopped_after_row0(const char *args)
{
    char prog[4200], buf[2048], *argv[64];
    snprintf(prog, sizeof prog, "%s/hgbench", files_bin_dir);
    snprintf(buf, sizeof buf, "%s", args);
    int n = 0, fd[2];
    argv[n++] = prog;
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && n < 63;
         w = strtok_r(NULL, " ", &save))
        argv[n++] = w;
    argv[n] = NULL;
    if (pipe(fd))
        return -1;
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        freopen("/dev/null", "w", stderr);
        execv(prog, argv);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[8192];
    int sent = 0;
    while (fgets(line, sizeof line, f))
        if (!sent && line[0] != '#' && strstr(line, " ok")) { /* "    0 ..." row */
            kill(pid, SIGINT);
            sent = 1;
        }
    fclose(f);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_resume_bit_for_bit(void)
{
    files_setup("hpo_kinds");
    /* T long enough that the signal lands in outer step 1 */
    const char *cases[] = {
        "--model mlp:8 --learn lr:2/layer,wd:1/weight --example-weights 24",
        "--model logreg --learn wd:1/weight --example-weights 24 --outer adam --outer-lr 0.01",
    };
    for (int c = 0; c < ARRAY_LEN(cases); c++) {
        char full[1024], part[1024], args[2048];
        snprintf(full, sizeof full, "%s", files_tmp("full.json"));
        snprintf(part, sizeof part, "%s", files_tmp("part.json"));
        unlink(part);
        const char *common = "hpo --data synthetic:16 --steps 1500 --batch 8 --val 16 "
                             "--threads 1 --engine bptt --outer-steps 3";
        snprintf(args, sizeof args, "%s %s --json %s", common, cases[c], full);
        Run r = run_bin("hgbench", args);
        EXPECT(r.status == 0, "case %d: the uninterrupted run: exit %d: %s", c, r.status, r.err);
        run_free(&r);
        snprintf(args, sizeof args, "%s %s --json %s", common, cases[c], part);
        const int rc = run_stopped_after_row0(args);
        char *log = files_slurp(part, NULL);
        const int stopped = rc == 128 + SIGINT && log && strstr(log, "\"reason\": \"interrupted\"");
        EXPECT(stopped, "case %d: the interrupted run: exit %d, log %s", c, rc,
               log ? "without 'interrupted'" : "missing");
        free(log);
        if (!stopped)
            continue;
        snprintf(args, sizeof args, "%s %s --resume %s", common, cases[c], part);
        r = run_bin("hgbench", args);
        EXPECT(r.status == 0 && strstr(r.err, "resumed after 1 finished"),
               "case %d: resume: exit %d: %s", c, r.status, r.err);
        run_free(&r);
        char *a = files_results_of(full), *b = files_results_of(part);
        EXPECT(a && b && strlen(a) > 1000, "case %d: both logs read", c);
        if (a && b) {
            size_t i = 0;
            while (a[i] && a[i] == b[i])
                i++;
            EXPECT(a[i] == b[i], "case %d: the resumed log differs at byte %zu:\n%.160s\nvs\n"
                   "%.160s", c, i, a + (i > 60 ? i - 60 : 0), b + (i > 60 ? i - 60 : 0));
        }
        free(a);
        free(b);
    }
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_retrain_is_the_engines_run),
                              TEST(test_outer_rules_per_kind), TEST(test_resume_bit_for_bit)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
