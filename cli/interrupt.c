/* interrupt.c — see interrupt.h. */
#include "interrupt.h"

#include <string.h>

volatile sig_atomic_t interrupt_signal = 0;

static void on_signal(int sig)
{
    if (interrupt_signal) { /* the second one: stop now, as the default would */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    interrupt_signal = sig;
}

void interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int interrupt_exit_status(void) { return interrupt_signal ? 128 + interrupt_signal : 0; }

const char *interrupt_name(void)
{
    return interrupt_signal == SIGINT ? "SIGINT" : interrupt_signal == SIGTERM ? "SIGTERM" : "";
}
