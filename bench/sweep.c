/* sweep.c — hgbench-sweep: a list of independent hgbench hypergrad / hpo
 * runs over MPI ranks (bench/farm.h), or in one process without mpirun.
 *
 *   mpirun -np 8 build/hgbench-sweep --jobs jobs.txt --summary sweep.json
 *
 * The list (format: sweep_jobs.h) is read and checked on every rank before
 * anything runs: a malformed line, an empty list or a result folder that
 * cannot be written stops the sweep with the line named (exit 2), nothing
 * run, nothing touched. Rank 0 then hands jobs out in list order to
 * whichever rank is free, itself included; each job runs as a child process
 * (sweep_exec.h: its own command line, its result published atomically,
 * its output in RESULT.log). A job whose complete result is already there is
 * skipped, so the same command after an interruption runs only what is
 * missing. A failed job (bad flag, divergence, out of memory, a signal) is
 * recorded with its message and the others go on.
 *
 * Threads: each job's own --threads (hgbench's default 2); the runner sets
 * none. GPUs: each rank gives its jobs CUDA_VISIBLE_DEVICES by its local
 * rank (farm_pick_gpu), where there are GPUs (--gpus).
 *
 * Output: a line per finished job on stderr; at the end the failed jobs
 * with their messages and "sweep: N jobs: D done, F failed, K skipped" on
 * stdout, and with --summary FILE a JSON record of every job (status, exit,
 * seconds, rank, host, GPU, message). Exit: 0 every job done or skipped;
 * 1 a job failed; 2 a usage error or a bad list (nothing run); 130 / 143
 * interrupted (SIGINT / SIGTERM forwarded to the running jobs, which stop
 * at their next step and publish nothing).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/flags.h"
#include "../common/timer.h"
#include "../io/atomic_file.h"
#include "../io/envelope.h"
#include "../io/json_writer.h"
#include "farm.h"
#include "sweep_exec.h"
#include "sweep_jobs.h"

#define PROG "hgbench-sweep"

typedef struct SweepOptions {
    const char *jobs, *summary, *hgbench, *gpus;
    int help;
    int handout;   /* --handout-rate N: N empty items through the farm, timed */
} SweepOptions;

static FlagTable sweep_flags(SweepOptions *o)
{
    return (FlagTable){{
        {"--jobs", "FILE", NULL, "the job list: one `hgbench hypergrad|hpo ... --json RESULT` "
         "per line (# comments, blank lines)", FLAG_STRING, .target = &o->jobs},
        {"--summary", "FILE", "none", "JSON record of every job, written atomically at the "
         "end (also when interrupted)", FLAG_STRING, .target = &o->summary},
        {"--hgbench", "PATH", "hgbench beside this program", "the program a job's word "
         "hgbench runs (the precision launcher by default; e.g. build/cuda-f64/hgbench)",
         FLAG_STRING, .target = &o->hgbench},
        {"--gpus", "N|auto", "auto", "GPUs per node for CUDA_VISIBLE_DEVICES by local rank "
         "(auto: /dev/nvidia0.. counted; 0: leave it alone)", FLAG_STRING,
         .target = &o->gpus},
        {"--handout-rate", "N", "off", "no jobs: hand N empty items out over the ranks and "
         "print rank 0's rate (items per second), the limit of the hand-out itself",
         FLAG_INT, .target = &o->handout, .lo = 1, .hi = 100000000},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &o->help},
    }};
}

static void usage(FILE *f)
{
    SweepOptions scratch = {0};
    const FlagTable t = sweep_flags(&scratch);
    fprintf(f, "usage: " PROG " --jobs FILE [flags]\n"
               "       mpirun -np N " PROG " --jobs FILE [flags]\n\n"
               "Runs independent hgbench hypergrad / hpo jobs, one per line of FILE, over MPI\n"
               "ranks (rank 0 hands the next job to whichever rank is free, itself included)\n"
               "or in one process. Each job's --json result is published atomically; a job\n"
               "whose result is already there is skipped, so rerunning an interrupted sweep\n"
               "finishes the rest. MPI: %s.\n\nFlags:\n", farm_mpi_name());
    flags_usage(f, t.f);
    fprintf(f, "\nExit status: 0 every job done or skipped; 1 a job failed; 2 a usage error or\n"
               "a bad job list (nothing run); 130 / 143 interrupted.\n");
}

