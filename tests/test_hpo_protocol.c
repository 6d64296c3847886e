/* test_hpo_protocol.c — hgbench hpo's protocol options (issue 27):
 * --resample and --hvp-clamp.
 *
 * --resample (harness/problem.h): problem_outer_seed gives outer step 0 the
 * spec's own seeds and later steps distinct ones; problem_resample changes
 * exactly the kind asked (the batch seed, w_0 as model_init draws it from
 * that step's seed, or the split as dataset_split makes it from that step's
 * seed) and nothing else, and comes back to step 0's problem bit for bit
 * (each step's problem follows from the step alone). The HPO loop runs each
 * outer step (and the final evaluation) on that step's problem: each
 * entry's hypergradient is an engine run on a fresh problem brought to that
 * step. Through the binary: the flags' refusals (exit 2, naming them; an
 * --export of a clamped run too), the
 * --json header's "resample" and "hvp_clamp", entry 0 equal to a run without
 * --resample, a later entry reproduced by hgbench hypergrad with its logged
 * seeds, and --resume refusing a log of other options, leaving it as it was
 * (tests/test_resume.c resumes one bit for bit), and on the strict fake
 * device (a backend with memory of its own) the same log as on the CPU.
 *
 * --hvp-clamp (engines/engine.h): a huge C is the unclamped run bit for
 * bit, in every engine that takes it; C -> 0 (1e-200, float64) drops the
 * Hessian term, where every engine agrees and the lr hypergradient is
 * -g_val . g_t by hand (momentum and weight decay 0); a small C changes
 * the hypergradient, bptt and checkpoint then agree bit for bit and
 * reversible to rounding; greedy refuses it by name.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/mem.h"
#include "../engines/engine.h"
#include "../harness/hpo.h"
#include "../harness/problem.h"
#include "../io/json_reader.h"
#include "support_files.h"
#include "test.h"

#define T_STEPS 20

static ProblemSpec tiny_spec(void)
{
    ProblemSpec s = problem_spec_defaults();
    s.model = "logreg";
    s.data = "synthetic:16";
    s.steps = T_STEPS;
    s.batch = 8;
    s.val = 16;
    s.seed = 3;
    return s;
}

static void tiny_load(const ProblemSpec *s, Problem *p)
{
    HgErr err = {{0}};
    HG_CHECK(problem_load(s, p, &err) == 0, "%s", err.msg);
}

static int same_set(const Dataset *a, const Dataset *b)
{
    return a->n == b->n && dataset_dim(a) == dataset_dim(b) &&
           !memcmp(a->x, b->x, sizeof(real) * (size_t)a->n * (size_t)dataset_dim(a)) &&
           !memcmp(a->y, b->y, sizeof(int32_t) * (size_t)a->n);
}

static int same_w0(const Problem *a, const Problem *b)
{
    return !memcmp(a->w0, b->w0, sizeof(real) * (size_t)a->model->nparams);
}

/* ------------------------------------------------------------ seeds */

static void test_outer_seeds(void)
{
    ProblemSpec s = tiny_spec();
    const uint64_t base[PROBLEM_RESAMPLE_KINDS] = {problem_batch_seed(&s), s.val_seed, s.seed};
    enum { OUTER = 12 };
    uint64_t seen[PROBLEM_RESAMPLE_KINDS][OUTER];
    for (int k = 0; k < PROBLEM_RESAMPLE_KINDS; k++) {
        const ProblemResample what = (ProblemResample)(1u << k);
        for (int o = 0; o < OUTER; o++)
            seen[k][o] = problem_outer_seed(&s, what, o);
        EXPECT(seen[k][0] == base[k], "%s: outer step 0's seed %llu, the spec's %llu",
               problem_resample_name(k), (unsigned long long)seen[k][0],
               (unsigned long long)base[k]);
        int repeats = 0;
        for (int a = 0; a < OUTER; a++)
            for (int b = a + 1; b < OUTER; b++)
                repeats += seen[k][a] == seen[k][b];
        EXPECT(repeats == 0, "%s: %d repeated seeds over %d outer steps",
               problem_resample_name(k), repeats, OUTER);
    }
    EXPECT(seen[0][1] != seen[2][1] && seen[1][1] != seen[2][1] && seen[0][1] != seen[1][1],
           "the kinds draw different seeds at one outer step");
    /* --batch-seed given: the batches' base, and so their later seeds, move */
    ProblemSpec g = s;
    g.batch_seed_given = 1;
    g.batch_seed = 77;
    EXPECT(problem_outer_seed(&g, PROBLEM_RESAMPLE_BATCHES, 0) == 77 &&
               problem_outer_seed(&g, PROBLEM_RESAMPLE_BATCHES, 1) != seen[0][1],
           "--batch-seed is the batches' base");
}

