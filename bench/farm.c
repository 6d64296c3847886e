/* farm.c — see farm.h. The protocol, tag FARM_TAG_RESULT from a worker to
 * rank 0: [int item][result bytes], item -1 on a worker's first request;
 * tag FARM_TAG_ITEM from rank 0: [int item], -1 = no more, the worker ends. */
#include "farm.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/check.h"

#ifdef HG_MPI
#include <mpi.h>
#endif

/* The shared counter and rank 0's lock around done(). */
typedef struct FarmShared {
    const Farm *f;
    int n, next, ran;
    size_t bytes;
    FarmWork work;
    FarmDone done;
    void *ctx;
    volatile sig_atomic_t *stop;
    pthread_mutex_t lock;
} FarmShared;

/* The next item, or -1 when none is left or stop is set. */
static int take(FarmShared *s)
{
    pthread_mutex_lock(&s->lock);
    const int i = (s->next < s->n && !(s->stop && *s->stop)) ? s->next++ : -1;
    pthread_mutex_unlock(&s->lock);
    return i;
}

static void finished(FarmShared *s, int item, const void *result, int rank)
{
    pthread_mutex_lock(&s->lock);
    s->ran++;
    s->done(item, result, rank, s->ctx);
    pthread_mutex_unlock(&s->lock);
}

/* Rank 0's own share: items from the counter until none is left. */
static void work_locally(FarmShared *s)
{
    void *buf = calloc(1, s->bytes ? s->bytes : 1);
    HG_CHECK(buf, "farm: %zu bytes for a result", s->bytes);
    for (int i; (i = take(s)) >= 0;) {
        memset(buf, 0, s->bytes);
        s->work(i, buf, s->ctx);
        finished(s, i, buf, 0);
    }
    free(buf);
}

int farm_local_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                                       "SLURM_LOCALID"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        char *end;
        if (v && *v) {
            const long r = strtol(v, &end, 10);
            if (!*end && r >= 0 && r < 1 << 20)
                return (int)r;
        }
    }
    return 0;
}

void farm_pick_gpu(int local_rank, const char *visible, int ngpus, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (visible && *visible) {
        int count = 1;
        for (const char *p = visible; *p; p++)
            count += *p == ',';
        const char *p = visible;
        for (int k = local_rank % count; k > 0; k--)
            p = strchr(p, ',') + 1;
        const size_t len = strcspn(p, ",");
        snprintf(buf, cap, "%.*s", (int)len, p);
    } else if (ngpus > 0) {
        snprintf(buf, cap, "%d", local_rank % ngpus);
    }
}

int farm_count_gpus(void)
{
    DIR *d = opendir("/dev");
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        const char *p = e->d_name;
        if (strncmp(p, "nvidia", 6) || !p[6])
            continue;
        p += 6;
        while (*p >= '0' && *p <= '9')
            p++;
        n += !*p;
    }
    closedir(d);
    return n;
}

#ifdef HG_MPI

enum { FARM_TAG_RESULT = 71, FARM_TAG_ITEM = 72 };

/* Started by a launcher: mpirun/mpiexec (Open MPI, PMIx) or srun (PMI, PMIx). */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

static int thread_level = 0;

void farm_init(Farm *f, int *argc, char ***argv)
{
    memset(f, 0, sizeof *f);
    f->size = 1;
    if (!launched())
        return;
    MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &thread_level);
    MPI_Comm_rank(MPI_COMM_WORLD, &f->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &f->size);
    f->mpi = 1;
}

void farm_finalize(Farm *f)
{
    if (f->mpi)
        MPI_Finalize();
    f->mpi = 0;
}

