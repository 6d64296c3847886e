/* sweep_exec.h — one job of hgbench-sweep: skip it when its result is there,
 * else run it as a child process and publish its result atomically.
 *
 * The job runs its own command line with --json pointed at RESULT.part
 * (which hgbench itself writes atomically); only when it exits 0 with a
 * complete JSON object there is that renamed to RESULT. So RESULT is either
 * absent or whole, whatever kills the job or its rank. Its stdout and stderr
 * go to RESULT.log (one file, appended in order); a failure's message is
 * the log's last line. The child has its own process group (so that a
 * terminal's Ctrl-C reaches it once, forwarded by the runner) and gets
 * SIGTERM when the runner dies (a rank killed with -9), so that it stops at
 * its next inner step without publishing anything.
 */
#ifndef HG_SWEEP_EXEC_H
#define HG_SWEEP_EXEC_H

#include <signal.h>
#include <sys/types.h>

#include "sweep_jobs.h"

enum SweepStatus { JOB_NOT_RUN, JOB_DONE, JOB_FAILED, JOB_SKIPPED, JOB_INTERRUPTED };

/* What a rank sends back for a job (fixed size, sent as bytes). */
typedef struct SweepResult {
    int status;      /* SweepStatus */
    int exit_code;   /* the job's exit status, 128 + signal if killed; -1 not started */
    double seconds;  /* wall time of the job */
    int local_rank;
    char host[64];
    char gpu[32];    /* CUDA_VISIBLE_DEVICES given to the job; "" none */
    char message[400];
} SweepResult;

/* The child running now (0: none), for a signal handler to forward to. */
extern volatile sig_atomic_t sweep_child_pid;

/* 1 when path is a regular file holding one complete JSON object (braces
 * and brackets balanced outside strings, nothing after it but space). */
int sweep_result_valid(const char *path);

/* Runs job (or skips it), with prog as its "hgbench"; gpu, if not "", as
 * CUDA_VISIBLE_DEVICES. interrupted: set by the caller's signal handler;
 * a job that ends while it is set is JOB_INTERRUPTED, not failed. */
void sweep_exec(const SweepJob *job, const char *prog, const char *gpu,
                volatile sig_atomic_t *interrupted, SweepResult *out);

/* Removes leftovers of a killed run of job (RESULT.part and hgbench's own
 * RESULT.part.tmp.* temporaries); never touches RESULT. */
void sweep_clean_parts(const SweepJob *job);

#endif
