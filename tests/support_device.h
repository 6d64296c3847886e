/* support_device.h — the CPU backend posing as a device (device_memory = 1),
 * so that the code which stages host copies for a GPU runs on the CPU: the
 * same kernels and bytes, its memory closed to the host outside backend ops
 * (the strict fake device, backend/fake_device.h), its live allocations
 * known (a test can tell its pointers from host ones) and the bytes moved
 * by upload and download counted. */
#ifndef HG_SUPPORT_DEVICE_H
#define HG_SUPPORT_DEVICE_H

#include <stdlib.h>
#include <unistd.h>

#include "../backend/fake_device.h"

static inline const Backend *fake_device(void) { return fake_device_strict(); }

/* Runs this test binary again with OMP_WAIT_POLICY=passive unless it is
 * set: the fake device's page faults stop one thread in the kernel while
 * libgomp's other threads spin, which on a loaded machine made LeNet's ops
 * 20x slower. Call first in main (argv as main got it). */
static inline void fake_device_passive_omp(char **argv)
{
    if (getenv("OMP_WAIT_POLICY"))
        return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv); /* returns only on failure: go on as we are */
}

#endif
