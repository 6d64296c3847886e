/* fake_device.h — the strict fake device: the CPU backend posing as a GPU
 * whose memory the host cannot touch. For tests and the CPU rehearsal of
 * scripts/gpu-check.sh; never a GPU, and it says so.
 *
 * Every allocation is its own mapping, PROT_NONE while no backend op runs.
 * Each op of the table (all of BACKEND_CPU's kernels, wrapped) opens the
 * mappings it touches on first access (a SIGSEGV caught and answered) and
 * closes them again when it returns; upload and download check their
 * direction and copy. A host access to device memory outside an op (what
 * segfaults or reads garbage on a real GPU) stops the program with
 * "fake device: the host touched device memory" and a backtrace (exit by
 * SIGABRT). Kernels run on the CPU, so bytes equal the CPU backend's.
 *
 * Selected by HG_FAKE_DEVICE=strict in the environment: then `--device
 * cuda` (backend_find) gives this device in every build, named
 * "fake-device" in every output, with a line on stderr. Tests call
 * fake_device_strict() directly.
 *
 * device_peak is the most bytes it held at once.
 *
 * Page faults from several OpenMP threads are slow where libgomp's idle
 * threads spin (its default) on a loaded machine: run it under
 * OMP_WAIT_POLICY=passive (the tests and the CPU rehearsal do).
 *
 * Leaves out: a device's asynchrony, its timers (timer_* are NULL: host
 * time), several conv paths, mem_available (NULL: the host's is checked). */
#ifndef HG_FAKE_DEVICE_H
#define HG_FAKE_DEVICE_H

#include <stddef.h>

#include "backend.h"

const Backend *fake_device_strict(void);
/* 1: p lies inside a live allocation of the fake device. */
int fake_device_owns(const void *p);
/* Bytes copied host -> device (upload) and device -> host (download) so far. */
size_t fake_device_uploaded(void);
size_t fake_device_downloaded(void);
/* HG_FAKE_DEVICE: 1 when it is "strict", 0 when unset or empty, -1 with
 * err naming the variable for any other value. */
int fake_device_requested(HgErr *err);

#endif
