/* test_sweep.c — hgbench-sweep and hgbench-fig2 over MPI ranks.
 *
 * Unit parts (every build): the job list's checks (malformed lines named,
 * an empty list, duplicate results), the result-file check a resume relies
 * on, the result folders' check, and the GPU a local rank takes.
 *
 * End to end (float64 builds; the runner and the launcher it starts do not
 * depend on the test's precision): build/hgbench-sweep under
 * `mpirun --oversubscribe -np 3` over 8 small jobs of mixed engines and
 * precisions, one of them failing: every result equals the same line run
 * alone byte for byte outside the times, the failure is reported with its
 * message, the exit status is nonzero, a rerun skips what is done; a sweep
 * stopped midway by SIGTERM to mpirun, and by kill -9 of one worker rank,
 * leaves no partial result and a rerun completes only the missing jobs; bad
 * lists and an unwritable result folder are refused before anything runs;
 * hgbench-fig2 on 1 and 3 ranks writes identical files (times aside).
 * mpirun not on PATH, or a runner built without MPI, fails these tests:
 * scripts/install-deps.sh installs Open MPI.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../bench/farm.h"
#include "../bench/sweep_exec.h"
#include "../bench/sweep_jobs.h"
#include "support_files.h"
#include "test.h"

/* ------------------------------------------------------------ the list */

static int parse_fails(const char *text, const char *want)
{
    SweepList l;
    HgErr err = {{0}};
    const int rc = sweep_list_parse("jobs.txt", text, &l, &err);
    if (rc == 0)
        sweep_list_free(&l);
    EXPECT(rc != 0 && strstr(err.msg, want), "list '%s': rc %d, message '%s', expected '%s'",
           text, rc, err.msg, want);
    return rc != 0;
}

static void test_list_parse(void)
{
    SweepList l;
    HgErr err = {{0}};
    const char *good = "# a comment\n\n  hgbench hypergrad --steps 5 --json out/a.json  \n"
                       "hgbench\thpo --outer-steps 2 --json=b.json\n";
    EXPECT(sweep_list_parse("jobs.txt", good, &l, &err) == 0, "good list: %s", err.msg);
    if (l.n == 2) {
        EXPECT(l.jobs[0].line == 3 && !strcmp(l.jobs[0].result, "out/a.json") &&
               l.jobs[0].argc == 6 && !strcmp(l.jobs[0].argv[1], "hypergrad") &&
               !l.jobs[0].json_eq, "job 1: line %d result %s argc %d", l.jobs[0].line,
               l.jobs[0].result, l.jobs[0].argc);
        EXPECT(l.jobs[1].line == 4 && !strcmp(l.jobs[1].result, "b.json") && l.jobs[1].json_eq,
               "job 2: line %d result %s", l.jobs[1].line, l.jobs[1].result);
        char **argv = sweep_job_argv(&l.jobs[1], "/x/hgbench", "b.json.part");
        EXPECT(!strcmp(argv[0], "/x/hgbench") && !strcmp(argv[3], "2") &&
               !strcmp(argv[4], "--json=b.json.part") && argv[5] == NULL,
               "argv with the temporary: %s %s", argv[0], argv[4]);
        sweep_argv_free(&l.jobs[1], argv);
        argv = sweep_job_argv(&l.jobs[0], "/x/hgbench", "out/a.json.part");
        EXPECT(!strcmp(argv[5], "out/a.json.part") && !strcmp(argv[4], "--json"),
               "argv with the temporary: %s %s", argv[4], argv[5]);
        sweep_argv_free(&l.jobs[0], argv);
    } else {
        EXPECT(0, "good list: %d jobs, expected 2", l.n);
    }
    sweep_list_free(&l);

    parse_fails("", "jobs.txt: no jobs");
    parse_fails("# only\n\n   \n", "jobs.txt: no jobs");
    parse_fails("hgbench hypergrad --json a.json\npython x.py --json b.json\n",
                "jobs.txt:2: 'python'");
    parse_fails("hgbench train --json a.json\n", "jobs.txt:1: 'hgbench train'");
    parse_fails("hgbench\n", "jobs.txt:1: 'hgbench '");
    parse_fails("\nhgbench hypergrad --steps 5\n", "jobs.txt:2: no --json");
    parse_fails("hgbench hypergrad --json a.json --json b.json\n", "jobs.txt:1: --json given twice");
    parse_fails("hgbench hypergrad --json\n", "jobs.txt:1: --json needs a value");
    parse_fails("hgbench hypergrad --json --steps 5\n", "jobs.txt:1: --json needs a value");
    parse_fails("hgbench hypergrad --json -\n", "jobs.txt:1: --json '-'");
    parse_fails("hgbench hypergrad --json out/\n", "jobs.txt:1: --json 'out/': a folder");
    parse_fails("hgbench hypergrad --model 'mlp:16' --json a.json\n", "jobs.txt:1: ''' in");
    parse_fails("hgbench hypergrad --json $OUT/a.json\n", "jobs.txt:1: '$' in");
    parse_fails("hgbench hypergrad --json a.json\n# x\nhgbench hpo --json a.json\n",
                "jobs.txt:3: result file a.json is also line 1's");
}

