/* init.c — seeded parameter initialisation in PyTorch's conventions:
 * fan_in = in * kh * kw, fan_out = out * kh * kw; xavier-normal
 * std = gain sqrt(2 / (fan_in + fan_out)) with gain 1; kaiming-normal
 * std = sqrt(2 / fan_in) (relu gain, fan_in mode); biases 0. Draws are
 * taken in layout order from one stream, in double, then rounded. */
#include <math.h>
#include <string.h>

#include "../common/rng.h"
#include "model.h"

void model_init(const Model *m, real *w, InitKind kind, double sigma, uint64_t seed)
{
    Rng rng = rng_seed(seed);
    memset(w, 0, sizeof(real) * m->nparams);
    for (int l = 0; l < m->nlayers; l++) {
        const Layer *L = &m->layers[l];
        if (L->type != LAYER_LINEAR && L->type != LAYER_CONV2D)
            continue;
        const long kk = L->type == LAYER_CONV2D ? (long)L->geom.ksize * L->geom.ksize : 1;
        const long fan_in = shape_size(L->geom.in) / (L->type == LAYER_CONV2D ?
                                                 (long)L->geom.in.h * L->geom.in.w : 1) * kk;
        const long fan_out = (long)L->geom.out.c * kk;
        const long count = (L->geom.b_off - L->geom.w_off);
        double std = sigma;
        if (kind == INIT_XAVIER)
            std = sqrt(2.0 / (double)(fan_in + fan_out));
        else if (kind == INIT_KAIMING)
            std = sqrt(2.0 / (double)fan_in);
        for (long i = 0; i < count; i++)
            w[L->geom.w_off + i] = (real)(std * rng_normal(&rng));
    }
}

int init_kind_parse(const char *name, InitKind *out)
{
    static const struct { const char *name; InitKind kind; } kinds[] = {
        {"xavier", INIT_XAVIER}, {"kaiming", INIT_KAIMING}, {"normal", INIT_NORMAL}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(name, kinds[i].name)) {
            *out = kinds[i].kind;
            return 0;
        }
    return -1;
}
