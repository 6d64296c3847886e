/* test_problem.c — the problem layer (harness/problem.h), and that the
 * programs built on it agree.
 *
 * Spec -> problem on synthetic data: sizes (synthetic data sized by T), the
 * inner problem's fields, normalisation by the training part's statistics
 * (recomputed here from the documented seeds), every seed derived as
 * documented, the same spec giving the same bytes, another seed another w0
 * and batch order on the same data, problem_reseed = a load with that seed,
 * a data-only spec; bad names fail with the flag named, --device cuda is
 * refused; --perturb-w0's nudge (its size, its documented direction, seeded,
 * kept by problem_reseed). End to end: hgbench-engines' row and the `hgbench hypergrad`
 * command it prints for it give the same val loss and hypergradient norm, bit
 * for bit (tiny synthetic logreg runs, bptt and greedy).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../common/mem.h"
#include "../common/rng.h"
#include "../harness/problem.h"
#include "support_files.h"
#include "test.h"

static ProblemSpec tiny_spec(void)
{
    ProblemSpec s = problem_spec_defaults();
    s.model = "logreg";
    s.data = "synthetic:2x3x3";
    s.steps = 5;
    s.batch = 4;
    s.val = 10;
    s.seed = 7;
    return s;
}

static int same_bytes(const void *a, const void *b, size_t n)
{
    return a && b && memcmp(a, b, n) == 0;
}

static void test_defaults_are_hypergrads(void)
{
    const ProblemSpec s = problem_spec_defaults();
    EXPECT(!strcmp(s.model, "lenet") && !strcmp(s.data, "fashion-mnist") && !s.data_dir &&
               !strcmp(s.device, "cpu") && s.steps == 100 && s.batch == 128 && s.val == 10000 &&
               s.seed == 0 && !s.batch_seed_given && s.val_seed == PROBLEM_DEFAULT_VAL_SEED &&
               s.val_seed == 1 && s.init == INIT_XAVIER && s.init_sigma == 0.01 && !s.kahan,
           "defaults");
}

static void test_synthetic_sizes_and_fields(void)
{
    const ProblemSpec s = tiny_spec();
    Problem p;
    HgErr err = {{0}};
    EXPECT(problem_load(&s, &p, &err) == 0, "load: %s", err.msg);
    /* min(60000, max(batch, T batch)) = 20 training examples, then val */
    EXPECT(p.train.n == 20 && p.val.n == 10, "sizes %d + %d", p.train.n, p.val.n);
    EXPECT(p.train.c == 2 && p.train.h == 3 && p.train.w == 3 && p.train.classes == 10 &&
               p.data.synthetic && p.data.classes == 10 && p.data.input.c == 2,
           "shape %dx%dx%d, %d classes", p.train.c, p.train.h, p.train.w, p.train.classes);
    EXPECT(p.model && p.model->nparams == (2 * 3 * 3 + 1) * 10, "logreg: %ld parameters",
           p.model ? p.model->nparams : -1);
    EXPECT(p.inner.model == p.model && p.inner.train == &p.train && p.inner.val == &p.val &&
               p.inner.w0 == p.w0 && p.inner.batch == 4 && p.inner.batch_seed == p.batch_seed &&
               p.inner.kahan == 0,
           "inner problem fields");
    problem_free(&p);

    ProblemSpec big = tiny_spec();
    big.steps = 100000; /* capped like Fashion-MNIST's train split */
    big.batch = 1;
    EXPECT(problem_load(&big, &p, &err) == 0 && p.train.n == PROBLEM_SYNTHETIC_TRAIN_MAX,
           "capped: %d (%s)", p.train.n, err.msg);
    problem_free(&p);
}

/* Seeds as problem.h documents them, and the normalisation recomputed from
 * them by hand. */
