/* model.h — feed-forward classifiers with loss, gradient and an *exact*
 * Hessian-vector product (Pearlmutter's R-operator), for one tangent or a
 * block of k tangents at once.
 *
 * Convention. A model maps an input x (one example: [C][H][W], or [D]) to
 * logits z [classes]; the loss of a batch of n examples is the mean softmax
 * cross-entropy  L(w) = (1/n) sum_i ( logsumexp(z_i) - z_i[y_i] ).
 * All parameters live in one flat vector w of model->nparams reals; the
 * layout is the table model->params (name, PyTorch shape, offset), in layer
 * order, weight before bias:
 *   conv2d weight [out][in][kh][kw], bias [out]   (cross-correlation, stride 1,
 *                                                  zero padding p)
 *   linear weight [out][in], bias [out]           (y = x W^T + b)
 * Flattening before the first linear layer is in C order of [C][H][W], as
 * torch.flatten. Batches x are [n][C][H][W] row-major, labels int32 [n].
 *
 * Every op takes (model, w, x, y, n, ...) and writes into buffers the caller
 * owns. A Model keeps scratch (activations) sized for the largest batch seen;
 * it is not safe to use one Model from two threads at once.
 */
#ifndef HG_MODEL_H
#define HG_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "../common/check.h"
#include "../common/real.h"
#include "../backend/layer_geom.h"

typedef enum LayerType {
    LAYER_LINEAR,
    LAYER_CONV2D,
    LAYER_MAXPOOL,  /* 2x2, stride 2 */
    LAYER_RELU,
    LAYER_TANH,
    LAYER_FLATTEN,  /* [C][H][W] -> [C*H*W], C order */
} LayerType;

/* A layer: its kind, and the geometry the backend's kernels take
 * (backend/layer_geom.h: shapes, conv size and padding, parameter offsets). */
typedef struct Layer {
    LayerType type;
    LayerGeom geom;
} Layer;

#define MODEL_MAX_LAYERS 32
#define MODEL_MAX_PARAMS (2 * MODEL_MAX_LAYERS)

typedef struct ParamInfo {
    char name[24];     /* "conv1.weight", "fc3.bias", ... */
    int ndim, shape[4];
    long offset, count;
} ParamInfo;

typedef enum InitKind { INIT_XAVIER, INIT_KAIMING, INIT_NORMAL } InitKind;

typedef struct ModelWork ModelWork; /* scratch: activations, tangents */
typedef struct Backend Backend;     /* backend/backend.h: the device it runs on */

typedef struct Model {
    char name[32];
    Shape input;
    int classes;
    int nlayers;
    Layer layers[MODEL_MAX_LAYERS];
    int nparam_tensors;
    ParamInfo params[MODEL_MAX_PARAMS];
    long nparams;
    /* The first parameterised layer, if a conv with at most this many taps
     * (in_channels * k * k), runs the direct kernel instead of im2col + GEMM
     * (conv2d_direct.c). 0 disables; set before the first evaluation. */
    int conv_direct_taps;
    const Backend *be;   /* every pass runs on it (model_new: the CPU) */
    /* [n] per-example loss weights of the batch the next passes take
     * (model_set_example_weights), or NULL: the plain mean */
    const real *ex_weight;
    ModelWork *work;
} Model;

/* --- building ------------------------------------------------------------
 * model_new, then layers in order, then model_finish. Errors (a layer that
 * does not fit its input, too many layers) are reported through err and make
 * model_finish fail; the Model must still be freed. */
Model *model_new(const char *name, Shape input, int classes);
void model_add_conv2d(Model *m, int out_channels, int ksize, int pad);
void model_add_linear(Model *m, int out_features);
void model_add_maxpool(Model *m);
void model_add_relu(Model *m);
void model_add_tanh(Model *m);
int model_finish(Model *m, HgErr *err); /* checks; last output = classes */
void model_free(Model *m);
/* Moves a finished model's passes to another backend (its scratch is
 * rebuilt there); weights and data handed to it must then be that
 * backend's memory. */
void model_set_backend(Model *m, const Backend *be);

/* The named models. */
Model *model_logreg(Shape input, int classes, HgErr *err);
/* hidden: sizes of the hidden layers; activation LAYER_RELU or LAYER_TANH. */
Model *model_mlp(Shape input, const int *hidden, int nhidden, LayerType activation,
                 int classes, HgErr *err);
/* LeNet-5: conv 6@5x5 -> relu -> pool -> conv 16@5x5 -> relu -> pool ->
 * fc 120 -> relu -> fc 84 -> relu -> fc 10. 1x28x28 inputs get padding 2 on
 * the first conv (61,706 parameters), 3x32x32 none (62,006 parameters). */
Model *model_lenet(Shape input, int classes, HgErr *err);
/* "logreg", "mlp" (784-256-10 tanh by default; spec "mlp:256,128:relu"),
 * "lenet". */
Model *model_by_name(const char *spec, Shape input, int classes, HgErr *err);

/* Seeded initialisation of all of w: weights by kind (xavier-normal with
 * gain 1 = default, kaiming-normal (fan_in, gain sqrt 2), or normal(sigma)),
 * biases 0. The same seed gives the same bytes. */
void model_init(const Model *m, real *w, InitKind kind, double sigma, uint64_t seed);
int init_kind_parse(const char *name, InitKind *out); /* 0 ok, -1 unknown */

/* --- evaluation ---------------------------------------------------------- */
/* Mean loss of a batch. */
double model_loss(Model *m, const real *w, const real *x, const int32_t *y, int n);
/* Mean loss and its gradient grad [nparams]. */
double model_loss_grad(Model *m, const real *w, const real *x, const int32_t *y,
                       int n, real *grad);
