/* test_oom.c — out of memory, never a crash.
 *
 * The allocator's failure hook (mem_fail_after) fails the n-th allocation of
 * a small run of each engine, for every n the run makes, each in a child
 * process: the run must either return an error that says "out of memory:"
 * with everything it allocated freed (the tagged bytes back where they were,
 * and the sanitizer builds' leak check at the child's exit), or, for a
 * buffer deep inside a pass (mem_alloc), exit 3 with that message; never a
 * signal. Then the real thing: the plain binary under `ulimit -v`, refused
 * by the memory check with the limit named, and a data set that does not
 * fit, which exits 3 with "out of memory". (ASan reserves terabytes of
 * address space, so no sanitizer build can run under ulimit -v: that part
 * runs on the plain builds only and says so.)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../common/mem.h"
#include "../datasets/dataset.h"
#include "../engines/engine.h"
#include "../harness/hyper.h"
#include "../harness/inner.h"
#include "support_files.h"
#include "support_models.h"
#include "test.h"

typedef EngineCase Small;

/* An MLP on synthetic data, T = 6, lr, momentum and wd learned, clamp on. */
static void small_make(Small *s)
{
    const int K[HYPER_KINDS] = {2, 1, 3};
    engine_case_make(s, "mlp-tanh", 64, 16, 6, K, 0.5, 8, 0);
}

static int run_engine(Small *s, const EngineOps *ops, HgErr *err)
{
    EngineConfig cfg = {.prob = &s->prob, .layout = &s->layout, .sched = &s->sched,
                        .opt.checkpoints = ops == &CHECKPOINT_OPS ? 2 : 0};
    EngineResult r;
    const int rc = engine_run(ops, &cfg, &r, err);
    if (rc == 0)
        engine_result_free(&r);
    return rc;
}

/* The child's verdict, as its exit status. */
enum { CHILD_ERROR_CLEAN = 0, CHILD_BAD_MESSAGE = 1, CHILD_LEAKED = 2, CHILD_OOM_EXIT = 3,
       CHILD_SUCCEEDED = 4 };

static void test_failure_hook_every_engine(void)
{
    BACKEND_CPU.mem.set_threads(1); /* no OpenMP team before fork */
    Small s;
    small_make(&s);
    const EngineOps *engines[] = {&BPTT_OPS, &REVERSIBLE_OPS, &FORWARD_OPS, &GREEDY_OPS,
                                  &CHECKPOINT_OPS};
    char errpath[4096];
    files_setup("oom");
    snprintf(errpath, sizeof errpath, "%s", files_tmp("child-stderr.txt"));
    for (int e = 0; e < ARRAY_LEN(engines); e++) {
        HgErr err = {{0}};
        /* one run first: the model's workspace and the kernels' scratch are
         * kept between runs, so the counted run allocates only its own */
        EXPECT(run_engine(&s, engines[e], &err) == 0, "%s: %s", engines[e]->name, err.msg);
        const long a0 = mem_allocations();
        EXPECT(run_engine(&s, engines[e], &err) == 0, "%s: %s", engines[e]->name, err.msg);
        const long count = mem_allocations() - a0;
        int counts[5] = {0}, other = 0;
        for (long n = 1; n <= count; n++) {
            fflush(stdout);
            const pid_t pid = fork();
            if (pid == 0) {
                const int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                dup2(fd, 2);
                const size_t before = mem_total_current();
                HgErr cerr = {{0}};
                mem_fail_after(n);
                const int rc = run_engine(&s, engines[e], &cerr);
                mem_fail_after(0);
                if (rc == 0)
                    _exit(CHILD_SUCCEEDED);
                if (!strstr(cerr.msg, "out of memory: ")) {
                    fprintf(stderr, "%s\n", cerr.msg);
                    _exit(CHILD_BAD_MESSAGE);
                }
                const int leaked = mem_total_current() != before;
                engine_case_free(&s);
                exit(leaked ? CHILD_LEAKED : CHILD_ERROR_CLEAN); /* exit: the leak check runs */
            }
            int status = 0;
            waitpid(pid, &status, 0);
            char *msg = files_slurp(errpath, NULL);
            const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            if (code == CHILD_OOM_EXIT && !(msg && strstr(msg, "hgbench: out of memory: ")))
                other++;
            else if (code >= 0 && code < 5)
                counts[code]++;
            else
                other++;
            EXPECT(code == CHILD_ERROR_CLEAN || code == CHILD_OOM_EXIT,
                   "%s, allocation %ld of %ld failed: %s (stderr: %.300s)", engines[e]->name, n,
                   count, code < 0 ? "killed by a signal" : code == CHILD_BAD_MESSAGE
                   ? "an error without 'out of memory:'" : code == CHILD_LEAKED
                   ? "tagged bytes not freed" : code == CHILD_SUCCEEDED ? "it succeeded"
                   : "another exit", msg ? msg : "");
            free(msg);
        }
        printf("# %s: %ld allocations, each failed in turn: %d returned an out-of-memory "
               "error with everything freed, %d exited 3 with the message (deep buffers), %d "
               "otherwise\n", engines[e]->name, count, counts[CHILD_ERROR_CLEAN],
               counts[CHILD_OOM_EXIT], other + counts[1] + counts[2] + counts[4]);
        EXPECT(count > 5 && counts[CHILD_ERROR_CLEAN] >= 5,
               "%s: the engine's own buffers report out of memory as an error (%d of %ld)",
               engines[e]->name, counts[CHILD_ERROR_CLEAN], count);
    }
    engine_case_free(&s);
}

