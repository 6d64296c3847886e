/* test_fake_device.c — the strict fake device (backend/fake_device.h), and
 * the first-run failures of issue 24 that it catches on the CPU:
 *   - its memory is closed to the host: a read outside an op stops the
 *     program (a forked child, which must die by SIGABRT saying so); ops,
 *     upload and download reach it, and give the CPU's bytes;
 *   - owns, the byte counters, allocation inside an op, tagged accounting;
 *   - HG_FAKE_DEVICE selects it for --device cuda, refuses other values;
 *   - item 3: a data-only problem_load uploads the data (hgbench-models
 *     --device cuda read an empty dev_train), and the programs' data-only
 *     path, hgbench-models --device cuda, runs under it;
 *   - the other programs' --device cuda paths run under it: hypergrad with
 *     every engine and --export, hgbench-gpu-conv (test_gpu_check runs
 *     hgbench-engines and hgbench-fig2 through the rehearsal).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../backend/fake_device.h"
#include "../common/mem.h"
#include "../harness/problem.h"
#include "support_device.h"
#include "support_files.h"
#include "test.h"

/* Runs fn in a child with stderr into a file; its wait status, and the
 * stderr's first line in msg. */
static int in_child(void (*fn)(void), char *msg, size_t cap)
{
    char path[] = "/tmp/hg-fake-device.XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    fflush(NULL);
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 2);
        fn();
        _exit(0);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    FILE *f = fdopen(fd, "r");
    msg[0] = 0;
    if (f) {
        rewind(f);
        if (!fgets(msg, (int)cap, f))
            msg[0] = 0;
        fclose(f);
    }
    unlink(path);
    return st;
}

static volatile real sink;

static void touch_outside_op(void)
{
    const Backend *be = fake_device_strict();
    real *d = be->mem.alloc(MEM_OTHER, sizeof(real) * 10);
    sink = d[3]; /* what engines/reversible.c did with g[P / 2] (issue 24, item 1) */
}

static void touch_after_op(void)
{
    const Backend *be = fake_device_strict();
    real *d = be->mem.alloc(MEM_OTHER, sizeof(real) * 10);
    be->vec.axpy(d, 1.0, d, 10); /* opens d while it runs ... */
    d[0] = 1;                /* ... and closes it after */
}

static void test_host_access_stops(void)
{
    void (*const fns[])(void) = {touch_outside_op, touch_after_op};
    const char *const names[] = {"a read before any op", "a write after an op"};
    for (int i = 0; i < ARRAY_LEN(fns); i++) {
        char msg[512];
        const int st = in_child(fns[i], msg, sizeof msg);
        EXPECT(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT &&
                   strstr(msg, "the host touched device memory"),
               "%s: the child was not stopped by the fake device (status %d, '%s')", names[i],
               st, msg);
    }
}

static void test_ops_and_copies(void)
{
    const Backend *be = fake_device_strict();
    enum { N = 1000 };
    real h[N], back[N];
    for (int i = 0; i < N; i++)
        h[i] = (real)(i % 13) - 6;
    const size_t up0 = fake_device_uploaded(), down0 = fake_device_downloaded();
    const size_t cur0 = mem_current(MEM_TANGENTS);
    real *x = be->mem.alloc(MEM_TANGENTS, sizeof h), *y = be->mem.alloc(MEM_TANGENTS, sizeof h);
    EXPECT(x && y && fake_device_owns(x) && fake_device_owns(y + N - 1) && !fake_device_owns(h),
           "owns: its allocations, not host memory");
    EXPECT(mem_current(MEM_TANGENTS) == cur0 + 2 * sizeof h, "tagged bytes counted");
    be->mem.upload(x, h, sizeof h);
    be->mem.copy(y, x, sizeof h);
    be->vec.axpy(y, 2.0, x, N); /* y = 3 h */
    const double d = be->vec.dot(x, y, N);
    be->mem.download(back, y, sizeof h);
    double want = 0;
    int same = 1;
    for (int i = 0; i < N; i++) {
        want += 3.0 * h[i] * h[i];
        same &= back[i] == 3 * h[i];
    }
    EXPECT(same && d == want, "axpy and dot on the fake device: %.17g vs %.17g", d, want);
    EXPECT(fake_device_uploaded() - up0 == sizeof h && fake_device_downloaded() - down0 == sizeof h,
           "counters: %zu up, %zu down", fake_device_uploaded() - up0,
           fake_device_downloaded() - down0);
    be->mem.free(x);
    be->mem.free(y);
    EXPECT(mem_current(MEM_TANGENTS) == cur0, "freed bytes counted");
    be->mem.free(NULL);
}

static void test_env_selects_it(void)
{
    HgErr err = {{0}};
    setenv("HG_FAKE_DEVICE", "strict", 1);
    EXPECT(backend_find("cuda", &err) == fake_device_strict(), "HG_FAKE_DEVICE=strict: %s",
           err.msg);
    EXPECT(!strcmp(fake_device_strict()->name, "fake-device") &&
               fake_device_strict()->device_memory == 1,
           "named fake-device, with memory of its own");
    setenv("HG_FAKE_DEVICE", "gpu", 1);
    EXPECT(backend_find("cuda", &err) == NULL && strstr(err.msg, "HG_FAKE_DEVICE='gpu'"),
           "another value is refused naming the variable: '%s'", err.msg);
    unsetenv("HG_FAKE_DEVICE");
    EXPECT(backend_find("auto", &err) != fake_device_strict(), "auto never picks it");
}

