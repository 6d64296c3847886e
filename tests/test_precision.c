/* test_precision.c — the float32 build against the float64 build on the same
 * inputs: loss, gradient and block HVP of every model, from identical
 * float32-representable w, x and tangents. Float64 is proven against finite
 * differences in test_gradients; this shows float32 computes the same thing
 * within float32 rounding, relu/maxpool models included (where float32
 * finite differences cannot be trusted). Built in float32 configurations
 * only; the reference comes from build/f64/tests/ref_model. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "../common/mem.h"
#include "support_models.h"
#include "test.h"

#ifdef HG_F64
/* The float64 build is the reference here: nothing to compare it with. */
int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        {"test_float32_matches_float64", NULL,
         "float64 build: test_precision holds the float32 build to this one "
         "(build/f32/tests/test_precision)"}};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
#else

#define TOL_VS_F64 1e-5 /* max-norm relative, float32 vs float64 */



/* Reads `count` doubles from the reference tool; 0 on success. */
static int read_reference(const char *model, int n, int seed, int k, double *out,
                          long count)
{
    char dir[512], cmd[1200];
    snprintf(dir, sizeof dir, "%s", test_argv0);
    /* build/<config>/tests/test_precision -> build/f64/tests/ref_model */
    char *tests_dir = dirname(dir), *config_dir = dirname(tests_dir);
    char *build_dir = dirname(config_dir);
    snprintf(cmd, sizeof cmd, "%s/f64/tests/ref_model %s %d %d %d", build_dir, model, n,
             seed, k);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    long got = 0;
    while (got < count && fscanf(f, "%la", &out[got]) == 1)
        got++;
    int rc = pclose(f);
    return got == count && rc == 0 ? 0 : -1;
}

static void test_float32_matches_float64(void)
{
    static const char *const models[] = {"logreg", "mlp-tanh", "mlp-relu", "lenet",
                                         "lenet-rgb"};
    const int n = 8, k = 3;
    for (int i = 0; i < ARRAY_LEN(models); i++) {
        const int seed = 7 + i;
        ModelCase p = model_case_make(test_model(models[i]), n, seed);
        const long P = p.m->nparams, count = 1 + P + k * P;
        double *ref = malloc(sizeof(double) * count), *got = malloc(sizeof(double) * count);
        real *g = mem_alloc(MEM_PARAMS, sizeof(real) * P);
        real *V = mem_alloc(MEM_TANGENTS, sizeof(real) * k * P);
        real *HV = mem_alloc(MEM_TANGENTS, sizeof(real) * k * P);
        for (int j = 0; j < k; j++)
            random_unit(V + j * P, P, 300 + j);
        got[0] = model_hvp_block(p.m, p.w, p.x, p.y, n, k, V, HV, g);
        for (long t = 0; t < P; t++)
            got[1 + t] = g[t];
        for (long t = 0; t < k * P; t++)
            got[1 + P + t] = HV[t];
        if (read_reference(models[i], n, seed, k, ref, count)) {
            EXPECT(0, "%s: no float64 reference (build/f64/tests/ref_model)", models[i]);
        } else {
            EXPECT_REL(got[0], ref[0], TOL_VS_F64, 0, models[i]);
            double e = max_rel_err_d(got + 1, ref + 1, P, 0);
            EXPECT(e <= TOL_VS_F64, "%s: gradient float32 vs float64 max rel err %.3g",
                   models[i], e);
            for (int j = 0; j < k; j++) {
                e = max_rel_err_d(got + 1 + P + j * P, ref + 1 + P + j * P, P, 0);
                EXPECT(e <= TOL_VS_F64, "%s: HVP %d float32 vs float64 max rel err %.3g",
                       models[i], j, e);
            }
            printf("#   %s: float32 vs float64 gradient max rel err %.2g\n", models[i],
                   max_rel_err_d(got + 1, ref + 1, P, 0));
        }
        free(ref);
        free(got);
        mem_free(g);
        mem_free(V);
        mem_free(HV);
        model_case_free(&p);
    }
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {TEST(test_float32_matches_float64)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
#endif