/* ------------------------------------------------------------ problem_resample */

/* The split dataset_split makes of the whole synthetic set with seed,
 * normalised by ref's statistics (outer step 0's, as problem_resample
 * keeps them). */
static void expected_split(const ProblemSpec *s, const Problem *ref, uint64_t seed,
                           Dataset *train, Dataset *val)
{
    Dataset full;
    HgErr err = {{0}};
    const int n_train = ref->train.n;
    HG_CHECK(synthetic_make(n_train + s->val, 16, 1, 1, PROBLEM_SYNTHETIC_CLASSES,
                            PROBLEM_SYNTHETIC_NOISE, problem_data_seed(s), &full, &err) == 0,
             "%s", err.msg);
    dataset_normalize(&full, ref->mean, ref->std);
    HG_CHECK(dataset_split(&full, s->val, seed, train, val, &err) == 0, "%s", err.msg);
    dataset_free(&full);
}

static void test_resample_each_kind(void)
{
    const ProblemSpec s = tiny_spec();
    Problem ref;
    tiny_load(&s, &ref);
    const long P = ref.model->nparams;
    real *w = mem_alloc(MEM_OTHER, sizeof(real) * (size_t)P);
    for (int k = 0; k < PROBLEM_RESAMPLE_KINDS; k++) {
        const unsigned what = 1u << k;
        const char *name = problem_resample_name(k);
        Problem p;
        tiny_load(&s, &p);
        uint64_t prev_batch = 0, prev_val_y = 0;
        real prev_w = 0;
        HgErr err = {{0}};
        for (int o = 0; o < 4; o++) {
            EXPECT(problem_resample(&p, what, o, &err) == 0, "%s, outer %d: %s", name, o, err.msg);
            const int batches_same = p.inner.batch_seed == ref.inner.batch_seed &&
                                     p.batch_seed == ref.batch_seed;
            const int split_same = same_set(&p.train, &ref.train) && same_set(&p.val, &ref.val);
            const int w0_same = same_w0(&p, &ref);
            const int want[PROBLEM_RESAMPLE_KINDS] = {o == 0 || k != 0, o == 0 || k != 1,
                                                      o == 0 || k != 2};
            EXPECT(batches_same == want[0] && split_same == want[1] && w0_same == want[2],
                   "--resample %s, outer step %d: batch order %s, split %s, w0 %s", name, o,
                   batches_same ? "step 0's" : "new", split_same ? "step 0's" : "new",
                   w0_same ? "step 0's" : "new");
            EXPECT(p.train.n == ref.train.n && p.val.n == ref.val.n,
                   "%s, outer %d: %d train, %d val (step 0: %d, %d)", name, o, p.train.n,
                   p.val.n, ref.train.n, ref.val.n);
            /* each from problem.c's seed of this step */
            if (what == PROBLEM_RESAMPLE_BATCHES) {
                const uint64_t want_seed = problem_outer_seed(&s, PROBLEM_RESAMPLE_BATCHES, o);
                EXPECT(p.inner.batch_seed == want_seed && (o < 2 || want_seed != prev_batch),
                       "batches, outer %d: seed %llu, problem_outer_seed %llu", o,
                       (unsigned long long)p.inner.batch_seed, (unsigned long long)want_seed);
                prev_batch = want_seed;
            } else if (what == PROBLEM_RESAMPLE_INIT) {
                model_init(p.model, w, s.init, s.init_sigma,
                           problem_outer_seed(&s, PROBLEM_RESAMPLE_INIT, o));
                EXPECT(!memcmp(w, p.w0, sizeof(real) * (size_t)P) && (o < 2 || w[0] != prev_w),
                       "init, outer %d: w0 is not model_init's from the step's seed", o);
                prev_w = w[0];
            } else {
                Dataset et, ev;
                expected_split(&s, &ref, problem_outer_seed(&s, PROBLEM_RESAMPLE_VAL, o), &et,
                               &ev);
                uint64_t hash = 1469598103934665603ULL;
                for (int i = 0; i < p.val.n; i++)
                    hash = (hash ^ (uint64_t)p.val.y[i]) * 1099511628211ULL;
                EXPECT(same_set(&p.train, &et) && same_set(&p.val, &ev) &&
                           (o < 2 || hash != prev_val_y),
                       "val, outer %d: the split is not dataset_split's with the step's seed",
                       o);
                prev_val_y = hash;
                dataset_free(&et);
                dataset_free(&ev);
            }
        }
        /* back to outer step 0 after step 3: the problem follows from the step alone */
        EXPECT(problem_resample(&p, what, 0, &err) == 0 && same_w0(&p, &ref) &&
                   same_set(&p.train, &ref.train) && same_set(&p.val, &ref.val) &&
                   p.inner.batch_seed == ref.inner.batch_seed,
               "--resample %s: outer step 0 after step 3 is not the loaded problem", name);
        problem_free(&p);
    }
    mem_free(w);
    problem_free(&ref);
}