/* Issue 24, item 3: problem_load without a model returned before the data
 * went to the device, so hgbench-models --device cuda read 0x0x0 inputs. */
static void test_data_only_load_uploads(void)
{
    setenv("HG_FAKE_DEVICE", "strict", 1);
    ProblemSpec s = problem_spec_defaults();
    s.model = NULL;
    s.data = "synthetic:2x3x3";
    s.device = "cuda";
    s.steps = 5;
    s.batch = 4;
    s.val = 10;
    Problem p;
    HgErr err = {{0}};
    if (problem_load(&s, &p, &err) == 0) {
        const Backend *be = p.be;
        const size_t xb = sizeof(real) * (size_t)p.train.n * (size_t)dataset_dim(&p.train);
        real *back = mem_alloc(MEM_OTHER, xb);
        EXPECT(be == fake_device_strict() && fake_device_owns(p.dev_train.x) &&
                   fake_device_owns(p.dev_val.y) && p.dev_train.n == p.train.n &&
                   p.dev_train.c == 2 && p.dev_train.h == 3,
               "a data-only load on a device: dev_train %p (%d of %dx%dx%d)",
               (void *)p.dev_train.x, p.dev_train.n, p.dev_train.c, p.dev_train.h,
               p.dev_train.w);
        if (fake_device_owns(p.dev_train.x)) {
            be->mem.download(back, p.dev_train.x, xb);
            EXPECT(!memcmp(back, p.train.x, xb), "the uploaded data are the host's bytes");
        }
        mem_free(back);
    } else {
        test_fail_at(__FILE__, __LINE__, "data-only load: %s", err.msg);
    }
    problem_free(&p);
    unsetenv("HG_FAKE_DEVICE");
}

/* hgbench-models --device cuda on the fake device: every model runs (it
 * failed each with "input shape 0x0x0 is empty"). */
static void test_models_bench_on_fake_device(void)
{
    files_setup("fake_device");
    const char *dir = dataset_default_dir("fashion-mnist");
    if (!dir) {
        test_skip("no default Fashion-MNIST folder (hgbench-models trains on it)");
        return;
    }
    char probe[4096], gz[4200];
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte", dir);
    snprintf(gz, sizeof gz, "%s.gz", probe);
    if (access(probe, R_OK) && access(gz, R_OK)) {
        test_skip("Fashion-MNIST not found in %s (hgbench-models trains on it)", dir);
        return;
    }
    setenv("HG_FAKE_DEVICE", "strict", 1);
    Run r = run_bin("hgbench-models", "--device cuda --model logreg,lenet --batch 16 --repeats 1 "
                                      "--min-time 0.001 --threads 2 --no-context");
    unsetenv("HG_FAKE_DEVICE");
    EXPECT(r.status == 0 && strstr(r.err, "HG_FAKE_DEVICE=strict") && !strstr(r.out, "errors"),
           "hgbench-models --device cuda on the fake device: exit %d, stderr: %.600s",
           r.status, r.err);
    run_free(&r);
}

/* The programs' other --device cuda paths on the fake device: hypergrad
 * with every engine (bptt with --export, which downloads the problem), and
 * hgbench-gpu-conv's op-by-op conv timing. */
static void test_programs_on_fake_device(void)
{
    files_setup("fake_device");
    setenv("HG_FAKE_DEVICE", "strict", 1);
    static const char *const engines[] = {"bptt", "forward", "reversible", "greedy", "checkpoint"};
    for (int i = 0; i < ARRAY_LEN(engines); i++) {
        /* no --json: under ASan, `hgbench hypergrad --json` reports a leak
         * of its own (from a module unloaded at exit), on the CPU too */
        char args[10000];
        snprintf(args, sizeof args, "hypergrad --device cuda --engine %s --model lenet --data "
                 "synthetic --steps 3 --batch 16 --val 50 --learn lr:1 --threads 2%s%s%s",
                 engines[i], i ? "" : " --export ", i ? "" : files_tmp("export"),
                 strcmp(engines[i], "checkpoint") ? "" : " --checkpoints 1");
        Run r = run_bin("hgbench", args);
        EXPECT(r.status == 0 && strstr(r.err, "HG_FAKE_DEVICE=strict"),
               "hgbench %s on the fake device: exit %d, stderr: %.600s", args, r.status, r.err);
        run_free(&r);
    }
    char problem[4300];
    snprintf(problem, sizeof problem, "%s/problem.json", files_tmp("export"));
    EXPECT(access(problem, R_OK) == 0, "--export on the fake device wrote %s", problem);
    Run r = run_bin("hgbench-gpu-conv", "--device cuda --batch 4 --tangents 2 --repeats 1 "
                                        "--min-ms 0");
    EXPECT(r.status == 0 && strstr(r.out, "fake-device"),
           "hgbench-gpu-conv on the fake device: exit %d, stderr: %.600s", r.status, r.err);
    run_free(&r);
    unsetenv("HG_FAKE_DEVICE");
}

int main(int argc, char **argv)
{
    fake_device_passive_omp(argv);
    static const TestCase tests[] = {
        TEST(test_host_access_stops), TEST(test_ops_and_copies), TEST(test_env_selects_it),
        TEST(test_data_only_load_uploads), TEST(test_models_bench_on_fake_device),
        TEST(test_programs_on_fake_device)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
