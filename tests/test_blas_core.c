/* test_blas_core.c — the OpenBLAS core choice (backend/cpu/blas_core.h):
 * this binary run again as a child with a given OPENBLAS_CORETYPE (or none)
 * reports its pid, core, who chose it and its arguments; the re-exec keeps
 * the pid and the arguments, never overrides the user's setting, and leaves
 * no Prescott fallback on a CPU that supports better kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../backend/cpu/blas_core.h"
#include "../io/machine.h"
#include "test.h"

typedef struct Report {
    long pid, forked;
    char core[64], source[200], arg[64];
} Report;

/* Runs this binary with --report ARG under OPENBLAS_CORETYPE=core and the
 * re-exec's mark = mark (NULL: unset); 0 and the child's report, or -1. */
static int run_child(const char *core, const char *mark, Report *r)
{
    int fd[2];
    if (pipe(fd) != 0) return -1;
    fflush(stdout);
    const pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDOUT_FILENO);
        if (mark) setenv(BLAS_CORE_MARK_ENV, mark, 1);
        else unsetenv(BLAS_CORE_MARK_ENV);
        if (core) setenv(BLAS_CORE_ENV, core, 1);
        else unsetenv(BLAS_CORE_ENV);
        char *args[] = {(char *)test_argv0, "--report", "an argument", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[512] = "";
    const int got = f && fgets(line, sizeof line, f) != NULL;
    if (f) fclose(f);
    int status = 0;
    waitpid(pid, &status, 0);
    memset(r, 0, sizeof *r);
    r->forked = pid;
    /* pid \t core \t source \t arg */
    char *save = NULL, *tok[4] = {0};
    line[strcspn(line, "\n")] = 0;
    tok[0] = strtok_r(line, "\t", &save);
    for (int i = 1; i < 4 && tok[i - 1]; i++) tok[i] = strtok_r(NULL, "\t", &save);
    if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !tok[3]) return -1;
    r->pid = atol(tok[0]);
    snprintf(r->core, sizeof r->core, "%s", tok[1]);
    snprintf(r->source, sizeof r->source, "%s", tok[2]);
    snprintf(r->arg, sizeof r->arg, "%s", tok[3]);
    return 0;
}

static void test_blas_core_unset(void)
{
    Report r;
    EXPECT(run_child(NULL, NULL, &r) == 0, "the child ran and reported");
    const char *better = blas_core_supported();
    printf("#   no %s: core %s, chosen by %s; this CPU supports %s\n", BLAS_CORE_ENV, r.core,
           r.source, better ? better : "nothing above Prescott");
    EXPECT(r.pid == r.forked, "pid %ld after the re-exec, forked %ld", r.pid, r.forked);
    EXPECT(!strcmp(r.arg, "an argument"), "argument '%s' after the re-exec", r.arg);
    if (!strncmp(r.source, "hgbench", 7))
        EXPECT(better && !strcmp(r.core, better), "hgbench chose %s, the CPU supports %s", r.core,
               better ? better : "none");
    else
        EXPECT(!strcmp(r.source, "openblas"), "source '%s' without %s", r.source, BLAS_CORE_ENV);
    EXPECT(strcmp(r.core, "Prescott") || !better,
           "left on Prescott although the CPU supports %s", better);
}

static void test_blas_core_user_setting_kept(void)
{
    Report r;
    EXPECT(run_child("Prescott", NULL, &r) == 0, "the child ran and reported");
    EXPECT(!strcmp(r.core, "Prescott"), "core %s with %s=Prescott", r.core, BLAS_CORE_ENV);
    EXPECT(!strcmp(r.source, "user (" BLAS_CORE_ENV "=Prescott)"), "source '%s'", r.source);
    EXPECT(r.pid == r.forked, "pid %ld, forked %ld", r.pid, r.forked);
    /* a child of an hgbench program inherits the mark; a user who then sets
     * another core is still the one who chose it */
    EXPECT(run_child("Prescott", "SkylakeX", &r) == 0, "the child ran and reported");
    EXPECT(!strcmp(r.core, "Prescott") && !strcmp(r.source, "user (" BLAS_CORE_ENV "=Prescott)"),
           "core %s, source '%s' under another core's mark", r.core, r.source);
    /* the mark and the variable agreeing: the choice is hgbench's */
    EXPECT(run_child("Haswell", "Haswell", &r) == 0, "the child ran and reported");
    EXPECT(!strcmp(r.core, "Haswell") && !strncmp(r.source, "hgbench (", 9) &&
               strstr(r.source, "AVX2 and FMA"),
           "core %s, source '%s' with its mark", r.core, r.source);
}

static void test_blas_core_in_machine_record(void)
{
    Machine m;
    machine_probe(&m);
    EXPECT(!strcmp(m.blas_core, blas_core_name()), "record '%s', running '%s'", m.blas_core,
           blas_core_name());
    EXPECT(!strcmp(m.blas_core_source, blas_core_source()), "record source '%s'",
           m.blas_core_source);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--report")) {
        printf("%ld\t%s\t%s\t%s\n", (long)getpid(), blas_core_name(), blas_core_source(), argv[2]);
        return 0;
    }
    static const TestCase tests[] = {
        TEST(test_blas_core_unset),
        TEST(test_blas_core_user_setting_kept),
        TEST(test_blas_core_in_machine_record),
    };
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
