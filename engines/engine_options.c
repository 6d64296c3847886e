/* engine_options.c — the options the engines declare (engine.h's
 * EngineOption): the registry's list of them, their values and defaults,
 * the flag table entries made from them, and the refusals of an option an
 * engine does not take. Nothing here names an option: a new one is a field
 * of EngineSettings and an entry in its engine's table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/flags.h"
#include "engine.h"

const EngineOption *engine_option_at(int i, const EngineOps **owner)
{
    int n = 0;
    for (int e = 0; engine_at(e); e++)
        for (const EngineOption *x = engine_at(e)->options; x && x->flag; x++) {
            int seen = 0; /* a flag two engines take is listed once, by the first */
            for (int f = 0; f < e && !seen; f++)
                seen = engine_takes(engine_at(f), x->flag);
            if (seen)
                continue;
            if (n++ == i) {
                if (owner)
                    *owner = engine_at(e);
                return x;
            }
        }
    return NULL;
}

int engine_takes(const EngineOps *ops, const char *flag)
{
    for (const EngineOption *x = ops->options; x && x->flag; x++)
        if (!strcmp(x->flag, flag))
            return 1;
    return 0;
}

static void *field(const EngineOption *x, const EngineSettings *s)
{
    return (char *)s + x->field;
}

double engine_option_value(const EngineOption *x, const EngineSettings *s)
{
    return x->kind == ENGINE_OPTION_REAL ? *(const double *)field(x, s)
                                         : *(const int *)field(x, s);
}

static void set_value(const EngineOption *x, EngineSettings *s, double v)
{
    if (x->kind == ENGINE_OPTION_REAL)
        *(double *)field(x, s) = v;
    else
        *(int *)field(x, s) = (int)v;
}

EngineSettings engine_settings_defaults(void)
{
    EngineSettings s;
    memset(&s, 0, sizeof s);
    const EngineOption *x;
    for (int i = 0; i < ENGINE_OPTIONS_MAX && (x = engine_option_at(i, NULL)); i++)
        set_value(x, &s, x->def);
    return s;
}

void engine_option_text(const EngineOption *x, const EngineSettings *s, char *buf, size_t cap)
{
    const double v = engine_option_value(x, s);
    if (x->kind == ENGINE_OPTION_CHOICE) {
        snprintf(buf, cap, "%s", x->choices[(int)v]);
    } else if (x->kind == ENGINE_OPTION_INT) {
        snprintf(buf, cap, "%d", (int)v);
    } else {
        for (int p = 1; p <= 17; p++) { /* the shortest that reads back as v */
            snprintf(buf, cap, "%.*g", p, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
}

unsigned engine_options_set(const EngineSettings *s)
{
    unsigned bits = 0;
    const EngineOption *x;
    for (int i = 0; i < ENGINE_OPTIONS_MAX && (x = engine_option_at(i, NULL)); i++)
        if (engine_option_value(x, s) != x->def)
            bits |= 1u << i;
    return bits;
}

const char *engine_moving_option(const EngineOps *ops, const EngineSettings *s)
{
    for (const EngineOption *x = ops->options; x && x->flag; x++)
        if (x->moves_schedule && engine_option_value(x, s) != x->def)
            return x->flag;
    return NULL;
}

const char *engine_describe(const EngineOps *ops, const EngineSettings *s, const EngineResult *r,
                            char *buf, size_t cap)
{
    buf[0] = '\0';
    if (ops->describe)
        ops->describe(s, r, buf, cap);
    const size_t n = strlen(buf);
    if (s->hvp_clamp > 0 && n < cap) /* the one option several engines share */
        snprintf(buf + n, cap - n, " (Hessian-vector products clamped to [-%g, %g])",
                 s->hvp_clamp, s->hvp_clamp);
    return buf;
}

EngineOptions engine_options(const EngineConfig *cfg)
{
    EngineOptions o = {.T = cfg->layout->T, .N = cfg->layout->N, .kahan = cfg->prob->kahan,
                       .trajectory = cfg->trajectory != NULL, .opt = cfg->opt,
                       .asked = engine_options_set(&cfg->opt)};
    for (int k = 0; k < HYPER_KINDS; k++)
        o.per[k] = cfg->layout->K[k] ? cfg->layout->per[k] : HYPER_PER_RUN;
    o.E = cfg->layout->E;
    return o;
}

/* "bptt" or "bptt and checkpoint": the engines that take flag. */
static const char *takers(const char *flag, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int e = 0; engine_at(e) && at < cap; e++)
        if (engine_takes(engine_at(e), flag))
            at += (size_t)snprintf(buf + at, cap - at, "%s%s", at ? " or " : "",
                                   engine_at(e)->name);
    return buf;
}

int engine_refuse_foreign(const EngineOps *ops, const EngineOptions *o, HgErr *err)
{
    const EngineOption *x;
    for (int i = 0; i < ENGINE_OPTIONS_MAX && (x = engine_option_at(i, NULL)); i++)
        if ((o->asked >> i & 1) && !engine_takes(ops, x->flag)) {
            char who[128];
            return hg_fail(err, "%s: only for --engine %s (--engine %s)", x->flag,
                           takers(x->flag, who, sizeof who), ops->name);
        }
    if (o->trajectory && !ops->trajectory)
        return hg_fail(err, "%s: recording or replaying a trajectory is a bptt option",
                       ops->name);
    return 0;
}

int engine_flags(Flag *out, int cap, EngineSettings *s, int given[ENGINE_OPTIONS_MAX])
{
    static char help[ENGINE_OPTIONS_MAX][512]; /* the table may outlive the call */
    const EngineOption *x;
    int n = 0;
    for (int i = 0; (x = engine_option_at(i, NULL)) && n < cap && i < ENGINE_OPTIONS_MAX;
         i++) {
        char who[128]; /* every engine that takes it: "bptt or forward only: ..." */
        snprintf(help[i], sizeof help[i], "%s only: %s", takers(x->flag, who, sizeof who),
                 x->help);
        Flag f = {x->flag, x->meta, x->shown, help[i], FLAG_INT, .target = field(x, s),
                  .lo = x->lo, .hi = x->hi, .given = &given[i]};
        if (x->kind == ENGINE_OPTION_REAL)
            f.kind = FLAG_REAL;
        if (x->kind == ENGINE_OPTION_CHOICE) {
            f.kind = FLAG_CHOICE;
            f.choices = x->choices;
        }
        out[n++] = f;
    }
    return n;
}

unsigned engine_options_given(const int given[ENGINE_OPTIONS_MAX])
{
    unsigned bits = 0;
    for (int i = 0; i < ENGINE_OPTIONS_MAX; i++)
        if (given[i])
            bits |= 1u << i;
    return bits;
}
