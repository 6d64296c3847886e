// cuda_dnn.cu — cuDNN loaded at run time (cuda_dnn.cuh says why).
#include <dlfcn.h>
#include <stdio.h>

#include "cuda_dnn.cuh"

static CudnnApi api;

const CudnnApi *cuda_dnn_load(char *why, size_t cap)
{
    // cuDNN 9's front library: it loads its own sub-libraries (ops, cnn)
    // from beside itself when a call first needs them
    const char *names[] = {"libcudnn.so.9", "libcudnn.so"};
    void *lib = NULL;
    char first[300] = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !lib; i++)
        if (!(lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL)) && !first[0])
            snprintf(first, sizeof first, "%s", dlerror());
    if (!lib) {
        snprintf(why, cap, "cuDNN not loaded: %s", first);
        return NULL;
    }
#define HG_CUDNN_LOAD(f)                                                       \
    if (!(api.f = (decltype(api.f))dlsym(lib, "cudnn" #f))) {                  \
        snprintf(why, cap, "cuDNN not loaded: %s has no cudnn" #f, names[0]);  \
        return NULL;                                                           \
    }
    HG_CUDNN_FUNCS(HG_CUDNN_LOAD)
#undef HG_CUDNN_LOAD
    const size_t v = api.GetVersion();
    if (v < 90000) {
        snprintf(why, cap, "cuDNN %zu loaded, but this build needs cuDNN 9 or newer", v);
        return NULL;
    }
    return &api;
}
