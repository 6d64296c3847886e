/* test_label_noise.c — corrupted labels and the training subset for data
 * hyper-cleaning (datasets/label_noise.h, harness/problem.h): the counts
 * each convention promises, seeded bytes, the changed mask against the
 * clean labels, the subset as a seeded choice, and the flags' refusals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../datasets/label_noise.h"
#include "../harness/problem.h"
#include "support_files.h"
#include "test.h"

/* n examples of 1 feature, labels i % classes. */
static Dataset labelled(int n, int classes)
{
    Dataset d;
    HgErr err = {{0}};
    HG_CHECK(dataset_alloc(&d, n, 1, 1, 1, classes, &err) == 0, "%s", err.msg);
    for (int i = 0; i < n; i++)
        d.y[i] = i % classes;
    return d;
}

static void test_other_class_exact_count(void)
{
    const int n = 1001, classes = 10;
    Dataset d = labelled(n, classes);
    uint8_t *changed = mem_alloc(MEM_DATA, n);
    const int count = label_noise_apply(&d, 0.5, LABEL_NOISE_OTHER, 42, changed);
    EXPECT(count == 501, "other: round(0.5 x 1001) = 501 changed, got %d", count);
    int marked = 0, agree = 1, in_range = 1;
    for (int i = 0; i < n; i++) {
        marked += changed[i];
        agree &= changed[i] == (d.y[i] != i % classes);
        in_range &= d.y[i] >= 0 && d.y[i] < classes;
    }
    EXPECT(marked == count && agree, "the mask is exactly the labels that differ (%d marked)",
           marked);
    EXPECT(in_range, "every label a class");
    /* the new labels spread over the classes: about 50 of the 501 each */
    int per_class[10] = {0}, fewest = n;
    for (int i = 0; i < n; i++)
        if (changed[i])
            per_class[d.y[i]]++;
    for (int c = 0; c < classes; c++)
        fewest = per_class[c] < fewest ? per_class[c] : fewest;
    EXPECT(fewest >= 20, "every class drawn (the rarest %d times of about 50)", fewest);
    /* the same seed, the same labels; another seed, others */
    Dataset e = labelled(n, classes), f = labelled(n, classes);
    label_noise_apply(&e, 0.5, LABEL_NOISE_OTHER, 42, NULL);
    label_noise_apply(&f, 0.5, LABEL_NOISE_OTHER, 43, NULL);
    EXPECT(!memcmp(d.y, e.y, sizeof(int32_t) * n), "seeded: same seed, same labels");
    EXPECT(memcmp(d.y, f.y, sizeof(int32_t) * n), "another seed, other labels");
    Dataset z = labelled(n, classes);
    EXPECT(label_noise_apply(&z, 0, LABEL_NOISE_OTHER, 42, NULL) == 0, "p = 0 changes none");
    EXPECT(label_noise_apply(&z, 1, LABEL_NOISE_OTHER, 42, NULL) == n, "p = 1 changes all");
    mem_free(changed);
    dataset_free(&d);
    dataset_free(&e);
    dataset_free(&f);
    dataset_free(&z);
}

/* Each example is redrawn with probability p, keeping its class with
 * probability 1/C: changed ~ Binomial(n, p (1 - 1/C)); checked within 5
 * standard deviations (a seeded draw: the same count every run). */
static void test_uniform_rate(void)
{
    const int n = 20000, classes = 10;
    const double p = 0.5, q = p * (1 - 1.0 / classes);
    Dataset d = labelled(n, classes);
    uint8_t *changed = mem_alloc(MEM_DATA, n);
    const int count = label_noise_apply(&d, p, LABEL_NOISE_UNIFORM, 7, changed);
    const double sd = sqrt(n * q * (1 - q));
    printf("# uniform: %d of %d changed, expected %.0f +- %.0f\n", count, n, n * q, sd);
    EXPECT(fabs(count - n * q) < 5 * sd, "uniform: %d changed, expected %.0f (sd %.0f)", count,
           n * q, sd);
    int agree = 1;
    for (int i = 0; i < n; i++)
        agree &= changed[i] == (d.y[i] != i % classes);
    EXPECT(agree, "uniform: the mask is exactly the labels that differ");
    mem_free(changed);
    dataset_free(&d);
}

