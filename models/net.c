/* net.c — forward, backward and R-op passes over a model's layer list.
 *
 * Scratch is one arena per (batch, tangent-chunk) capacity, tagged
 * "activations". Tangent activations of layers at or below the first
 * parameterised layer are identically zero (the input has no tangent) and are
 * neither stored nor computed; likewise input-side deltas below it.
 */
#include <math.h>
#include <string.h>

#include "../backend/backend.h"
#include "../backend/stopwatch.h"
#include "../common/mem.h"
#include "net.h"

/* Tangents per R pass: at most TANGENT_CHUNK, and as many as keep one
 * chunk's tangent activations within TANGENT_BYTES. Batching tangents pays
 * where a tangent's activations are small (the stacked GEMMs get more
 * rows); where they are large it only spills caches: LeNet's float32 block
 * HVP at k = 16, batch 128 (12.5 MB of tangent activations each) took 49,
 * 49, 49 and 62 ms in chunks of 1, 2, 4 and 16. */
#define TANGENT_CHUNK 16
#define TANGENT_BYTES (32L << 20)

struct ModelWork {
    int n_cap, k_cap;
    int input_spatial; /* the first layer wants [C][n][H][W] */
    int first_param;   /* index of the first layer with parameters */
    double prof[NET_PASSES][MODEL_MAX_LAYERS]; /* seconds per pass and layer */
    long prof_calls[NET_PASSES];
    Stopwatch watch; /* a mark before each layer, one after the last */
    Scratch *scratch;                        /* the kernels' workspace */
    void *arena;
    size_t arena_bytes;
    const real *act[MODEL_MAX_LAYERS + 1];   /* act[0] is the input */
    real *act_buf[MODEL_MAX_LAYERS + 1];
    real *delta[MODEL_MAX_LAYERS + 1];
    int32_t *arg[MODEL_MAX_LAYERS];          /* maxpool: argmax */
    real *ract[MODEL_MAX_LAYERS + 1];        /* [k][n][...] tangents */
    real *rd[2];                             /* [k][n][max] R-deltas */
    real *prob;                              /* [n][classes] */
};

static int has_params(const Layer *L)
{
    return L->type == LAYER_LINEAR || L->type == LAYER_CONV2D;
}

ModelWork *net_work_new(const Model *m)
{
    ModelWork *wk = mem_alloc(MEM_ACTIVATIONS, sizeof *wk);
    wk->scratch = m->be->mem.scratch_new();
    stopwatch_init(&wk->watch, m->be, 0); /* the host clock until asked */
    wk->input_spatial = m->layers[0].type == LAYER_CONV2D ||
                        m->layers[0].type == LAYER_MAXPOOL;
    wk->first_param = m->nlayers;
    for (int l = m->nlayers - 1; l >= 0; l--)
        if (has_params(&m->layers[l]))
            wk->first_param = l;
    return wk;
}

void net_work_free(const Model *m, ModelWork *wk)
{
    if (!wk)
        return;
    stopwatch_free(&wk->watch);
    m->be->mem.scratch_free(wk->scratch);
    m->be->mem.free(wk->arena);
    mem_free(wk);
}

static long layer_out(const Model *m, int l);

int net_tangent_chunk(const Model *m, int n)
{
    /* one tangent's activations: every layer's from the first parameterised
     * one up, and the two R-delta buffers (net_reserve's carve) */
    long maxsize = shape_size(m->input), reals = 0;
    for (int l = 0; l < m->nlayers; l++) {
        maxsize = layer_out(m, l) > maxsize ? layer_out(m, l) : maxsize;
        if (l >= m->work->first_param)
            reals += layer_out(m, l);
    }
    const long bytes = (reals + 2 * maxsize) * (long)n * (long)sizeof(real);
    const long fit = bytes > 0 ? TANGENT_BYTES / bytes : TANGENT_CHUNK;
    return fit < 1 ? 1 : fit > TANGENT_CHUNK ? TANGENT_CHUNK : (int)fit;
}

/* The first parameterised layer has no input tangent and needs no input
 * gradient: the direct conv kernel covers all it does. */
