/* backend.c — the registry of backends by --device name. A build with the
 * CUDA backend (HG_CUDA: the cuda-f32 and cuda-f64 builds) registers
 * "cuda" and probes the device once, at selection, before any work. The
 * CPU comes with HG_CPU_CONV applied (cpu_conv_env). */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "fake_device.h"
#ifdef HG_CUDA
#include "cuda/cuda.h"
#endif

/* The CPU, with HG_CPU_CONV applied */
static const Backend *cpu(HgErr *err) { return cpu_conv_env(err) ? NULL : &BACKEND_CPU; }

const Backend *backend_find(const char *name, HgErr *err)
{
    if (!strcmp(name, "cpu"))
        return cpu(err);
    if (!strcmp(name, "cuda")) { /* HG_FAKE_DEVICE=strict: the CPU posing as one, said */
        const int fake = fake_device_requested(err);
        if (fake < 0)
            return NULL;
        if (fake) {
            static int said;
            if (!said++)
                fprintf(stderr, "hgbench: --device cuda: HG_FAKE_DEVICE=strict: the strict fake "
                        "device (the CPU's kernels, device memory closed to the host outside "
                        "ops); no GPU, no GPU numbers\n");
            return fake_device_strict();
        }
    }
#ifdef HG_CUDA
    if (!strcmp(name, "cuda")) {
        HgErr why = {{0}};
        if (cuda_probe(&why) == 0)
            return &BACKEND_CUDA;
        hg_fail(err, "--device cuda: %s; use --device cpu or auto", why.msg);
        return NULL;
    }
    if (!strcmp(name, "auto")) { /* the GPU when one works, else the CPU, said once */
        static int said;
        HgErr why = {{0}};
        if (cuda_probe(&why) == 0)
            return &BACKEND_CUDA;
        if (!said++)
            fprintf(stderr, "hgbench: --device auto: running on the CPU; CUDA: %s\n", why.msg);
        return cpu(err);
    }
#else
    if (!strcmp(name, "auto")) /* the best built here: this binary has only the CPU */
        return cpu(err);
    if (!strcmp(name, "cuda")) {
        hg_fail(err, "--device cuda: this binary was built without the CUDA backend (no nvcc "
                "at build time; with nvcc, make builds build/cuda-f32 and build/cuda-f64); "
                "use --device cpu or auto");
        return NULL;
    }
#endif
    hg_fail(err, "--device '%s': not a device (%s)", name, backend_names());
    return NULL;
}

const char *backend_names(void) { return "cpu|cuda|auto"; }
