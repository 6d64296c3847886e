/* gpu_info.c — hgbench-gpu-info (CUDA builds only): the gpu bench section's
 * device record and measured ceilings. Probes device 0 as every hgbench
 * program does (a refusal names the CUDA error: exit 2), then prints
 * '# key: value' lines: the device (name, compute capability, SMs, memory,
 * driver, runtime, cuBLAS and cuDNN versions), its clocks, and the float32
 * and float64 GEMM TFLOP/s and device-to-device copy GB/s measured through
 * the backend's cuBLAS handle (no TF32). scripts/bench-gpu.sh reads them. */
#include <stdio.h>
#include <stdlib.h>

#include "../backend/cuda/cuda.h"
#include "../common/flags.h"

typedef struct Options {
    int gemm_n, repeats, copy_mib, help;
} Options;

static FlagTable gpu_flags(Options *o)
{
    FlagTable t = {{
        {"--gemm-n", "N", "8192", "size of the square GEMMs timed", FLAG_INT,
         .target = &o->gemm_n, .lo = 256, .hi = 32768},
        {"--repeats", "R", "9", "timed repetitions of each, after one untimed call", FLAG_INT,
         .target = &o->repeats, .lo = 1, .hi = 64},
        {"--copy-mib", "M", "1024", "MiB copied device to device per timed copy", FLAG_INT,
         .target = &o->copy_mib, .lo = 1, .hi = 65536},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &o->help},
        {NULL, NULL, NULL, NULL, 0, .target = NULL},
    }};
    return t;
}

int main(int argc, char **argv)
{
    Options o = {8192, 9, 1024, 0};
    const FlagTable t = gpu_flags(&o);
    HgErr err = {{0}};
    if (flags_parse(t.f, argc, argv, &err)) {
        fprintf(stderr, "hgbench-gpu-info: %s\n", err.msg);
        return 2;
    }
    if (o.help) {
        puts("usage: hgbench-gpu-info [flags]\n"
             "The device record and measured ceilings (GEMM TFLOP/s in float32 and float64,\n"
             "device-to-device copy GB/s) of CUDA device 0, as '# key: value' lines.\n");
        flags_usage(stdout, t.f);
        return 0;
    }
    if (cuda_probe(&err)) {
        fprintf(stderr, "hgbench-gpu-info: --device cuda: %s\n", err.msg);
        return 2;
    }
    int sm = 0, mem = 0, bus = 0;
    cuda_clocks(&sm, &mem, &bus);
    printf("# gpu: %s\n", cuda_describe());
    printf("# clocks: SM %d MHz, memory %d MHz, memory bus %d bits\n", sm, mem, bus);
    fflush(stdout);
    double s = 0, d = 0, c = 0;
    cuda_ceilings(o.gemm_n, o.repeats, (size_t)o.copy_mib << 20, &s, &d, &c);
    printf("# sgemm: %.2f TFLOP/s (%d^3 float32 GEMM, cuBLAS pedantic math: no TF32; median of %d)\n",
           s, o.gemm_n, o.repeats);
    printf("# dgemm: %.2f TFLOP/s (%d^3 float64 GEMM; median of %d)\n", d, o.gemm_n, o.repeats);
    printf("# copy: %.1f GB/s (device to device, %d MiB, bytes read + written; median of %d)\n",
           c, o.copy_mib, o.repeats);
    return 0;
}