static void test_list_read_errors(void)
{
    files_setup("sweep");
    SweepList l;
    HgErr err = {{0}};
    EXPECT(sweep_list_read(files_tmp("absent.txt"), &l, &err) != 0 &&
           strstr(err.msg, "absent.txt: cannot read the job list"), "absent list: %s", err.msg);
    const char *path = files_tmp("nul.txt");
    FILE *f = fopen(path, "wb");
    fwrite("hgbench hypergrad --json a\0b\n", 1, 30, f);
    fclose(f);
    EXPECT(sweep_list_read(path, &l, &err) != 0 && strstr(err.msg, "NUL byte"),
           "a NUL byte: %s", err.msg);
}

/* ------------------------------------------------------------ results, folders, GPUs */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    HG_CHECK(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void test_result_valid(void)
{
    files_setup("sweep");
    const struct { const char *text; int valid; } cases[] = {
        {"{\"a\": [1, 2, {\"b\": \"}]\"}]}\n", 1},
        {"  {}\n\n", 1},
        {"{\"a\": [1, 2, {\"b\": \"x\"}]\n", 0},         /* cut short */
        {"{\"a\": \"}\"", 0},                            /* brace in a string */
        {"{\"a\": 1}\n{", 0},                            /* something after it */
        {"[1, 2]\n", 0},                                 /* not an object */
        {"", 0},
        {"{\"a\": \"\\\"}\"}\n", 1},                    /* escaped quote */
    };
    for (int i = 0; i < ARRAY_LEN(cases); i++) {
        const char *path = files_tmp("r.json");
        write_text(path, cases[i].text);
        EXPECT(sweep_result_valid(path) == cases[i].valid, "case %d '%s': valid %d", i,
               cases[i].text, sweep_result_valid(path));
    }
    EXPECT(!sweep_result_valid(files_tmp("none.json")), "an absent file is not a result");
    EXPECT(!sweep_result_valid(files_tmp_dir()), "a folder is not a result");
}

static void test_check_folders(void)
{
    files_setup("sweep");
    char text[2048];
    const char *file = files_tmp("plain-file");
    write_text(file, "x");
    snprintf(text, sizeof text, "hgbench hypergrad --json %s/new/deeper/a.json\n"
             "hgbench hypergrad --json %s/b.json\n", files_tmp_dir(), file);
    SweepList l;
    HgErr err = {{0}};
    EXPECT(sweep_list_parse("jobs.txt", text, &l, &err) == 0, "%s", err.msg);
    EXPECT(sweep_list_check_folders(&l, &err) != 0 && strstr(err.msg, "jobs.txt:2: result folder") &&
           strstr(err.msg, "plain-file"), "a file as folder: %s", err.msg);
    char made[700];
    snprintf(made, sizeof made, "%s/new/deeper", files_tmp_dir());
    struct stat st;
    EXPECT(stat(made, &st) == 0 && S_ISDIR(st.st_mode), "line 1's folder made (mkdir -p)");
    sweep_list_free(&l);
}

static void test_pick_gpu(void)
{
    char buf[32];
    farm_pick_gpu(3, NULL, 2, buf, sizeof buf);
    EXPECT(!strcmp(buf, "1"), "local rank 3 of 2 GPUs: '%s'", buf);
    farm_pick_gpu(0, "", 4, buf, sizeof buf);
    EXPECT(!strcmp(buf, "0"), "local rank 0 of 4 GPUs: '%s'", buf);
    farm_pick_gpu(4, "4,5,6", 8, buf, sizeof buf);
    EXPECT(!strcmp(buf, "5"), "local rank 4 of the visible list 4,5,6: '%s'", buf);
    farm_pick_gpu(2, "GPU-aa,GPU-bb", 0, buf, sizeof buf);
    EXPECT(!strcmp(buf, "GPU-aa"), "local rank 2 of two UUIDs: '%s'", buf);
    farm_pick_gpu(2, NULL, 0, buf, sizeof buf);
    EXPECT(!strcmp(buf, ""), "no GPU: '%s'", buf);
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", "5", 1);
    EXPECT(farm_local_rank() == 5, "OMPI_COMM_WORLD_LOCAL_RANK=5: %d", farm_local_rank());
    unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
    setenv("SLURM_LOCALID", "3", 1);
    EXPECT(farm_local_rank() == 3, "SLURM_LOCALID=3: %d", farm_local_rank());
    unsetenv("SLURM_LOCALID");
}

/* ------------------------------------------------------------ end to end */

static char mpirun[600];
static char sweep[1024];

/* mpirun on PATH and the runner built with MPI: 1, else the test fails. */
static int mpi_ready(void)
{
    snprintf(sweep, sizeof sweep, "%.900s/../hgbench-sweep", files_bin_dir);
    if (!mpirun[0]) {
        const char *path = getenv("PATH");
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", path ? path : "/usr/bin:/bin");
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            char p[600];
            snprintf(p, sizeof p, "%s/mpirun", d);
            if (access(p, X_OK) == 0) {
                snprintf(mpirun, sizeof mpirun, "%s", p);
                break;
            }
        }
    }
    EXPECT(mpirun[0], "mpirun not found on PATH: scripts/install-deps.sh installs openmpi-bin");
    Run r = run_prog(sweep, "--help");
    const int built = r.status == 0 && strstr(r.out, "MPI: Open MPI");
    EXPECT(built, "%s --help: exit %d, no 'MPI: Open MPI' (built without mpi.h? "
           "libopenmpi-dev): %.300s", sweep, r.status, r.out);
    run_free(&r);
    return mpirun[0] && built;
}

