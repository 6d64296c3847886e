/* support_device.h — the CPU backend posing as a device (device_memory = 1),
 * so that the code which stages host copies for a GPU runs on the CPU: the
 * same kernels and bytes, with its live allocations tracked (a test can tell
 * its pointers from host ones) and the bytes moved by upload and download
 * counted. */
#ifndef HG_SUPPORT_DEVICE_H
#define HG_SUPPORT_DEVICE_H

#include <stddef.h>

#include "../backend/backend.h"

const Backend *fake_device(void);
/* 1: p lies inside a live allocation of fake_device()'s alloc. */
int fake_device_owns(const void *p);
/* Bytes copied host -> device (upload) and device -> host (download) so far. */
size_t fake_device_uploaded(void);
size_t fake_device_downloaded(void);

#endif