static int is_direct(const Model *m, int l)
{
    const Layer *L = &m->layers[l];
    return L->type == LAYER_CONV2D && l == m->work->first_param && m->be->layer.conv_direct_forward &&
           (long)L->geom.in.c * L->geom.ksize * L->geom.ksize <= m->conv_direct_taps;
}

/* Layer l is a maxpool whose backward passes also do the relu below it (one
 * pass over the pool's input instead of two; the relu's own pass is then
 * skipped, and its time counts in the pool's row of the profile). */
static int pool_takes_relu(const Model *m, int l)
{
    return l >= 1 && l < m->nlayers && m->layers[l].type == LAYER_MAXPOOL &&
           m->layers[l - 1].type == LAYER_RELU && l - 1 > m->work->first_param &&
           m->be->layer.maxpool_relu_backward;
}

/* Layer l is a pool that also does the relu below it in the forward and
 * R-forward passes (backend.h: the same bytes): the relu's output is then
 * never made, and the pool reads the relu's input. */
static int pool_fuses_relu(const Model *m, int l)
{
    const Backend *be = m->be;
    return pool_takes_relu(m, l) && be->layer.maxpool_relu_forward && be->layer.maxpool_relu_gather &&
           be->layer.maxpool_relu_kink;
}

/* Layer l is a relu + pool (pool_takes_relu) right above the first layer's
 * direct conv, and the conv's weight gradient reads the pool's output delta
 * itself (conv_direct_backward_params_pooled): the pool's backward passes
 * write no delta (on LeNet, 2.4 MB a batch and a tangent less). */
static int pool_into_direct(const Model *m, int l)
{
    return pool_takes_relu(m, l) && l >= 2 && is_direct(m, l - 2) &&
           m->be->layer.conv_direct_backward_params_pooled;
}

static long layer_in(const Model *m, int l) { return shape_size(m->layers[l].geom.in); }
static long layer_out(const Model *m, int l) { return shape_size(m->layers[l].geom.out); }

/* Carves the arena for batch n and kc tangents; grows only (and then loses
 * what the passes stored: reserve before net_forward). */
void net_reserve(Model *m, int n, int kc)
{
    ModelWork *wk = m->work;
    if (wk->arena && n <= wk->n_cap && kc <= wk->k_cap)
        return;
    n = n > wk->n_cap ? n : wk->n_cap;
    kc = kc > wk->k_cap ? kc : wk->k_cap;
    const int L = m->nlayers;
    long maxsize = shape_size(m->input);
    for (int l = 0; l < L; l++) {
        if (layer_out(m, l) > maxsize)
            maxsize = layer_out(m, l);
    }
    /* Two passes: the first sizes, the second assigns. */
    for (int pass = 0; pass < 2; pass++) {
        char *base = wk->arena;
        size_t off = 0;
#define CARVE(ptr, type, count)                                         \
    do {                                                                \
        size_t bytes_ = ((size_t)(count) * sizeof(type) + 63) & ~(size_t)63; \
        if (pass)                                                       \
            ptr = (type *)(void *)(base + off);                         \
        off += bytes_;                                                  \
    } while (0)
        CARVE(wk->act_buf[0], real, (long)n * shape_size(m->input));
        for (int l = 0; l < L; l++) {
            const Layer *Ly = &m->layers[l];
            CARVE(wk->act_buf[l + 1], real, (long)n * layer_out(m, l));
            CARVE(wk->delta[l + 1], real, (long)n * layer_out(m, l));
            if (Ly->type == LAYER_MAXPOOL)
                CARVE(wk->arg[l], int32_t, (long)n * layer_out(m, l));
            if (l >= wk->first_param)
                CARVE(wk->ract[l + 1], real, (long)kc * n * layer_out(m, l));
        }
        CARVE(wk->delta[0], real, (long)n * shape_size(m->input));
        CARVE(wk->rd[0], real, (long)kc * n * maxsize);
        CARVE(wk->rd[1], real, (long)kc * n * maxsize);
        CARVE(wk->prob, real, (long)n * m->classes);
#undef CARVE
        if (!pass) {
            m->be->mem.free(wk->arena);
            wk->arena = mem_check(m->be->mem.alloc(MEM_ACTIVATIONS, off), MEM_ACTIVATIONS, off);
            wk->arena_bytes = off;
        }
    }
    for (int l = 1; l <= L; l++)
        wk->act[l] = wk->act_buf[l];
    wk->n_cap = n;
    wk->k_cap = kc;
}

