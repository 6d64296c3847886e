/* stopwatch.h — time split into segments at marks, each segment's seconds
 * added to the total its opening mark names: on a device backend's stream
 * (its timer ops, backend.h: CUDA events) where that is asked for and the
 * backend has them, else on the host's monotonic clock. A mark both closes
 * the open segment and opens the next, so a loop over layers reads its
 * clock once per layer, plus one mark that closes the last.
 *
 * Host time of work queued on a device is the time of its launches; the
 * stream's clock is the work's. Totals on a device are complete only after
 * stopwatch_flush (one wait for the stream); on the host at once.
 */
#ifndef HG_STOPWATCH_H
#define HG_STOPWATCH_H

#include "backend.h"

typedef struct Stopwatch {
    const Backend *be;
    DevTimer *dev; /* NULL: the host clock */
    double *open;  /* host: the open segment's total (NULL: none) */
    double t_open; /* host: when it opened */
} Stopwatch;

/* device 1: on be's stream if be has timer ops. Returns 1 if the marks go
 * to the stream, 0 for the host clock. */
int stopwatch_init(Stopwatch *s, const Backend *be, int device);
/* Closes the open segment (its seconds added to its total) and opens one
 * for acc (NULL: none). */
void stopwatch_mark(Stopwatch *s, double *acc);
/* Every closed segment is in its total (a device: waits for the last mark). */
void stopwatch_flush(Stopwatch *s);
/* Flushes and lets go of the timer; an open segment is dropped. */
void stopwatch_free(Stopwatch *s);
static inline int stopwatch_on_device(const Stopwatch *s) { return s->dev != NULL; }

#endif