static volatile sig_atomic_t stop_signal = 0;
static int is_worker = 0; /* rank != 0: nothing to report, end at once */

static void on_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
    const pid_t c = (pid_t)sweep_child_pid;
    if (c > 0)
        kill(c, sig);
    else if (is_worker)
        _exit(128 + sig);
}

typedef struct Sweep {
    const SweepOptions *o;
    const Farm *farm;
    SweepList list;
    char prog[4096];
    char gpu[32];
    int local_rank;
    char host[64];
    SweepResult *res;  /* [n] rank 0 */
    int *rank_of;      /* [n] */
    int finished;
    double t0;
    int argc;          /* the command, for the summary's envelope */
    char **argv;
} Sweep;

static void empty_work(int item, void *result, void *ctx)
{
}

static void empty_done(int item, const void *result, int rank, void *ctx)
{
    int *by_workers = ctx;
    *by_workers += rank != 0;
}

/* --handout-rate N: the farm with nothing to run, rank 0 only handing out
 * (working too, it would take nearly every empty item itself). */
static int handout_rate(Farm *farm, int n)
{
    int by_workers = 0;
    farm->dispatch_only = farm->size > 1;
    const double t0 = now_s();
    farm_run(farm, n, sizeof(SweepResult), empty_work, empty_done, &by_workers, NULL);
    const double s = now_s() - t0;
    if (farm->rank == 0)
        printf(PROG ": %d empty items over %d rank%s in %.3f s: %.0f items/s (%d by other "
               "ranks)\n", n, farm->size, farm->size == 1 ? "" : "s", s, n / s, by_workers);
    farm_finalize(farm);
    return 0;
}

static void work(int item, void *result, void *ctx)
{
    Sweep *sw = ctx;
    SweepResult *r = result;
    sweep_exec(&sw->list.jobs[item], sw->prog, sw->gpu, &stop_signal, r);
    r->local_rank = sw->local_rank;
    snprintf(r->host, sizeof r->host, "%s", sw->host);
    if (stop_signal && is_worker) {
        fflush(NULL);
        _exit(128 + stop_signal);
    }
}

static const char *status_name(int s)
{
    static const char *const names[] = {"not run", "done", "failed", "skipped", "interrupted"};
    return s >= 0 && s <= JOB_INTERRUPTED ? names[s] : "?";
}

static void done(int item, const void *result, int rank, void *ctx)
{
    Sweep *sw = ctx;
    const SweepResult *r = result;
    sw->res[item] = *r;
    sw->rank_of[item] = rank;
    sw->finished++;
    const SweepJob *job = &sw->list.jobs[item];
    fprintf(stderr, PROG ": [%d/%d] %s line %d (%s)", sw->finished, sw->list.n,
            status_name(r->status), job->line, job->result);
    if (r->status == JOB_DONE || r->status == JOB_FAILED)
        fprintf(stderr, " %.2f s, rank %d", r->seconds, rank);
    fprintf(stderr, "%s%s\n", r->status == JOB_FAILED ? ": " : "",
            r->status == JOB_FAILED ? r->message : "");
}

/* The jobs' --threads (the largest, if they differ; 1 when none says). */
static int job_threads(const SweepList *l)
{
    int t = 1;
    for (int i = 0; i < l->n; i++)
        for (int a = 2; a + 1 < l->jobs[i].argc; a++)
            if (!strcmp(l->jobs[i].argv[a], "--threads") && atoi(l->jobs[i].argv[a + 1]) > t)
                t = atoi(l->jobs[i].argv[a + 1]);
    return t;
}