/* ------------------------------------------------------------ the loop */

typedef struct Loop {
    Problem pb;
    HyperLayout layout;
    Schedule sched;
    unsigned what;
    int calls, order_ok;
    double grad[4][8];
    double theta[4][8];
    int n;
} Loop;

static int loop_grad(void *ctx, const Schedule *sched, double *grad, double *val_loss,
                     double *val_acc, double *time_s, real *wT, HgErr *err)
{
    Loop *l = ctx;
    const EngineConfig cfg = {.prob = &l->pb.inner, .layout = &l->layout, .sched = sched,
                              .opt = engine_settings_defaults(), .wT = wT};
    EngineResult r;
    if (engine_run(&BPTT_OPS, &cfg, &r, err))
        return -1;
    memcpy(grad, r.hypergrad, sizeof(double) * (size_t)r.N);
    *val_loss = r.val_loss;
    *val_acc = r.val_acc;
    *time_s = r.time_s;
    engine_result_free(&r);
    return 0;
}

static int loop_resample(void *ctx, int outer, HgErr *err)
{
    Loop *l = ctx;
    l->order_ok &= outer == l->calls++;
    return problem_resample(&l->pb, l->what, outer, err);
}

static void loop_record(void *ctx, const HpoStep *e)
{
    Loop *l = ctx;
    if (e->status != HPO_STEP_OK || l->n >= 4)
        return;
    memcpy(l->grad[l->n], e->grad, sizeof(double) * (size_t)l->layout.N);
    memcpy(l->theta[l->n], e->theta, sizeof(double) * (size_t)l->layout.N);
    l->n++;
}

static void test_loop_runs_each_step_on_its_problem(void)
{
    const ProblemSpec s = tiny_spec();
    Loop l = {.what = PROBLEM_RESAMPLE_BATCHES | PROBLEM_RESAMPLE_VAL | PROBLEM_RESAMPLE_INIT,
              .order_ok = 1};
    tiny_load(&s, &l.pb);
    HgErr err = {{0}};
    const int K[HYPER_KINDS] = {2, 1, 0};
    HG_CHECK(hyper_layout_init(&l.layout, T_STEPS, K, &err) == 0 &&
                 schedule_init(&l.sched, T_STEPS, SCHEDULE_CONSTANT, 0.1, 0.5, 1e-3, 0, &err) == 0,
             "%s", err.msg);
    double theta0[8];
    hyper_pack(&l.layout, &l.sched, theta0);
    enum { S = 3 };
    const HpoConfig c = {.prob = &l.pb.inner, .layout = &l.layout, .outer = outer_defaults(),
                         .outer_steps = S, .hypergrad = loop_grad, .hypergrad_ctx = &l,
                         .on_step = loop_record, .ctx = &l, .resample = loop_resample,
                         .resample_ctx = &l};
    Hpo h;
    HG_CHECK(hpo_init(&h, &c, theta0, &l.sched, &err) == 0, "%s", err.msg);
    hpo_run(&h);
    EXPECT(h.stop == HPO_COMPLETED && l.n == S && l.calls == S + 1 && l.order_ok,
           "stop %d, %d outer steps, %d resample calls in order %d (want %d, %d, 1)", h.stop,
           l.n, l.calls, l.order_ok, S, S + 1);
    /* each entry: the engine on a fresh problem brought to that step, bit for bit */
    int differ = 0;
    for (int o = 0; o < l.n; o++) {
        Loop f = {.layout = l.layout, .what = l.what};
        tiny_load(&s, &f.pb);
        Schedule sched;
        HG_CHECK(schedule_init(&sched, T_STEPS, SCHEDULE_CONSTANT, 0.1, 0.5, 1e-3, 0, &err) == 0,
                 "%s", err.msg);
        hyper_unpack(&l.layout, l.theta[o], &sched);
        double g[8], vl, va, ts;
        EXPECT(problem_resample(&f.pb, f.what, o, &err) == 0 &&
                   loop_grad(&f, &sched, g, &vl, &va, &ts, NULL, &err) == 0,
               "outer %d again: %s", o, err.msg);
        EXPECT(!memcmp(g, l.grad[o], sizeof(double) * (size_t)l.layout.N),
               "outer %d: the loop's hypergradient is not its step's problem's (%.17g vs %.17g)",
               o, l.grad[o][0], g[0]);
        if (o > 0) { /* and not step 0's problem's */
            double g0[8];
            EXPECT(problem_resample(&f.pb, f.what, 0, &err) == 0 &&
                       loop_grad(&f, &sched, g0, &vl, &va, &ts, NULL, &err) == 0,
                   "outer %d on step 0's problem: %s", o, err.msg);
            differ += memcmp(g0, g, sizeof(double) * (size_t)l.layout.N) != 0;
        }
        schedule_free(&sched);
        problem_free(&f.pb);
    }
    EXPECT(differ == l.n - 1, "%d of %d later steps differ from step 0's problem", differ,
           l.n - 1);
    hpo_free(&h);
    schedule_free(&l.sched);
    problem_free(&l.pb);
}