static void test_seeds_and_normalisation(void)
{
    ProblemSpec s = tiny_spec();
    s.val_seed = 5;
    Problem p;
    HgErr err = {{0}};
    if (problem_load(&s, &p, &err)) {
        EXPECT(0, "load: %s", err.msg);
        return;
    }
    EXPECT(p.batch_seed == inner_batch_seed(7) && p.batch_seed == problem_batch_seed(&s) &&
               p.val_seed == 5 && p.data_seed == 6 && problem_data_seed(&s) == 6,
           "seeds: batch %llu, val %llu, data %llu", (unsigned long long)p.batch_seed,
           (unsigned long long)p.val_seed, (unsigned long long)p.data_seed);
    ProblemSpec given = s;
    given.batch_seed_given = 1;
    given.batch_seed = 99;
    EXPECT(problem_batch_seed(&given) == 99, "a given batch seed is used as it is");

    /* w0: model_init with the init seed */
    const long P = p.model->nparams;
    real *w = mem_alloc(MEM_OTHER, sizeof(real) * P);
    model_init(p.model, w, INIT_XAVIER, 0, 7);
    EXPECT(same_bytes(w, p.w0, sizeof(real) * P), "w0 = model_init(seed 7)");
    mem_free(w);

    /* the data: synthetic_make(seed val_seed + 1), split by val_seed,
     * normalised by the training part's per-channel statistics */
    Dataset full, tr, va;
    HG_CHECK(synthetic_make(30, 2, 3, 3, 10, PROBLEM_SYNTHETIC_NOISE, 6, &full, &err) == 0 &&
                 dataset_split(&full, 10, 5, &tr, &va, &err) == 0,
             "%s", err.msg);
    double mean[2], sd[2];
    dataset_channel_stats(&tr, mean, sd);
    EXPECT(same_bytes(mean, p.mean, sizeof mean) && same_bytes(sd, p.std, sizeof sd),
           "mean/std: %g %g / %g %g against %g %g / %g %g", p.mean[0], p.mean[1], p.std[0],
           p.std[1], mean[0], mean[1], sd[0], sd[1]);
    dataset_normalize(&tr, mean, sd);
    dataset_normalize(&va, mean, sd);
    const size_t bytes = sizeof(real) * (size_t)dataset_dim(&tr);
    EXPECT(same_bytes(tr.x, p.train.x, bytes * tr.n) && same_bytes(va.x, p.val.x, bytes * va.n) &&
               same_bytes(tr.y, p.train.y, sizeof(int32_t) * tr.n) &&
               same_bytes(va.y, p.val.y, sizeof(int32_t) * va.n),
           "train and val parts as documented");
    double m2[2], s2[2];
    dataset_channel_stats(&p.train, m2, s2);
    EXPECT(fabs(m2[0]) < 1e-5 && fabs(m2[1]) < 1e-5 && fabs(s2[0] - 1) < 1e-4 &&
               fabs(s2[1] - 1) < 1e-4,
           "normalised train: mean %g %g, std %g %g", m2[0], m2[1], s2[0], s2[1]);
    dataset_free(&full);
    dataset_free(&tr);
    dataset_free(&va);
    problem_free(&p);
}

static void test_same_spec_same_bytes_other_seed_other_run(void)
{
    const ProblemSpec s = tiny_spec();
    ProblemSpec s2 = s;
    s2.seed = 8;
    Problem a, b, c;
    HgErr err = {{0}};
    HG_CHECK(problem_load(&s, &a, &err) == 0 && problem_load(&s, &b, &err) == 0 &&
                 problem_load(&s2, &c, &err) == 0,
             "%s", err.msg);
    const long P = a.model->nparams, dim = dataset_dim(&a.train);
    EXPECT(same_bytes(a.w0, b.w0, sizeof(real) * P) &&
               same_bytes(a.train.x, b.train.x, sizeof(real) * dim * a.train.n) &&
               same_bytes(a.val.x, b.val.x, sizeof(real) * dim * a.val.n) &&
               a.batch_seed == b.batch_seed,
           "one spec, the same bytes");
    EXPECT(!same_bytes(a.w0, c.w0, sizeof(real) * P) && a.batch_seed != c.batch_seed,
           "another seed: another w0 and batch seed");
    EXPECT(same_bytes(a.train.x, c.train.x, sizeof(real) * dim * a.train.n) &&
               same_bytes(a.val.x, c.val.x, sizeof(real) * dim * a.val.n),
           "another seed: the same data (the val seed is apart)");
    /* the batch order differs somewhere in the first steps */
    BatchOrder oa, oc;
    HG_CHECK(inner_batches(&a.inner, &oa, &err) == 0 && inner_batches(&c.inner, &oc, &err) == 0,
             "%s", err.msg);
    int differ = 0;
    for (long t = 0; t < 5 && !differ; t++) {
        int ia[4], ic[4];
        memcpy(ia, batch_order_step(&oa, t), sizeof ia);
        memcpy(ic, batch_order_step(&oc, t), sizeof ic);
        differ = memcmp(ia, ic, sizeof ia) != 0;
    }
    EXPECT(differ, "another seed: another batch order");
    batch_order_free(&oa);
    batch_order_free(&oc);
    /* reseeding a loaded problem = loading with that seed */
    problem_reseed(&a, 8);
    EXPECT(same_bytes(a.w0, c.w0, sizeof(real) * P) && a.batch_seed == c.batch_seed &&
               a.inner.batch_seed == c.batch_seed && a.spec.seed == 8,
           "problem_reseed(8) = problem_load(seed 8)");
    problem_free(&a);
    problem_free(&b);
    problem_free(&c);
}

