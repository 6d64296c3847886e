/* zoo.c — the named models: logreg, mlp, lenet, and parsing of a model
 * spec string ("mlp:256,128:relu"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static Model *finish_or_free(Model *m, HgErr *err)
{
    if (model_finish(m, err) == 0)
        return m;
    model_free(m);
    return NULL;
}

Model *model_logreg(Shape input, int classes, HgErr *err)
{
    Model *m = model_new("logreg", input, classes);
    model_add_linear(m, classes);
    return finish_or_free(m, err);
}

Model *model_mlp(Shape input, const int *hidden, int nhidden, LayerType activation,
                 int classes, HgErr *err)
{
    Model *m = model_new("mlp", input, classes);
    for (int i = 0; i < nhidden; i++) {
        model_add_linear(m, hidden[i]);
        if (activation == LAYER_TANH)
            model_add_tanh(m);
        else
            model_add_relu(m);
    }
    model_add_linear(m, classes);
    return finish_or_free(m, err);
}

Model *model_lenet(Shape input, int classes, HgErr *err)
{
    /* 28x28 inputs are padded to 32x32 by the first conv, as LeCun's
     * LeNet-5 on MNIST; 32x32 inputs take it unpadded. */
    if (!((input.h == 28 && input.w == 28) || (input.h == 32 && input.w == 32))) {
        hg_fail(err, "model lenet: needs 28x28 or 32x32 inputs, got %dx%dx%d",
                input.c, input.h, input.w);
        return NULL;
    }
    Model *m = model_new("lenet", input, classes);
    model_add_conv2d(m, 6, 5, input.h == 28 ? 2 : 0);
    model_add_relu(m);
    model_add_maxpool(m);
    model_add_conv2d(m, 16, 5, 0);
    model_add_relu(m);
    model_add_maxpool(m);
    model_add_linear(m, 120);
    model_add_relu(m);
    model_add_linear(m, 84);
    model_add_relu(m);
    model_add_linear(m, classes);
    return finish_or_free(m, err);
}

/* "mlp[:H1,H2,...][:tanh|relu]"; default 256 hidden units, tanh. */
static Model *mlp_from_spec(const char *spec, Shape input, int classes, HgErr *err)
{
    int hidden[16], nh = 0;
    LayerType act = LAYER_TANH;
    const char *p = spec + 3;
    if (*p == ':')
        p++;
    if (*p >= '0' && *p <= '9') {
        for (;;) {
            char *end;
            long h = strtol(p, &end, 10);
            if (end == p || h <= 0 || h > 1 << 20 || nh == 16) {
                hg_fail(err, "model '%s': bad hidden layer list (want e.g. mlp:256,128:tanh)",
                        spec);
                return NULL;
            }
            hidden[nh++] = (int)h;
            p = end;
            if (*p != ',')
                break;
            p++;
        }
        if (*p == ':')
            p++;
    } else {
        hidden[nh++] = 256;
    }
    if (!strcmp(p, "relu"))
        act = LAYER_RELU;
    else if (*p && strcmp(p, "tanh")) {
        hg_fail(err, "model '%s': activation '%s' is not tanh or relu", spec, p);
        return NULL;
    }
    return model_mlp(input, hidden, nh, act, classes, err);
}

Model *model_by_name(const char *spec, Shape input, int classes, HgErr *err)
{
    if (!strcmp(spec, "logreg"))
        return model_logreg(input, classes, err);
    if (!strcmp(spec, "lenet"))
        return model_lenet(input, classes, err);
    if (!strncmp(spec, "mlp", 3) && (spec[3] == 0 || spec[3] == ':'))
        return mlp_from_spec(spec, input, classes, err);
    hg_fail(err, "unknown model '%s' (valid: logreg, mlp[:H1,H2,...][:tanh|relu], lenet)",
            spec);
    return NULL;
}