static void write_summary_json(const Sweep *sw, const int count[5], double wall, FILE *f)
{
    JsonWriter j;
    json_init(&j, f);
    envelope_begin(&j, &(Envelope){.program = PROG, .argc = sw->argc, .argv = sw->argv,
                                   .threads = job_threads(&sw->list), .ranks = sw->farm->size});
    json_field_string(&j, "jobs", sw->list.path);
    json_field_string(&j, "mpi", farm_mpi_name());
    json_field_double(&j, "wall_s", wall);
    json_field_int(&j, "done", count[JOB_DONE]);
    json_field_int(&j, "failed", count[JOB_FAILED]);
    json_field_int(&j, "skipped", count[JOB_SKIPPED]);
    json_field_int(&j, "interrupted", count[JOB_INTERRUPTED]);
    json_field_int(&j, "not_run", count[JOB_NOT_RUN]);
    json_key(&j, "results");
    json_array_begin(&j, 0);
    for (int i = 0; i < sw->list.n; i++) {
        const SweepResult *r = &sw->res[i];
        json_object_begin(&j, 1);
        json_field_int(&j, "line", sw->list.jobs[i].line);
        json_field_string(&j, "result", sw->list.jobs[i].result);
        json_field_string(&j, "status", status_name(r->status));
        json_field_int(&j, "exit", r->exit_code);
        json_field_double(&j, "seconds", r->seconds);
        json_field_int(&j, "rank", sw->rank_of[i]);
        json_field_int(&j, "local_rank", r->local_rank);
        json_field_string(&j, "host", r->host);
        json_field_string(&j, "gpu", r->gpu);
        json_field_string(&j, "message", r->message);
        json_field_string(&j, "command", sw->list.jobs[i].text);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
}

/* The summary on stdout (and --summary): the exit status. */
static int report(const Sweep *sw)
{
    int count[5] = {0};
    const double wall = now_s() - sw->t0;
    for (int i = 0; i < sw->list.n; i++)
        count[sw->res[i].status]++;
    for (int i = 0; i < sw->list.n; i++)
        if (sw->res[i].status == JOB_FAILED)
            printf(PROG ": FAILED line %d (%s): %s\n", sw->list.jobs[i].line,
                   sw->list.jobs[i].result, sw->res[i].message);
    printf(PROG ": %d jobs: %d done, %d failed, %d skipped (result already there)", sw->list.n,
           count[JOB_DONE], count[JOB_FAILED], count[JOB_SKIPPED]);
    if (count[JOB_INTERRUPTED] || count[JOB_NOT_RUN])
        printf(", %d interrupted, %d not run", count[JOB_INTERRUPTED], count[JOB_NOT_RUN]);
    printf("; %d rank%s, %.2f s\n", sw->farm->size, sw->farm->size == 1 ? "" : "s", wall);
    int status = count[JOB_FAILED] ? 1 : 0;
    if (sw->o->summary) {
        AtomicFile af;
        HgErr err = {{0}};
        if (atomic_open(&af, sw->o->summary, &err) == 0) {
            write_summary_json(sw, count, wall, af.f);
            if (atomic_commit(&af, &err) == 0)
                return stop_signal ? 128 + stop_signal : status;
        }
        fprintf(stderr, PROG ": --summary %s\n", err.msg);
        status = 3;
    }
    return stop_signal ? 128 + stop_signal : status;
}

/* The program a job's "hgbench" runs: --hgbench, else hgbench beside us. */
static int find_prog(const SweepOptions *o, char *buf, size_t cap, HgErr *err)
{
    if (o->hgbench) {
        snprintf(buf, cap, "%s", o->hgbench);
    } else {
        char self[4096];
        const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return hg_fail(err, "cannot read /proc/self/exe: %s", strerror(errno));
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        snprintf(buf, cap, "%.4000s/hgbench", slash ? self : ".");
    }
    if (access(buf, X_OK))
        return hg_fail(err, "%s%s: cannot run it: %s%s", o->hgbench ? "--hgbench " : "", buf,
                       strerror(errno), o->hgbench ? "" : " (make builds it)");
    return 0;
}

static int parse_gpus(const char *v, int *n, HgErr *err)
{
    if (!strcmp(v, "auto")) {
        *n = farm_count_gpus();
        return 0;
    }
    return flags_parse_int("--gpus", v, 0, 1024, n, err);
}

int main(int argc, char **argv)
{
    Farm farm;
    farm_init(&farm, &argc, &argv);
    is_worker = farm.rank != 0;
    SweepOptions o = {.gpus = "auto"};
    const FlagTable t = sweep_flags(&o);
    HgErr err = {{0}};
    Sweep sw = {.o = &o, .farm = &farm, .t0 = now_s(), .argc = argc, .argv = argv};
    int ngpus = 0, ok = flags_parse(t.f, argc, argv, &err) == 0;
    if (ok && o.help) {
        if (farm.rank == 0)
            usage(stdout);
        farm_finalize(&farm);
        return 0;
    }
    if (ok && o.handout)
        return handout_rate(&farm, o.handout);
    if (ok && !o.jobs)
        ok = hg_fail(&err, "--jobs FILE is needed (" PROG " --help)") == 0;
    ok = ok && parse_gpus(o.gpus, &ngpus, &err) == 0;
    ok = ok && find_prog(&o, sw.prog, sizeof sw.prog, &err) == 0;
    ok = ok && sweep_list_read(o.jobs, &sw.list, &err) == 0;
    /* folders are made and probed once, by rank 0 */
    ok = ok && (farm.rank != 0 || sweep_list_check_folders(&sw.list, &err) == 0);
    if (ok && o.summary && farm.rank == 0) { /* a sweep must not end unable to write it */
        AtomicFile af;
        HgErr why = {{0}};
        if (atomic_open(&af, o.summary, &why))
            ok = hg_fail(&err, "--summary %s", why.msg) == 0;
        else
            atomic_abort(&af);
    }
    if (!ok && farm.rank == 0)
        fprintf(stderr, PROG ": %s\n", err.msg);
    if (!farm_all_ok(&farm, ok)) {
        if (farm.rank == 0 && ok)
            fprintf(stderr, PROG ": another rank could not read the job list (see above)\n");
        sweep_list_free(&sw.list);
        farm_finalize(&farm);
        return 2;
    }

    sw.local_rank = farm_local_rank();
    farm_pick_gpu(sw.local_rank, getenv("CUDA_VISIBLE_DEVICES"), ngpus, sw.gpu, sizeof sw.gpu);
    if (gethostname(sw.host, sizeof sw.host))
        snprintf(sw.host, sizeof sw.host, "?");
    sw.host[sizeof sw.host - 1] = '\0';
    const int n = sw.list.n;
    sw.res = calloc((size_t)n, sizeof *sw.res);
    sw.rank_of = calloc((size_t)n, sizeof *sw.rank_of);
    HG_CHECK(sw.res && sw.rank_of, "%d job results", n);
    for (int i = 0; i < n; i++)
        sw.rank_of[i] = -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (farm.rank == 0)
        fprintf(stderr, PROG ": %d jobs from %s over %d rank%s\n", n, o.jobs, farm.size,
                farm.size == 1 ? "" : "s");

    farm_run(&farm, n, sizeof(SweepResult), work, done, &sw, &stop_signal);

    int status = 0;
    if (farm.rank == 0)
        status = report(&sw);
    fflush(NULL);
    free(sw.res);
    free(sw.rank_of);
    sweep_list_free(&sw.list);
    if (stop_signal)
        _exit(128 + stop_signal); /* the other ranks are not waited for */
    farm_finalize(&farm);
    return status;
}
