/* scratch.c — see scratch.h. */
#include "scratch.h"

#include <omp.h>

#include "../../common/check.h"
#include "../../common/mem.h"

void *scratch_thread(Scratch *s, int slot, size_t bytes)
{
    const int t = omp_get_thread_num();
    HG_CHECK(t < SCRATCH_THREADS && slot >= 0 && slot < SCRATCH_SLOTS,
             "scratch: thread %d slot %d (at most %d threads)", t, slot, SCRATCH_THREADS);
    return mem_reserve(&s->thread_buf[t][slot], &s->thread_cap[t][slot], MEM_ACTIVATIONS,
                       bytes);
}

void *scratch_shared(Scratch *s, int slot, size_t bytes)
{
    HG_CHECK(slot >= 0 && slot < SCRATCH_SLOTS, "scratch: shared slot %d", slot);
    return mem_reserve(&s->shared_buf[slot], &s->shared_cap[slot], MEM_ACTIVATIONS, bytes);
}

void scratch_release(Scratch *s)
{
    for (int t = 0; t < SCRATCH_THREADS; t++)
        for (int k = 0; k < SCRATCH_SLOTS; k++) {
            mem_free(s->thread_buf[t][k]);
            s->thread_buf[t][k] = NULL;
            s->thread_cap[t][k] = 0;
        }
    for (int k = 0; k < SCRATCH_SLOTS; k++) {
        mem_free(s->shared_buf[k]);
        s->shared_buf[k] = NULL;
        s->shared_cap[k] = 0;
    }
}
