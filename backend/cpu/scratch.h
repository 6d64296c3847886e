/* scratch.h — grow-only scratch buffers for kernels, so that hot paths do no
 * allocation (a fresh multi-megabyte block per call costs page faults and
 * zeroing on every call). Per-thread slots are for use inside an OpenMP
 * parallel region, each thread its own; shared slots for the serial parts
 * around it. Contents are undefined on return: callers initialise what they
 * read. Memory is tagged "activations". */
#ifndef HG_SCRATCH_H
#define HG_SCRATCH_H

#include <stddef.h>

#define SCRATCH_THREADS 256
#define SCRATCH_SLOTS 3

typedef struct Scratch {
    void *thread_buf[SCRATCH_THREADS][SCRATCH_SLOTS];
    size_t thread_cap[SCRATCH_THREADS][SCRATCH_SLOTS];
    void *shared_buf[SCRATCH_SLOTS];
    size_t shared_cap[SCRATCH_SLOTS];
} Scratch;

/* Slot `slot` of the calling OpenMP thread, at least `bytes` long. */
void *scratch_thread(Scratch *s, int slot, size_t bytes);
/* Shared slot `slot` (call outside parallel regions), at least `bytes`. */
void *scratch_shared(Scratch *s, int slot, size_t bytes);
/* Frees every buffer; the Scratch can be used again. */
void scratch_release(Scratch *s);

#endif
