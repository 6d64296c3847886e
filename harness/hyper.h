/* hyper.h — hyperparameters of one inner run: their per-step values (a
 * schedule) and which of them are learned, shared over windows (a layout).
 *
 * Step t = 0 .. T-1 uses learning rate a_t, momentum m_t, weight decay l_t
 * (PyTorch's SGD convention, DESIGN.md) and an optional gradient clamp.
 * A kind learned with K values uses value k(t) = floor(t K / T) at step t
 * (K = T: one value per step; K = 1: one constant). theta is the
 * concatenation of the learned kinds' values in the order lr, mom, wd;
 * N = its length. A window's hypergradient is the exact derivative with
 * respect to its shared value: the sum of the per-step hypergradients of its
 * steps.
 *
 * A kind may also be learned per layer (K windows x L layers) or, weight
 * decay only, per weight (K windows x P): the value of entry i of w at step
 * t is then that of i's layer, or of i itself, in window k(t).
 */
#ifndef HG_HYPER_H
#define HG_HYPER_H

#include "../common/check.h"

typedef enum HyperKind { HYPER_LR, HYPER_MOM, HYPER_WD, HYPER_KINDS } HyperKind;

const char *hyper_kind_name(HyperKind k); /* "lr", "mom", "wd" */

/* How many values a kind has per window: one for every parameter (the
 * optimiser setting as today), one per layer (a parameterised layer's
 * weight and bias, a contiguous block of w), or one per weight (N = K P). */
typedef enum HyperPer { HYPER_PER_RUN, HYPER_PER_LAYER, HYPER_PER_WEIGHT, HYPER_PERS } HyperPer;

const char *hyper_per_name(HyperPer p); /* "run", "layer", "weight" */

#define HYPER_MAX_BLOCKS 32

/* The layers of a model as blocks of w: block b is [start[b], start[b + 1]),
 * start[L] = P. Per-layer values apply to a block's entries alike. */
typedef struct HyperBlocks {
    int L;
    long start[HYPER_MAX_BLOCKS + 1];
    char name[HYPER_MAX_BLOCKS][24]; /* "fc1", "conv2", ... */
} HyperBlocks;

typedef struct HyperLayout {
    int T;
    int K[HYPER_KINDS];      /* learned windows of each kind; 0: not learned */
    int offset[HYPER_KINDS]; /* where a learned kind's values start in theta */
    int N;                   /* length of theta */
    HyperPer per[HYPER_KINDS];
    long width[HYPER_KINDS]; /* values per window: 1, L or P */
    HyperBlocks blocks;      /* the model's layers (L = 0: not given) */
    /* Per-example loss weights c_i = sigmoid(gamma_i) on training examples
     * 0 .. E-1 (hyper_layout_examples): gamma at theta[ex_offset + i],
     * after every other kind; the loss of a batch B_t is then
     * (1/|B_t|) sum_{i in B_t} c_i l_i(w), c_i = 1 for i >= E. */
    int E, ex_offset;
} HyperLayout;

/* 0 <= K[k] <= T for each kind, T >= 1; refused with a message otherwise.
 * Every kind is per run. */
int hyper_layout_init(HyperLayout *h, int T, const int K[HYPER_KINDS], HgErr *err);
/* The same with per[k] values per window of kind k (NULL: all per run) over
 * the blocks b (needed when a kind is per layer or per weight; NULL
 * otherwise). Window j of kind k holds theta[offset + j width + i], i the
 * layer or the weight: window-major, then layers or weights in w's order.
 * Momentum and learning rate per weight are refused. */
int hyper_layout_init_per(HyperLayout *h, int T, const int K[HYPER_KINDS],
                          const HyperPer per[HYPER_KINDS], const HyperBlocks *b, HgErr *err);
/* Appends E per-example loss weights (their gamma) to theta: N += E. */
int hyper_layout_examples(HyperLayout *h, int E, HgErr *err);
/* 1 if some learned kind is per layer or per weight, or examples are
 * weighted: the engines then run their per-parameter path
 * (engines/kinds.h); 0 keeps today's arithmetic. */
