/* test_gpu_check.c — scripts/gpu-check.sh rehearsed on the CPU (REHEARSE=1:
 * the strict fake device behind --device cuda, the CPU builds' programs),
 * cut down by CHECK_PARTS to what runs in a minute here, and the limits of
 * a lent GPU machine checked on what it leaves in its output folder:
 *   - a rehearsal of the device, tests and presets parts passes, and leaves
 *     at most 8 files, none deeper than 2 folders: the log, the summary
 *     (headed REHEARSAL, one ok line per step) and one tarball holding
 *     every file the steps wrote;
 *   - a deadline that leaves no time skips every step, saying so, and
 *     still packs;
 *   - a missing program stops it at once (exit 2), naming the program,
 *     and still packs.
 * Runs in the float64 build without sanitizers only (it runs the f32 and
 * f64 programs itself); elsewhere listed as skipped. The full rehearsal,
 * with bench-gpu.sh, is `REHEARSE=1 bash scripts/gpu-check.sh DIR`.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support_files.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__) || !defined(HG_F64)
#define GPU_CHECK_HERE 0
#else
#define GPU_CHECK_HERE 1
#endif

static int nfiles, deepest;

static int count_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path;
    (void)st;
    if (type == FTW_F || type == FTW_SL) {
        nfiles++;
        deepest = ftw->level - 1 > deepest ? ftw->level - 1 : deepest; /* folders above it */
    }
    return 0;
}

/* Runs gpu-check.sh from the repository root with env before it, into out;
 * its exit status (-1: not run). */
static int gpu_check(const char *env, const char *out)
{
    char root[4200], cmd[8192];
    snprintf(root, sizeof root, "%s/../..", files_bin_dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && env %s REHEARSE=1 THREADS=2 bash scripts/gpu-check.sh '%s' "
             "> '%s.stdout' 2>&1", root, env, out, out);
    const int st = system(cmd);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static char *slurp_in(const char *dir, const char *name)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = files_slurp(path, NULL);
    return s ? s : calloc(1, 1);
}

static void check_packed(const char *out, const char *what)
{
    nfiles = deepest = 0;
    nftw(out, count_entry, 16, FTW_PHYS);
    EXPECT(nfiles >= 3 && nfiles <= 8 && deepest <= 2,
           "%s: %d files in %s, %d folders deep (a lent machine hands back 8, 2 deep)", what,
           nfiles, out, deepest);
    char tarball[4300], cmd[8800];
    snprintf(tarball, sizeof tarball, "%s/gpu-check.tar.gz", out);
    snprintf(cmd, sizeof cmd, "tar -tzf '%s' > /dev/null 2>&1", tarball);
    EXPECT(access(tarball, R_OK) == 0 && system(cmd) == 0, "%s: %s is a readable tarball", what,
           tarball);
}

static void test_rehearsal_passes_and_packs(void)
{
    if (!GPU_CHECK_HERE) {
        test_skip("the rehearsal runs in the float64 build without sanitizers");
        return;
    }
    files_setup("gpu_check");
    const char *out = files_tmp("rehearsal");
    const int rc = gpu_check("CHECK_PARTS='device tests presets' CHECK_BUDGET_S=600 PRESET_T=3 "
                                 "ENGINES_T=10 FIG2_ARGS='--quick --seeds 2 --steps 4'", out);
    char *sum = slurp_in(out, "gpu-check-summary.txt");
    char *log = slurp_in(out, "gpu-check.log");
    EXPECT(rc == 0 && !strncmp(sum, "REHEARSAL", 9) && !strstr(sum, "FAILED"),
           "the rehearsal: exit %d, summary:\n%s", rc, sum);
    const char *const steps[] = {"ok: test_backend_ops (float64)", "ok: test_gpu (float64)",
                                 "ok: test_backend_ops (float32)", "ok: test_gpu (float32)",
                                 "ok: hypergrad reversible on the GPU",
                                 "ok: engines at T = 10", "WARNING: cuDNN"};
    for (int i = 0; i < ARRAY_LEN(steps); i++)
        EXPECT(strstr(sum, steps[i]), "the summary has '%s'", steps[i]);
    EXPECT(strstr(log, "strict fake device"), "the log says the device was the fake one");
    check_packed(out, "the rehearsal");
    free(sum);
    free(log);
}

static void test_deadline_skips_and_packs(void)
{
    if (!GPU_CHECK_HERE) {
        test_skip("the rehearsal runs in the float64 build without sanitizers");
        return;
    }
    files_setup("gpu_check");
    const char *out = files_tmp("deadline");
    /* 10 s of budget is all kept for packing: no step may start */
    const int rc = gpu_check("CHECK_BUDGET_S=10", out);
    char *sum = slurp_in(out, "gpu-check-summary.txt");
    EXPECT(rc == 0 && strstr(sum, "SKIPPED: test_gpu (float64): the deadline") &&
               strstr(sum, "SKIPPED: bench-gpu.sh") && !strstr(sum, "ok: test_gpu"),
           "no time left: exit %d, summary:\n%s", rc, sum);
    check_packed(out, "the deadline run");
    free(sum);
}

static void test_missing_program_stops(void)
{
    if (!GPU_CHECK_HERE) {
        test_skip("the rehearsal runs in the float64 build without sanitizers");
        return;
    }
    files_setup("gpu_check");
    const char *out = files_tmp("missing");
    const int rc = gpu_check("REHEARSE_BUILD=build/no-such-build-f", out);
    char *sum = slurp_in(out, "gpu-check-summary.txt");
    EXPECT(rc == 2 && strstr(sum, "build/no-such-build-f64/tests/test_gpu: not built") &&
               strstr(sum, "stopping") && !strstr(sum, "test_backend_ops"),
           "a missing program: exit %d, summary:\n%s", rc, sum);
    check_packed(out, "the stopped run");
    free(sum);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {TEST(test_missing_program_stops),
                                     TEST(test_deadline_skips_and_packs),
                                     TEST(test_rehearsal_passes_and_packs)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