static void test_parse(void)
{
    double p = -1;
    LabelNoiseMode m = LABEL_NOISE_UNIFORM;
    HgErr err = {{0}};
    EXPECT(label_noise_parse("--label-noise", "0.25", &p, &m, &err) == 0 && p == 0.25 &&
           m == LABEL_NOISE_OTHER, "0.25: other by default");
    EXPECT(label_noise_parse("--label-noise", "0.5:uniform", &p, &m, &err) == 0 && p == 0.5 &&
           m == LABEL_NOISE_UNIFORM, "0.5:uniform");
    EXPECT(label_noise_parse("--label-noise", "1:other", &p, &m, &err) == 0 && p == 1 &&
           m == LABEL_NOISE_OTHER, "1:other");
    static const char *const bad[] = {"", "x", "-0.1", "1.5", "nan", "0.5:", "0.5:foo", "0.5x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        EXPECT(label_noise_parse("--label-noise", bad[i], &p, &m, &err) == -1 &&
               strstr(err.msg, "--label-noise"), "'%s' refused naming the flag: '%s'", bad[i],
               err.msg);
    }
}

static ProblemSpec tiny_spec(void)
{
    ProblemSpec s = problem_spec_defaults();
    s.model = "logreg";
    s.data = "synthetic:2x3x3";
    s.steps = 40;
    s.batch = 4;
    s.val = 10;
    return s;
}

/* problem_load: the subset is a seeded choice of the training part, in its
 * order; the noise changes exactly the marked labels of that subset; both
 * follow --val-seed, not --seed. */
static void test_problem_subset_and_noise(void)
{
    HgErr err = {{0}};
    ProblemSpec s = tiny_spec();
    Problem clean, cut, noisy, other_init;
    EXPECT(problem_load(&s, &clean, &err) == 0, "clean: %s", err.msg);
    s.train_size = 60;
    EXPECT(problem_load(&s, &cut, &err) == 0, "subset: %s", err.msg);
    EXPECT(cut.train.n == 60 && clean.train.n == 160, "60 of 160 kept (%d of %d)", cut.train.n,
           clean.train.n);
    EXPECT(!memcmp(cut.val.y, clean.val.y, sizeof(int32_t) * clean.val.n),
           "the validation part is untouched");
    s.label_noise = 0.5;
    EXPECT(problem_load(&s, &noisy, &err) == 0, "noisy: %s", err.msg);
    const long dim = dataset_dim(&cut.train);
    int differ = 0, agree = 1;
    for (int i = 0; i < noisy.train.n; i++) {
        const int d = noisy.train.y[i] != cut.train.y[i];
        differ += d;
        agree &= d == noisy.label_changed[i];
    }
    EXPECT(differ == 30 && noisy.labels_changed == 30 && agree,
           "30 of the subset's 60 labels changed, as marked (%d, %d)", differ,
           noisy.labels_changed);
    EXPECT(!memcmp(noisy.train.x, cut.train.x, sizeof(real) * (size_t)(dim * cut.train.n)),
           "the noise leaves the images alone");
    /* a subset is a choice among the clean part's examples, kept in their
     * order: matched through the raw pixels (each load normalises by its
     * own part's statistics) */
    int found = 0, last = -1, ordered = 1;
    for (int i = 0; i < cut.train.n; i++)
        for (int k = 0; k < clean.train.n; k++) {
            int same = cut.train.y[i] == clean.train.y[k];
            for (long j = 0; same && j < dim; j++) {
                const int c = (int)(j / (dim / cut.train.c));
                const double a = cut.train.x[i * dim + j] * cut.std[c] + cut.mean[c];
                const double b = clean.train.x[k * dim + j] * clean.std[c] + clean.mean[c];
                same = fabs(a - b) <= 1e-5 * (1 + fabs(b));
            }
            if (same) {
                found++;
                ordered &= k > last;
                last = k;
                break;
            }
        }
    EXPECT(found == 60 && ordered, "the subset's 60 examples found in the full training part "
           "(%d), in its order (%d)", found, ordered);
    s.seed = 99;
    EXPECT(problem_load(&s, &other_init, &err) == 0, "other init seed: %s", err.msg);
    EXPECT(!memcmp(other_init.train.y, noisy.train.y, sizeof(int32_t) * noisy.train.n),
           "--seed leaves the corrupted labels alone");
    problem_free(&other_init);
    s.val_seed = 5;
    EXPECT(problem_load(&s, &other_init, &err) == 0, "other val seed: %s", err.msg);
    EXPECT(memcmp(other_init.label_changed, noisy.label_changed, 60),
           "--val-seed draws other corrupted examples");
    problem_free(&other_init);
    problem_free(&clean);
    problem_free(&cut);
    problem_free(&noisy);
}