/* spec.perturb_w0 = eps: w_0' - w_0 = eps |w_0| d / |d| with d drawn from
 * problem_perturb_seed (recomputed here), so |w_0' - w_0| / |w_0| = eps; the
 * data and batch order stay. Measured on the tiny logreg (190 parameters) at
 * eps 1e-3: the largest entry's gap from the formula 1.1e-17 (float64) and
 * 7.6e-9 (float32: w_0' rounded once per entry) of |w_0|; the relative size
 * off eps by 3.7e-15 and 6.1e-7. Tolerances 10x. */
#ifdef HG_F64
#define TOL_NUDGE_ENTRY 1.1e-16
#define TOL_NUDGE_SIZE 4e-14
#else
#define TOL_NUDGE_ENTRY 8e-8
#define TOL_NUDGE_SIZE 7e-6
#endif
static void test_perturb_w0(void)
{
    const double eps = 1e-3;
    ProblemSpec s = tiny_spec(), sp = tiny_spec(), sp8 = tiny_spec();
    sp.perturb_w0 = eps;
    sp8.perturb_w0 = eps;
    sp8.seed = 8;
    Problem a, b, c, d;
    HgErr err = {{0}};
    HG_CHECK(problem_load(&s, &a, &err) == 0 && problem_load(&sp, &b, &err) == 0 &&
                 problem_load(&sp, &c, &err) == 0 && problem_load(&sp8, &d, &err) == 0,
             "%s", err.msg);
    const long P = a.model->nparams, dim = dataset_dim(&a.train);
    /* the nudge the header documents, in double */
    Rng r = rng_seed(problem_perturb_seed(&sp));
    double w2 = 0, d2 = 0, g2 = 0, worst = 0;
    double *dir = malloc(sizeof(double) * P);
    HG_CHECK(dir, "out of memory");
    for (long i = 0; i < P; i++) {
        dir[i] = rng_normal(&r);
        d2 += dir[i] * dir[i];
        w2 += (double)a.w0[i] * a.w0[i];
    }
    for (long i = 0; i < P; i++) {
        const double got = (double)b.w0[i] - (double)a.w0[i];
        g2 += got * got;
        worst = fmax(worst, fabs(got - eps * sqrt(w2 / d2) * dir[i]));
    }
    free(dir);
    EXPECT(worst <= TOL_NUDGE_ENTRY * sqrt(w2), "w0' - w0 vs eps |w0| d/|d|: largest gap "
           "%.3g of |w0| (tol %.1g)", worst / sqrt(w2), TOL_NUDGE_ENTRY);
    EXPECT(fabs(sqrt(g2 / w2) - eps) <= TOL_NUDGE_SIZE * eps,
           "|w0' - w0| / |w0| = %.17g, want %g (tol %.1g relative)", sqrt(g2 / w2), eps,
           TOL_NUDGE_SIZE);
    EXPECT(same_bytes(b.w0, c.w0, sizeof(real) * P), "one spec, the same nudge");
    EXPECT(same_bytes(a.train.x, b.train.x, sizeof(real) * dim * a.train.n) &&
               a.batch_seed == b.batch_seed && a.inner.batch_seed == b.inner.batch_seed,
           "the nudge leaves the data and batch order");
    EXPECT(problem_perturb_seed(&sp) != problem_perturb_seed(&sp8) &&
               problem_perturb_seed(&sp) != b.batch_seed,
           "the nudge's seed is its own and follows --seed");
    problem_reseed(&b, 8); /* = a load with seed 8, nudged by seed 8's direction */
    EXPECT(same_bytes(b.w0, d.w0, sizeof(real) * P), "problem_reseed keeps the nudge");
    problem_free(&a);
    problem_free(&b);
    problem_free(&c);
    problem_free(&d);
}