double net_forward(Model *m, const real *w, const real *x, const int32_t *y, int n)
{
    net_reserve(m, n, 1);
    ModelWork *wk = m->work;
    const Backend *be = m->be;
    if (wk->input_spatial && m->input.c > 1) {
        /* [n][C][HW] -> [C][n][HW]: the inverse of flatten */
        be->layer.flatten_backward(m->input, x, n, wk->act_buf[0]);
        wk->act[0] = wk->act_buf[0];
    } else {
        wk->act[0] = x; /* one channel: the two layouts coincide */
    }
    wk->prof_calls[NET_FORWARD]++;
    for (int l = 0; l < m->nlayers; l++) {
        stopwatch_mark(&wk->watch, &wk->prof[NET_FORWARD][l]);
        const Layer *L = &m->layers[l];
        const LayerGeom *G = &L->geom; /* what the kernels take */
        const real *in = wk->act[l];
        real *out = wk->act_buf[l + 1];
        const long osz = (long)n * layer_out(m, l);
        switch (L->type) {
        case LAYER_LINEAR:
            be->layer.linear_forward(G, w, in, n, out, 0, 1);
            break;
        case LAYER_CONV2D:
            if (is_direct(m, l)) {
                be->layer.conv_direct_forward(G, w, in, n, out, wk->scratch);
                break;
            }
            be->layer.conv_forward(G, w, in, n, out, wk->scratch);
            break;
        case LAYER_MAXPOOL:
            if (pool_fuses_relu(m, l))
                be->layer.maxpool_relu_forward(G, wk->act[l - 1], n, out, wk->arg[l]);
            else
                be->layer.maxpool_forward(G, in, n, out, wk->arg[l]);
            break;
        case LAYER_RELU:
            if (!pool_fuses_relu(m, l + 1)) /* else done by the pool above */
                be->layer.relu_forward(in, osz, out);
            break;
        case LAYER_TANH:
            be->layer.tanh_forward(in, osz, out);
            break;
        case LAYER_FLATTEN:
            be->layer.flatten_forward(G->in, in, n, out);
            break;
        }
    }
    stopwatch_mark(&wk->watch, NULL);
    if (!y)
        return 0;
    return be->layer.xent_forward(wk->act[m->nlayers], y, n, m->classes, wk->prob);
}

const real *net_logits(const Model *m) { return m->work->act[m->nlayers]; }

/* model.h: per-example losses along the last R pass's tangent j */
void model_example_rdots(const Model *m, const int32_t *y, int n, int j, real *out)
{
    const ModelWork *wk = m->work;
    const long K = m->classes;
    m->be->layer.xent_rdot(wk->prob, y, wk->ract[m->nlayers] + j * n * K, n, (int)K, out);
}


/* The lowest layer whose R-backward reads its output's primal delta: a
 * linear, conv or tanh above the first parameterised layer (the first one's
 * R-terms with dy pair it with R{x} = 0; relu, pool and flatten read only
 * R-deltas). nlayers if none. Without a gradient to make, net_backward needs
 * no delta below that layer's output. */
static int lowest_dy_reader(const Model *m)
{
    for (int l = m->work->first_param + 1; l < m->nlayers; l++) {
        const LayerType t = m->layers[l].type;
        if (t == LAYER_LINEAR || t == LAYER_CONV2D || t == LAYER_TANH)
            return l;
    }
    return m->nlayers;
}

