/* hyper.c — layouts, schedules, and moving between per-step values and
 * theta (hyper.h). */
#include "hyper.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/mem.h"
#include "../models/model.h"

const char *hyper_kind_name(HyperKind k)
{
    static const char *const names[HYPER_KINDS] = {"lr", "mom", "wd"};
    return (unsigned)k < HYPER_KINDS ? names[k] : "?";
}

const char *hyper_per_name(HyperPer p)
{
    static const char *const names[HYPER_PERS] = {"run", "layer", "weight"};
    return (unsigned)p < HYPER_PERS ? names[p] : "?";
}

int hyper_layout_init(HyperLayout *h, int T, const int K[HYPER_KINDS], HgErr *err)
{
    return hyper_layout_init_per(h, T, K, NULL, NULL, err);
}

long hyper_count(const int K[HYPER_KINDS], const HyperPer per[HYPER_KINDS], int L, long P)
{
    long N = 0;
    for (int k = 0; k < HYPER_KINDS; k++) {
        const HyperPer q = per ? per[k] : HYPER_PER_RUN;
        N += (long)K[k] * (q == HYPER_PER_LAYER ? L : q == HYPER_PER_WEIGHT ? P : 1);
    }
    return N;
}

int hyper_layout_init_per(HyperLayout *h, int T, const int K[HYPER_KINDS],
                          const HyperPer per[HYPER_KINDS], const HyperBlocks *b, HgErr *err)
{
    memset(h, 0, sizeof *h);
    if (T < 1)
        return hg_fail(err, "steps T = %d: need at least 1", T);
    h->T = T;
    if (b)
        h->blocks = *b;
    const long P = b && b->L ? b->start[b->L] : 0;
    long N = 0;
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (K[k] < 0 || K[k] > T)
            return hg_fail(err, "%s: %d shared values for T = %d steps (need 0 <= K <= T)",
                           hyper_kind_name(k), K[k], T);
        const HyperPer q = per ? per[k] : HYPER_PER_RUN;
        if ((unsigned)q >= HYPER_PERS)
            return hg_fail(err, "%s: unknown granularity %d", hyper_kind_name(k), (int)q);
        if (q == HYPER_PER_WEIGHT && k != HYPER_WD)
            return hg_fail(err, "%s/weight: only weight decay is learned per weight (lr and "
                           "mom per layer at most)", hyper_kind_name(k));
        if (q != HYPER_PER_RUN && K[k] && !(b && b->L >= 1))
            return hg_fail(err, "%s/%s: the model's layers are not known here",
                           hyper_kind_name(k), hyper_per_name(q));
        h->K[k] = K[k];
        h->per[k] = q;
        h->width[k] = q == HYPER_PER_LAYER ? b->L : q == HYPER_PER_WEIGHT ? P : 1;
        h->offset[k] = (int)N;
        N += K[k] * h->width[k];
        if (N > INT_MAX)
            return hg_fail(err, "%s/%s: %ld learned values: too many", hyper_kind_name(k),
                           hyper_per_name(q), N);
    }
    h->N = (int)N;
    return 0;
}

int hyper_layout_examples(HyperLayout *h, int E, HgErr *err)
{
    if (E < 0 || (long)h->N + E > INT_MAX)
        return hg_fail(err, "example weights: %d: need 0 <= E (and N + E within int)", E);
    h->E = E;
    h->ex_offset = h->N;
    h->N += E;
    return 0;
}

int hyper_layout_vector(const HyperLayout *h)
{
    if (h->E)
        return 1;
    for (int k = 0; k < HYPER_KINDS; k++)
        if (h->K[k] && h->per[k] != HYPER_PER_RUN)
            return 1;
    return 0;
}

int hyper_blocks_of_model(const Model *m, HyperBlocks *b, HgErr *err)
{
    memset(b, 0, sizeof *b);
    for (int i = 0; i < m->nparam_tensors; i++) {
        const ParamInfo *pi = &m->params[i];
        const size_t len = strcspn(pi->name, ".");
        if (b->L && !strncmp(b->name[b->L - 1], pi->name, len) && !b->name[b->L - 1][len])
            continue; /* the same layer's bias */
        if (b->L == HYPER_MAX_BLOCKS)
            return hg_fail(err, "%s: more than %d parameterised layers", m->name,
                           HYPER_MAX_BLOCKS);
        snprintf(b->name[b->L], sizeof b->name[b->L], "%.*s", (int)len, pi->name);
        b->start[b->L++] = pi->offset;
    }
    b->start[b->L] = m->nparams;
    return 0;
}

