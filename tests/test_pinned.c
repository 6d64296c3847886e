/* test_pinned.c — pinned outputs: the hypergradient bytes of every engine x
 * model, per build configuration, for fixed seeds, against the files in
 * tests/pinned/<config>.txt. A change that moves them (a faster kernel, a
 * reordered sum) must re-pin them on purpose, in its own commit, with the
 * measured difference: `make pin` rewrites the files.
 *
 * Bytes depend on the machine as well as the code: the CPU's instruction
 * set (-march=native), OpenBLAS's kernel for it, the thread count and the
 * compiler. Each file's first line is that fingerprint; on a machine with
 * another one the comparison is skipped, loudly, naming both, since there
 * the pins say nothing (re-pin there with `make pin` to use them).
 *
 * Problems: synthetic data (seeded), T = 6, lr and mom in 2 windows and wd
 * in 1, cosine schedule, clamp 0.05; the models logreg, mlp-tanh, lenet.
 * Each line: engine, model, the validation loss and every hypergradient
 * entry as C99 hex floats (%a: exact).
 */
#include <libgen.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "../engines/engine.h"
#include "support_files.h"
#include "support_models.h"
#include "test.h"

char *openblas_get_corename(void);

#define LINE_MAX_LEN 4096

static const char *const MODELS[] = {"logreg", "mlp-tanh", "lenet"};

static unsigned long long fnv1a(const char *s)
{
    unsigned long long h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The machine and build facts the bytes depend on, as one line. */
static void fingerprint(char *buf, size_t cap)
{
    char model[8192] = "?", flags[8192] = "", line[8192];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10) && model[0] == '?')
            snprintf(model, sizeof model, "%s", strchr(line, ':') ? strchr(line, ':') + 2 : line);
        if (!strncmp(line, "flags", 5) && !flags[0])
            snprintf(flags, sizeof flags, "%s", line);
    }
    if (f)
        fclose(f);
    model[strcspn(model, "\n")] = 0;
    snprintf(buf, cap, "cpu '%s' flags %016llx, openblas %s, threads %d, cc %s", model,
             fnv1a(flags), openblas_get_corename(), omp_get_max_threads(), __VERSION__);
}

/* One case's line: engine model val_loss hypergrad... (hex floats). */
static int case_line(const EngineOps *ops, const char *model, char *out, size_t cap)
{
    const int T = 6, K[HYPER_KINDS] = {2, 2, 1}, batch = 4;
    HgErr err = {{0}};
    Model *m = test_model(model);
    Dataset full, train, val;
    HyperLayout layout;
    Schedule sched;
    if (synthetic_make(batch * 8 + 16, m->input.c, m->input.h, m->input.w, m->classes, 1.0, 11,
                       &full, &err) ||
        dataset_split(&full, 16, 3, &train, &val, &err) ||
        hyper_layout_init(&layout, T, K, &err) ||
        schedule_init(&sched, T, SCHEDULE_COSINE, 0.05, 0.9, 1e-3, 0.05, &err)) {
        test_fail_at(__FILE__, __LINE__, "%s setup: %s", model, err.msg);
        model_free(m);
        return -1;
    }
    dataset_free(&full);
    real *w0 = mem_alloc(MEM_PARAMS, sizeof(real) * m->nparams);
    model_init(m, w0, INIT_XAVIER, 0, 5);
    const InnerProblem prob = {
        .model = m, .train = &train, .val = &val, .batch = batch, .batch_seed = 17, .w0 = w0};
    const EngineConfig cfg = {.prob = &prob, .layout = &layout, .sched = &sched};
    EngineResult r;
    int rc = engine_run(ops, &cfg, &r, &err);
    if (rc == 0) {
        size_t n = (size_t)snprintf(out, cap, "%s %s %a", ops->name, model, r.val_loss);
        for (int q = 0; q < r.N && n < cap; q++)
            n += (size_t)snprintf(out + n, cap - n, " %a", r.hypergrad[q]);
        engine_result_free(&r);
    } else {
        test_fail_at(__FILE__, __LINE__, "%s on %s: %s", ops->name, model, err.msg);
    }
    mem_free(w0);
    schedule_free(&sched);
    dataset_free(&train);
    dataset_free(&val);
    model_free(m);
    return rc;
}

/* tests/pinned/<config>.txt from the running binary's place,
 * <root>/build/<config>/tests/test_pinned. */
static void pin_path(char *buf, size_t cap)
{
    char bin[4096], cfg[4096];
    snprintf(bin, sizeof bin, "%s", files_bin_dir);
    snprintf(cfg, sizeof cfg, "%s", basename(bin));
    snprintf(bin, sizeof bin, "%s", files_bin_dir);
    char *root = dirname(dirname(bin));
    snprintf(buf, cap, "%s/tests/pinned/%s.txt", root, cfg);
}

static const EngineOps *const ENGINES[] = {&BPTT_OPS, &REVERSIBLE_OPS, &FORWARD_OPS, &GREEDY_OPS};

/* HG_PIN_WRITE=1 (make pin): write the pins of this build and machine. */
static void test_pinned_hypergradients(void)
{
    files_setup("pinned");
    char path[4200], fp[1024], line[LINE_MAX_LEN];
    pin_path(path, sizeof path);
    fingerprint(fp, sizeof fp);
    const char *write = getenv("HG_PIN_WRITE");
    if (write && !strcmp(write, "1")) {
        FILE *f = fopen(path, "w");
        EXPECT(f != NULL, "%s: cannot write", path);
        if (!f)
            return;
        fprintf(f, "# fingerprint: %s\n", fp);
        for (int e = 0; e < ARRAY_LEN(ENGINES); e++)
            for (int c = 0; c < ARRAY_LEN(MODELS); c++)
                if (case_line(ENGINES[e], MODELS[c], line, sizeof line) == 0)
                    fprintf(f, "%s\n", line);
        EXPECT(fclose(f) == 0, "%s: write failed", path);
        printf("# wrote the pins of this build to %s\n", path);
        return;
    }
    char *pins = files_slurp(path, NULL);
    if (!pins) {
        EXPECT(0, "%s: no pins for this build; make them with `make pin` (and commit them)",
               path);
        return;
    }
    char want_fp[1100];
    snprintf(want_fp, sizeof want_fp, "# fingerprint: %s\n", fp);
    if (strncmp(pins, want_fp, strlen(want_fp))) {
        test_skip("%s was pinned on another machine or build:\n#     %.*s\n#   this one is\n"
                  "#     %s\n#   run `make pin` here to pin this machine's bytes", path,
                  (int)strcspn(pins, "\n"), pins, want_fp);
        free(pins);
        return;
    }
    for (int e = 0; e < ARRAY_LEN(ENGINES); e++)
        for (int c = 0; c < ARRAY_LEN(MODELS); c++) {
            if (case_line(ENGINES[e], MODELS[c], line, sizeof line))
                continue;
            /* the pinned line with the same engine and model */
            char key[128], *at = NULL;
            snprintf(key, sizeof key, "\n%s %s ", ENGINES[e]->name, MODELS[c]);
            at = strstr(pins, key);
            EXPECT(at != NULL, "%s: no pin for %s on %s", path, ENGINES[e]->name, MODELS[c]);
            if (!at)
                continue;
            at++;
            const size_t len = strcspn(at, "\n");
            EXPECT(len == strlen(line) && !strncmp(at, line, len),
                   "%s on %s moved from its pinned bytes:\n#     pinned %.*s\n#     now    %s",
                   ENGINES[e]->name, MODELS[c], (int)len, at, line);
        }
    free(pins);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {TEST(test_pinned_hypergradients)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
