/* hyper.c — layouts, schedules, and moving between per-step values and
 * theta (hyper.h). */
#include "hyper.h"

#include <math.h>
#include <string.h>

#include "../common/mem.h"

const char *hyper_kind_name(HyperKind k)
{
    static const char *const names[HYPER_KINDS] = {"lr", "mom", "wd"};
    return (unsigned)k < HYPER_KINDS ? names[k] : "?";
}

int hyper_layout_init(HyperLayout *h, int T, const int K[HYPER_KINDS], HgErr *err)
{
    memset(h, 0, sizeof *h);
    if (T < 1)
        return hg_fail(err, "steps T = %d: need at least 1", T);
    h->T = T;
    for (int k = 0; k < HYPER_KINDS; k++) {
        if (K[k] < 0 || K[k] > T)
            return hg_fail(err, "%s: %d shared values for T = %d steps (need 0 <= K <= T)",
                           hyper_kind_name(k), K[k], T);
        h->K[k] = K[k];
        h->offset[k] = h->N;
        h->N += K[k];
    }
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
    for (int k = 0; k < HYPER_KINDS; k++)
        mem_free(s->v[k]);
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
            theta[h->offset[k] + j] = sum / (t1 - t0);
        }
}

void hyper_unpack(const HyperLayout *h, const double *theta, Schedule *s)
{
    for (int k = 0; k < HYPER_KINDS; k++)
        for (int t = 0; h->K[k] && t < h->T; t++)
            s->v[k][t] = theta[hyper_column(h, k, t)];
}

void hyper_sum_windows(const HyperLayout *h, double *const per_step[HYPER_KINDS],
                       double *theta_grad)
{
    memset(theta_grad, 0, sizeof(double) * h->N);
    for (int k = 0; k < HYPER_KINDS; k++)
        for (int t = 0; h->K[k] && t < h->T; t++)
            theta_grad[hyper_column(h, k, t)] += per_step[k][t];
}
