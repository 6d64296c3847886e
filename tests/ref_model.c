/* ref_model.c — float64 reference values for the float32 build's tests
 * (test_precision). Usage: ref_model MODEL N SEED K
 * Builds the same seeded problem as support_models.c, rounds its inputs
 * (w, x, tangents) to float32 so both builds start from identical values,
 * and prints loss, gradient [P] and K Hessian-vector products [K][P], one
 * number a line in C99 hex-float form (exact). Built in float64 only. */
#include <stdio.h>
#include <stdlib.h>

#include "../common/mem.h"
#include "support_models.h"

#ifndef HG_F64
#error "ref_model is the float64 reference"
#endif

static void round_to_float(real *v, long count)
{
    for (long i = 0; i < count; i++)
        v[i] = (float)v[i];
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL N SEED K\n", argv[0]);
        return 2;
    }
    const int n = atoi(argv[2]), k = atoi(argv[4]);
    ModelCase p = model_case_make(test_model(argv[1]), n, strtoull(argv[3], NULL, 10));
    const long P = p.m->nparams;
    round_to_float(p.w, P);
    round_to_float(p.x, (long)n * shape_size(p.m->input));
    real *g = mem_alloc(MEM_PARAMS, sizeof(real) * P);
    real *V = mem_alloc(MEM_TANGENTS, sizeof(real) * k * P);
    real *HV = mem_alloc(MEM_TANGENTS, sizeof(real) * k * P);
    for (int j = 0; j < k; j++) {
        random_unit(V + j * P, P, 300 + j);
        round_to_float(V + j * P, P);
    }
    double loss = model_hvp_block(p.m, p.w, p.x, p.y, n, k, V, HV, g);
    printf("%a\n", loss);
    for (long i = 0; i < P; i++)
        printf("%a\n", g[i]);
    for (long i = 0; i < k * P; i++)
        printf("%a\n", HV[i]);
    mem_free(g);
    mem_free(V);
    mem_free(HV);
    model_case_free(&p);
    return 0;
}
