/* ceiling.c — see ceiling.h. One warm-up product, then the median of the
 * timed ones. */
#include "ceiling.h"

#include <stdlib.h>

#include "../common/mem.h"
#include "../backend/cpu/blas.h"
#include "../common/timer.h"

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double gemm_ceiling_gflops(int size, int repeats)
{
    const long nn = (long)size * size;
    real *a = mem_alloc(MEM_OTHER, sizeof(real) * nn);
    real *b = mem_alloc(MEM_OTHER, sizeof(real) * nn);
    real *c = mem_alloc(MEM_OTHER, sizeof(real) * nn);
    for (long i = 0; i < nn; i++) {
        a[i] = (real)(i % 7) * (real)0.01;
        b[i] = (real)(i % 5) * (real)0.01;
    }
    double *t = malloc(sizeof(double) * repeats);
    for (int r = -1; r < repeats; r++) {
        const double t0 = now_s();
        cblas_gemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1, a,
                   size, b, size, 0, c, size);
        if (r >= 0)
            t[r] = now_s() - t0;
    }
    qsort(t, repeats, sizeof *t, cmp_double);
    const double gflops = 2.0 * nn * size / t[repeats / 2] / 1e9;
    free(t);
    mem_free(a);
    mem_free(b);
    mem_free(c);
    return gflops;
}
