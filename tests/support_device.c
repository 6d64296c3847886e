/* support_device.c — the CPU backend posing as a device (support_device.h). */
#include "support_device.h"

#include <string.h>

#include "../common/check.h"

#define MAX_LIVE 4096

static struct {
    const char *base;
    size_t bytes;
} live[MAX_LIVE];
static int nlive;
static size_t up, down;
static Backend dev;

/* Allocations may come from OpenMP threads (kernel scratch): one at a time. */
static void *dev_alloc(MemTag tag, size_t bytes)
{
    void *p = BACKEND_CPU.mem.alloc(tag, bytes);
    if (p) {
#pragma omp critical(fake_device)
        {
            HG_CHECK(nlive < MAX_LIVE, "fake device: more than %d live allocations", MAX_LIVE);
            live[nlive].base = p;
            live[nlive++].bytes = bytes;
        }
    }
    return p;
}

static void dev_free(void *p)
{
    if (!p)
        return;
#pragma omp critical(fake_device)
    for (int i = 0; i < nlive; i++)
        if (live[i].base == p) {
            live[i] = live[--nlive];
            break;
        }
    BACKEND_CPU.mem.free(p);
}

static void dev_upload(void *dst, const void *host, size_t bytes)
{
    HG_CHECK(fake_device_owns(dst) && !fake_device_owns(host),
             "fake device: upload from device memory or to host memory");
    up += bytes;
    memcpy(dst, host, bytes);
}

static void dev_download(void *host, const void *src, size_t bytes)
{
    HG_CHECK(fake_device_owns(src) && !fake_device_owns(host),
             "fake device: download from host memory or to device memory");
    down += bytes;
    memcpy(host, src, bytes);
}

const Backend *fake_device(void)
{
    if (!dev.name) {
        dev = BACKEND_CPU;
        dev.name = "fake-device";
        dev.device_memory = 1;
        dev.mem.alloc = dev_alloc;
        dev.mem.free = dev_free;
        dev.mem.upload = dev_upload;
        dev.mem.download = dev_download;
    }
    return &dev;
}

int fake_device_owns(const void *p)
{
    const char *c = p;
    int owns = 0;
#pragma omp critical(fake_device)
    for (int i = 0; i < nlive && !owns; i++)
        owns = c >= live[i].base && c < live[i].base + live[i].bytes;
    return owns;
}

size_t fake_device_uploaded(void) { return up; }
size_t fake_device_downloaded(void) { return down; }