/* "mpirun [--allow-run-as-root] --oversubscribe -np N" */
static const char *mpirun_args(int np)
{
    static char buf[700];
    snprintf(buf, sizeof buf, "%s--oversubscribe -np %d", geteuid() == 0 ?
             "--allow-run-as-root " : "", np);
    return buf;
}

/* Text with the values of keys that hold times, dates, resident memory or
 * the envelope's command and ranks
 * replaced by "#" (a value: up to the next , } ] or newline at its own
 * depth); text lines "# date:", "# time:" and the steps file's header
 * dropped. */
static char *mask_times(const char *in)
{
    const size_t n = strlen(in);
    char *out = malloc(n + 1), *o = out;
    HG_CHECK(out, "mask");
    for (const char *p = in; *p;) {
        if (p == in || p[-1] == '\n') {
            if (!strncmp(p, "# date:", 7) || !strncmp(p, "# time:", 7) ||
                !strncmp(p, "# hgbench-fig2 per-step", 23)) {
                const char *e = strchr(p, '\n');
                p = e ? e + 1 : p + strlen(p);
                continue;
            }
        }
        if (*p == '"') {
            const char *e = strchr(p + 1, '"');
            if (e && e[1] == ':') {
                const size_t klen = (size_t)(e - p - 1);
                char key[128];
                snprintf(key, sizeof key, "%.*s", (int)(klen < 127 ? klen : 127), p + 1);
                memcpy(o, p, (size_t)(e + 2 - p));
                o += e + 2 - p;
                p = e + 2;
                /* the envelope's command and ranks say how a run was started,
                 * not what it computed */
                if (strstr(key, "time") || strstr(key, "date") || strstr(key, "rss") ||
                    !strcmp(key, "command") || !strcmp(key, "ranks")) {
                    int depth = 0, str = 0;
                    while (*p == ' ')
                        *o++ = *p++;
                    for (; *p; p++) {
                        if (str) {
                            str = *p != '"' || p[-1] == '\\';
                            continue;
                        }
                        if (*p == '"')
                            str = 1;
                        else if (*p == '{' || *p == '[')
                            depth++;
                        else if ((*p == '}' || *p == ']') && depth-- == 0)
                            break;
                        else if ((*p == ',' || *p == '\n') && depth == 0)
                            break;
                    }
                    *o++ = '#';
                }
                continue;
            }
        }
        *o++ = *p++;
    }
    *o = '\0';
    return out;
}

