/* checkpoint.c — reverse mode through checkpoints: bptt's recursion
 * (DESIGN.md, engine 1) with the trajectory recomputed instead of stored.
 *
 * C slots hold states (w_t, v_t; with --kahan also the compensation) and
 * the initial state is the problem's own. Reversing step t from a state at t
 * recomputes the step (gradient, clamp mask, v_{t+1}, w_{t+1}), then runs
 * bptt's adjoint of it:
 *   vb -= a_t wb;  df/da_t = -wb.v_{t+1};  df/dm_t = vb.v_t;  df/dl_t = vb.w_t
 *   wb += H_t (M_t vb) + l_t vb;  vb = m_t vb
 * with the same ops in the same order as bptt, so the hypergradient is
 * bptt's bit for bit (recomputation is deterministic). Schedules:
 *   binomial (Griewank 1992; Griewank and Walther's "revolve", 2000): the
 *     first checkpoint of a stretch goes where the remaining work is least,
 *     which makes the number of recomputed steps (advances) the minimum for
 *     C slots: r T - beta(C + 2, r - 1), r the least with beta(C + 1, r) >= T,
 *     beta(s, r) = (s + r choose s). Memory C states plus one step's.
 *   uniform: checkpoints every L = ceil(T / (C + 1)) steps, and each
 *     segment's L states stored while it is reversed: memory (C + L) states;
 *     C = sqrt(T) gives the classic 2 sqrt(T).
 * Each reversed step also recomputes its own step (one gradient), so a run
 * evaluates T + advances gradients where bptt evaluates T.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "engine.h"
#include "kinds.h"

/* ---- the binomial schedule (pure arithmetic, exported for the tests) ---- */

/* (s + r choose s), saturating at CK_HUGE. */
#define CK_HUGE (1L << 62)
static long beta(long s, long r)
{
    long b = 1;
    for (long j = 1; j <= r; j++) {
        if (b > CK_HUGE / (s + j))
            return CK_HUGE;
        b = b * (s + j) / j; /* exact: (s+j choose j) = (s+j-1 choose j-1) (s+j) / j */
    }
    return b;
}

/* The least r with beta(s + 1, r) >= t (steps reversible with s free slots
 * when no step is advanced more than r times). */
static long repetitions(long t, int s)
{
    long r = 0, b = 1; /* beta(s + 1, r) */
    while (b < t) {
        r++;
        b = b > CK_HUGE / (s + 1 + r) ? CK_HUGE : b * (s + 1 + r) / r;
    }
    return r;
}

long checkpoint_binomial_advances(long t, int s)
{
    if (t <= 1)
        return 0;
    const long r = repetitions(t, s);
    return r * t - beta(s + 2, r - 1);
}

/* The cost of placing the first checkpoint m steps in: advance m, reverse
 * the right part with one slot fewer, the left part with the slot freed. */
static long split_cost(long t, int s, long m)
{
    return m + checkpoint_binomial_advances(t - m, s - 1) + checkpoint_binomial_advances(m, s);
}

