/* model.c — building a model as a list of layers, and its flat parameter
 * layout (model.h). Layer-shape mistakes are collected while adding and
 * reported once by model_finish. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../backend/backend.h"
#include "../common/mem.h"
#include "model.h"
#include "net.h"

/* Measured on the 2-core dev machine (bench): LeNet conv1, 1x5x5 taps:
 * direct kernel faster than im2col + GEMM; 3x5x5 (RGB) as well. */
#define CONV_DIRECT_TAPS 75

/* Spatial layers need [C][n][H][W]; linear layers need [n][D]. */
typedef struct Builder {
    int spatial;   /* current activation is spatial */
    int started;   /* a layer has been added */
    char err[256]; /* first error, "" if none */
} Builder;

static Builder *builder_of(Model *m) { return (Builder *)(void *)m->work; }

static void build_error(Model *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void build_error(Model *m, const char *fmt, ...)
{
    Builder *b = builder_of(m);
    if (b->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, sizeof b->err, fmt, ap);
    va_end(ap);
}

static Shape current_shape(const Model *m)
{
    return m->nlayers ? m->layers[m->nlayers - 1].geom.out : m->input;
}

static Layer *push_layer(Model *m, LayerType t)
{
    if (m->nlayers == MODEL_MAX_LAYERS) {
        build_error(m, "more than %d layers", MODEL_MAX_LAYERS);
        return NULL;
    }
    Layer *L = &m->layers[m->nlayers++];
    memset(L, 0, sizeof *L);
    L->type = t;
    L->geom.in = m->nlayers > 1 ? m->layers[m->nlayers - 2].geom.out : m->input;
    L->geom.out = L->geom.in;
    L->geom.w_off = L->geom.b_off = -1;
    builder_of(m)->started = 1;
    return L;
}

static void add_param(Model *m, const char *name, int ndim, const int *shape)
{
    if (m->nparam_tensors == MODEL_MAX_PARAMS) {
        build_error(m, "too many parameter tensors");
        return;
    }
    ParamInfo *p = &m->params[m->nparam_tensors++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->count = 1;
    for (int d = 0; d < ndim; d++) {
        p->shape[d] = shape[d];
        p->count *= shape[d];
    }
    p->offset = m->nparams;
    m->nparams += p->count;
}

/* Parameter names follow PyTorch module naming: conv1, conv2, fc1, fc2, ... */
static int count_layers(const Model *m, LayerType t)
{
    int c = 0;
    for (int i = 0; i < m->nlayers; i++)
        c += m->layers[i].type == t;
    return c;
}

Model *model_new(const char *name, Shape input, int classes)
{
    Model *m = mem_alloc(MEM_PARAMS, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->input = input;
    m->classes = classes;
    m->conv_direct_taps = CONV_DIRECT_TAPS;
    m->be = &BACKEND_CPU;
    /* The builder lives in the work slot until model_finish. */
    m->work = mem_alloc(MEM_OTHER, sizeof(Builder));
    if (input.c <= 0 || input.h <= 0 || input.w <= 0)
        build_error(m, "input shape %dx%dx%d is empty", input.c, input.h, input.w);
    if (classes < 2)
        build_error(m, "%d classes (need at least 2)", classes);
    return m;
}

void model_add_conv2d(Model *m, int out_channels, int ksize, int pad)
{
    Builder *b = builder_of(m);
    if (b->started && !b->spatial) {
        build_error(m, "conv2d after a flat layer");
        return;
    }
    Shape in = current_shape(m);
    const int oh = in.h + 2 * pad - ksize + 1, ow = in.w + 2 * pad - ksize + 1;
    if (out_channels <= 0 || ksize <= 0 || pad < 0 || oh <= 0 || ow <= 0) {
        build_error(m, "conv2d %d@%dx%d pad %d does not fit input %dx%dx%d",
                    out_channels, ksize, ksize, pad, in.c, in.h, in.w);
        return;
    }
    b->spatial = 1;
    Layer *L = push_layer(m, LAYER_CONV2D);
    if (!L)
        return;
    L->geom.ksize = ksize;
    L->geom.pad = pad;
    L->geom.out = (Shape){out_channels, oh, ow};
    char name[24];
    const int idx = count_layers(m, LAYER_CONV2D);
    snprintf(name, sizeof name, "conv%d.weight", idx);
    L->geom.w_off = m->nparams;
    add_param(m, name, 4, (int[]){out_channels, in.c, ksize, ksize});
    snprintf(name, sizeof name, "conv%d.bias", idx);
    L->geom.b_off = m->nparams;
    add_param(m, name, 1, (int[]){out_channels});
}

void model_add_maxpool(Model *m)
{
    Builder *b = builder_of(m);
    Shape in = current_shape(m);
    if ((b->started && !b->spatial) || in.h < 2 || in.w < 2) {
        build_error(m, "maxpool 2x2 needs a spatial input of at least 2x2, got %dx%dx%d",
                    in.c, in.h, in.w);
        return;
    }
    b->spatial = 1;
    Layer *L = push_layer(m, LAYER_MAXPOOL);
    if (L)
        L->geom.out = (Shape){in.c, in.h / 2, in.w / 2};
}

void model_add_linear(Model *m, int out_features)
{
    Builder *b = builder_of(m);
    if (out_features <= 0) {
        build_error(m, "linear layer with %d outputs", out_features);
        return;
    }
    if (b->spatial) { /* torch.flatten before the first linear layer */
        Layer *F = push_layer(m, LAYER_FLATTEN);
        if (!F)
            return;
        F->geom.out = (Shape){(int)shape_size(F->geom.in), 1, 1};
        b->spatial = 0;
    }
    Layer *L = push_layer(m, LAYER_LINEAR);
    if (!L)
        return;
    const int in = (int)shape_size(L->geom.in);
    L->geom.out = (Shape){out_features, 1, 1};
    char name[24];
    const int idx = count_layers(m, LAYER_LINEAR);
    snprintf(name, sizeof name, "fc%d.weight", idx);
    L->geom.w_off = m->nparams;
    add_param(m, name, 2, (int[]){out_features, in});
    snprintf(name, sizeof name, "fc%d.bias", idx);
    L->geom.b_off = m->nparams;
    add_param(m, name, 1, (int[]){out_features});
}

void model_add_relu(Model *m) { push_layer(m, LAYER_RELU); }
void model_add_tanh(Model *m) { push_layer(m, LAYER_TANH); }

int model_finish(Model *m, HgErr *err)
{
    Builder *b = builder_of(m);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", b->err);
    const int spatial = b->spatial;
    mem_free(m->work);
    m->work = NULL;
    if (!msg[0] && m->nlayers == 0)
        snprintf(msg, sizeof msg, "no layers");
    if (!msg[0] && (spatial || shape_size(current_shape(m)) != m->classes))
        snprintf(msg, sizeof msg, "last layer gives %ld outputs, expected %d classes",
                 shape_size(current_shape(m)), m->classes);
    if (!msg[0] && m->nparams == 0)
        snprintf(msg, sizeof msg, "no parameters");
    if (msg[0])
        return hg_fail(err, "model %s: %s", m->name, msg);
    m->work = net_work_new(m);
    return 0;
}

void model_free(Model *m)
{
    if (!m)
        return;
    if (m->work)
        net_work_free(m, m->work);
    mem_free(m);
}

void model_set_backend(Model *m, const Backend *be)
{
    if (m->be == be)
        return;
    net_work_free(m, m->work);
    m->be = be;
    m->work = net_work_new(m);
}

const char *layer_type_name(LayerType t)
{
    static const char *const names[] = {"linear", "conv2d", "maxpool",
                                        "relu",   "tanh",   "flatten"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static double layer_flops(const Layer *L, int n)
{
    if (L->type == LAYER_LINEAR)
        return 2.0 * n * shape_size(L->geom.in) * shape_size(L->geom.out);
    if (L->type == LAYER_CONV2D)
        return 2.0 * n * shape_size(L->geom.out) * L->geom.in.c * L->geom.ksize * L->geom.ksize;
    return 0;
}

double model_forward_flops(const Model *m, int n)
{
    double f = 0;
    for (int l = 0; l < m->nlayers; l++)
        f += layer_flops(&m->layers[l], n);
    return f;
}

void model_layer_flops(const Model *m, int l, int n, double f[4])
{
    const double lf = layer_flops(&m->layers[l], n);
    int first = lf > 0;
    for (int i = 0; i < l && first; i++)
        first = layer_flops(&m->layers[i], n) == 0;
    f[0] = lf;
    f[1] = first ? lf : 2 * lf; /* weight gradient (, input gradient) */
    f[2] = first ? lf : 2 * lf; /* x V (, R{x} W) */
    f[3] = first ? lf : 4 * lf; /* R{dy} x (, dy R{x}, R{dy} W, dy V) */
}

double model_hvp_flops(const Model *m, int n, int k)
{
    double f = 0;
    for (int l = 0; l < m->nlayers; l++) {
        double p[4];
        model_layer_flops(m, l, n, p);
        /* forward, the input gradient (the backward less its weight
         * gradient, which costs a forward), then k tangents' R passes */
        f += p[0] + (p[1] - p[0]) + k * (p[2] + p[3]);
    }
    return f;
}

double model_grad_flops(const Model *m, int n)
{
    double f = 0;
    for (int l = 0; l < m->nlayers; l++) {
        double p[4];
        model_layer_flops(m, l, n, p);
        f += p[0] + p[1];
    }
    return f;
}
