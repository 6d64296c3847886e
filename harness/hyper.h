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
 */
#ifndef HG_HYPER_H
#define HG_HYPER_H

#include "../common/check.h"

typedef enum HyperKind { HYPER_LR, HYPER_MOM, HYPER_WD, HYPER_KINDS } HyperKind;

const char *hyper_kind_name(HyperKind k); /* "lr", "mom", "wd" */

typedef struct HyperLayout {
    int T;
    int K[HYPER_KINDS];      /* learned values of each kind; 0: not learned */
    int offset[HYPER_KINDS]; /* where a learned kind's values start in theta */
    int N;                   /* length of theta */
} HyperLayout;

/* 0 <= K[k] <= T for each kind, T >= 1; refused with a message otherwise. */
int hyper_layout_init(HyperLayout *h, int T, const int K[HYPER_KINDS], HgErr *err);

/* The column of theta that step t of kind k uses, or -1 if k is not learned. */
static inline int hyper_column(const HyperLayout *h, HyperKind k, int t)
{
    return h->K[k] ? h->offset[k] + (int)((long)t * h->K[k] / h->T) : -1;
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
 * schedule over the window's steps. */
void hyper_pack(const HyperLayout *h, const Schedule *s, double *theta);
/* The schedule's learned kinds set from theta (every step of a window gets
 * its value); kinds not learned are left as they are. */
void hyper_unpack(const HyperLayout *h, const double *theta, Schedule *s);
/* theta_grad [N] = per-step hypergradients summed over each window;
 * per_step[k] is [T] (NULL for kinds not learned). */
void hyper_sum_windows(const HyperLayout *h, double *const per_step[HYPER_KINDS],
                       double *theta_grad);

#endif