/* The mask hides times only: a value elsewhere still differs. */
static void test_mask_times(void)
{
    char *a = mask_times("{\n  \"val_loss\": 1.5,\n  \"time_s\": 0.25,\n  \"t\": {\"time_s\": "
                         "[1, 2], \"x\": 3}\n}\n# date: today\n");
    char *b = mask_times("{\n  \"val_loss\": 1.5,\n  \"time_s\": 7,\n  \"t\": {\"time_s\": "
                         "[4], \"x\": 3}\n}\n# date: tomorrow\n");
    char *c = mask_times("{\n  \"val_loss\": 1.25,\n  \"time_s\": 7,\n  \"t\": {\"time_s\": "
                         "[4], \"x\": 3}\n}\n");
    EXPECT(!strcmp(a, b), "times masked: '%s' vs '%s'", a, b);
    EXPECT(strcmp(b, c) != 0, "another validation loss still differs: '%s'", c);
    EXPECT(strstr(a, "\"x\": 3") != NULL, "the value after a masked one kept: '%s'", a);
    free(a);
    free(b);
    free(c);
}

/* The two files equal outside their times (mask_times); fails naming both. */
static void expect_same(const char *a, const char *b, const char *what)
{
    char *ta = files_slurp(a, NULL), *tb = files_slurp(b, NULL);
    if (!ta || !tb) {
        EXPECT(0, "%s: %s or %s missing", what, a, b);
    } else {
        char *ma = mask_times(ta), *mb = mask_times(tb);
        size_t i = 0;
        while (ma[i] && ma[i] == mb[i])
            i++;
        EXPECT(ma[i] == mb[i], "%s: %s and %s differ at byte %zu of the masked text: '%.60s' "
               "vs '%.60s'", what, a, b, i, ma + i, mb + i);
        free(ma);
        free(mb);
    }
    free(ta);
    free(tb);
}

#ifdef HG_F64 /* the sweep's end-to-end tests: once, in the float64 builds */
#define SMALL "--model mlp:16:tanh --data synthetic:64 --steps 6 --batch 8 --val 16 --threads 1"
/* Eight jobs: five engines, hpo, float32 and float64, one bad flag (line 9). */
static const char *const JOBS[] = {
    "hgbench hypergrad --engine bptt --learn lr:3,mom:1 --precision 64 " SMALL,
    "hgbench hypergrad --engine forward --learn lr:2 --precision 32 " SMALL,
    "hgbench hypergrad --engine checkpoint --checkpoints 2 --learn lr:6 --precision 64 " SMALL,
    "hgbench hypergrad --engine reversible --learn lr:1,wd:1 --precision 32 " SMALL,
    "hgbench hypergrad --engine greedy --learn lr:6 --precision 64 " SMALL,
    "hgbench hpo --engine bptt --learn lr:2 --outer-steps 2 --precision 64 " SMALL,
    "hgbench hpo --engine forward --learn lr:2 --outer sgd --outer-steps 2 --precision 32 " SMALL,
    "hgbench hypergrad --engine bptt --no-such-flag 1 --precision 64 " SMALL,
};
#define NJOBS 8
#define BAD_JOB 7

/* The job list in dir/jobs.txt, results in dir/out/job<i>.json. */
static void write_jobs(const char *dir, const char *const *jobs, int n, const char *extra)
{
    char path[700];
    snprintf(path, sizeof path, "%s/jobs.txt", dir);
    FILE *f = fopen(path, "w");
    HG_CHECK(f, "cannot write %s", path);
    fprintf(f, "# test_sweep's jobs\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s --json %s/out/job%d.json\n", jobs[i], extra, dir, i);
    fclose(f);
}

static int count_valid(const char *dir, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        char p[800];
        snprintf(p, sizeof p, "%s/out/job%d.json", dir, i);
        k += sweep_result_valid(p);
    }
    return k;
}