/* ------------------------------------------------------------ the binary */

#define CLI_PROBLEM "--model logreg --data synthetic:16 --steps 20 --batch 8 --val 16 --threads 1"

static double num_at(const json_t *root, const char *a, int i, const char *b, const char *c,
                     const char *d)
{
    const json_t *v = json_object_get(root, a);
    if (i >= 0)
        v = json_array_get(v, (size_t)i);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    if (d && json_is_array(v))
        v = json_array_get(v, (size_t)atoi(d));
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void test_cli_refusals(void)
{
    static const struct { const char *args, *want; } bad[] = {
        {"hpo " CLI_PROBLEM " --resample bogus", "--resample 'bogus': unknown 'bogus'"},
        {"hpo " CLI_PROBLEM " --resample val,val", "val is given twice"},
        {"hpo " CLI_PROBLEM " --resample none,val", "unknown 'none'"},
        {"hpo " CLI_PROBLEM " --resample ''", "--resample"},
        {"hpo " CLI_PROBLEM " --hvp-clamp -1", "--hvp-clamp -1"},
        {"hypergrad " CLI_PROBLEM " --hvp-clamp -0.5", "--hvp-clamp -0.5"},
        {"hypergrad " CLI_PROBLEM " --hvp-clamp nan", "--hvp-clamp"},
        {"hpo " CLI_PROBLEM " --engine greedy --hvp-clamp 3", "--hvp-clamp: only for --engine"},
        {"hypergrad " CLI_PROBLEM " --hvp-clamp 3 --export x", "--export with --hvp-clamp"},
        {"hpo " CLI_PROBLEM " --resample val --train-size 100", "--resample val with --train-size"},
        {"hpo " CLI_PROBLEM " --resample init,val --label-noise 0.1", "--resample val with --label-noise"},
    };
    files_setup("hpo-protocol");
    for (int i = 0; i < ARRAY_LEN(bad); i++) {
        Run r = run_bin("hgbench", bad[i].args);
        EXPECT(r.status == 2 && strstr(r.err, bad[i].want),
               "%s: exit %d (want 2), stderr '%s' (want '%s')", bad[i].args, r.status, r.err,
               bad[i].want);
        run_free(&r);
    }
}

/* The "hypergrad" member of log entry i as text (free it). */
static char *entry_text(const json_t *root, int i, const char *member)
{
    const json_t *e = json_array_get(json_object_get(root, "log"), (size_t)i);
    return json_dumps(json_object_get(e, member), JSON_COMPACT | JSON_REAL_PRECISION(17));
}

static void test_cli_header_and_seeds(void)
{
    files_setup("hpo-protocol");
    char args[4096], plain[1024], rs[1024], again[1024];
    snprintf(plain, sizeof plain, "%s", files_tmp("plain.json"));
    snprintf(rs, sizeof rs, "%s", files_tmp("resampled.json"));
    snprintf(again, sizeof again, "%s", files_tmp("hypergrad.json"));
    const char *common = "hpo " CLI_PROBLEM " --seed 3 --learn lr:1 --outer-steps 2";
    snprintf(args, sizeof args, "%s --hvp-clamp 0.5 --json %s", common, plain);
    Run r = run_bin("hgbench", args);
    EXPECT(r.status == 0, "%s: exit %d: %s", args, r.status, r.err);
    run_free(&r);
    snprintf(args, sizeof args, "%s --resample init,batches --hvp-clamp 0.5 --json %s", common,
             rs);
    r = run_bin("hgbench", args);
    EXPECT(r.status == 0 && strstr(r.out, "# protocol: resample batches,init") &&
               strstr(r.out, "Hessian-vector product clamp 0.5"),
           "%s: exit %d, the table's header states the options: %.600s", args, r.status, r.out);
    run_free(&r);
    json_t *a = files_read_json(plain), *b = files_read_json(rs);
    EXPECT(a && b, "both logs read");
    if (!a || !b) {
        json_decref(a);
        json_decref(b);
        return;
    }
    const json_t *ra = json_object_get(a, "resample"), *rb = json_object_get(b, "resample");
    EXPECT(json_is_array(ra) && json_array_size(ra) == 0, "no --resample: \"resample\": []");
    EXPECT(json_is_array(rb) && json_array_size(rb) == 2 &&
               !strcmp(json_string_value(json_array_get(rb, 0)), "batches") &&
               !strcmp(json_string_value(json_array_get(rb, 1)), "init"),
           "\"resample\": [\"batches\", \"init\"]");
    EXPECT(num_at(b, "hvp_clamp", -1, NULL, NULL, NULL) == 0.5, "\"hvp_clamp\": 0.5");
    /* greedy forms no HVP: its log says 0 */
    snprintf(args, sizeof args, "hpo " CLI_PROBLEM " --engine greedy --learn lr:1 "
             "--outer-steps 0 --json %s", again);
    r = run_bin("hgbench", args);
    json_t *gr = r.status == 0 ? files_read_json(again) : NULL;
    EXPECT(num_at(gr, "hvp_clamp", -1, NULL, NULL, NULL) == 0 &&
               strstr(r.out, "product clamp none (greedy forms no HVP)"),
           "greedy: \"hvp_clamp\": 0 and its header says none (exit %d)", r.status);
    json_decref(gr);
    run_free(&r);
    /* outer step 0 is the run without --resample */
    char *ga = entry_text(a, 0, "hypergrad"), *gb = entry_text(b, 0, "hypergrad");
    EXPECT(ga && gb && !strcmp(ga, gb), "outer step 0: %s vs %s", ga, gb);
    free(ga);
    free(gb);
    /* outer step 1 with its logged seeds, by hgbench hypergrad */
    ProblemSpec s = tiny_spec();
    const uint64_t init = problem_outer_seed(&s, PROBLEM_RESAMPLE_INIT, 1),
                   batches = problem_outer_seed(&s, PROBLEM_RESAMPLE_BATCHES, 1);
    EXPECT(num_at(b, "log", 1, "seeds", "init", NULL) == (double)init &&
               num_at(b, "log", 1, "seeds", "batches", NULL) == (double)batches &&
               num_at(b, "log", 1, "seeds", "val", NULL) == 1,
           "log[1].seeds are problem_outer_seed's");
    const json_t *e1 = json_array_get(json_object_get(b, "log"), 1);
    const double lr1 = json_number_value(json_array_get(
        json_object_get(json_object_get(e1, "theta"), "lr"), 0));
    const double g1 = json_number_value(json_array_get(
        json_object_get(json_object_get(e1, "hypergrad"), "lr"), 0));
    snprintf(args, sizeof args, "hypergrad " CLI_PROBLEM " --learn lr:1 --lr %.17g --seed %llu "
             "--batch-seed %llu --hvp-clamp 0.5 --json %s", lr1, (unsigned long long)init,
             (unsigned long long)batches, again);
    r = run_bin("hgbench", args);
    json_t *h = r.status == 0 ? files_read_json(again) : NULL;
    const double g = num_at(h, "hypergrad", -1, "lr", NULL, "0");
    /* the schedule is theta's window mean again: equal to rounding, far from another
     * seed's (outer step 0's differs by 0.2 relative) */
    EXPECT_REL(g, g1, 1e-14, 1e-300, /* measured 4.9e-16 (float64), 0 (float32) */
               "outer step 1 reproduced by hypergrad with its seeds");
    EXPECT(rel_err(num_at(b, "log", 0, "hypergrad", "lr", "0"), g1, 1e-300) > 1e-6,
           "outer step 1's hypergradient differs from step 0's");
    json_decref(h);
    run_free(&r);
    json_decref(a);
    json_decref(b);
}

static void test_cli_resume_refuses_other_options(void)
{
    files_setup("hpo-protocol");
    char args[4096], log[1024];
    snprintf(log, sizeof log, "%s", files_tmp("resume.json"));
    const char *common = "hpo " CLI_PROBLEM " --learn lr:1 --outer-steps 2";
    snprintf(args, sizeof args, "%s --resample val --hvp-clamp 0.5 --json %s", common, log);
    Run r = run_bin("hgbench", args);
    EXPECT(r.status == 0, "%s: exit %d: %s", args, r.status, r.err);
    run_free(&r);
    char *before = files_slurp(log, NULL);
    static const struct { const char *flags, *field; } other[] = {
        {"--hvp-clamp 0.5", "resample"},
        {"--resample val,batches --hvp-clamp 0.5", "resample"},
        {"--resample val", "hvp_clamp"},
        {"--resample val --hvp-clamp 0.25", "hvp_clamp"},
    };
    for (int i = 0; i < ARRAY_LEN(other); i++) {
        snprintf(args, sizeof args, "%s %s --resume %s", common, other[i].flags, log);
        r = run_bin("hgbench", args);
        EXPECT(r.status == 2 && strstr(r.err, other[i].field),
               "%s: exit %d (want 2), stderr '%s' (want it to name %s)", other[i].flags,
               r.status, r.err, other[i].field);
        run_free(&r);
    }
    char *after = files_slurp(log, NULL);
    EXPECT(before && after && !strcmp(before, after), "the refused log is left as it was");
    free(before);
    free(after);
}

/* The log's members that follow from the computation (times dropped). */
static json_t *results(const char *path)
{
    json_t *j = files_read_json(path), *out = json_object();
    static const char *const keep[] = {"log", "outer_state", "best", "final"};
    for (int i = 0; j && i < ARRAY_LEN(keep); i++) {
        json_t *v = json_object_get(j, keep[i]);
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(j, "log"), k, e) {
            json_object_del(e, "time_s");
            json_object_del(e, "engine_time_s");
        }
        json_object_set(out, keep[i], v);
    }
    json_decref(j);
    return out;
}

