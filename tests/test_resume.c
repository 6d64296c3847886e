/* test_resume.c — `hgbench hpo --resume` end to end on the real binary.
 *
 * A small hpo run is interrupted twice by a real signal (SIGINT or SIGTERM,
 * chosen at random) as its table shows a random outer step, resumed each
 * time from its log, and its final log must equal an uninterrupted run's
 * byte for byte, times and peak RSS aside (theta, losses, accuracies,
 * hypergradients, flips, the outer optimiser's state, best and final), also
 * with --resample and --hvp-clamp (the resumed steps' problems follow from
 * their outer step alone).
 * The interrupt points come from a seed printed at the start
 * (HG_RESUME_SEED=N repeats them). Then the refusals: a log that does not
 * match the command, truncated, edited, or missing, refused with exit 2 and
 * a message naming the field, the log left as it was.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/rng.h"
#include "support_files.h"
#include "test.h"

#define OUTER_STEPS 6

/* Runs hgbench with args; when `at_row` >= -1, sends sig once the table row
 * of outer step at_row is printed (-1: once the header is), so the run stops
 * in a later outer step. Returns the exit status (128 + signal if killed by
 * it, i.e. not handled). */
static int run_interrupted(const char *args, int at_row, int sig, int leak_check)
{
    char prog[8192], buf[8192], *argv[64];
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
        const int null = open("/dev/null", O_WRONLY);
        dup2(fd[1], 1);
        dup2(null, 2);
        close(fd[0]);
        if (!leak_check) /* the sanitizers' leak check only; ASan and UBSan go on */
            setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
        execv(prog, argv);
        _exit(127);
    }
    close(fd[1]);
    FILE *out = fdopen(fd[0], "r");
    char line[4096];
    int sent = at_row < -1;
    while (out && fgets(line, sizeof line, out)) {
        int row;
        const int header = !strncmp(line, "# columns:", 10);
        if (!sent && ((at_row == -1 && header) ||
                      (sscanf(line, "%d", &row) == 1 && line[0] == ' ' && row == at_row))) {
            kill(pid, sig);
            sent = 1;
        }
    }
    if (out)
        fclose(out);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static uint64_t test_seed(void)
{
    const char *s = getenv("HG_RESUME_SEED");
    const uint64_t seed = s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    printf("# test_resume: interrupt points from seed %llu (HG_RESUME_SEED=%llu repeats "
           "them)\n", (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

/* The problems: each outer optimiser's state (sign steps and last signs,
 * none, Adam moments), engines of each kind; T long enough that a signal
 * sent at a row lands in a later outer step. */
static const char *const PROBLEMS[] = {
    "--engine bptt --outer sign --learn lr:2,mom:1",
    "--engine forward --outer adam --outer-lr 0.01 --learn lr:1,wd:1",
    "--engine reversible --outer sgd --outer-lr 0.001 --learn lr:3 --patience 2",
    /* hpo's protocol options: each outer step its own batches, split and w0 */
    "--engine bptt --outer sign --learn lr:2,mom:1 --resample batches,val,init --hvp-clamp 0.05",
};

static void problem_args(char *buf, size_t cap, int p, const char *tail)
{
    snprintf(buf, cap, "hpo --model logreg --data synthetic:16 --steps 3000 --batch 8 --val 16 "
             "--threads 1 --outer-steps %d %s %s", OUTER_STEPS, PROBLEMS[p], tail);
}

static void test_resume_after_interrupts(void)
{
    files_setup("resume");
    Rng rng = rng_seed(test_seed());
    for (int p = 0; p < ARRAY_LEN(PROBLEMS); p++) {
        char args[8192], tail[4096], full[1024], part[1024];
        snprintf(full, sizeof full, "%s", files_tmp("full.json"));
        snprintf(part, sizeof part, "%s", files_tmp("part.json"));
        unlink(part);
        snprintf(tail, sizeof tail, "--json %s", full);
        problem_args(args, sizeof args, p, tail);
        int rc = run_interrupted(args, -2, 0, 1);
        EXPECT(rc == 0, "problem %d: the uninterrupted run: exit %d", p, rc);
        /* rows: the outer steps the run makes (patience may stop it early);
         * the first stop at a row in [-1, rows-2], so that a step is left, the
         * second at a later one */
        int rows = 0;
        char *text = files_slurp(full, NULL);
        for (const char *q = text; q && (q = strstr(q, "\"status\": \"ok\"")); q++)
            rows++;
        free(text);
        EXPECT(rows >= 2, "problem %d: %d outer steps, want 2 or more", p, rows);
        if (rows < 2)
            continue;
        const int k1 = -1 + (int)rng_below(&rng, (uint64_t)rows);
        const int k2 = k1 + 1 + (int)rng_below(&rng, (uint64_t)(rows - 1 - k1));
        const int sig1 = rng_below(&rng, 2) ? SIGINT : SIGTERM;
        const int sig2 = rng_below(&rng, 2) ? SIGINT : SIGTERM;
        printf("# problem %d (%s): %s at row %d, %s at row %d\n", p, PROBLEMS[p],
               sig1 == SIGINT ? "SIGINT" : "SIGTERM", k1, sig2 == SIGINT ? "SIGINT" : "SIGTERM",
               k2);
        snprintf(tail, sizeof tail, "--json %s", part);
        problem_args(args, sizeof args, p, tail);
        rc = run_interrupted(args, k1, sig1, 1);
        char *log = files_slurp(part, NULL);
        EXPECT(rc == 128 + sig1 && log && strstr(log, "\"reason\": \"interrupted\""),
               "problem %d: first run: exit %d (want %d), its log %s", p, rc, 128 + sig1,
               log ? "does not say interrupted" : "is missing");
        free(log);
        snprintf(tail, sizeof tail, "--resume %s", part);
        problem_args(args, sizeof args, p, tail);
        /* Known: in the sanitized builds, LeakSanitizer's own tracer dies
         * (SIGSEGV scanning thread-local storage, "Tracer caught signal 11")
         * at the exit of a resumed reversible run that is interrupted; it
         * started with c4ab93d, which adds no allocation on this path, and
         * the run's exit status and log are right without the leak check.
         * That one child runs without it, saying so. */
        const int lsan_crash = strstr(PROBLEMS[p], "reversible") != NULL;
#ifdef __SANITIZE_ADDRESS__
        if (lsan_crash)
            printf("#   SKIP (leak check only): problem %d's interrupted resume runs with "
                   "detect_leaks=0 (LeakSanitizer's tracer crashes there)\n", p);
#endif
        rc = run_interrupted(args, k2, sig2, !lsan_crash);
        EXPECT(rc == 128 + sig2 || rc == 0, "problem %d: second run: exit %d", p, rc);
        rc = run_interrupted(args, -2, 0, 1);
        EXPECT(rc == 0, "problem %d: the last resume: exit %d", p, rc);
        char *a = files_results_of(full), *b = files_results_of(part);
        EXPECT(a && b && strlen(a) > 1000, "problem %d: both logs read", p);
        if (a && b) {
            size_t i = 0;
            while (a[i] && a[i] == b[i])
                i++;
            EXPECT(a[i] == b[i], "problem %d: the resumed log differs from the uninterrupted "
                   "one at byte %zu:\n%.160s\nvs\n%.160s", p, i, a + (i > 60 ? i - 60 : 0),
                   b + (i > 60 ? i - 60 : 0));
        }
        free(a);
        free(b);
    }
}

/* Copies the log with the first digit after the n-th `marker` raised by one. */
static void write_edited(const char *text, const char *marker, int n, const char *path)
{
    char *t = strdup(text), *p = t;
    for (int i = 0; i < n && p; i++)
        p = strstr(p + (i ? 1 : 0), marker);
    EXPECT(p != NULL, "the log has %d x %s", n, marker);
    while (p && *p && (*p < '0' || *p > '8'))
        p++;
    if (p && *p)
        (*p)++;
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(t, f);
        fclose(f);
    }
    free(t);
}

static void test_resume_refusals(void)
{
    files_setup("resume");
    char args[8192], tail[4096], log[1024], bad[1024], both[16384];
    snprintf(log, sizeof log, "%s", files_tmp("refusals.json"));
    snprintf(bad, sizeof bad, "%s", files_tmp("bad.json"));
    snprintf(tail, sizeof tail, "--json %s", log);
    problem_args(args, sizeof args, 0, tail);
    Run r = run_bin("hgbench", args);
    EXPECT(r.status == 0, "the run to resume: exit %d", r.status);
    run_free(&r);
    char *text = files_slurp(log, NULL);
    if (!text)
        return;
    /* flags: the same problem with one thing changed */
    static const struct { const char *flag, *field; } changed[] = {
        {"--steps 2000", "steps is 3000 in the log but 2000"},
        {"--sign-decay 0.25", "outer.sign_decay is 0.5 in the log but 0.25"},
        {"--learn lr:1,mom:1", "learn.lr is 2 in the log but 1"},
        {"--seed 3", "seed is 0 in the log but 3"},
        {"--threads 2", "threads is 1 in the log but 2"},
    };
    for (int i = 0; i < ARRAY_LEN(changed); i++) {
        snprintf(tail, sizeof tail, "--resume %s %s", log, changed[i].flag);
        problem_args(args, sizeof args, 0, tail);
        r = run_bin("hgbench", args);
        EXPECT(r.status == 2 && strstr(r.err, changed[i].field),
               "%s: exit %d (want 2), stderr (want '%s'):\n%s", changed[i].flag, r.status,
               changed[i].field, r.err);
        run_free(&r);
    }
    problem_args(args, sizeof args, 1, "");
    snprintf(both, sizeof both, "%s --resume %s", args, log);
    r = run_bin("hgbench", both);
    EXPECT(r.status == 2 && strstr(r.err, "engine is \"bptt\" in the log but \"forward\""),
           "another problem: exit %d:\n%s", r.status, r.err);
    run_free(&r);

    /* files: truncated, edited, missing, not JSON */
    static const struct { const char *marker; int nth; const char *want; } edits[] = {
        {"\"hypergrad\": {", 2, "entry 1: hypergrad_norm"},
        {"\"theta\": {", 3, "entry 2: theta"},
        {"\"flips\":", 2, "entry 1: "},
        {"\"sign_step\": {", 2, "outer_state.sign_step: entry"},
        {"\"updates\":", 1, "outer_state.updates"},
    };
    for (int i = 0; i < ARRAY_LEN(edits); i++) {
        write_edited(text, edits[i].marker, edits[i].nth, bad);
        char out[1024];
        snprintf(out, sizeof out, "%s", files_tmp("out.json"));
        snprintf(tail, sizeof tail, "--resume %s --json %s", bad, out);
        problem_args(args, sizeof args, 0, tail);
        r = run_bin("hgbench", args);
        EXPECT(r.status == 2 && strstr(r.err, edits[i].want),
               "edited %s #%d: exit %d (want 2), stderr (want '%s'):\n%s", edits[i].marker,
               edits[i].nth, r.status, edits[i].want, r.err);
        run_free(&r);
    }
    const size_t len = strlen(text);
    for (int cut = 1; cut < 8; cut++) { /* truncated anywhere: a JSON error with its offset */
        FILE *f = fopen(bad, "w");
        if (f) {
            fwrite(text, 1, len * (size_t)cut / 8, f);
            fclose(f);
        }
        snprintf(tail, sizeof tail, "--resume %s", bad);
        problem_args(args, sizeof args, 0, tail);
        r = run_bin("hgbench", args);
        char *after = files_slurp(bad, NULL);
        EXPECT(r.status == 2 && strstr(r.err, "byte ") && after &&
                   strlen(after) == len * (size_t)cut / 8,
               "truncated to %d/8: exit %d (want 2, the log left alone):\n%s", cut, r.status,
               r.err);
        free(after);
        run_free(&r);
    }
    snprintf(tail, sizeof tail, "--resume %s", files_tmp("missing.json"));
    problem_args(args, sizeof args, 0, tail);
    r = run_bin("hgbench", args);
    EXPECT(r.status == 2 && strstr(r.err, "missing.json: cannot open it: No such file"),
           "a missing log: exit %d:\n%s", r.status, r.err);
    run_free(&r);
    char *after = files_slurp(log, NULL);
    EXPECT(after && !strcmp(after, text), "the refused runs left the log as it was");
    free(after);
    free(text);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_resume_after_interrupts), TEST(test_resume_refusals)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