/* No result file that is there but partial, and how many are whole. */
static int expect_no_partial(const char *dir, int n, const char *what)
{
    int whole = 0;
    for (int i = 0; i < n; i++) {
        char p[800];
        snprintf(p, sizeof p, "%s/out/job%d.json", dir, i);
        const int there = access(p, F_OK) == 0, valid = sweep_result_valid(p);
        EXPECT(!there || valid, "%s: %s is there but not a complete result", what, p);
        whole += valid;
    }
    return whole;
}

static void test_sweep_mpi(void)
{
    files_setup("sweep");
    if (!mpi_ready())
        return;
    char dir[700], args[8192], sum[800];
    snprintf(dir, sizeof dir, "%s", files_tmp("mpi"));
    mkdir(dir, 0755);
    write_jobs(dir, JOBS, NJOBS, "");
    snprintf(sum, sizeof sum, "%s/summary.json", dir);
    snprintf(args, sizeof args, "%s %s --jobs %s/jobs.txt --summary %s --gpus 2",
             mpirun_args(3), sweep, dir, sum);
    Run r = run_prog(mpirun, args);
    EXPECT(r.status != 0, "a failed job: the sweep's exit is nonzero (got 0)");
    EXPECT(strstr(r.out, "8 jobs: 7 done, 1 failed, 0 skipped"), "summary line: %.400s", r.out);
    EXPECT(strstr(r.out, "FAILED line 9") && strstr(r.out, "--no-such-flag"),
           "the failed job named with hgbench's message: %.600s", r.out);
    run_free(&r);
    char *s = files_slurp(sum, NULL);
    EXPECT(s && strstr(s, "\"ranks\": 3") && strstr(s, "\"failed\": 1"), "summary file: %.300s",
           s ? s : "(none)");
    /* the GPU each rank gives its jobs: local rank mod --gpus 2 */
    int gpu_rows = 0;
    for (const char *p = s; p && (p = strstr(p, "\"local_rank\": ")); p++) {
        const int lr = atoi(p + 14);
        const char *g = strstr(p, "\"gpu\": \"");
        EXPECT(g && atoi(g + 8) == lr % 2, "local rank %d got GPU '%.2s'", lr, g ? g + 8 : "?");
        gpu_rows++;
    }
    EXPECT(gpu_rows == NJOBS, "%d jobs with a GPU pick in the summary", gpu_rows);
    free(s);

    /* each result equals its line run alone (same thread count) */
    for (int i = 0; i < NJOBS; i++) {
        char res[800], alone[800], line[2048];
        snprintf(res, sizeof res, "%s/out/job%d.json", dir, i);
        if (i == BAD_JOB) {
            EXPECT(access(res, F_OK) != 0, "the failed job left no result");
            continue;
        }
        snprintf(alone, sizeof alone, "%s/alone%d.json", dir, i);
        snprintf(line, sizeof line, "%s --json %s", JOBS[i] + 8, alone);
        Run a = run_bin("../hgbench", line);
        EXPECT(a.status == 0, "alone: hgbench %s: exit %d: %.300s", line, a.status, a.err);
        run_free(&a);
        expect_same(res, alone, JOBS[i]);
    }
    char outdir[800];
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    DIR *d = opendir(outdir);
    for (struct dirent *e; d && (e = readdir(d));)
        EXPECT(!strstr(e->d_name, ".part"), "a temporary left: %s", e->d_name);
    if (d)
        closedir(d);

    /* again: the done ones skipped, the failed one tried again */
    r = run_prog(mpirun, args);
    EXPECT(r.status != 0 && strstr(r.out, "8 jobs: 0 done, 1 failed, 7 skipped"),
           "rerun: exit %d, %.300s", r.status, r.out);
    run_free(&r);
}

