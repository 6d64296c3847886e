/* blas_core.c — see blas_core.h. The choice runs in a constructor (glibc
 * passes it argc, argv and envp), before main and before any BLAS call. */
#include "blas_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *openblas_get_corename(void); /* cblas.h declares it only in some versions */

static char source[160] = "openblas";

const char *blas_core_name(void) { return openblas_get_corename(); }

const char *blas_core_source(void) { return source; }

const char *blas_core_supported(void)
{
    __builtin_cpu_init();
    /* __builtin_cpu_supports also checks that the OS saves the registers */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    return NULL;
}

static const char *isa_of(const char *core)
{
    return !strcmp(core, "SkylakeX") ? "AVX-512" : "AVX2 and FMA";
}

__attribute__((constructor(101))) static void blas_core_pick(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)envp;
    const char *set = getenv(BLAS_CORE_ENV), *mark = getenv(BLAS_CORE_MARK_ENV);
    if (set && mark && !strcmp(set, mark)) { /* ours, from the re-exec or a parent's */
        snprintf(source, sizeof source,
                 "hgbench (OpenBLAS fell back to Prescott on a CPU with %s)", isa_of(set));
        return;
    }
    if (set) {
        snprintf(source, sizeof source, "user (%s=%s)", BLAS_CORE_ENV, set);
        return;
    }
    const char *core = openblas_get_corename();
    const char *better = blas_core_supported();
    if (!argv || !argv[0] || !core || strcmp(core, "Prescott") != 0 || !better || mark)
        return; /* (a mark without the variable: someone unset it; leave it so) */
    if (setenv(BLAS_CORE_ENV, better, 1) == 0 && setenv(BLAS_CORE_MARK_ENV, better, 1) == 0)
        execv("/proc/self/exe", argv);
    /* still here: the re-exec failed; run on with OpenBLAS's own choice */
    const int e = errno;
    unsetenv(BLAS_CORE_ENV);
    unsetenv(BLAS_CORE_MARK_ENV);
    snprintf(source, sizeof source, "openblas (re-exec with %s=%s failed: %s)", BLAS_CORE_ENV,
             better, strerror(e));
}