void net_backward(Model *m, const real *w, const int32_t *y, int n, real *grad)
{
    ModelWork *wk = m->work;
    const Backend *be = m->be;
    be->layer.xent_backward(wk->prob, y, n, m->classes, wk->delta[m->nlayers]);
    if (m->ex_weight) /* the weighted loss (1/n) sum c_i l_i */
        be->layer.xent_weigh_rows(wk->delta[m->nlayers], m->ex_weight, n, m->classes);
    wk->prof_calls[NET_BACKWARD]++;
    /* with a gradient every delta down to the first parameterised layer;
     * without (an HVP's primal pass), only those the R-backward reads: on
     * LeNet that skips conv2's input delta and the first pool's backward */
    const int lowest = grad ? wk->first_param : lowest_dy_reader(m);
    for (int l = m->nlayers - 1; l >= 0; l--) {
        stopwatch_mark(&wk->watch, &wk->prof[NET_BACKWARD][l]);
        const Layer *L = &m->layers[l];
        const LayerGeom *G = &L->geom; /* what the kernels take */
        const real *x = wk->act[l], *yv = wk->act[l + 1], *dy = wk->delta[l + 1];
        real *dx = wk->delta[l];
        const int need_dx = l > lowest;
        const long osz = (long)n * layer_out(m, l);
        switch (L->type) {
        case LAYER_LINEAR:
            if (grad)
                be->layer.linear_backward_params(G, x, dy, n, grad, 0, 1);
            if (need_dx)
                be->layer.linear_backward_data(G, w, dy, n, dx, 0);
            break;
        case LAYER_CONV2D:
            if (grad && is_direct(m, l) && l + 2 < m->nlayers && pool_into_direct(m, l + 2))
                be->layer.conv_direct_backward_params_pooled(G, &m->layers[l + 2].geom, wk->arg[l + 2],
                                                       wk->act[l + 1], x, wk->delta[l + 3], n,
                                                       grad, wk->scratch);
            else if (grad && is_direct(m, l))
                be->layer.conv_direct_backward_params(G, x, dy, n, grad, wk->scratch);
            else if (grad)
                be->layer.conv_backward(G, w, x, dy, n, grad, need_dx ? dx : NULL, wk->scratch);
            else if (need_dx)
                be->layer.conv_backward_data(G, w, dy, n, dx, wk->scratch);
            break;
        case LAYER_MAXPOOL:
            if (pool_takes_relu(m, l) && l - 1 > lowest && !pool_into_direct(m, l))
                be->layer.maxpool_relu_backward(G, wk->arg[l], wk->act[l - 1], dy, n, wk->delta[l - 1]);
            else if (need_dx && !pool_takes_relu(m, l))
                be->layer.maxpool_backward(G, wk->arg[l], dy, n, dx);
            break;
        case LAYER_RELU:
            if (need_dx && !pool_takes_relu(m, l + 1))
                be->layer.relu_mask(x, dy, osz, dx);
            break;
        case LAYER_TANH:
            if (need_dx)
                be->layer.tanh_scale(yv, dy, osz, dx);
            break;
        case LAYER_FLATTEN:
            if (need_dx)
                be->layer.flatten_backward(G->in, dy, n, dx);
            break;
        }
        if (!need_dx)
            break;
    }
    stopwatch_mark(&wk->watch, NULL);
}

