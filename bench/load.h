/* load.h — how busy the machine was during a measurement: the CPU seconds of
 * the whole machine (/proc/stat) and of this process, read at both ends, so
 * that a benchmark can say when other work shared its cores. */
#ifndef HG_BENCH_LOAD_H
#define HG_BENCH_LOAD_H

typedef struct Load {
    double wall, own, busy, steal; /* seconds: wall clock, this process, all CPUs, stolen */
} Load;

/* Now; the /proc/stat fields stay 0 where it cannot be read. */
Load load_now(void);

#endif
