/* outer.c — sign, sgd and adam outer optimisers (outer.h). */
#include "outer.h"

#include <math.h>
#include <string.h>

#include "../common/mem.h"

static const char *const KIND_NAMES[OUTER_KINDS] = {"sign", "sgd", "adam"};

const char *outer_kind_name(OuterKind k)
{
    return (unsigned)k < OUTER_KINDS ? KIND_NAMES[k] : "?";
}

int outer_kind_parse(const char *name, OuterKind *out)
{
    for (int k = 0; k < OUTER_KINDS; k++)
        if (!strcmp(name, KIND_NAMES[k])) {
            *out = (OuterKind)k;
            return 0;
        }
    return -1;
}

const char *outer_group_name(int g)
{
    return g == OUTER_EX ? "ex" : hyper_kind_name((HyperKind)g);
}

long outer_group_count(const HyperLayout *h, int g)
{
    return g == OUTER_EX ? h->E : (long)h->K[g] * h->width[g];
}

long outer_group_offset(const HyperLayout *h, int g)
{
    return g == OUTER_EX ? h->ex_offset : h->offset[g];
}

OuterConfig outer_defaults(void)
{
    return (OuterConfig){.kind = OUTER_SIGN, .sign_step = {0.02, 0.05, 1e-4, 0.5},
                         .sign_decay = 0.5, .lr = 0.01, .clip = 0, .beta1 = 0.9,
                         .beta2 = 0.999, .eps = 1e-8, .bounded = 1};
}

void outer_bounds(int k, double *lo, double *hi)
{
    *lo = k == OUTER_EX ? -INFINITY : 0;
    *hi = k == HYPER_MOM ? OUTER_MOM_MAX : INFINITY;
}

void outer_sign_range(const OuterConfig *c, int k, double x0, int steps, double *lo,
                      double *hi)
{
    *lo = x0 - c->sign_step[k] * steps;
    *hi = x0 + c->sign_step[k] * steps;
    if (c->bounded) {
        double blo, bhi;
        outer_bounds(k, &blo, &bhi);
        *lo = fmin(fmax(*lo, blo), bhi);
        *hi = fmin(fmax(*hi, blo), bhi);
    }
}

static int check_config(const OuterConfig *c, const HyperLayout *h, HgErr *err)
{
    if ((unsigned)c->kind >= OUTER_KINDS)
        return hg_fail(err, "outer optimiser %d: unknown (valid: sign, sgd, adam)", (int)c->kind);
    if (c->kind == OUTER_SIGN) {
        for (int k = 0; k < OUTER_GROUPS; k++)
            if (outer_group_count(h, k) && !(isfinite(c->sign_step[k]) && c->sign_step[k] > 0))
                return hg_fail(err, "sign step for %s %g: must be finite and > 0 (%s is "
                               "learned; a zero step would never move it)",
                               outer_group_name(k), c->sign_step[k], outer_group_name(k));
        if (!(c->sign_decay > 0 && c->sign_decay <= 1))
            return hg_fail(err, "sign decay %g: must be in (0, 1] (the step is multiplied "
                           "by it on each sign flip)", c->sign_decay);
    } else {
        if (!(isfinite(c->lr) && c->lr > 0))
            return hg_fail(err, "outer learning rate %g: must be finite and > 0 (%s)", c->lr,
                           outer_kind_name(c->kind));
    }
    if (!(isfinite(c->clip) && c->clip >= 0))
        return hg_fail(err, "clip %g: must be finite and >= 0 (0 = off)", c->clip);
    if (c->clip > 0 && c->kind != OUTER_SGD)
        return hg_fail(err, "clip %g: only the sgd outer optimiser clips hypergradients "
                       "(this is %s)", c->clip, outer_kind_name(c->kind));
    if (c->kind == OUTER_ADAM) {
        if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1))
            return hg_fail(err, "adam betas %g, %g: each must be in [0, 1)", c->beta1,
                           c->beta2);
        if (!(isfinite(c->eps) && c->eps > 0))
            return hg_fail(err, "adam eps %g: must be finite and > 0", c->eps);
    }
    return 0;
}

int outer_init(OuterOpt *o, const OuterConfig *c, const HyperLayout *h, HgErr *err)
{
    memset(o, 0, sizeof *o);
    if (check_config(c, h, err))
        return -1;
    o->cfg = *c;
    o->layout = *h;
    const size_t n = (size_t)(h->N ? h->N : 1);
    if (c->kind == OUTER_SIGN) {
        o->step = mem_alloc(MEM_PARAMS, sizeof(double) * n);
        o->last = mem_alloc(MEM_PARAMS, n);
        for (int k = 0; k < OUTER_GROUPS; k++)
            for (long j = 0; j < outer_group_count(h, k); j++)
                o->step[outer_group_offset(h, k) + j] = c->sign_step[k];
    } else if (c->kind == OUTER_ADAM) {
        o->m = mem_alloc(MEM_PARAMS, sizeof(double) * n);
        o->v = mem_alloc(MEM_PARAMS, sizeof(double) * n);
    }
    return 0;
}

void outer_free(OuterOpt *o)
{
    mem_free(o->step);
    mem_free(o->last);
    mem_free(o->m);
    mem_free(o->v);
    memset(o, 0, sizeof *o);
}

int outer_step(OuterOpt *o, double *theta, const double *grad, OuterStepInfo *info,
               HgErr *err)
{
    const HyperLayout *h = &o->layout;
    const OuterConfig *c = &o->cfg;
    OuterStepInfo in = {0, 0};
    for (int i = 0; i < h->N; i++)
        if (!isfinite(grad[i]))
            return hg_fail(err, "outer step %ld: hypergradient entry %d is not finite", o->t, i);
    o->t++;
    const double bc1 = 1 - pow(c->beta1, (double)o->t), bc2 = 1 - pow(c->beta2, (double)o->t);
    for (int k = 0; k < OUTER_GROUPS; k++) {
        double lo, hi;
        outer_bounds(k, &lo, &hi);
        const long n = outer_group_count(h, k), at = outer_group_offset(h, k);
        for (long j = 0; j < n; j++) {
            const long i = at + j;
            const double g = grad[i];
            switch (c->kind) {
            case OUTER_SIGN: {
                const int s = (g > 0) - (g < 0);
                if (s && o->last[i] && s != o->last[i]) {
                    o->step[i] *= c->sign_decay;
                    in.flips++;
                }
                if (s)
                    o->last[i] = (signed char)s;
                theta[i] -= o->step[i] * s;
                break;
            }
            case OUTER_SGD: {
                const double gc = c->clip > 0 ? fmin(fmax(g, -c->clip), c->clip) : g;
                theta[i] -= c->lr * gc;
                break;
            }
            case OUTER_ADAM:
                o->m[i] = c->beta1 * o->m[i] + (1 - c->beta1) * g;
                o->v[i] = c->beta2 * o->v[i] + (1 - c->beta2) * g * g;
                theta[i] -= c->lr * (o->m[i] / bc1) / (sqrt(o->v[i] / bc2) + c->eps);
                break;
            case OUTER_KINDS:
                break;
            }
            if (c->bounded && (theta[i] < lo || theta[i] > hi)) {
                theta[i] = fmin(fmax(theta[i], lo), hi);
                in.clamped++;
            }
        }
    }
    if (info)
        *info = in;
    return 0;
}