/* bash running 'ulimit -v KB; timeout 120 hgbench ARGS' from a script file. */
static Run run_limited(long kb, const char *args)
{
    char script[8192];
    snprintf(script, sizeof script, "ulimit -v %ld; exec timeout 120 %s/hgbench %s", kb,
             files_bin_dir, args);
    char path[4096];
    snprintf(path, sizeof path, "%s", files_tmp("limited.sh"));
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s\n", script);
        fclose(f);
    }
    return run_prog("/bin/bash", path);
}

static void test_ulimit_v(void)
{
    files_setup("oom");
    if (strstr(files_bin_dir, "asan")) {
        test_skip_part("ulimit -v: a sanitizer build reserves more address space than any "
                       "limit that would test something; the plain builds run this");
        EXPECT(1, "skipped on a sanitizer build");
        return;
    }
    /* what the process maps at the check, from the refusal's own message */
    Run r = run_limited(4L << 20, "hypergrad --engine bptt --model mlp --data synthetic "
                        "--steps 20000 --threads 1");
    double maps = 0;
    const char *at = strstr(r.err, "this process maps ");
    EXPECT(r.status == 1 && strstr(r.err, "RLIMIT_AS, ulimit -v") && at &&
               sscanf(at, "this process maps %lf GiB", &maps) == 1 && maps > 0,
           "a 12 GiB trajectory under ulimit -v 4 GiB: refused naming the limit (exit %d):\n%s",
           r.status, r.err);
    run_free(&r);
    if (!(maps > 0))
        return;
    const long base_kb = (long)(maps * 1024 * 1024);
    /* 32 MiB more than that: the data set (11,280 examples of 28x28, 35 MiB
     * or more) cannot be allocated; the estimate (a tiny trajectory) passes */
    r = run_limited(base_kb + (32L << 10), "hypergrad --engine bptt --model logreg --data "
                    "synthetic --steps 10 --threads 1");
    EXPECT(r.status == 3 && strstr(r.err, "out of memory: ") && strstr(r.err, "bytes)"),
           "data that does not fit under ulimit -v %ld KiB: exit %d (want 3, 'out of memory: "
           "... bytes)'):\n%s", base_kb + (32L << 10), r.status, r.err);
    run_free(&r);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_failure_hook_every_engine), TEST(test_ulimit_v)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
