/* mem.c — tagged, aligned allocation with per-tag current/peak counters.
 * A 64-byte header before each block holds its size and tag. */
#include "mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

void mem_fail_after(long n) { atomic_store(&fail_countdown, n); }

void *mem_alloc(MemTag tag, size_t bytes)
{
    if ((unsigned)tag >= MEM_NTAGS) {
        fprintf(stderr, "mem_alloc: bad tag %d\n", (int)tag);
        abort();
    }
    long left = atomic_load(&fail_countdown);
    if (left > 0 && atomic_fetch_sub(&fail_countdown, 1) == 1)
        return NULL;
    size_t rounded = (bytes + HEADER - 1) / HEADER * HEADER;
    char *base = rounded < bytes ? NULL : aligned_alloc(HEADER, HEADER + rounded);
    if (!base) {
        fprintf(stderr, "hgbench: out of memory allocating %zu bytes for %s\n",
                bytes, tag_names[tag]);
        abort();
    }
    memset(base + HEADER, 0, rounded);
    BlockHeader *h = (BlockHeader *)base;
    h->bytes = bytes;
    h->tag = tag;
    raise_peak(&peak[tag], atomic_fetch_add(&current[tag], bytes) + bytes);
    raise_peak(&total_peak, atomic_fetch_add(&total_current, bytes) + bytes);
    return base + HEADER;
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
    *cap = *p ? bytes : 0;
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