/* On a device with memory of its own (the strict fake device: the CPU's
 * kernels, device memory closed to the host), the options' paths (the
 * split uploaded again, the clamp on device memory, the test split and the
 * retraining there) give the CPU's log; the host touching device memory
 * would stop it. */
static void test_cli_device_matches_cpu(void)
{
    files_setup("hpo-protocol");
    char dir[1024], args[4096], cpu[1024], dev[1024];
    snprintf(dir, sizeof dir, "%s", files_tmp("idx"));
    mkdir(dir, 0755);
    files_write_idx(dir, "train", 60, 0);
    files_write_idx(dir, "t10k", 20, 3);
    snprintf(cpu, sizeof cpu, "%s", files_tmp("cpu.json"));
    snprintf(dev, sizeof dev, "%s", files_tmp("dev.json"));
    static const char *const engines[] = {"bptt", "forward"};
    for (int e = 0; e < ARRAY_LEN(engines); e++) {
        char common[2048];
        snprintf(common, sizeof common, "hpo --data mnist --data-dir %s --model logreg --steps 6 "
                 "--batch 8 --val 12 --threads 1 --learn lr:2 --outer-steps 2 --test "
                 "--resample batches,val,init --hvp-clamp 0.001 --engine %s", dir, engines[e]);
        snprintf(args, sizeof args, "%s --json %s", common, cpu);
        Run r = run_bin("hgbench", args);
        EXPECT(r.status == 0, "%s: exit %d: %s", args, r.status, r.err);
        run_free(&r);
        setenv("HG_FAKE_DEVICE", "strict", 1);
        setenv("OMP_WAIT_POLICY", "passive", 1);
        snprintf(args, sizeof args, "%s --device cuda --json %s", common, dev);
        r = run_bin("hgbench", args);
        unsetenv("HG_FAKE_DEVICE");
        EXPECT(r.status == 0, "%s: exit %d: %s", args, r.status, r.err);
        run_free(&r);
        json_t *a = results(cpu), *b = results(dev);
        EXPECT(json_object_size(a) == 4 && json_equal(a, b),
               "%s: the fake device's log differs from the CPU's", engines[e]);
        json_decref(a);
        json_decref(b);
    }
}