int farm_all_ok(const Farm *f, int ok)
{
    int in = ok != 0, all = in;
    if (f->mpi)
        MPI_Allreduce(&in, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

const char *farm_mpi_name(void)
{
    static char name[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!name[0]) {
        MPI_Get_library_version(name, &len);
        name[strcspn(name, ",\n")] = '\0';
    }
    return name;
}

/* Rank 0's answering thread: results in, next items out, until every other
 * rank has been told to end. */
static void *dispatch(void *arg)
{
    FarmShared *s = arg;
    const size_t msg = sizeof(int) + s->bytes;
    char *buf = malloc(msg);
    HG_CHECK(buf, "farm: %zu bytes for a message", msg);
    /* on stop, the caller is ending the run: the other ranks are not waited for */
    for (int active = s->f->size - 1; active > 0 && !(s->stop && *s->stop);) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, FARM_TAG_RESULT, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            const struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
            continue;
        }
        MPI_Recv(buf, (int)msg, MPI_BYTE, st.MPI_SOURCE, FARM_TAG_RESULT, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        int item;
        memcpy(&item, buf, sizeof item);
        if (item >= 0)
            finished(s, item, buf + sizeof item, st.MPI_SOURCE);
        const int next = take(s);
        MPI_Send(&next, 1, MPI_INT, st.MPI_SOURCE, FARM_TAG_ITEM, MPI_COMM_WORLD);
        active -= next < 0;
    }
    free(buf);
    return NULL;
}

/* A worker rank: ask, work, answer, until told to end. */
static void work_remotely(FarmShared *s)
{
    const size_t msg = sizeof(int) + s->bytes;
    char *buf = calloc(1, msg);
    HG_CHECK(buf, "farm: %zu bytes for a message", msg);
    int item = -1;
    for (;;) {
        memcpy(buf, &item, sizeof item);
        MPI_Send(buf, (int)msg, MPI_BYTE, 0, FARM_TAG_RESULT, MPI_COMM_WORLD);
        MPI_Recv(&item, 1, MPI_INT, 0, FARM_TAG_ITEM, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (item < 0)
            break;
        memset(buf + sizeof item, 0, s->bytes);
        s->work(item, buf + sizeof item, s->ctx);
    }
    free(buf);
}

int farm_run(const Farm *f, int n, size_t result_bytes, FarmWork work, FarmDone done,
             void *ctx, volatile sig_atomic_t *stop)
{
    FarmShared s = {.f = f, .n = n, .bytes = result_bytes, .work = work, .done = done,
                    .ctx = ctx, .stop = stop};
    pthread_mutex_init(&s.lock, NULL);
    if (f->size == 1) {
        work_locally(&s);
    } else if (f->rank != 0) {
        work_remotely(&s);
    } else if (thread_level >= MPI_THREAD_SERIALIZED && !f->dispatch_only) {
        /* only the dispatcher calls MPI until it is joined */
        pthread_t t;
        HG_CHECK(pthread_create(&t, NULL, dispatch, &s) == 0, "farm: a dispatcher thread");
        work_locally(&s);
        pthread_join(t, NULL);
    } else {
        dispatch(&s); /* MPI without threads: rank 0 only hands out */
    }
    pthread_mutex_destroy(&s.lock);
    return s.ran;
}

#else /* one process */

void farm_init(Farm *f, int *argc, char ***argv)
{
    memset(f, 0, sizeof *f);
    f->size = 1;
}

void farm_finalize(Farm *f)
{
}

int farm_all_ok(const Farm *f, int ok)
{
    return ok != 0;
}

const char *farm_mpi_name(void)
{
    return "not built in (mpi.h not found)";
}

int farm_run(const Farm *f, int n, size_t result_bytes, FarmWork work, FarmDone done,
             void *ctx, volatile sig_atomic_t *stop)
{
    FarmShared s = {.f = f, .n = n, .bytes = result_bytes, .work = work, .done = done,
                    .ctx = ctx, .stop = stop};
    pthread_mutex_init(&s.lock, NULL);
    work_locally(&s);
    pthread_mutex_destroy(&s.lock);
    return s.ran;
}

#endif
