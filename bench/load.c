/* load.c — see load.h. */
#include "load.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "../common/timer.h"

Load load_now(void)
{
    Load l = {now_s(), 0, 0, 0};
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
        l.own = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    FILE *f = fopen("/proc/stat", "r");
    if (f) {
        unsigned long long v[8] = {0}; /* user nice system idle iowait irq softirq steal */
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
            const double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
            l.busy = tick * (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
            l.steal = tick * (double)v[7];
        }
        fclose(f);
    }
    return l;
}
