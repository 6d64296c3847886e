/* interrupt.h — Ctrl-C (SIGINT) and SIGTERM for the long commands: the
 * handler only records the signal; engines poll it between steps
 * (EngineConfig.stop) and stop with "interrupted", the command then writes
 * nothing partial (outputs are atomic) and exits 128 + the signal (130,
 * 143), as a shell expects. */
#ifndef HG_INTERRUPT_H
#define HG_INTERRUPT_H

#include <signal.h>

/* The signal received, 0 until one is. */
extern volatile sig_atomic_t interrupt_signal;

/* Installs the handler for SIGINT and SIGTERM (a second signal of either
 * kind ends the process at once, as without the handler). */
void interrupt_install(void);
/* 128 + the signal received (0 if none). */
int interrupt_exit_status(void);
const char *interrupt_name(void); /* "SIGINT", "SIGTERM" or "" */

#endif
