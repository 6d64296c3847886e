// cuda_dnn.cu — cuDNN loaded at run time (cuda_dnn.cuh says why).
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cuda_dnn.cuh"

static CudnnApi api;

const CudnnApi *cuda_dnn_load(char *why, size_t cap)
{
    // cuDNN 9's front library: it loads its own sub-libraries (ops, cnn)
    // from beside itself when a call first needs them
    const char *names[] = {"libcudnn.so.9", "libcudnn.so"};
    void *lib = NULL;
    char first[300] = "";
    const char *given = getenv("HG_CUDNN_LIB");
    if (given && *given) { // a file, or the folder that holds libcudnn.so.9
        struct stat st;
        char path[4096];
        const int dir = stat(given, &st) == 0 && S_ISDIR(st.st_mode);
        snprintf(path, sizeof path, dir ? "%s/libcudnn.so.9" : "%s", given);
        // its sub-libraries first, from its own folder: cuDNN opens them by
        // soname, which then finds these already loaded
        const char *subs[] = {"libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9",
                              "libcudnn_engines_runtime_compiled.so.9",
                              "libcudnn_heuristic.so.9", "libcudnn_ops.so.9",
                              "libcudnn_cnn.so.9", "libcudnn_adv.so.9"};
        char folder[4096];
        snprintf(folder, sizeof folder, "%s", path);
        char *slash = strrchr(folder, '/');
        if (slash) {
            *slash = 0;
            for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
                char sub[4200];
                snprintf(sub, sizeof sub, "%s/%s", folder, subs[i]);
                if (access(sub, R_OK) == 0)
                    dlopen(sub, RTLD_NOW | RTLD_GLOBAL); // a failure shows at the probe
            }
        }
        if (!(lib = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
            snprintf(why, cap, "cuDNN not loaded: HG_CUDNN_LIB=%s: %s", given, dlerror());
            return NULL;
        }
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !lib; i++)
        if (!(lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL)) && !first[0])
            snprintf(first, sizeof first, "%s", dlerror());
    if (!lib) {
        snprintf(why, cap, "cuDNN not loaded: %s (HG_CUDNN_LIB names a file or folder holding "
                 "it, such as a Python wheel's nvidia/cudnn/lib)", first);
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
