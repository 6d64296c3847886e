/* progress.h — a progress bar with ETA on stderr for long experiments:
 *   [fig2] 37/100 ##########.............  37%  1m12s elapsed, ETA 2m03s
 * Redrawn in place at most every 0.2 s (and always at the end); when stderr
 * is not a terminal it prints a plain line at most every 10 s instead, so
 * logs stay readable. */
#ifndef HG_PROGRESS_H
#define HG_PROGRESS_H

typedef struct Progress {
    const char *label;
    long total, done;
    double start, last_draw;
    int tty;
} Progress;

void progress_start(Progress *p, const char *label, long total);
/* Marks `done` units finished (absolute, not an increment). */
void progress_update(Progress *p, long done);
/* Final line with the total time. */
void progress_end(Progress *p);

#endif