/* --train-clean-only: exactly the noisy run's unchanged examples, in their
 * order, with their (clean) labels; the noise's own draw unchanged by it. */
static void test_problem_clean_only(void)
{
    HgErr err = {{0}};
    ProblemSpec s = tiny_spec();
    s.train_size = 60;
    s.label_noise = 0.5;
    Problem noisy, oracle;
    EXPECT(problem_load(&s, &noisy, &err) == 0, "noisy: %s", err.msg);
    s.train_clean_only = 1;
    EXPECT(problem_load(&s, &oracle, &err) == 0, "clean only: %s", err.msg);
    EXPECT(oracle.train.n == 30 && oracle.labels_dropped == 30 && oracle.labels_changed == 0,
           "30 of 60 kept, 30 dropped, none changed (%d, %d, %d)", oracle.train.n,
           oracle.labels_dropped, oracle.labels_changed);
    const long dim = dataset_dim(&noisy.train);
    int k = 0, same = 1;
    for (int i = 0; i < noisy.train.n; i++) {
        if (noisy.label_changed[i])
            continue;
        same &= k < oracle.train.n && oracle.train.y[k] == noisy.train.y[i];
        for (long j = 0; same && j < dim; j++) { /* raw pixels: each load has its own stats */
            const int c = (int)(j / (dim / noisy.train.c));
            const double a = oracle.train.x[k * dim + j] * oracle.std[c] + oracle.mean[c];
            const double b = noisy.train.x[i * dim + j] * noisy.std[c] + noisy.mean[c];
            same = fabs(a - b) <= 1e-5 * (1 + fabs(b));
        }
        k++;
    }
    EXPECT(same && k == oracle.train.n, "the kept examples are the unchanged ones in order");
    int marked = 0;
    for (int i = 0; i < oracle.train.n; i++)
        marked += oracle.label_changed[i];
    EXPECT(marked == 0, "no kept example is marked changed (%d)", marked);
    EXPECT(!memcmp(oracle.val.y, noisy.val.y, sizeof(int32_t) * noisy.val.n),
           "the validation part is untouched");
    problem_free(&oracle);
    s.label_noise = 0;
    err.msg[0] = '\0';
    EXPECT(problem_load(&s, &oracle, &err) == PROBLEM_BAD_SPEC &&
           strstr(err.msg, "--train-clean-only"), "without noise refused: '%s'", err.msg);
    problem_free(&noisy);
}

static void test_flags(void)
{
    files_setup("label_noise");
    static const struct {
        const char *args, *says;
    } bad[] = {
        {"--label-noise 2", "--label-noise '2'"},
        {"--label-noise 0.5:sometimes", "unknown convention"},
        {"--train-size 2", "--train-size 2: fewer than --batch 4"},
        {"--train-size 100000", "--train-size 100000"},
        {"--train-size -1", "--train-size"},
        {"--train-clean-only", "--train-clean-only: needs --label-noise"},
        {"--train-size 10 --label-noise 0.8 --train-clean-only", "fewer than --batch 4"},
    };
    char args[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "hypergrad --model logreg --data synthetic:2x3x3 --steps 40 "
                 "--batch 4 --val 10 --precision %d %s", HG_PRECISION, bad[i].args);
        Run r = run_bin("hgbench", args);
        EXPECT(r.status == 2 && strstr(r.err, bad[i].says), "%s: exit %d (want 2), '%s'",
               bad[i].args, r.status, r.err);
        run_free(&r);
    }
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_other_class_exact_count),
        TEST(test_uniform_rate),
        TEST(test_parse),
        TEST(test_problem_subset_and_noise),
        TEST(test_problem_clean_only),
        TEST(test_flags),
    };
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