static void test_data_only(void)
{
    ProblemSpec s = tiny_spec();
    s.model = NULL;
    Problem p;
    HgErr err = {{0}};
    EXPECT(problem_load(&s, &p, &err) == 0 && !p.model && !p.w0 && p.train.n == 20 &&
               p.mean && p.std,
           "data only: %s", err.msg);
    problem_reseed(&p, 3); /* no model: nothing to initialise */
    EXPECT(p.batch_seed == inner_batch_seed(3), "data-only reseed");
    problem_free(&p);
    problem_free(&p); /* a zeroed problem frees as a no-op */
}

static void expect_refused(ProblemSpec s, const char *want, const char *what)
{
    Problem p;
    HgErr err = {{0}};
    const int rc = problem_load(&s, &p, &err);
    EXPECT(rc == PROBLEM_BAD_SPEC && strstr(err.msg, want), "%s: rc %d, '%s' (want '%s')", what,
           rc, err.msg, want);
    EXPECT(p.model == NULL && p.train.n == 0, "%s: nothing left loaded", what);
    problem_free(&p);
}

static void test_refusals(void)
{
    ProblemSpec s = tiny_spec();
    s.model = "nope";
    expect_refused(s, "--model 'nope'", "bad model");
    s = tiny_spec();
    s.data = "imagenet";
    expect_refused(s, "--data 'imagenet': unknown data set", "bad data");
    s.data = "synthetic:2x3";
    expect_refused(s, "--data 'synthetic:2x3'", "bad synthetic shape");
    s = tiny_spec();
    s.device = "cuda";
    expect_refused(s, "--device cuda: this binary was built without the CUDA backend",
                   "cuda");
    s.device = "tpu";
    expect_refused(s, "--device 'tpu'", "unknown device");
    s = tiny_spec();
    s.data_dir = "/tmp";
    expect_refused(s, "--data-dir /tmp", "a folder for generated data");
    /* a data set from files (synthetic data is sized to fit): 30 examples */
    files_setup("problem");
    files_write_idx(files_tmp_dir(), "train", 30, 1);
    s = tiny_spec();
    s.model = "logreg";
    s.data = "mnist";
    s.data_dir = files_tmp_dir();
    s.val = 27;
    expect_refused(s, "--val 27: --data mnist has 30 training examples", "val + batch > data");
    s.val = 26;
    {
        Problem p;
        HgErr e = {{0}};
        EXPECT(problem_load(&s, &p, &e) == 0 && p.train.n == 4 && p.val.n == 26 &&
                   p.model->nparams == 7850,
               "mnist files: %s", e.msg);
        problem_free(&p);
    }
    HgErr err = {{0}};
    s = tiny_spec();
    s.device = "auto";
    EXPECT(problem_check(&s, NULL, &err) == 0, "auto is the CPU: %s", err.msg);
    s.device = NULL;
    Model *m = problem_model(&s, &err);
    EXPECT(m && m->nparams == 190, "problem_model: %s", err.msg);
    model_free(m);
    s.model = "lenet:x";
    EXPECT(problem_model(&s, &err) == NULL && strstr(err.msg, "--model 'lenet:x'"),
           "problem_model names --model: %s", err.msg);
    /* a data set from files that is not there: a load failure (-1), not a usage error */
    s = tiny_spec();
    s.data = "mnist";
    s.data_dir = "/nonexistent-hgbench-test";
    Problem p;
    EXPECT(problem_load(&s, &p, &err) == -1 && strstr(err.msg, "--data mnist"),
           "missing files: '%s'", err.msg);
    problem_free(&p);
}

/* ---- hgbench-engines against hgbench hypergrad ---------------------------- */

/* The number after "key": at or after p. */
static double number_after(const char *p, const char *key, const char **end)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *q = p ? strstr(p, k) : NULL;
    if (!q)
        return NAN;
    char *e;
    const double v = strtod(q + strlen(k), &e);
    if (end)
        *end = e;
    return v;
}