/* hv = H v, H the Hessian of the mean loss of the batch at w. */
void model_hvp(Model *m, const real *w, const real *x, const int32_t *y, int n,
               const real *v, real *hv);
/* HV[j] = H V[j] for k tangents V [k][nparams], HV [k][nparams], all in one
 * pass of the forward activations and R-op passes of tangent blocks. If grad
 * is not NULL the gradient of the same batch is written too (it falls out of
 * the same passes). Returns the mean loss. */
double model_hvp_block(Model *m, const real *w, const real *x, const int32_t *y,
                       int n, int k, const real *V, real *HV, real *grad);
/* The same products without a [k][nparams] output: the R passes run over
 * chunks of at most `chunk` tangents (clipped to the model's own block size:
 * 16, fewer where a tangent's activations are large), each chunk's products are written to HV ([chunk][nparams], the
 * caller's) and handed to each(ctx, j0, kc, HV) before the next chunk
 * overwrites them. grad (if not NULL) is complete before the first call; the
 * forward and backward passes run once. Lets a caller fold H V into its own
 * state with one chunk of scratch (and tangent activations for one chunk). */
double model_hvp_block_each(Model *m, const real *w, const real *x, const int32_t *y, int n,
                            int k, int chunk, const real *V, real *HV, real *grad,
                            void (*each)(void *ctx, int j0, int kc, const real *HV), void *ctx);
/* Per-example loss weights c [n] (the backend's memory, the caller's) for
 * the passes that follow, on batches of exactly n examples: the loss's
 * gradient and HVP become those of (1/n) sum_i c_i l_i(w) (the loss value
 * returned stays the plain mean). NULL: the plain mean again. Returns -1
 * (nothing set) if the backend lacks the ops (xent_weigh_rows). */
int model_set_example_weights(Model *m, const real *c);
/* After an HVP pass (model_hvp, model_hvp_block with k = 1, ...) on a batch
 * with labels y of n examples: out[i] = grad l_i(w) . v, example i's loss
 * along the pass's tangent (the last R pass's tangent j), from the R-forward
 * pass's logits: no pass per example. out [n] is the backend's memory. */
void model_example_rdots(const Model *m, const int32_t *y, int n, int j, real *out);

/* Over a whole set, in chunks: mean loss and fraction correct (argmax, ties to
 * the lowest class). Either output may be NULL. */
void model_evaluate(Model *m, const real *w, const real *x, const int32_t *y,
                    int n, double *loss, double *accuracy);
double model_accuracy(Model *m, const real *w, const real *x, const int32_t *y, int n);
/* The gradient of the mean loss over a whole set (a validation set, say),
 * in chunks that bound the scratch: grad [nparams]; mean loss and accuracy
 * too where not NULL. Chunks are summed in order, weighted by their size. */
void model_set_grad(Model *m, const real *w, const real *x, const int32_t *y, int n,
                    real *grad, double *loss, double *accuracy);

/* --- diagnostics --------------------------------------------------------- */
/* The loss is piecewise smooth (relu, maxpool). Returns the smallest step
 * h_max such that w + s u crosses no kink for |s| < h_max, to first order:
 * min over relu inputs of |z| / |dz/ds| and over pool windows of the gap
 * between the max and each other entry over the rate at which it closes.
 * +inf for a smooth model. Finite-difference tests use it to pick a step
 * that stays on one smooth piece. */
double model_kink_clearance(Model *m, const real *w, const real *x, int n,
                            const real *u);

/* Number of multiply-adds x2 of one forward pass for a batch of n (napkin
 * math for the bench). */
double model_forward_flops(const Model *m, int n);
/* The same count for loss + gradient: forward, weight gradients, and input
 * gradients of every parameterised layer but the first (which needs none).
 * Elementwise work is not counted: a floor, not an estimate. */
double model_grad_flops(const Model *m, int n);
/* The same count for model_hvp_block with k tangents and no gradient:
 * forward, input gradients, then per tangent an R-forward and an R-backward
 * (two products per parameterised layer in each, one for the first layer's
 * R-forward and weight R-gradient, none for its input). */
double model_hvp_flops(const Model *m, int n, int k);
/* The same counts for layer l alone, per pass, as the profile splits them:
 * f[0] forward, f[1] backward of loss + gradient, f[2] R-forward and f[3]
 * R-backward of one tangent (model_grad_flops and model_hvp_flops are sums
 * of these); all 0 for a layer without parameters. */
void model_layer_flops(const Model *m, int l, int n, double f[4]);

const char *layer_type_name(LayerType t);

/* --- profile -------------------------------------------------------------
 * Every pass times each layer: a mark before each layer and one after the
 * last (backend/stopwatch.h), one clock read each, noise against any
 * layer's work. On the host clock by default; on a device that clock times
 * the launches, not the work, so model_profile_on_device moves the marks to
 * the device's stream (CUDA events) while a profile is taken, and a run
 * that does not ask records no event. */
typedef enum ModelPass {
    PASS_FORWARD,   /* loss, gradient and HVP all run it */
    PASS_BACKWARD,  /* gradient (weight and input deltas), HVP (input deltas) */
    PASS_RFORWARD,  /* HVP: tangents of the activations, per tangent chunk */
    PASS_RBACKWARD, /* HVP: tangents of the deltas and of the gradient */
    PASS_COUNT
} ModelPass;
/* Seconds per pass and layer summed since the last reset, and passes run. */
void model_profile(const Model *m, double sec[PASS_COUNT][MODEL_MAX_LAYERS],
                   long calls[PASS_COUNT]);
void model_profile_reset(Model *m);
/* on 1: the profile from now on is device time, where the backend has
 * timer ops (backend.h); on 0: the host clock again. Returns 1 if it is
 * device time. model_set_backend returns it to the host clock. */
int model_profile_on_device(Model *m, int on);

#endif