int schedule_shape_parse(const char *name, ScheduleShape *out)
{
    static const struct { const char *name; ScheduleShape shape; } shapes[] = {
        {"constant", SCHEDULE_CONSTANT}, {"cosine", SCHEDULE_COSINE}, {"step", SCHEDULE_STEP}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (!strcmp(name, shapes[i].name)) {
            *out = shapes[i].shape;
            return 0;
        }
    return -1;
}

int schedule_init(Schedule *s, int T, ScheduleShape shape, double lr, double mom,
                  double wd, double clamp, HgErr *err)
{
    memset(s, 0, sizeof *s);
    if (T < 1)
        return hg_fail(err, "steps T = %d: need at least 1", T);
    if (!isfinite(lr) || !isfinite(mom) || !isfinite(wd))
        return hg_fail(err, "hyperparameters must be finite (lr %g, mom %g, wd %g)", lr, mom,
                       wd);
    if (!isfinite(clamp) || clamp < 0)
        return hg_fail(err, "clamp %g: need a finite c >= 0 (0 = off)", clamp);
    s->T = T;
    s->clamp = clamp;
    for (int k = 0; k < HYPER_KINDS; k++)
        s->v[k] = mem_alloc(MEM_PARAMS, sizeof(double) * T);
    const int step_size = (T + 2) / 3;
    for (int t = 0; t < T; t++) {
        double a = lr;
        if (shape == SCHEDULE_COSINE)
            a = lr * (1 + cos(3.14159265358979323846 * t / T)) / 2;
        else if (shape == SCHEDULE_STEP)
            a = lr * pow(0.1, t / step_size);
        s->v[HYPER_LR][t] = a;
        s->v[HYPER_MOM][t] = mom;
        s->v[HYPER_WD][t] = wd;
    }
    return 0;
}

void schedule_free(Schedule *s)
{
    for (int k = 0; k < HYPER_KINDS; k++) {
        mem_free(s->v[k]);
        mem_free(s->vec[k]);
    }
    mem_free(s->gamma);
    memset(s, 0, sizeof *s);
}

void hyper_pack(const HyperLayout *h, const Schedule *s, double *theta)
{
    for (int k = 0; k < HYPER_KINDS; k++)
        for (int j = 0; j < h->K[k]; j++) {
            const int t0 = hyper_window_start(h, k, j), t1 = hyper_window_start(h, k, j + 1);
            double sum = 0;
            for (int t = t0; t < t1; t++)
                sum += s->v[k][t];
            const long W = h->width[k], at = h->offset[k] + (long)j * W;
            if (W == 1)
                theta[at] = sum / (t1 - t0);
            for (long i = 0; W > 1 && i < W; i++)
                theta[at + i] = s->vec[k] ? s->vec[k][(long)j * W + i] : sum / (t1 - t0);
        }
    for (int i = 0; i < h->E; i++) /* gamma 0: weight 1/2 unless set */
        theta[h->ex_offset + i] = s->gamma ? s->gamma[i] : 0;
}

void hyper_unpack(const HyperLayout *h, const double *theta, Schedule *s)
{
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (h->K[k] && h->per[k] != HYPER_PER_RUN) {
            const size_t n = sizeof(double) * h->K[k] * h->width[k];
            if (!s->vec[k])
                s->vec[k] = mem_alloc(MEM_PARAMS, n);
            memcpy(s->vec[k], theta + h->offset[k], n);
            continue; /* v[k] keeps the schedule it was made with (unused) */
        }
        for (int t = 0; h->K[k] && t < h->T; t++)
            s->v[k][t] = theta[hyper_column(h, k, t)];
    }
    if (h->E) {
        if (!s->gamma)
            s->gamma = mem_alloc(MEM_PARAMS, sizeof(double) * h->E);
        memcpy(s->gamma, theta + h->ex_offset, sizeof(double) * h->E);
    }
}

void hyper_sum_windows(const HyperLayout *h, double *const per_step[HYPER_KINDS],
                       double *theta_grad)
{
    memset(theta_grad, 0, sizeof(double) * h->N);
    for (int k = 0; k < HYPER_KINDS; k++)
        for (int t = 0; h->K[k] && t < h->T; t++)
            theta_grad[hyper_column(h, k, t)] += per_step[k][t];
}