static void test_bench_engines_reproduced_by_hypergrad(void)
{
    files_setup("problem");
    char args[1024], json[512];
    snprintf(json, sizeof json, "%s", files_tmp("engines.json"));
    snprintf(args, sizeof args, "--engines bptt,greedy --steps 4 --lr-windows 2 --model logreg "
             "--data synthetic:16 --batch 4 --val 8 --plain-repeats 1 --threads 1 --seed 5 "
             "--out %s --json %s", files_tmp("engines.txt"), json);
    Run r = run_bin("hgbench-engines", args);
    char *be = files_slurp(json, NULL);
    EXPECT(r.status == 0 && be, "hgbench-engines %s: exit %d: %s", args, r.status, r.err);
    char *table = files_slurp(files_tmp("engines.txt"), NULL);
    EXPECT(table && strstr(table, "# seeds: init 5, batch order ") &&
               strstr(table, "# reproduce bptt T=4 K=2: build/hgbench hypergrad --precision "),
           "table context:\n%s", table ? table : "(none)");
    free(table);
    run_free(&r);
    int rows = 0;
    for (const char *p = be ? strstr(be, "\"reproduce\": \"") : NULL; p;
         p = strstr(p + 1, "\"reproduce\": \"")) {
        const char *cmd = p + strlen("\"reproduce\": \"");
        const char *q = strchr(cmd, '"');
        const char *prefix = "build/hgbench ";
        HG_CHECK(q && !strncmp(cmd, prefix, strlen(prefix)), "reproduce: %.80s", cmd);
        const double vl = number_after(p, "val_loss", NULL);
        const double norm = number_after(p, "hypergrad_norm", NULL);
        char hg_args[1200];
        snprintf(hg_args, sizeof hg_args, "%.*s --json %s", (int)(q - cmd - strlen(prefix)),
                 cmd + strlen(prefix), files_tmp("hg.json"));
        Run h = run_bin("hgbench", hg_args);
        char *hj = files_slurp(files_tmp("hg.json"), NULL);
        EXPECT(h.status == 0 && hj, "hgbench %s: exit %d: %s", hg_args, h.status, h.err);
        if (hj) {
            const double hvl = number_after(hj, "val_loss", NULL);
            /* |hypergrad| of "hypergrad": {"lr": [a, b]} in index order, as the bench */
            const char *arr = strstr(hj, "\"hypergrad\": {");
            arr = arr ? strchr(arr, '[') : NULL;
            double s = 0;
            int n = 0;
            for (const char *x = arr ? arr + 1 : NULL; x && *x && *x != ']'; n++) {
                char *e;
                const double g = strtod(x, &e);
                s += g * g;
                x = e;
                x += strspn(x, ", \n");
            }
            const double hnorm = sqrt(s);
            /* val_loss must match to the bit; the norm is summed again here from
             * the printed values, and whether the compiler contracts g * g into
             * the sum (-ffp-contract=fast) differs between this loop and the
             * bench's: 2 ulp apart on an AVX-512 EPYC, so 2e-15 relative */
            EXPECT(n == 2 && same_bytes(&hvl, &vl, sizeof vl) &&
                       fabs(hnorm - norm) <= 2e-15 * fabs(norm),
                   "%s: bench val_loss %.17g |hg| %.17g, hypergrad %.17g |hg| %.17g (%d values)",
                   hg_args, vl, norm, hvl, hnorm, n);
        }
        free(hj);
        run_free(&h);
        remove(files_tmp("hg.json"));
        rows++;
    }
    EXPECT(rows == 2, "%d runs with a reproduce command in:\n%s", rows, be ? be : "(none)");
    free(be);
}

/* --device on every binary: cuda is refused before any work, naming the
 * flag, with the usage exit status 2; an unknown device too. */