/* Starts argv (own process group) and returns its pid; output to log. */
static pid_t spawn(char *const argv[], const char *log)
{
    fflush(NULL);
    const pid_t pid = fork();
    HG_CHECK(pid >= 0, "fork");
    if (pid == 0) {
        setpgid(0, 0);
        const int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void sleep_ms(long ms)
{
    const struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* A worker rank of the running sweep (a hgbench-sweep whose environment has
 * OMPI_COMM_WORLD_RANK other than 0 and whose parent is mpirun), or 0. */
static pid_t find_worker(pid_t mpirun_pid)
{
    DIR *d = opendir("/proc");
    pid_t found = 0;
    for (struct dirent *e; d && !found && (e = readdir(d));) {
        const pid_t pid = (pid_t)atoi(e->d_name);
        char p[300], buf[8192];
        if (pid <= 0)
            continue;
        snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        int ppid = 0;
        char comm[64] = "";
        const int got = fscanf(f, "%*d (%63[^)]) %*c %d", comm, &ppid);
        fclose(f);
        if (got != 2 || ppid != mpirun_pid || strncmp(comm, "hgbench-sweep", 13))
            continue;
        snprintf(p, sizeof p, "/proc/%d/environ", (int)pid);
        const int fd = open(p, O_RDONLY);
        if (fd < 0)
            continue;
        const ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
            buf[n] = '\0';
            if (!strncmp(buf + i, "OMPI_COMM_WORLD_RANK=", 21) && atoi(buf + i + 21) != 0)
                found = pid;
        }
    }
    if (d)
        closedir(d);
    return found;
}

/* Six jobs over 2 ranks, stopped once the first result is there (by SIGTERM
 * to mpirun, or kill -9 of a worker rank): no partial result, and the same
 * command again (in one process) runs only the missing ones. The first job
 * is 200 times shorter than the other five, which must outlast Open MPI
 * 4.1's own delay: mpirun passes a SIGTERM on to the ranks 1.0 s after it
 * gets it (measured here three times with a rank that traps it). At 300
 * steps each, a CI machine finished all six jobs within that second. */
static void interrupted_sweep(int kill_worker)
{
    files_setup("sweep");
    if (!mpi_ready())
        return;
    char dir[700], jobs[800], log[800], args[8192];
    snprintf(dir, sizeof dir, "%s", files_tmp(kill_worker ? "kill9" : "sigterm"));
    mkdir(dir, 0755);
    static const char *const STOPPED[] = {
        "hgbench hypergrad --engine bptt --learn lr:5 --precision 64 --steps 10",
        "hgbench hypergrad --engine forward --learn lr:5 --precision 32 --steps 2000",
        "hgbench hypergrad --engine bptt --learn lr:5 --precision 32 --steps 2000",
        "hgbench hypergrad --engine reversible --learn lr:5 --precision 64 --steps 2000",
        "hgbench hypergrad --engine bptt --learn lr:5 --seed 1 --precision 64 --steps 2000",
        "hgbench hypergrad --engine forward --learn lr:5 --seed 1 --precision 64 --steps 2000",
    };
    write_jobs(dir, STOPPED, 6, " --model mlp:64:tanh --data synthetic:256 --batch 16 --val 32 "
               "--threads 1");
    snprintf(jobs, sizeof jobs, "%s/jobs.txt", dir);
    snprintf(log, sizeof log, "%s/mpirun.log", dir);
    char *argv[16];
    int a = 0;
    argv[a++] = mpirun;
    if (geteuid() == 0)
        argv[a++] = "--allow-run-as-root";
    argv[a++] = "--oversubscribe";
    argv[a++] = "-np";
    argv[a++] = "2";
    argv[a++] = sweep;
    argv[a++] = "--jobs";
    argv[a++] = jobs;
    argv[a] = NULL;
    const pid_t pid = spawn(argv, log);
    int stopped = 0, st = 0;
    for (int t = 0; t < 6000 && !stopped; t++) { /* up to 5 minutes */
        if (waitpid(pid, &st, WNOHANG) == pid)
            break; /* ended before a stop: the test cannot check the stop */
        if (count_valid(dir, 6) >= 1) {
            pid_t victim = pid;
            if (kill_worker)
                for (int k = 0; k < 100 && !(victim = find_worker(pid)); k++)
                    sleep_ms(10);
            if (victim > 0) {
                kill(victim, kill_worker ? SIGKILL : SIGTERM);
                stopped = 1;
            }
        }
        if (!stopped)
            sleep_ms(50);
    }
    if (stopped)
        waitpid(pid, &st, 0);
    const int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    const char *what = kill_worker ? "kill -9 of a worker rank" : "SIGTERM to mpirun";
    EXPECT(stopped, "%s: the sweep was not stopped midway (ended first, exit %d)", what, rc);
    EXPECT(!stopped || rc != 0, "%s: mpirun's exit is 0", what);
    const int whole = expect_no_partial(dir, 6, what);
    printf("# %s: %d of 6 results whole after the stop (mpirun exit %d)\n", what, whole, rc);
    EXPECT(!stopped || whole < 6, "%s: all 6 jobs done before the stop", what);
    /* the same list again, one process: only the missing jobs run */
    snprintf(args, sizeof args, "--jobs %s", jobs);
    Run r = run_prog(sweep, args);
    char want[128];
    snprintf(want, sizeof want, "6 jobs: %d done, 0 failed, %d skipped", 6 - whole, whole);
    EXPECT(r.status == 0 && strstr(r.out, want), "%s, rerun: exit %d, '%.300s', expected '%s'",
           what, r.status, r.out, want);
    run_free(&r);
    EXPECT(expect_no_partial(dir, 6, what) == 6, "%s: the rerun completes every job", what);
}

static void test_sweep_sigterm(void)
{
    interrupted_sweep(0);
}

static void test_sweep_kill9_worker(void)
{
    interrupted_sweep(1);
}

/* Bad lists, an empty one and an unwritable folder: exit 2 naming the line
 * (under mpirun, from rank 0 once), nothing run, results already there kept. */
static void test_sweep_refusals(void)
{
    files_setup("sweep");
    if (!mpi_ready())
        return;
    char dir[700], jobs[800], args[8192], keep[800];
    snprintf(dir, sizeof dir, "%s", files_tmp("refuse"));
    mkdir(dir, 0755);
    snprintf(jobs, sizeof jobs, "%s/jobs.txt", dir);
    char out[800];
    snprintf(out, sizeof out, "%s/out", dir);
    mkdir(out, 0755);
    snprintf(keep, sizeof keep, "%s/out/job0.json", dir);
    write_text(keep, "{\"kept\": true}\n");
    char plain[800];
    snprintf(plain, sizeof plain, "%s/a-file", dir);
    write_text(plain, "x");
    const struct { const char *list; const char *want; } cases[] = {
        {"# nothing\n\n", "no jobs"},
        {"hgbench hypergrad " SMALL " --json OUT/out/job1.json\nhgbench hypergrad --json\n",
         "jobs.txt:2: --json needs a value"},
        {"hgbench hypergrad " SMALL " --json OUT/out/job1.json\nhgbench hypergrad " SMALL
         " --json OUT/a-file/job2.json\n", "jobs.txt:2: result folder"},
    };
    for (int i = 0; i < ARRAY_LEN(cases); i++) {
        char list[4096], *o = list;
        for (const char *p = cases[i].list; *p;)
            if (!strncmp(p, "OUT", 3)) {
                o += sprintf(o, "%s", dir);
                p += 3;
            } else {
                *o++ = *p++;
            }
        *o = '\0';
        write_text(jobs, list);
        for (int np = 1; np <= 3; np += 2) { /* one process; 3 ranks, rank 0 says it */
            snprintf(args, sizeof args, "%s %s --jobs %s", mpirun_args(np), sweep, jobs);
            Run r = np == 1 ? run_prog(sweep, strstr(args, "--jobs")) : run_prog(mpirun, args);
            const char *m = strstr(r.err, cases[i].want);
            EXPECT(r.status == 2 && m && !strstr(m + 1, cases[i].want),
                   "case %d on %d ranks: exit %d, expected 2 and '%s' once: %.400s", i, np,
                   r.status, cases[i].want, r.err);
            run_free(&r);
        }
        char res[800];
        snprintf(res, sizeof res, "%s/out/job1.json", dir);
        EXPECT(access(res, F_OK) != 0, "case %d: nothing ran", i);
        char *k = files_slurp(keep, NULL);
        EXPECT(k && !strcmp(k, "{\"kept\": true}\n"), "case %d: a result already there kept", i);
        free(k);
    }
    /* a summary that cannot be written: refused before the jobs run */
    snprintf(args, sizeof args, "hgbench hypergrad " SMALL " --json %s/out/job1.json\n", dir);
    write_text(jobs, args);
    snprintf(args, sizeof args, "--jobs %s --summary %s/x.json", jobs, plain);
    Run r = run_prog(sweep, args);
    EXPECT(r.status == 2 && strstr(r.err, "--summary") && strstr(r.err, "a-file"),
           "unwritable --summary: exit %d: %s", r.status, r.err);
    run_free(&r);
    snprintf(args, sizeof args, "%s/out/job1.json", dir);
    EXPECT(access(args, F_OK) != 0, "unwritable --summary: nothing ran");
    r = run_prog(sweep, "--jobs");
    EXPECT(r.status == 2 && strstr(r.err, "--jobs"), "--jobs without a value: %d %s", r.status,
           r.err);
    run_free(&r);
    r = run_prog(sweep, "--summary x.json");
    EXPECT(r.status == 2 && strstr(r.err, "--jobs FILE is needed"), "no --jobs: %d %s", r.status,
           r.err);
    run_free(&r);
}

#endif

/* hgbench-fig2 on 1 and 3 ranks: the same table, steps, JSON and seed
 * files, times and date aside. */
static void test_fig2_ranks(void)
{
    files_setup("sweep");
    if (!mpi_ready())
        return;
    char idx[700], args[8192];
    snprintf(idx, sizeof idx, "%s", files_tmp("idx"));
    mkdir(idx, 0755);
    files_write_idx(idx, "train", 200, 0);
    char fig2[1024];
    snprintf(fig2, sizeof fig2, "%.900s/hgbench-fig2", files_bin_dir);
    const char *const names[] = {"table.txt", "steps.txt", "fig2.json", "seeds/per_step.npy",
                                 "seeds/val_loss.npy"};
#ifdef __SANITIZE_ADDRESS__
    /* Open MPI's own leaks in MPI_Init and its progress thread are suppressed
     * by name (tests/lsan.supp); the ranks inherit mpirun's environment */
    char supp[1200];
    snprintf(supp, sizeof supp, "suppressions=%.900s/../../tests/lsan.supp", files_bin_dir);
    setenv("LSAN_OPTIONS", supp, 1);
    setenv("ASAN_OPTIONS", "fast_unwind_on_malloc=0", 1);
#endif
    for (int np = 1; np <= 3; np += 2) {
        char d[700];
        snprintf(d, sizeof d, "%s/fig2-np%d", files_tmp_dir(), np);
        mkdir(d, 0755);
        snprintf(args, sizeof args, "%s %s --data mnist --data-dir %s --steps 4 --batch 16 "
                 "--val 40 --threads 1 --seeds 5 --out %s/table.txt --steps-out %s/steps.txt "
                 "--json %s/fig2.json --seeds-out %s/seeds", mpirun_args(np), fig2, idx, d, d, d,
                 d);
        Run r = run_prog(mpirun, args);
        EXPECT(r.status == 0, "hgbench-fig2 on %d ranks: exit %d: %.400s", np, r.status, r.err);
        run_free(&r);
    }
#ifdef __SANITIZE_ADDRESS__
    unsetenv("ASAN_OPTIONS");
    unsetenv("LSAN_OPTIONS");
#endif
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char a[800], b[800];
        snprintf(a, sizeof a, "%s/fig2-np1/%s", files_tmp_dir(), names[i]);
        snprintf(b, sizeof b, "%s/fig2-np3/%s", files_tmp_dir(), names[i]);
        if (strstr(names[i], ".npy")) {
            size_t la = 0, lb = 0;
            char *x = files_slurp(a, &la), *y = files_slurp(b, &lb);
            EXPECT(x && y && la == lb && memcmp(x, y, la) == 0, "%s: 1 and 3 ranks differ",
                   names[i]);
            free(x);
            free(y);
        } else {
            expect_same(a, b, names[i]);
        }
    }
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        TEST(test_list_parse),
        TEST(test_list_read_errors),
        TEST(test_result_valid),
        TEST(test_check_folders),
        TEST(test_pick_gpu),
        TEST(test_mask_times),
        TEST_F64_ONLY(test_sweep_mpi, "runs once, in the float64 builds: the runner and the "
                      "launcher it starts are the same for both"),
        TEST_F64_ONLY(test_sweep_sigterm, "runs once, in the float64 builds"),
        TEST_F64_ONLY(test_sweep_kill9_worker, "runs once, in the float64 builds"),
        TEST_F64_ONLY(test_sweep_refusals, "runs once, in the float64 builds"),
        TEST(test_fig2_ranks),
    };
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