/* ------------------------------------------------------------ --hvp-clamp */

typedef struct Case {
    Problem pb;
    HyperLayout layout;
    Schedule sched;
} Case;

static void case_init(Case *c, const int K[HYPER_KINDS], double mom, double wd, double clamp)
{
    const ProblemSpec s = tiny_spec();
    tiny_load(&s, &c->pb);
    HgErr err = {{0}};
    HG_CHECK(hyper_layout_init(&c->layout, T_STEPS, K, &err) == 0 &&
                 schedule_init(&c->sched, T_STEPS, SCHEDULE_COSINE, 0.2, mom, wd, clamp, &err) == 0,
             "%s", err.msg);
}

static void case_free(Case *c)
{
    schedule_free(&c->sched);
    problem_free(&c->pb);
}

/* The hypergradient [N] by ops with --hvp-clamp C into g: 0, or -1 with err. */
static int run_clamped(const Case *c, const EngineOps *ops, double C, double *g, HgErr *err)
{
    EngineConfig cfg = {.prob = &c->pb.inner, .layout = &c->layout, .sched = &c->sched,
                        .opt = engine_settings_defaults()};
    cfg.opt.hvp_clamp = C;
    if (ops == &CHECKPOINT_OPS)
        cfg.opt.checkpoints = 4;
    EngineResult r;
    if (engine_run(ops, &cfg, &r, err))
        return -1;
    memcpy(g, r.hypergrad, sizeof(double) * (size_t)r.N);
    engine_result_free(&r);
    return 0;
}

