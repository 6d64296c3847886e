/* mem.h — the one allocator: every buffer hgbench owns is tagged by kind, so
 * the program knows its current and peak bytes per kind at any time (the
 * bench reports engine state by kind against the formulas of DESIGN.md).
 *
 * Blocks are 64-byte aligned and zero-filled. Out of memory aborts with the
 * size and tag: callers that take sizes from files check them first.
 * mem_free(NULL) is a no-op. Counters are atomic; allocation from several
 * threads is safe.
 */
#ifndef HG_MEM_H
#define HG_MEM_H

#include <stddef.h>

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

void *mem_alloc(MemTag tag, size_t bytes);
void mem_free(void *p);
/* Counts bytes held outside this allocator (a device's memory) under tag,
 * in the same current and peak counters: delta > 0 on allocation, < 0 on
 * release. */
void mem_account(MemTag tag, long long delta);
/* Grows *p to at least `bytes` (contents not kept); returns *p. */
void *mem_reserve(void **p, size_t *cap, MemTag tag, size_t bytes);

size_t mem_current(MemTag tag);
size_t mem_peak(MemTag tag);
size_t mem_total_current(void);
size_t mem_total_peak(void);
/* Sets each peak to the current value, to measure one phase. */
void mem_reset_peaks(void);
const char *mem_tag_name(MemTag tag);

/* Test hook: the n-th allocation from now returns NULL instead of aborting
 * (n = 0 disables). Lets tests check that callers clean up on failure. */
void mem_fail_after(long n);

/* Process peak resident set size in bytes (getrusage), 0 if unknown. */
size_t mem_peak_rss(void);

#endif
