/* mem.h — the one allocator: every buffer hgbench owns is tagged by kind, so
 * the program knows its current and peak bytes per kind at any time (the
 * bench reports engine state by kind against the formulas of DESIGN.md).
 *
 * Blocks are 64-byte aligned and zero-filled. Two ways to fail:
 *   mem_try_alloc returns NULL: for callers that can report an error (the
 *     loaders, the engines' buffers, through the backend's alloc), which say
 *     "out of memory: <tag> (<bytes> bytes)" (mem_oom_error) and free what
 *     they hold;
 *   mem_alloc never returns NULL: out of memory prints the same message and
 *     exits with status 3, for buffers deep inside a pass that has no error
 *     path (the model's workspace, kernel scratch, the information buffer's
 *     growth). Never an abort or a crash either way.
 * mem_free(NULL) is a no-op. Counters are atomic; allocation from several
 * threads is safe.
 */
#ifndef HG_MEM_H
#define HG_MEM_H

#include <stddef.h>

#include "check.h"

typedef enum MemTag {
    MEM_PARAMS,      /* weights, velocities, gradients, hyperparameters */
    MEM_TRAJECTORY,  /* BPTT's stored w_t, v_t */
    MEM_CHECKPOINTS, /* the checkpoint engine's stored states */
    MEM_INFOBUF,     /* reversible engine's information buffer */
    MEM_TANGENTS,    /* forward engine's Z, U */
    MEM_ACTIVATIONS, /* model activations, their tangents, scratch */
    MEM_DATA,        /* data sets and batches */
    MEM_OTHER,
    MEM_NTAGS
} MemTag;

void *mem_alloc(MemTag tag, size_t bytes);     /* exits 3 when out of memory */
void *mem_try_alloc(MemTag tag, size_t bytes); /* NULL when out of memory */
void mem_free(void *p);
/* Counts bytes held outside this allocator (a device's memory) under tag,
 * in the same current and peak counters: delta > 0 on allocation, < 0 on
 * release. */
void mem_account(MemTag tag, long long delta);
/* p, or when p is NULL (a failed mem_try_alloc of tag and bytes, as from a
 * backend's alloc) the out-of-memory message and exit 3. */
void *mem_check(void *p, MemTag tag, size_t bytes);
/* Failed allocations so far: a caller compares the count before and after
 * allocating its buffers instead of testing each pointer. */
long mem_failures(void);
/* "<who>: out of memory: <tag> (<bytes> bytes)" of this thread's last
 * failed allocation into err; returns -1. */
int mem_oom_error(HgErr *err, const char *who);
/* Grows *p to at least `bytes` (contents not kept); returns *p. */
void *mem_reserve(void **p, size_t *cap, MemTag tag, size_t bytes);

size_t mem_current(MemTag tag);
size_t mem_peak(MemTag tag);
size_t mem_total_current(void);
size_t mem_total_peak(void);
/* Allocation calls so far (both kinds, failed ones too). */
long mem_allocations(void);
/* Sets each peak to the current value, to measure one phase. */
void mem_reset_peaks(void);
const char *mem_tag_name(MemTag tag);

/* Test hook: the n-th allocation from now fails as if out of memory
 * (mem_try_alloc returns NULL, mem_alloc exits 3; n = 0 disables). Lets
 * tests check that every caller path fails cleanly. */
void mem_fail_after(long n);

/* Process peak resident set size in bytes (getrusage), 0 if unknown. */
size_t mem_peak_rss(void);
/* Process resident set size now (/proc/self/statm), 0 if unknown. */
size_t mem_rss(void);

/* How much more this process can allocate: the smallest of MemAvailable
 * (/proc/meminfo: free memory plus what the kernel can reclaim, which the
 * physical size overstates), RLIMIT_AS (ulimit -v) less the address space
 * mapped now (VmSize), and RLIMIT_DATA less the data segment now (VmData).
 * what says which, with its numbers, as "the address-space limit (RLIMIT_AS,
 * ulimit -v) of 1.00 GiB less the 0.31 GiB this process maps". bytes < 0:
 * none is known. */
typedef struct MemLimit {
    double bytes;
    char what[200];
} MemLimit;
MemLimit mem_limit(void);

#endif