long checkpoint_binomial_split(long t, int s)
{
    /* the cost is convex in m (a sum of convex piecewise-linear advances):
     * the first m where it stops falling */
    long lo = 1, hi = t - 1;
    while (lo < hi) {
        const long mid = lo + (hi - lo) / 2;
        if (split_cost(t, s, mid + 1) >= split_cost(t, s, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- the run ---- */

typedef struct State {
    real *w, *v, *comp; /* comp NULL without --kahan */
} State;

typedef struct Run {
    const EngineConfig *cfg;
    const InnerProblem *p;
    const Backend *be;
    const Schedule *s;
    EngineResult *out;
    HgErr *err;
    long P, words, advances;
    size_t bytes;
    int clamp, rc, wb_ready;
    BatchOrder bo;
    real *x;
    int32_t *y;
    State base;       /* the initial state: w0, v = 0, comp = 0 */
    State *slot;      /* [C] checkpoints, tagged "checkpoints" */
    State *segment;   /* uniform: [L] states of the segment being reversed */
    State cur, next;  /* the working state (step t) and the step's result (t + 1) */
    real *g, *mask, *wb, *vb, *u, *hu;
    uint64_t *bits, *no_bits; /* one step's mask bits; a zero word run to clear them */
    double *per[HYPER_KINDS];
    int kv;           /* kinds per layer or weight: the per-parameter path */
    Kinds kd;
} Run;

static int state_alloc(Run *r, State *st, MemTag tag)
{
    st->w = r->be->mem.alloc(tag, r->bytes);
    st->v = r->be->mem.alloc(tag, r->bytes);
    st->comp = r->p->kahan ? r->be->mem.alloc(tag, r->bytes) : NULL;
    return 0;
}

static void state_free(Run *r, State *st)
{
    r->be->mem.free(st->w);
    r->be->mem.free(st->v);
    r->be->mem.free(st->comp);
}

static void state_copy(Run *r, State *dst, const State *src)
{
    r->be->mem.copy(dst->w, src->w, r->bytes);
    r->be->mem.copy(dst->v, src->v, r->bytes);
    if (dst->comp)
        r->be->mem.copy(dst->comp, src->comp, r->bytes);
}

/* st from step t to t + 1 (the gradient into r->g, clamped, mask into
 * r->mask), as bptt's forward pass does it. */
static void step(Run *r, State *st, int t)
{
    const Schedule *s = r->s;
    if ((r->rc = engine_interrupted(r->cfg, "checkpoint", t, r->err)))
        return;
    inner_batch(r->p, &r->bo, t, r->x, r->y);
    kinds_weigh(&r->kd, batch_order_step(&r->bo, t)); /* example weights (kv only) */
    model_loss_grad(r->p->model, st->w, r->x, r->y, r->p->batch, r->g);
    kinds_unweigh(&r->kd);
    if (!r->be->vec.all_finite(r->g, r->P)) {
        r->rc = hg_fail(r->err, "checkpoint: inner run diverged: non-finite gradient at step %d",
                        t);
        return;
    }
    r->be->vec.clamp(r->g, r->P, s->clamp, r->mask);
    if (r->kv)
        kinds_sgd_step(&r->kd, t, st->w, st->v, st->comp, r->g);
    else
        r->be->vec.sgd_step(st->w, st->v, st->comp, r->g, r->P, s->v[HYPER_LR][t], s->v[HYPER_MOM][t],
                    s->v[HYPER_WD][t]);
    inner_round(r->p, t, st->w, st->v); /* --round-noise: the same bits when recomputed */
}

/* r->cur from step a to step b, counted as recomputation. */
static void advance(Run *r, int a, int b)
{
    engine_phase(r->out, ENGINE_PHASE_INNER);
    for (int t = a; t < b && r->rc == 0; t++, r->advances++)
        step(r, &r->cur, t);
}

/* The adjoint of step t, with r->cur holding the state at t. */
static void reverse_step(Run *r, int t)
{
    const Backend *be = r->be;
    const long P = r->P;
    if (r->rc)
        return;
    engine_phase(r->out, ENGINE_PHASE_INNER); /* its step again, then the adjoint */
    state_copy(r, &r->next, &r->cur);
    step(r, &r->next, t);
    if (r->rc)
        return;
    if (!r->wb_ready) { /* t = T - 1: f's gradient at w_T starts the reverse pass */
        r->wb_ready = 1;
        if (!be->vec.all_finite(r->next.w, P)) {
            r->rc = hg_fail(r->err, "checkpoint: inner run diverged: non-finite weights at "
                            "step %d", t + 1);
            return;
        }
        const Dataset *val = r->p->val;
        engine_phase(r->out, ENGINE_PHASE_VALIDATION);
        engine_keep_wT(r->cfg, r->next.w);
        model_set_grad(r->p->model, r->next.w, val->x, val->y, val->n, r->wb, &r->out->val_loss,
                       &r->out->val_acc);
    }
    const double a = r->s->v[HYPER_LR][t], m = r->s->v[HYPER_MOM][t], l = r->s->v[HYPER_WD][t];
    engine_phase(r->out, ENGINE_PHASE_HYPERGRAD);
    if (r->kv) {
        kinds_adjoint_lr(&r->kd, t, r->wb, r->vb);
        kinds_accumulate(&r->kd, HYPER_LR, t, r->wb, r->next.v, -1, 0);
        if (t > 0) /* v_0 = 0 */
            kinds_accumulate(&r->kd, HYPER_MOM, t, r->vb, r->cur.v, 1, 0);
        kinds_accumulate(&r->kd, HYPER_WD, t, r->vb, r->cur.w, 1, 0);
    } else {
        be->vec.axpy(r->vb, -a, r->wb, P);
    }
    if (r->per[HYPER_LR])
        r->per[HYPER_LR][t] = -be->vec.dot(r->wb, r->next.v, P);
    if (r->per[HYPER_MOM]) /* v_0 = 0 */
        r->per[HYPER_MOM][t] = t > 0 ? be->vec.dot(r->vb, r->cur.v, P) : 0;
    if (r->per[HYPER_WD])
        r->per[HYPER_WD][t] = be->vec.dot(r->vb, r->cur.w, P);
    if (r->clamp) { /* u = M_t vb, through the mask's bits as bptt does */
        be->mem.copy(r->bits, r->no_bits, sizeof(uint64_t) * r->words);
        be->vec.mask_pack(r->mask, P, r->bits);
        be->vec.mask_select(r->bits, r->vb, P, r->u);
    } else {
        be->mem.copy(r->u, r->vb, r->bytes);
    }
    inner_batch(r->p, &r->bo, t, r->x, r->y);
    kinds_weigh(&r->kd, batch_order_step(&r->bo, t));
    model_hvp(r->p->model, r->cur.w, r->x, r->y, r->p->batch, r->u, r->hu);
    kinds_example_grads(&r->kd, batch_order_step(&r->bo, t), r->y, 1); /* u . grad l_i */
    kinds_unweigh(&r->kd);
    engine_clamp_hvp(be, r->cfg->opt.hvp_clamp, r->hu, P);
    if (r->kv)
        kinds_adjoint(&r->kd, t, r->wb, r->vb, r->hu);
    else
        be->vec.sgd_adjoint(r->wb, r->vb, r->hu, P, l, m);
    if (!be->vec.all_finite(r->wb, P))
        r->rc = hg_fail(r->err, "checkpoint: reverse pass diverged at step %d", t);
}

/* Reverses steps [a, b) from the state at a (held by `from`), with slots
 * [used, used + s) free: the binomial schedule. */
static void reverse_binomial(Run *r, int a, int b, const State *from, int used, int s)
{
    while (b - a > 1 && s > 0 && r->rc == 0) {
        const int m = a + (int)checkpoint_binomial_split(b - a, s);
        state_copy(r, &r->cur, from);
        advance(r, a, m);
        state_copy(r, &r->slot[used], &r->cur);
        reverse_binomial(r, m, b, &r->slot[used], used + 1, s - 1);
        b = m; /* then the left part, with that slot free again */
    }
    for (int t = b - 1; t >= a && r->rc == 0; t--) { /* no slot left: from `from` each time */
        state_copy(r, &r->cur, from);
        advance(r, a, t);
        reverse_step(r, t);
    }
}

/* Checkpoints every L steps, then each segment's states stored and reversed. */
static void reverse_uniform(Run *r, int C, int L)
{
    const int T = r->s->T;
    state_copy(r, &r->cur, &r->base);
    for (int j = 1; j <= C && j * L < T && r->rc == 0; j++) {
        advance(r, (j - 1) * L, j * L);
        state_copy(r, &r->slot[j - 1], &r->cur);
    }
    for (int j = (T - 1) / L; j >= 0 && r->rc == 0; j--) {
        const int a = j * L, b = a + L < T ? a + L : T;
        state_copy(r, &r->cur, j ? &r->slot[j - 1] : &r->base);
        for (int t = a; t < b && r->rc == 0; t++) {
            state_copy(r, &r->segment[t - a], &r->cur);
            if (t + 1 < b)
                advance(r, t, t + 1);
        }
        for (int t = b - 1; t >= a && r->rc == 0; t--) {
            state_copy(r, &r->cur, &r->segment[t - a]);
            reverse_step(r, t);
        }
    }
}

static int uniform_length(int T, int C)
{
    return (T + C) / (C + 1); /* ceil(T / (C + 1)) */
}

static int checkpoint_run(const EngineConfig *cfg, EngineResult *out, HgErr *err)
{
    const InnerProblem *p = cfg->prob;
    const int T = cfg->sched->T, C = cfg->opt.checkpoints, uniform = cfg->opt.checkpoint_uniform;
    Run r = {.cfg = cfg, .p = p, .be = inner_backend(p), .s = cfg->sched, .out = out,
             .err = err, .P = p->model->nparams, .clamp = cfg->sched->clamp > 0};
    r.words = (r.P + 63) / 64;
    r.bytes = sizeof(real) * r.P;
    const Backend *be = r.be;
    const EngineOptions opts = engine_options(cfg);
    EngineState st;
    if (engine_check_state(&CHECKPOINT_OPS, r.P, &opts, r.clamp, &st, err) ||
        engine_check_device(&CHECKPOINT_OPS, be, &st, err) || inner_batches(p, &r.bo, err))
        return -1;
    const int L = uniform ? uniform_length(T, C) : 0;
    const long fails = mem_failures(); /* the buffers below: out of memory is an error */
    r.slot = mem_alloc(MEM_OTHER, sizeof(State) * C);
    for (int k = 0; k < C; k++)
        state_alloc(&r, &r.slot[k], MEM_CHECKPOINTS);
    r.segment = L ? mem_alloc(MEM_OTHER, sizeof(State) * L) : NULL;
    for (int k = 0; k < L; k++)
        state_alloc(&r, &r.segment[k], MEM_CHECKPOINTS);
    state_alloc(&r, &r.base, MEM_PARAMS);
    state_alloc(&r, &r.cur, MEM_PARAMS);
    state_alloc(&r, &r.next, MEM_PARAMS);
    real **bufs[] = {&r.g, &r.mask, &r.wb, &r.vb, &r.u, &r.hu};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        *bufs[i] = be->mem.alloc(MEM_PARAMS, r.bytes);
    r.bits = be->mem.alloc(MEM_PARAMS, sizeof(uint64_t) * r.words);
    r.no_bits = be->mem.alloc(MEM_PARAMS, sizeof(uint64_t) * r.words);
    r.x = be->mem.alloc(MEM_DATA, sizeof(real) * p->batch * dataset_dim(p->train));
    r.y = be->mem.alloc(MEM_DATA, sizeof(int32_t) * p->batch);
    r.kv = hyper_layout_vector(cfg->layout);
    for (int k = 0; k < HYPER_KINDS && !r.kv; k++)
        if (cfg->layout->K[k])
            r.per[k] = out->per_step[k] = mem_alloc(MEM_OTHER, sizeof(double) * T);

    if (mem_failures() != fails)
        r.rc = mem_oom_error(err, "checkpoint");
    else if (r.kv && kinds_init(&r.kd, cfg, out->hypergrad, err))
        r.rc = -1;
    else
        be->mem.copy(r.base.w, p->w0, r.bytes); /* v and comp start at 0 */
    if (r.rc == 0 && uniform)
        reverse_uniform(&r, C, L);
    else if (r.rc == 0)
        reverse_binomial(&r, 0, T, &r.base, 0, C);
    engine_phase(out, ENGINE_PHASE_NONE);
    out->recomputed_steps = r.advances;
    out->recomputed_min = checkpoint_binomial_advances(T, C);
    out->stored_states = C + L;
    if (r.rc == 0 && r.kv)
        kinds_finish(&r.kd);
    else if (r.rc == 0)
        hyper_sum_windows(cfg->layout, r.per, out->hypergrad);
    kinds_free(&r.kd);

    for (int k = 0; k < C; k++)
        state_free(&r, &r.slot[k]);
    for (int k = 0; k < L; k++)
        state_free(&r, &r.segment[k]);
    mem_free(r.slot);
    mem_free(r.segment);
    state_free(&r, &r.base);
    state_free(&r, &r.cur);
    state_free(&r, &r.next);
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        be->mem.free(*bufs[i]);
    be->mem.free(r.bits);
    be->mem.free(r.no_bits);
    be->mem.free(r.x);
    be->mem.free(r.y);
    batch_order_free(&r.bo);
    return r.rc;
}

int checkpoint_count(int C, int T)
{
    const int c = C > 0 ? C : (int)lround(sqrt((double)T));
    return c < T - 1 ? (c < 1 ? 1 : c) : T - 1;
}

size_t checkpoint_bytes(long P, int T, int C, int uniform, int kahan)
{
    const int states = C + (uniform ? uniform_length(T, C) : 0);
    return (size_t)states * (kahan ? 3 : 2) * (size_t)P * sizeof(real);
}

static void checkpoint_state(long P, const EngineOptions *o, int clamp, EngineState *st)
{
    const int C = o->opt.checkpoints;
    st->bytes = (double)checkpoint_bytes(P, o->T, C, o->opt.checkpoint_uniform, o->kahan);
    if (o->opt.checkpoint_uniform)
        snprintf(st->what, sizeof st->what, "the checkpoints and one segment ((C + L) states "
                 "of 2 P = (%d + %d) x 2 x %ld reals of %zu bytes%s)", C,
                 uniform_length(o->T, C), P, sizeof(real), o->kahan ? ", plus compensation" : "");
    else
        snprintf(st->what, sizeof st->what, "the checkpoints (C states of 2 P = %d x 2 x %ld "
                 "reals of %zu bytes%s)", C, P, sizeof(real),
                 o->kahan ? ", plus compensation" : "");
    snprintf(st->remedy, sizeof st->remedy, "use fewer checkpoints (--checkpoints), or the "
             "reversible or forward engine");
}

static int checkpoint_check(const EngineOptions *o, HgErr *err)
{
    if (o->opt.checkpoints <= 0 || o->opt.checkpoints >= o->T)
        return hg_fail(err, "--checkpoints %d: the checkpoint engine needs 1 <= C < T = %d "
                       "(--steps) slots (C = 0 leaves nothing to recompute from; C >= T "
                       "stores every state: use --engine bptt)", o->opt.checkpoints, o->T);
    return engine_refuse_foreign(&CHECKPOINT_OPS, o, err);
}

static double checkpoint_formula_bytes(long P, int T, int N, const EngineResult *r)
{
    return (double)r->stored_states * 2 * (double)P * sizeof(real);
}

static void checkpoint_describe(const EngineSettings *o, const EngineResult *r, char *buf,
                                size_t cap)
{
    if (o->checkpoints <= 0)
        return;
    const int n = snprintf(buf, cap, " (%d checkpoints, %s schedule", o->checkpoints,
                           o->checkpoint_uniform ? "uniform" : "binomial");
    if (n > 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, r ? ": %ld steps recomputed; binomial minimum %ld)"
                                             : ")", r ? r->recomputed_steps : 0,
                 r ? r->recomputed_min : 0);
}

static const char *const CHECKPOINT_SCHEDULES[] = {"binomial", "uniform", NULL};

static const EngineOption CHECKPOINT_OPTIONS[] = {
    {"--checkpoints", "C", "none",
     "states stored, 1 <= C < T; the segments between them are recomputed", ENGINE_OPTION_INT,
     offsetof(EngineSettings, checkpoints), "checkpoints", .lo = 0, .hi = 10000000},
    {"--checkpoint-schedule", "binomial|uniform", "binomial",
     "binomial (revolve: the fewest recomputed steps for C) or uniform (every ceil(T / (C + 1)) "
     "steps, each segment stored while reversed)", ENGINE_OPTION_CHOICE,
     offsetof(EngineSettings, checkpoint_uniform), "checkpoint_schedule",
     .choices = CHECKPOINT_SCHEDULES},
    ENGINE_OPTION_HVP_CLAMP,
    {0}};

const EngineOps CHECKPOINT_OPS = {"checkpoint", checkpoint_run, checkpoint_check,
                                  checkpoint_state, .options = CHECKPOINT_OPTIONS, .exact = 1, .plain_wT = 1,
                                  .reverse = 1, .recomputes = 1,
                                  .formula_bytes = checkpoint_formula_bytes,
                                  .describe = checkpoint_describe};