static void test_device_flag_everywhere(void)
{
    files_setup("problem");
    static const char *const bins[] = {"hgbench-engines", "hgbench-fig2", "hgbench-models",
                                       "hgbench-micro", "hgbench-gpu-conv"};
    for (int i = 0; i < ARRAY_LEN(bins); i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", files_bin_dir, bins[i]);
        if (access(path, X_OK) != 0) {
            test_skip_part("%s is not built in this configuration (%s): its --device is not "
                           "checked here", bins[i], files_bin_dir);
            continue;
        }
        const char *const devices[] = {"cuda", "tpu"};
        for (int d = 0; d < 2; d++) {
            char args[64];
            snprintf(args, sizeof args, "--device %s", devices[d]);
            Run r = run_bin(bins[i], args);
            EXPECT(r.status == 2 && strstr(r.err, "--device") && strstr(r.err, devices[d]),
                   "%s %s: exit %d, stderr '%s'", bins[i], args, r.status, r.err);
            run_free(&r);
        }
    }
    Run r = run_bin("hgbench", "hypergrad --device cuda");
    EXPECT(r.status == 2 && strstr(r.err, "--device cuda"), "hgbench hypergrad --device cuda: "
           "exit %d, '%s'", r.status, r.err);
    run_free(&r);
}

/* hgbench-micro's engine benchmarks all run: every registered engine with
 * the options it needs (the checkpoint engine once ran with C = 0 and
 * reported an error row, which no test saw). One iteration each, on the
 * installed Fashion-MNIST; skipped, saying so, without it. */
static void test_micro_engine_benchmarks_run(void)
{
    files_setup("problem");
    char path[8192];
    snprintf(path, sizeof path, "%s/hgbench-micro", files_bin_dir);
    if (access(path, X_OK) != 0) {
        test_skip("hgbench-micro is not built in this configuration (%s)", files_bin_dir);
        return;
    }
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0) {
        test_skip("Fashion-MNIST is not installed (scripts/install-deps.sh installs it): "
                       "hgbench-micro's engine runs are not checked");
        return;
    }
    Run r = run_bin("hgbench-micro", "--threads 2 --benchmark_filter=engine_run "
                                     "--benchmark_min_time=0.000001");
    EXPECT(r.status == 0 && !strstr(r.out, "ERROR") && !strstr(r.err, "error"),
           "hgbench-micro engine_run: exit %d, stderr '%.300s'", r.status, r.err);
    int runs = 0;
    for (const char *q = r.out; (q = strstr(q, "engine_run/")); q++)
        runs++;
    EXPECT(runs >= 5, "hgbench-micro engine_run: %d benchmark rows, want one per engine (5)",
           runs);
    run_free(&r);
}

/* hgbench-gpu-conv on the CPU backend (one path, named cpu; where oneDNN is
 * built in, its two, ours then dnnl): a row per
 * distinct LeNet conv layer (3), op and kc, each ok with a positive time. */
static void test_gpu_conv_runs_on_cpu(void)
{
    files_setup("problem");
    Run r = run_bin("hgbench-gpu-conv", "--device cpu --batch 2 --tangents 1,2 --repeats 1 "
                                        "--min-ms 0");
    EXPECT(r.status == 0, "hgbench-gpu-conv --device cpu: exit %d, stderr '%.300s'", r.status,
           r.err);
    /* the CPU's conv paths ours and dnnl where oneDNN is built in, else one: "cpu" */
    const int paths = BACKEND_CPU.layer.conv_path != NULL;
    int rows = 0, ok = 0;
    for (const char *line = r.out; line && *line;) {
        char layer[16], op[16], path[16], status[16];
        int n, kc;
        double med, mn;
        if (*line != '#' && sscanf(line, "%15s %d %15s %d %15s %lf %lf %15s", layer, &n, op, &kc,
                                   path, &med, &mn, status) == 8) {
            rows++;
            ok += !strcmp(path, paths ? (rows > 18 ? "dnnl" : "ours") : "cpu") &&
                  !strcmp(status, "ok") && med > 0 && mn <= med;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    EXPECT(rows == 18 * (paths ? 2 : 1) && ok == rows,
           "hgbench-gpu-conv: %d rows (want 3 layers x 6 per path), %d ok:\n%s", rows, ok, r.out);
    run_free(&r);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_defaults_are_hypergrads),
        TEST(test_gpu_conv_runs_on_cpu),
        TEST(test_micro_engine_benchmarks_run),
        TEST(test_synthetic_sizes_and_fields),
        TEST(test_seeds_and_normalisation),
        TEST(test_same_spec_same_bytes_other_seed_other_run),
        TEST(test_perturb_w0),
        TEST(test_data_only),
        TEST(test_refusals),
        TEST(test_bench_engines_reproduced_by_hypergrad),
        TEST(test_device_flag_everywhere),
    };
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
