/* engine.c — the registry and the common frame of an engine run. */
#include "engine.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../backend/stopwatch.h"
#include "../common/mem.h"
#include "../common/timer.h"

/* The registry: a new engine adds its table here (and declares it extern
 * above the array if engine.h does not). */
static const EngineOps *const ENGINES[] = {&BPTT_OPS, &REVERSIBLE_OPS, &FORWARD_OPS, &GREEDY_OPS,
                                           &CHECKPOINT_OPS};
#define NENGINES ((int)(sizeof ENGINES / sizeof ENGINES[0]))

const EngineOps *engine_at(int i)
{
    return i >= 0 && i < NENGINES ? ENGINES[i] : NULL;
}

double engine_formula_bytes(const EngineOps *ops, long P, int T, int N, const EngineResult *r)
{
    return ops->formula_bytes ? ops->formula_bytes(P, T, N, r) : 0;
}

const char *engine_definition(const EngineOps *ops, const EngineConfig *cfg)
{
    const char *d = ops->definition ? ops->definition(cfg) : NULL;
    return d ? d
             : "each value is the derivative of the mean validation loss at w_T (after all "
               "steps) with respect to that shared value = the sum over its window's steps of "
               "the derivatives with respect to the per-step values (step t of a kind learned "
               "with K values uses value floor(t K / steps))";
}

const EngineOps *engine_find(const char *name)
{
    for (int i = 0; i < NENGINES; i++)
        if (!strcmp(ENGINES[i]->name, name))
            return ENGINES[i];
    return NULL;
}

const char *engine_names(void)
{
    static char names[128]; /* made from the registry, so it cannot drift */
    if (!names[0])
        for (int i = 0; i < NENGINES; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     i ? ", " : "", ENGINES[i]->name);
    return names;
}

double physical_memory_bytes(void)
{
    const double pages = (double)sysconf(_SC_PHYS_PAGES), size = (double)sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? pages * size : 0;
}

double engine_memory_limit(void)
{
    const MemLimit m = mem_limit();
    return m.bytes >= 0 ? m.bytes : 0.8 * physical_memory_bytes();
}

EngineOptions engine_options_plain(int T, int N)
{
    return (EngineOptions){.T = T, .N = N, .opt = engine_settings_defaults()};
}

int engine_check_state(const EngineOps *ops, long P, const EngineOptions *o, int clamp,
                       EngineState *st, HgErr *err)
{
    memset(st, 0, sizeof *st);
    if (ops->state)
        ops->state(P, o, clamp, st);
    if (!(st->bytes > 0))
        return 0;
    MemLimit m = mem_limit();
    if (m.bytes < 0) { /* no /proc: the physical memory, with room for the rest */
        m.bytes = 0.8 * physical_memory_bytes();
        snprintf(m.what, sizeof m.what, "%.2f GiB is 80%% of the physical memory",
                 m.bytes / (1 << 30));
    }
    if (m.bytes > 0 && st->bytes > m.bytes)
        return hg_fail(err, "%s: %s needs %.2f GiB but only %s; %s", ops->name, st->what,
                       st->bytes / (1 << 30), m.what, st->remedy);
    return 0;
}

int engine_check_device(const EngineOps *ops, const Backend *be, const EngineState *st,
                        HgErr *err)
{
    if (!be->mem.mem_available || st->bytes <= 0)
        return 0;
    const double free_b = (double)be->mem.mem_available();
    if (st->bytes <= 0.9 * free_b)
        return 0;
    return hg_fail(err, "%s: %s needs %.2f GiB but the %s device has %.2f GiB free; %s",
                   ops->name, st->what, st->bytes / (1 << 30), be->name, free_b / (1 << 30),
                   st->remedy);
}

void engine_result_free(EngineResult *r)
{
    mem_free(r->hypergrad);
    for (int k = 0; k < HYPER_KINDS; k++)
        mem_free(r->per_step[k]);
    memset(r, 0, sizeof *r);
}

static int finite_array(const double *a, int n)
{
    for (int i = 0; a && i < n; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}

void engine_phase(EngineResult *out, EnginePhase p)
{
    if (out->phase_clock)
        stopwatch_mark(out->phase_clock, p < ENGINE_PHASES ? &out->phase_s[p] : NULL);
}

const char *engine_phase_name(EnginePhase p)
{
    static const char *const names[ENGINE_PHASES] = {"inner", "validation", "hypergrad"};
    return p < ENGINE_PHASES ? names[p] : "none";
}

void engine_keep_wT(const EngineConfig *cfg, const real *w)
{
    if (cfg->wT)
        inner_backend(cfg->prob)->mem.copy(cfg->wT, w,
                                           sizeof(real) * (size_t)cfg->prob->model->nparams);
}

int engine_run(const EngineOps *ops, const EngineConfig *cfg, EngineResult *out, HgErr *err)
{
    memset(out, 0, sizeof *out);
    const EngineOptions opts = engine_options(cfg);
    if (ops->check && ops->check(&opts, err))
        return -1;
    out->N = cfg->layout->N;
    out->T = cfg->layout->T;
    if (cfg->sched->T != out->T)
        return hg_fail(err, "schedule has %d steps, layout %d", cfg->sched->T, out->T);
    EngineState st; /* every engine's state against the memory left, before any allocation */
    if (engine_check_state(ops, cfg->prob->model->nparams, &opts, cfg->sched->clamp > 0, &st,
                           err))
        return -1;
    out->hypergrad = mem_try_alloc(MEM_OTHER, sizeof(double) * (out->N ? out->N : 1));
    if (!out->hypergrad)
        return mem_oom_error(err, ops->name);
    mem_reset_peaks();
    const Backend *be = inner_backend(cfg->prob);
    Stopwatch clock; /* the phases: on the device's stream where it has one */
    out->phase_device = stopwatch_init(&clock, be, 1);
    out->phase_clock = &clock;
    const double t0 = now_s();
    int rc = ops->run(cfg, out, err);
    engine_phase(out, ENGINE_PHASE_NONE);
    stopwatch_free(&clock); /* waits for the last mark: the phases are complete */
    out->time_s = now_s() - t0;
    out->phase_clock = NULL;
    for (int k = 0; k < MEM_NTAGS; k++)
        out->mem_peak[k] = mem_peak(k);
    out->peak_rss = mem_peak_rss();
    out->device_peak = be->mem.device_peak ? be->mem.device_peak() : 0;
    if (rc == 0 && !(isfinite(out->val_loss) && finite_array(out->hypergrad, out->N)))
        rc = hg_fail(err, "%s: the hypergradient or validation loss is not finite "
                     "(the inner run diverged?)", ops->name);
    if (rc)
        engine_result_free(out);
    return rc;
}