static const EngineOps *const CLAMPING[] = {&BPTT_OPS, &CHECKPOINT_OPS, &REVERSIBLE_OPS,
                                            &FORWARD_OPS};

static void test_hvp_clamp_huge_is_off(void)
{
    const int K[HYPER_KINDS] = {2, 1, 1};
    for (int inner_clamp = 0; inner_clamp < 2; inner_clamp++) {
        Case c;
        case_init(&c, K, 0.5, 1e-3, inner_clamp ? 0.05 : 0);
        for (int e = 0; e < ARRAY_LEN(CLAMPING); e++) {
            double off[8], huge[8];
            HgErr err = {{0}};
            EXPECT(engine_takes(CLAMPING[e], "--hvp-clamp"), "%s takes --hvp-clamp",
                   CLAMPING[e]->name);
            EXPECT(run_clamped(&c, CLAMPING[e], 0, off, &err) == 0 &&
                       run_clamped(&c, CLAMPING[e], 1e300, huge, &err) == 0,
                   "%s: %s", CLAMPING[e]->name, err.msg);
            EXPECT(!memcmp(off, huge, sizeof(double) * (size_t)c.layout.N),
                   "%s (inner clamp %d): --hvp-clamp 1e300 is not the unclamped run bit for "
                   "bit: %.17g vs %.17g", CLAMPING[e]->name, inner_clamp, off[0], huge[0]);
        }
        case_free(&c);
    }
}

#ifdef HG_F64
#define TOL_DROPPED 1e-13   /* measured 0: the engines sum as this test does */
#define TOL_AGREE_TINY 1e-12 /* measured 3.1e-14 (reversible vs bptt) */
/* C -> 0: H u clamped to +-1e-200 is the Hessian term dropped. With momentum
 * and weight decay 0 the adjoint w stays g_val = grad L_val(w_T) and
 * v_{t+1} = g_t, so df/da_t = -g_val . g_t: computed here from the run. */