void net_rforward(Model *m, const real *w, int n, int kc, const real *V)
{
    ModelWork *wk = m->work;
    const Backend *be = m->be;
    HG_CHECK(n <= wk->n_cap && kc <= wk->k_cap, "net_reserve(%d, %d) first", n, kc);
    const long P = m->nparams;
    wk->prof_calls[NET_RFORWARD]++;
    for (int l = wk->first_param; l < m->nlayers; l++) {
        stopwatch_mark(&wk->watch, &wk->prof[NET_RFORWARD][l]);
        const Layer *L = &m->layers[l];
        const LayerGeom *G = &L->geom; /* what the kernels take */
        const real *x = wk->act[l];
        const real *rx = l > wk->first_param ? wk->ract[l] : NULL; /* NULL: zero */
        real *ry = wk->ract[l + 1];
        const long isz = (long)n * layer_in(m, l), osz = (long)n * layer_out(m, l);
        switch (L->type) {
        case LAYER_LINEAR:
            /* R{y} = R{x} W^T + x V^T + Vb */
            be->layer.linear_rforward(G, w, V, P, kc, x, rx, n, ry);
            break;
        case LAYER_CONV2D:
            for (int j = 0; j < kc && is_direct(m, l); j++) /* rx is zero */
                be->layer.conv_direct_forward(G, V + j * P, x, n, ry + j * osz, wk->scratch);
            /* R{y} = conv(x; V) + conv(R{x}; W) + Vb */
            if (!is_direct(m, l))
                be->layer.conv_rforward(G, w, V, P, kc, x, rx, n, ry, wk->scratch);
            break;
        case LAYER_MAXPOOL:
            for (int j = 0; j < kc && pool_fuses_relu(m, l); j++)
                be->layer.maxpool_relu_gather(G, wk->arg[l], wk->act[l - 1],
                                        wk->ract[l - 1] + j * isz, n, ry + j * osz);
            for (int j = 0; j < kc && !pool_fuses_relu(m, l); j++)
                be->layer.maxpool_gather(G, wk->arg[l], rx + j * isz, n, ry + j * osz);
            break;
        case LAYER_RELU:
            for (int j = 0; j < kc && !pool_fuses_relu(m, l + 1); j++)
                be->layer.relu_mask(x, rx + j * isz, osz, ry + j * osz);
            break;
        case LAYER_TANH:
            for (int j = 0; j < kc; j++)
                be->layer.tanh_scale(wk->act[l + 1], rx + j * isz, osz, ry + j * osz);
            break;
        case LAYER_FLATTEN:
            for (int j = 0; j < kc; j++)
                be->layer.flatten_forward(G->in, rx + j * isz, n, ry + j * osz);
            break;
        }
    }
    stopwatch_mark(&wk->watch, NULL);
}

void net_rbackward(Model *m, const real *w, int n, int kc, const real *V, real *HV)
{
    ModelWork *wk = m->work;
    const Backend *be = m->be;
    const long P = m->nparams, K = m->classes;
    real *rdy = wk->rd[0], *rdx = wk->rd[1];
    for (int j = 0; j < kc; j++) {
        be->layer.xent_rop(wk->prob, wk->ract[m->nlayers] + j * n * K, n, (int)K,
                 rdy + j * n * K);
        if (m->ex_weight)
            be->layer.xent_weigh_rows(rdy + j * n * K, m->ex_weight, n, (int)K);
    }
    wk->prof_calls[NET_RBACKWARD]++;
    for (int l = m->nlayers - 1; l >= wk->first_param; l--) {
        stopwatch_mark(&wk->watch, &wk->prof[NET_RBACKWARD][l]);
        const Layer *L = &m->layers[l];
        const LayerGeom *G = &L->geom; /* what the kernels take */
        const real *x = wk->act[l], *yv = wk->act[l + 1], *dy = wk->delta[l + 1];
        const real *rx = l > wk->first_param ? wk->ract[l] : NULL;
        const real *ry = wk->ract[l + 1];
        const int need_dx = l > wk->first_param;
        const long isz = (long)n * layer_in(m, l), osz = (long)n * layer_out(m, l);
        switch (L->type) {
        case LAYER_LINEAR:
            /* R{gW} = R{dy}^T x + dy^T R{x};  R{dx} = R{dy} W + dy V */
            be->layer.linear_rbackward(G, w, V, P, kc, x, rx, dy, rdy, n, HV, need_dx ? rdx : NULL);
            break;
        case LAYER_CONV2D:
            if (is_direct(m, l) && l + 2 < m->nlayers && pool_into_direct(m, l + 2)) {
                /* rdy is still the pool's output R-delta */
                const long posz = (long)n * layer_out(m, l + 2);
                for (int j = 0; j < kc; j++)
                    be->layer.conv_direct_backward_params_pooled(G, &m->layers[l + 2].geom,
                                                           wk->arg[l + 2], wk->act[l + 1], x,
                                                           rdy + j * posz, n, HV + j * P,
                                                           wk->scratch);
                break;
            }
            for (int j = 0; j < kc && is_direct(m, l); j++) /* rx is zero */
                be->layer.conv_direct_backward_params(G, x, rdy + j * osz, n, HV + j * P, wk->scratch);
            /* R{gW} = R{dy} * x + dy * R{x};  R{dx} = conv^T(R{dy}; W) + conv^T(dy; V) */
            if (!is_direct(m, l))
                be->layer.conv_rbackward(G, w, V, P, kc, x, rx, dy, rdy, n, HV, need_dx ? rdx : NULL,
                               wk->scratch);
            break;
        case LAYER_MAXPOOL:
            if (pool_into_direct(m, l))
                continue; /* the conv below reads rdy itself: no swap */
            for (int j = 0; j < kc && pool_takes_relu(m, l); j++)
                be->layer.maxpool_relu_backward(G, wk->arg[l], wk->act[l - 1], rdy + j * osz, n,
                                          rdx + j * isz);
            for (int j = 0; j < kc && need_dx && !pool_takes_relu(m, l); j++)
                be->layer.maxpool_backward(G, wk->arg[l], rdy + j * osz, n, rdx + j * isz);
            break;
        case LAYER_RELU:
            if (pool_takes_relu(m, l + 1))
                continue; /* done by the pool above: rdy already holds R{dx} */
            for (int j = 0; j < kc && need_dx; j++)
                be->layer.relu_mask(x, rdy + j * osz, osz, rdx + j * isz);
            break;
        case LAYER_TANH:
            /* R{dx} = R{dy} (1 - y^2) - 2 dy y R{y} */
            for (int j = 0; j < kc && need_dx; j++) {
                be->layer.tanh_scale(yv, rdy + j * osz, osz, rdx + j * isz);
                be->layer.tanh_rop_correction(yv, dy, ry + j * osz, osz, rdx + j * isz);
            }
            break;
        case LAYER_FLATTEN:
            for (int j = 0; j < kc && need_dx; j++)
                be->layer.flatten_backward(G->in, rdy + j * osz, n, rdx + j * isz);
            break;
        }
        real *t = rdy;
        rdy = rdx;
        rdx = t;
    }
    stopwatch_mark(&wk->watch, NULL);
}

