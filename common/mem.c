/* mem.c — tagged, aligned allocation with per-tag current/peak counters.
 * A 64-byte header before each block holds its size and tag. */
#include "mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define HEADER 64

typedef struct {
    size_t bytes;
    int tag;
} BlockHeader;

static atomic_size_t current[MEM_NTAGS], peak[MEM_NTAGS];
static atomic_size_t total_current, total_peak;
static atomic_long fail_countdown;

static const char *const tag_names[MEM_NTAGS] = {
    "params", "trajectory", "checkpoints", "infobuf", "tangents", "activations", "data", "other",
};

const char *mem_tag_name(MemTag tag)
{
    return (unsigned)tag < MEM_NTAGS ? tag_names[tag] : "?";
}

static void raise_peak(atomic_size_t *pk, size_t value)
{
    size_t old = atomic_load(pk);
    while (value > old && !atomic_compare_exchange_weak(pk, &old, value)) {
    }
}

static atomic_long failures, allocations;
static _Thread_local struct { int tag; size_t bytes; } last_failure;

void mem_fail_after(long n) { atomic_store(&fail_countdown, n); }
long mem_failures(void) { return atomic_load(&failures); }
long mem_allocations(void) { return atomic_load(&allocations); }

static void *failed(MemTag tag, size_t bytes)
{
    atomic_fetch_add(&failures, 1);
    last_failure.tag = tag;
    last_failure.bytes = bytes;
    return NULL;
}

void *mem_try_alloc(MemTag tag, size_t bytes)
{
    if ((unsigned)tag >= MEM_NTAGS) {
        fprintf(stderr, "mem_alloc: bad tag %d\n", (int)tag);
        abort();
    }
    atomic_fetch_add(&allocations, 1);
    long left = atomic_load(&fail_countdown);
    if (left > 0 && atomic_fetch_sub(&fail_countdown, 1) == 1)
        return failed(tag, bytes);
    size_t rounded = (bytes + HEADER - 1) / HEADER * HEADER;
    char *base = rounded < bytes ? NULL : aligned_alloc(HEADER, HEADER + rounded);
    if (!base)
        return failed(tag, bytes);
    memset(base + HEADER, 0, rounded);
    BlockHeader *h = (BlockHeader *)base;
    h->bytes = bytes;
    h->tag = tag;
    raise_peak(&peak[tag], atomic_fetch_add(&current[tag], bytes) + bytes);
    raise_peak(&total_peak, atomic_fetch_add(&total_current, bytes) + bytes);
    return base + HEADER;
}

void *mem_check(void *p, MemTag tag, size_t bytes)
{
    if (!p) {
        fprintf(stderr, "hgbench: out of memory: %s (%zu bytes)\n", mem_tag_name(tag), bytes);
        fflush(stdout);
        exit(3);
    }
    return p;
}

void *mem_alloc(MemTag tag, size_t bytes)
{
    return mem_check(mem_try_alloc(tag, bytes), tag, bytes);
}

int mem_oom_error(HgErr *err, const char *who)
{
    return hg_fail(err, "%s: out of memory: %s (%zu bytes)", who,
                   mem_tag_name((MemTag)last_failure.tag), last_failure.bytes);
}

void mem_free(void *p)
{
    if (!p)
        return;
    char *base = (char *)p - HEADER;
    BlockHeader *h = (BlockHeader *)base;
    atomic_fetch_sub(&current[h->tag], h->bytes);
    atomic_fetch_sub(&total_current, h->bytes);
    free(base);
}

void mem_account(MemTag tag, long long delta)
{
    if ((unsigned)tag >= MEM_NTAGS) {
        fprintf(stderr, "mem_account: bad tag %d\n", (int)tag);
        abort();
    }
    if (delta < 0) {
        atomic_fetch_sub(&current[tag], (size_t)-delta);
        atomic_fetch_sub(&total_current, (size_t)-delta);
        return;
    }
    raise_peak(&peak[tag], atomic_fetch_add(&current[tag], (size_t)delta) + (size_t)delta);
    raise_peak(&total_peak, atomic_fetch_add(&total_current, (size_t)delta) + (size_t)delta);
}

void *mem_reserve(void **p, size_t *cap, MemTag tag, size_t bytes)
{
    if (*p && *cap >= bytes)
        return *p;
    mem_free(*p);
    *p = mem_alloc(tag, bytes);
    *cap = bytes;
    return *p;
}

size_t mem_current(MemTag tag) { return atomic_load(&current[tag]); }
size_t mem_peak(MemTag tag) { return atomic_load(&peak[tag]); }
size_t mem_total_current(void) { return atomic_load(&total_current); }
size_t mem_total_peak(void) { return atomic_load(&total_peak); }

void mem_reset_peaks(void)
{
    for (int t = 0; t < MEM_NTAGS; t++)
        atomic_store(&peak[t], atomic_load(&current[t]));
    atomic_store(&total_peak, atomic_load(&total_current));
}

size_t mem_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (size_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

size_t mem_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size, resident;
    const int ok = f && fscanf(f, "%llu %llu", &size, &resident) == 2;
    if (f)
        fclose(f);
    const long page = sysconf(_SC_PAGESIZE);
    return ok && page > 0 ? (size_t)(resident * (unsigned long long)page) : 0;
}

/* The value in kB of the line "key: N kB" of a /proc file, in bytes; -1 if
 * absent. */
static double proc_kb(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[256];
    double v = -1;
    const size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':') {
            unsigned long long kb;
            if (sscanf(line + n + 1, "%llu", &kb) == 1)
                v = (double)kb * 1024;
            break;
        }
    if (f)
        fclose(f);
    return v;
}

#define GIB(x) ((x) / (1024.0 * 1024 * 1024))

/* The room under a resource limit given the process's use; -1 if unlimited. */
static double rlimit_room(int resource, double used)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) || rl.rlim_cur == RLIM_INFINITY)
        return -1;
    const double room = (double)rl.rlim_cur - (used > 0 ? used : 0);
    return room > 0 ? room : 0;
}

MemLimit mem_limit(void)
{
    MemLimit m = {.bytes = -1, .what = ""};
    const double avail = proc_kb("/proc/meminfo", "MemAvailable");
    if (avail >= 0) {
        m.bytes = avail;
        snprintf(m.what, sizeof m.what, "%.2f GiB is available (MemAvailable in /proc/meminfo)",
                 GIB(avail));
    }
    static const struct { int resource; const char *name, *use, *status_key; } limits[] = {
        {RLIMIT_AS, "the address-space limit (RLIMIT_AS, ulimit -v)", "maps", "VmSize"},
        {RLIMIT_DATA, "the data-segment limit (RLIMIT_DATA, ulimit -d)", "holds as data",
         "VmData"},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        const double used = proc_kb("/proc/self/status", limits[i].status_key);
        const double room = rlimit_room(limits[i].resource, used);
        if (room >= 0 && (m.bytes < 0 || room < m.bytes)) {
            m.bytes = room;
            snprintf(m.what, sizeof m.what, "%.2f GiB is left under %s of %.2f GiB (this "
                     "process %s %.2f GiB)", GIB(room), limits[i].name, GIB(room + used),
                     limits[i].use, GIB(used > 0 ? used : 0));
        }
    }
    return m;
}
