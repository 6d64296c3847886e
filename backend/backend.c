/* backend.c — the registry of backends by --device name. */
#include <string.h>

#include "backend.h"

const Backend *backend_find(const char *name, HgErr *err)
{
    if (!strcmp(name, "cpu") || !strcmp(name, "auto")) /* auto: the best built here */
        return &BACKEND_CPU;
    if (!strcmp(name, "cuda")) {
        hg_fail(err, "--device cuda: the CUDA backend is not built yet (issue 9); use "
                "--device cpu or auto");
        return NULL;
    }
    hg_fail(err, "--device '%s': not a device (%s)", name, backend_names());
    return NULL;
}

const char *backend_names(void) { return "cpu|cuda|auto"; }
