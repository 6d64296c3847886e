/* farm.h — independent work items over MPI ranks: rank 0 hands out the next
 * item to whichever rank asks (runs differ in length, so no static split),
 * every result goes back to rank 0.
 *
 * Rank 0 works too: its main thread takes items from the same counter while
 * a second thread answers the other ranks (MPI_Iprobe and a 1 ms sleep, so
 * that waiting costs no core). Items are handed out in order 0, 1, ...;
 * results arrive in any order, each with its item number, so a caller that
 * places them by number gets the same arrays on any number of ranks.
 *
 * MPI is started only when a launcher started this process (mpirun,
 * mpiexec, srun: OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK or PMI_SIZE in
 * the environment); otherwise, and in a build without MPI (HG_MPI not
 * defined: mpi.h was not found), it is one process running the items in
 * order. A rank killed while working makes mpirun end the whole job: the
 * callers keep their outputs atomic, so that a rerun finds only finished
 * files.
 */
#ifndef HG_FARM_H
#define HG_FARM_H

#include <signal.h>
#include <stddef.h>

typedef struct Farm {
    int rank, size;
    int mpi;        /* 1: MPI_Init was called (farm_finalize ends it) */
    int dispatch_only; /* 1: rank 0 only hands out (farm_init sets 0) */
} Farm;

/* Rank and size (0 and 1 without a launcher). */
void farm_init(Farm *f, int *argc, char ***argv);
void farm_finalize(Farm *f);
/* Collective: 1 when every rank passes ok != 0 (one process: ok != 0). */
int farm_all_ok(const Farm *f, int ok);
/* "Open MPI 4.1.4" or "not built in (mpi.h not found)". */
const char *farm_mpi_name(void);

/* work(item, result, ctx): any rank; fills result_bytes bytes.
 * done(item, result, rank, ctx): rank 0 only, one call at a time (under a
 * lock), for every item run, in the order they finish. */
typedef void (*FarmWork)(int item, void *result, void *ctx);
typedef void (*FarmDone)(int item, const void *result, int rank, void *ctx);

/* Runs items 0..n-1 across the ranks (collective). stop, if not NULL, is
 * polled on rank 0 before each hand-out: nonzero hands out nothing more,
 * and rank 0 returns once its own item is done without waiting for the
 * other ranks (the caller then ends the run without farm_finalize).
 * Returns the number of items run on this rank's side (rank 0: all). */
int farm_run(const Farm *f, int n, size_t result_bytes, FarmWork work, FarmDone done,
             void *ctx, volatile sig_atomic_t *stop);

/* This process's rank among those on its node: OMPI_COMM_WORLD_LOCAL_RANK,
 * MPI_LOCALRANKID (MPICH), SLURM_LOCALID, else 0. */
int farm_local_rank(void);

/* The GPU a rank takes, as a CUDA_VISIBLE_DEVICES value, into buf: the
 * local rank's share of visible (a comma list already set, e.g. by Slurm's
 * --gpus-per-task; entry local_rank mod its length), else of ngpus devices
 * (local_rank mod ngpus). "" when there is none to pick (ngpus 0 and no
 * list): the variable is then left as it is. */
void farm_pick_gpu(int local_rank, const char *visible, int ngpus, char *buf, size_t cap);
/* NVIDIA devices on this node: /dev/nvidia0, /dev/nvidia1, ... counted. */
int farm_count_gpus(void);

#endif