void model_profile(const Model *m, double prof[PASS_COUNT][MODEL_MAX_LAYERS],
                   long calls[PASS_COUNT])
{
    stopwatch_flush(&m->work->watch); /* a device's segments land in prof */
    memcpy(prof, m->work->prof, sizeof m->work->prof);
    memcpy(calls, m->work->prof_calls, sizeof m->work->prof_calls);
}

void model_profile_reset(Model *m)
{
    stopwatch_flush(&m->work->watch); /* nothing pending adds to the zeros */
    memset(m->work->prof, 0, sizeof m->work->prof);
    memset(m->work->prof_calls, 0, sizeof m->work->prof_calls);
}

int model_profile_on_device(Model *m, int on)
{
    ModelWork *wk = m->work;
    stopwatch_free(&wk->watch); /* pending segments land in prof first */
    return stopwatch_init(&wk->watch, m->be, on);
}

double net_kink_clearance(const Model *m, int n)
{
    const ModelWork *wk = m->work;
    double best = INFINITY;
    for (int l = wk->first_param + 1; l < m->nlayers; l++) {
        const Layer *L = &m->layers[l];
        const LayerGeom *G = &L->geom; /* what the kernels take */
        if (L->type == LAYER_RELU)
            best = fmin(best, m->be->layer.relu_kink(wk->act[l], wk->ract[l], (long)n * layer_in(m, l)));
        else if (L->type == LAYER_MAXPOOL && pool_fuses_relu(m, l))
            best = fmin(best, m->be->layer.maxpool_relu_kink(G, wk->arg[l], wk->act[l - 1],
                                                       wk->ract[l - 1], n));
        else if (L->type == LAYER_MAXPOOL)
            best = fmin(best, m->be->layer.maxpool_kink(G, wk->arg[l], wk->act[l], wk->ract[l], n));
    }
    return best;
}
