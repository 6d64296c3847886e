/* machine.h — a record of the machine a benchmark ran on: CPU model, cores,
 * hardware threads (PUs), cache sizes, NUMA nodes, memory, and the GPUs and
 * other OS devices the hwloc topology reports, and the OpenBLAS kernel set
 * the program runs (where it links the CPU backend).
 *
 * hwloc is the source; if its topology does not load, the record falls back
 * to sysconf and /proc/cpuinfo (no devices then) and says so in `source`.
 * Unknown numbers are 0 and unknown names empty. Nothing here is timed.
 */
#ifndef HG_MACHINE_H
#define HG_MACHINE_H

#include <stdio.h>

#define MACHINE_MAX_DEVICES 16

typedef struct MachineCache {
    int level;        /* 1, 2, 3 (L1 means the data or unified cache) */
    long size;        /* bytes of one instance, 0 if unknown */
    int count;        /* instances */
} MachineCache;

typedef struct Machine {
    char source[48];     /* "hwloc 2.9.0" or "fallback (sysconf, /proc/cpuinfo)" */
    char host[64];
    char cpu[128];       /* model name */
    int packages, cores, pus, numa_nodes;
    double memory_bytes;      /* total the OS reports (sysconf), 0 if unknown */
    double numa_memory_bytes; /* total of hwloc's NUMA nodes (may be less in a VM
                                 with hot-plugged memory), 0 if unknown */
    MachineCache cache[3];
    int ngpus;           /* GPUs and coprocessors (CUDA, OpenCL, ...) */
    char gpus[MACHINE_MAX_DEVICES][96];
    int nosdevs;         /* every other OS device: block, network, ... */
    char osdevs[MACHINE_MAX_DEVICES][48];
    char blas_core[32];  /* OpenBLAS's kernel set ("SkylakeX"); empty in a
                            program that does not link the CPU backend */
    char blas_core_source[160]; /* who chose it (backend/cpu/blas_core.h) */
} Machine;

/* Fills *m; never fails (falls back as described above). */
void machine_probe(Machine *m);

/* Writes the record as "<prefix>key: value" lines (the bench prefixes "# "). */
void machine_print(const Machine *m, FILE *f, const char *prefix);

#endif
