// cuda_timing.cu — backend.h's timer ops on the one stream by CUDA events.
//
// A mark is an event recorded in stream order (no wait). Pending marks sit
// in a ring; a segment's time (cudaEventElapsedTime between its mark and
// the next) is read when the ring is full, for its older half at once after
// one wait on a mark queued half a ring ago (in practice long done), and at
// a flush, which waits for the newest mark and reads them all.
#include "cuda_util.cuh"

constexpr int TIMER_RING = 256;

struct DevTimer {
    cudaEvent_t ev[TIMER_RING];
    double *acc[TIMER_RING]; // where the segment each mark opens goes (NULL: none)
    int head, count;         // pending marks: head .. head + count - 1, mod the ring
};

static int slot(const DevTimer *t, int k) { return (t->head + k) % TIMER_RING; }

// Waits for pending mark k, then adds the k segments before it to their
// totals and drops their marks (0 < k < count).
static void resolve(DevTimer *t, int k)
{
    CU(cudaEventSynchronize(t->ev[slot(t, k)])); // and so every mark before it
    for (; k > 0; k--) {
        const int a = t->head, b = slot(t, 1);
        if (t->acc[a]) {
            float ms = 0;
            CU(cudaEventElapsedTime(&ms, t->ev[a], t->ev[b]));
            *t->acc[a] += 1e-3 * (double)ms;
        }
        t->head = b;
        t->count--;
    }
}

extern "C" DevTimer *cuda_timer_new(void)
{
    DevTimer *t = (DevTimer *)mem_alloc(MEM_OTHER, sizeof(DevTimer));
    for (int i = 0; i < TIMER_RING; i++)
        CU(cudaEventCreate(&t->ev[i])); // timing on: not cudaEventDisableTiming
    return t;
}

extern "C" void cuda_timer_mark(DevTimer *t, double *acc)
{
    if (t->count && !t->acc[slot(t, t->count - 1)]) { // the newest mark opened nothing
        if (!acc)
            return; // and this one opens nothing: no event
        if (t->count == 1)
            t->count = 0; // it closes nothing pending: this mark takes its place
    }
    if (!acc && t->count == 0)
        return;
    if (t->count == TIMER_RING)
        resolve(t, TIMER_RING / 2);
    const int i = slot(t, t->count);
    CU(cudaEventRecord(t->ev[i], cuda_ctx()->stream));
    t->acc[i] = acc;
    t->count++;
}

extern "C" void cuda_timer_flush(DevTimer *t)
{
    if (t->count > 1)
        resolve(t, t->count - 1);
    if (t->count == 1 && !t->acc[t->head])
        t->count = 0; // the newest opens nothing; an open one stays pending
}

extern "C" void cuda_timer_free(DevTimer *t)
{
    if (!t)
        return;
    cuda_timer_flush(t);
    for (int i = 0; i < TIMER_RING; i++)
        CU(cudaEventDestroy(t->ev[i]));
    mem_free(t);
}