int hyper_layout_vector(const HyperLayout *h);
/* The theta index of kind k's value at step t for layer or weight i (per
 * run: i = 0); -1 if k is not learned. */
static inline long hyper_column_at(const HyperLayout *h, HyperKind k, int t, long i)
{
    return h->K[k] ? h->offset[k] + (long)((long)t * h->K[k] / h->T) * h->width[k] + i : -1;
}
struct Model;
/* The blocks of a model's parameterised layers (tensors "fc1.weight" and
 * "fc1.bias" form block "fc1"); -1 beyond HYPER_MAX_BLOCKS. */
int hyper_blocks_of_model(const struct Model *m, HyperBlocks *b, HgErr *err);
/* N of T steps, K windows and per for a model of P parameters in L layers
 * (before any layout is made: the forward engine's estimate). */
long hyper_count(const int K[HYPER_KINDS], const HyperPer per[HYPER_KINDS], int L, long P);

/* The column of theta that step t of kind k uses (per layer or weight: its
 * window's first), or -1 if k is not learned. */
static inline int hyper_column(const HyperLayout *h, HyperKind k, int t)
{
    return h->K[k] ? h->offset[k] + (int)((long)t * h->K[k] / h->T) * (int)h->width[k] : -1;
}

/* The first step of window j of kind k (window j covers
 * [hyper_window_start(j), hyper_window_start(j + 1))). */
static inline int hyper_window_start(const HyperLayout *h, HyperKind k, int j)
{
    /* smallest t with floor(t K / T) >= j */
    return (int)(((long)j * h->T + h->K[k] - 1) / h->K[k]);
}

typedef enum ScheduleShape { SCHEDULE_CONSTANT, SCHEDULE_COSINE, SCHEDULE_STEP } ScheduleShape;

int schedule_shape_parse(const char *name, ScheduleShape *out); /* 0 ok, -1 unknown */

typedef struct Schedule {
    int T;
    double *v[HYPER_KINDS]; /* [T] per-step lr, mom, wd */
    double *vec[HYPER_KINDS]; /* kinds per layer or weight: [K][width] their
                               * values (hyper_unpack sets them); else NULL,
                               * and v[k] is every parameter's value */
    double *gamma;            /* [E] per-example weights' gamma (hyper_unpack);
                               * NULL: none, or all 0 (weight 1/2) */
    double clamp;           /* elementwise gradient clamp to [-c, c]; 0: off */
} Schedule;

/* Learning rate by shape, momentum and weight decay constant:
 *   constant  a_t = lr
 *   cosine    a_t = lr (1 + cos(pi t / T)) / 2   (CosineAnnealingLR, T_max = T,
 *                                                 eta_min = 0)
 *   step      a_t = lr 0.1^floor(t / ceil(T / 3))  (StepLR: step_size = ceil(T/3),
 *                                                 gamma = 0.1)
 * clamp < 0 or non-finite values are refused. */
int schedule_init(Schedule *s, int T, ScheduleShape shape, double lr, double mom,
                  double wd, double clamp, HgErr *err);
void schedule_free(Schedule *s);

/* theta [N] from a schedule: each window's value is the mean of the
 * schedule over the window's steps (per layer or weight: s->vec where set,
 * else that mean for every layer or weight). */
void hyper_pack(const HyperLayout *h, const Schedule *s, double *theta);
/* The schedule's learned kinds set from theta (every step of a window gets
 * its value; per layer or weight: s->vec, allocated here); kinds not learned
 * are left as they are. */
void hyper_unpack(const HyperLayout *h, const double *theta, Schedule *s);
/* theta_grad [N] = per-step hypergradients summed over each window;
 * per_step[k] is [T] (NULL for kinds not learned). Kinds per run only. */
void hyper_sum_windows(const HyperLayout *h, double *const per_step[HYPER_KINDS],
                       double *theta_grad);

#endif