static void test_hvp_clamp_tiny_drops_the_hessian(void)
{
    const int K[HYPER_KINDS] = {T_STEPS, 0, 0};
    Case c;
    case_init(&c, K, 0, 0, 0);
    const InnerProblem *p = &c.pb.inner;
    const long P = p->model->nparams;
    real *w = mem_alloc(MEM_OTHER, sizeof(real) * (size_t)P);
    real *gt = mem_alloc(MEM_OTHER, sizeof(real) * (size_t)P * T_STEPS);
    real *gv = mem_alloc(MEM_OTHER, sizeof(real) * (size_t)P);
    real *x = mem_alloc(MEM_OTHER, sizeof(real) * (size_t)p->batch * (size_t)dataset_dim(p->train));
    int32_t *y = mem_alloc(MEM_OTHER, sizeof(int32_t) * (size_t)p->batch);
    BatchOrder bo;
    HgErr err = {{0}};
    HG_CHECK(inner_batches(p, &bo, &err) == 0, "%s", err.msg);
    memcpy(w, p->w0, sizeof(real) * (size_t)P);
    for (int t = 0; t < T_STEPS; t++) { /* w -= a_t g_t */
        inner_batch(p, &bo, t, x, y);
        model_loss_grad(p->model, w, x, y, p->batch, gt + (long)t * P);
        for (long i = 0; i < P; i++)
            w[i] -= (real)c.sched.v[HYPER_LR][t] * gt[(long)t * P + i];
    }
    model_set_grad(p->model, w, p->val->x, p->val->y, p->val->n, gv, NULL, NULL);
    double want[T_STEPS], scale = 0;
    for (int t = 0; t < T_STEPS; t++) {
        double d = 0;
        for (long i = 0; i < P; i++)
            d += (double)gv[i] * (double)gt[(long)t * P + i];
        want[t] = -d;
        scale = fmax(scale, fabs(want[t]));
    }
    const EngineOps *const ops[] = {&BPTT_OPS, &CHECKPOINT_OPS, &FORWARD_OPS};
    for (int e = 0; e < ARRAY_LEN(ops); e++) {
        double g[T_STEPS], unclamped[T_STEPS];
        EXPECT(run_clamped(&c, ops[e], 1e-200, g, &err) == 0 &&
                   run_clamped(&c, ops[e], 0, unclamped, &err) == 0,
               "%s: %s", ops[e]->name, err.msg);
        const double gap = max_rel_err_d(g, want, T_STEPS, scale);
        EXPECT(gap <= TOL_DROPPED, "%s, --hvp-clamp 1e-200: df/da_t vs -g_val.g_t: max rel %.3g",
               ops[e]->name, gap);
        EXPECT(max_rel_err_d(unclamped, want, T_STEPS, scale) > 1e-6,
               "%s: the Hessian term matters here unclamped (else this test shows nothing)",
               ops[e]->name);
    }
    batch_order_free(&bo);
    mem_free(w);
    mem_free(gt);
    mem_free(gv);
    mem_free(x);
    mem_free(y);
    case_free(&c);

    /* with momentum and weight decay: the four engines agree (the clamped
     * system is linear, so forward and reverse mode give one derivative) */
    const int K2[HYPER_KINDS] = {2, 1, 1};
    case_init(&c, K2, 0.5, 1e-3, 0);
    double ref[8], g[8];
    EXPECT(run_clamped(&c, &BPTT_OPS, 1e-200, ref, &err) == 0, "bptt: %s", err.msg);
    for (int e = 1; e < ARRAY_LEN(CLAMPING); e++) {
        EXPECT(run_clamped(&c, CLAMPING[e], 1e-200, g, &err) == 0, "%s: %s",
               CLAMPING[e]->name, err.msg);
        const double gap = max_rel_err_d(g, ref, c.layout.N, 1e-300);
        EXPECT(gap <= TOL_AGREE_TINY, "%s vs bptt, --hvp-clamp 1e-200: max rel %.3g",
               CLAMPING[e]->name, gap);
    }
    case_free(&c);
}
#endif

static void test_hvp_clamp_small_bites(void)
{
    const int K[HYPER_KINDS] = {2, 1, 1};
    Case c;
    case_init(&c, K, 0.5, 1e-3, 0);
    const int N = c.layout.N;
    double off[8], bptt[8], ckpt[8], rev[8];
    HgErr err = {{0}};
    const double C = 0.01;
    EXPECT(run_clamped(&c, &BPTT_OPS, 0, off, &err) == 0 &&
               run_clamped(&c, &BPTT_OPS, C, bptt, &err) == 0 &&
               run_clamped(&c, &CHECKPOINT_OPS, C, ckpt, &err) == 0 &&
               run_clamped(&c, &REVERSIBLE_OPS, C, rev, &err) == 0,
           "%s", err.msg);
    EXPECT(max_rel_err_d(bptt, off, N, 1e-300) > 1e-4, /* measured 3.1e-3 */
           "--hvp-clamp %g changes bptt's hypergradient (max rel %.3g)", C,
           max_rel_err_d(bptt, off, N, 1e-300));
    EXPECT(!memcmp(bptt, ckpt, sizeof(double) * (size_t)N),
           "checkpoint is bptt bit for bit under --hvp-clamp");
#ifdef HG_F64
    const double tol = 1e-12; /* measured 3.6e-14 */
#else
    const double tol = 1e-6; /* measured 8.8e-8 */
#endif
    EXPECT(max_rel_err_d(rev, bptt, N, 1e-300) <= tol,
           "reversible vs bptt under --hvp-clamp %g: max rel %.3g > %g", C,
           max_rel_err_d(rev, bptt, N, 1e-300), tol);
    double g[8];
    EXPECT(run_clamped(&c, &GREEDY_OPS, 3, g, &err) == -1 && strstr(err.msg, "--hvp-clamp"),
           "greedy refuses --hvp-clamp by name: '%s'", err.msg);
    case_free(&c);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_outer_seeds),
        TEST(test_resample_each_kind),
        TEST(test_loop_runs_each_step_on_its_problem),
        TEST(test_cli_refusals),
        TEST(test_cli_header_and_seeds),
        TEST(test_cli_resume_refuses_other_options),
        TEST(test_cli_device_matches_cpu),
        TEST(test_hvp_clamp_huge_is_off),
        TEST_F64_ONLY(test_hvp_clamp_tiny_drops_the_hessian,
                      "1e-200 and 1e-12 against a hand-computed reference need float64"),
        TEST(test_hvp_clamp_small_bites),
    };
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
