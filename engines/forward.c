/* forward.c — forward mode with hyperparameter sharing (Franceschi et al.
 * 2017; FDS; DESIGN.md engine 4).
 *
 * Carries Z = dw/dtheta and U = dv/dtheta, one tangent column per learned
 * value (P x N each, tagged "tangents"):
 *   U_{t+1} = m_t U_t + M_t H_t Z_t + l_t Z_t + [v_t in column mom(t)] + [w_t in column wd(t)]
 *   Z_{t+1} = Z_t - a_t U_{t+1} - [v_{t+1} in column lr(t)]
 *   df/dtheta = Z_T^T grad L_val(w_T)
 * Columns are stored in the order their windows start, so the columns that
 * have started by step t are a prefix: H_t Z_t for all of them, and the
 * step's gradient, come from one block R-op pass (model_hvp_block_each: the
 * forward and backward passes once, the R passes in blocks of FORWARD_CHUNK
 * columns whose products are folded into U and Z at once); columns not yet
 * started are zero and skipped. K < T is FDS; K = T is Forward-HG.
 * Memory 2 P N + FORWARD_CHUNK P, constant in T; work ~ N HVPs per step.
 * Kinds per layer or weight (kinds.h) have a column per layer or weight of
 * each window (N = K L or K P), folded with step t's a_t, m_t, l_t as
 * P-vectors (kinds_fold below); N tangents are estimated and refused
 * beyond memory before any work, as always.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "kinds.h"

enum { FORWARD_CHUNK = 4 }; /* tangents per R-op block: H Z scratch is 4 P */

typedef struct Column {
    int start;   /* first step of its window */
    int theta;   /* its index in theta */
} Column;

static int by_start(const void *a, const void *b)
{
    const Column *x = a, *y = b;
    return x->start != y->start ? (x->start > y->start) - (x->start < y->start)
                                : (x->theta > y->theta) - (x->theta < y->theta);
}

size_t forward_tangent_bytes(long P, int N)
{
    const int chunk = N < FORWARD_CHUNK ? N : FORWARD_CHUNK;
    return sizeof(real) * (size_t)P * (2 * (size_t)N + chunk);
}

static void forward_state(long P, const EngineOptions *o, int clamp, EngineState *st)
{
    const int N = o->N;
    st->bytes = (double)forward_tangent_bytes(P, N);
    snprintf(st->what, sizeof st->what, "the tangents (2 P N + one block of H Z = 2 x %ld x %d "
             "reals of %zu bytes, plus %ld x min(N, %d))", P, N, sizeof(real), P, FORWARD_CHUNK);
    snprintf(st->remedy, sizeof st->remedy, "learn fewer values (smaller K in --learn), or the "
             "bptt or reversible engine");
}

/* One step's update of the tangents, folded in chunk by chunk as the block
 * R-op pass produces H Z (model_hvp_block_each). */
typedef struct Step {
    const Backend *be;
    real *Z, *U, *g, *mask;
    const real *w, *v;        /* w_t, v_t */
    long P;
    double a, m, l, clamp, hvp_clamp;
    int cm, cw;               /* storage columns that get v_t, w_t; -1: none */
    int clamped, finite;
    /* the per-parameter path: step t, the columns' theta indices by storage
     * column, step t's values as P-vectors, scratch [P] */
    Kinds *kd;
    int t;
    const Column *cols;
    const real *A, *Mv, *Lv;
    real *tmp;
    const real *G;            /* [B][P] grad l_i of the batch's weighted examples */
    const int *ex_slot;       /* [E] example i's slot in the batch, or -1 */
} Step;

static void fold(void *ctx, int j0, int kc, const real *HZ)
{
    Step *s = ctx;
    if (!s->clamped) { /* the gradient is complete before the first chunk */
        s->clamped = 1;
        s->finite = s->be->vec.all_finite(s->g, s->P);
        if (s->finite)
            s->be->vec.clamp(s->g, s->P, s->clamp, s->mask);
    }
    if (!s->finite)
        return;
    /* --hvp-clamp; HZ is this run's own scratch (forward_run's), handed back const */
    engine_clamp_hvp(s->be, s->hvp_clamp, (real *)HZ, (long)kc * s->P);
    if (s->kd) { /* kinds.h: per column, a, m, l as vectors */
        const Backend *be = s->be;
        const long P = s->P;
        for (int c = j0; c < j0 + kc; c++) {
            real *Zc = s->Z + (long)c * P, *Uc = s->U + (long)c * P;
            const HyperLayout *h = s->kd->h;
            const int q = s->cols[c].theta, ex = h->E && q >= h->ex_offset;
            be->vec.mul(Uc, s->Mv, Uc, P);
            be->vec.mul(s->tmp, s->mask, HZ + (long)(c - j0) * P, P);
            be->vec.axpy(Uc, 1, s->tmp, P);
            be->vec.mul(s->tmp, s->Lv, Zc, P);
            be->vec.axpy(Uc, 1, s->tmp, P);
            if (ex && s->ex_slot[q - h->ex_offset] >= 0) { /* + M_t grad l_i c_i' / B */
                const int i = q - h->ex_offset;
                be->vec.mul(s->tmp, s->mask, s->G + (long)s->ex_slot[i] * P, P);
                be->vec.axpy(Uc, kinds_example_scale(s->kd, i), s->tmp, P);
            }
            int j;
            long o, n;
            const HyperKind k = ex ? HYPER_LR : kinds_of_column(s->kd, q, &j, &o, &n);
            if (!ex && k != HYPER_LR && j == (int)((long)s->t * h->K[k] / h->T))
                be->vec.axpy(Uc + o, 1, (k == HYPER_MOM ? s->v : s->w) + o, n);
            be->vec.mul(s->tmp, s->A, Uc, P);
            be->vec.axpy(Zc, -1, s->tmp, P);
        }
        return;
    }
    /* U = m U + M HZ + l Z (+ v_t, w_t in their columns); Z -= a U */
    s->be->vec.tangent_fold(s->Z, s->U, HZ, s->mask, s->v, s->w, s->P, j0, kc, s->cm, s->cw, s->a,
                        s->m, s->l);
}

static int forward_run(const EngineConfig *cfg, EngineResult *out, HgErr *err)
{
    const InnerProblem *p = cfg->prob;
    const Schedule *s = cfg->sched;
    const HyperLayout *h = cfg->layout;
    const int T = s->T, N = h->N;
    const Backend *be = inner_backend(p);
    const long P = p->model->nparams, dim = dataset_dim(p->train);
    const size_t bytes = sizeof(real) * P;
    EngineState est;
    const EngineOptions opts = engine_options(cfg);
    if (engine_check_state(&FORWARD_OPS, P, &opts, s->clamp > 0, &est, err) ||
        engine_check_device(&FORWARD_OPS, be, &est, err))
        return -1;
    BatchOrder bo;
    if (inner_batches(p, &bo, err))
        return -1;
    /* slot[theta index] = its storage column; columns sorted by start */
    Column *cols = mem_alloc(MEM_OTHER, sizeof(Column) * N);
    int *slot = mem_alloc(MEM_OTHER, sizeof(int) * N);
    for (int k = 0, c = 0; k < HYPER_KINDS; k++)
        for (int j = 0; j < h->K[k]; j++)
            for (long i = 0; i < h->width[k]; i++, c++)
                cols[c] = (Column){hyper_window_start(h, k, j),
                                   (int)(h->offset[k] + j * h->width[k] + i)};
    for (int i = 0; i < h->E; i++) /* example weights: one column each, from step 0 */
        cols[h->ex_offset + i] = (Column){0, h->ex_offset + i};
    qsort(cols, N, sizeof *cols, by_start);
    for (int c = 0; c < N; c++)
        slot[cols[c].theta] = c;

    const long fails = mem_failures(); /* the buffers below: out of memory is an error */
    real *Z = be->mem.alloc(MEM_TANGENTS, bytes * N);
    real *U = be->mem.alloc(MEM_TANGENTS, bytes * N);
    const int chunk = N < FORWARD_CHUNK ? N : FORWARD_CHUNK;
    real *HZ = be->mem.alloc(MEM_TANGENTS, bytes * chunk);
    real *w = be->mem.alloc(MEM_PARAMS, bytes), *v = be->mem.alloc(MEM_PARAMS, bytes);
    real *g = be->mem.alloc(MEM_PARAMS, bytes), *mask = be->mem.alloc(MEM_PARAMS, bytes);
    real *x = be->mem.alloc(MEM_DATA, sizeof(real) * p->batch * dim);
    int32_t *y = be->mem.alloc(MEM_DATA, sizeof(int32_t) * p->batch);
    real *comp = inner_comp_alloc(p);
    const int kv = hyper_layout_vector(h); /* the per-parameter path */
    real *A = NULL, *Mv = NULL, *Lv = NULL, *tmp = NULL, *G = NULL;
    int *ex_slot = h->E ? mem_alloc(MEM_OTHER, sizeof(int) * h->E) : NULL;
    for (int i = 0; i < h->E; i++)
        ex_slot[i] = -1;
    if (h->E)
        G = be->mem.alloc(MEM_TANGENTS, bytes * p->batch);
    if (kv) {
        A = be->mem.alloc(MEM_PARAMS, bytes);
        Mv = be->mem.alloc(MEM_PARAMS, bytes);
        Lv = be->mem.alloc(MEM_PARAMS, bytes);
        tmp = be->mem.alloc(MEM_PARAMS, bytes);
    }
    int rc = mem_failures() != fails ? mem_oom_error(err, "forward") : 0, active = 0;
    Kinds kd = {0};
    if (rc == 0 && kv)
        rc = kinds_init(&kd, cfg, out->hypergrad, err);
    if (rc == 0)
        be->mem.copy(w, p->w0, bytes);

    engine_phase(out, ENGINE_PHASE_INNER);
    for (int t = 0; t < T && rc == 0; t++) {
        if ((rc = engine_interrupted(cfg, "forward", t, err)))
            break;
        while (active < N && cols[active].start <= t)
            active++;
        const double a = s->v[HYPER_LR][t], m = s->v[HYPER_MOM][t], l = s->v[HYPER_WD][t];
        const int cm = hyper_column(h, HYPER_MOM, t), cw = hyper_column(h, HYPER_WD, t);
        Step st = {be, Z, U, g, mask, w, v, P, a, m, l, s->clamp, cfg->opt.hvp_clamp,
                   cm >= 0 && !kv ? slot[cm] : -1, cw >= 0 && !kv ? slot[cw] : -1, 0, 1,
                   .kd = NULL};
        if (kv) {
            kinds_expand(&kd, t, A, Mv, Lv);
            st.kd = &kd;
            st.t = t;
            st.cols = cols;
            st.A = A;
            st.Mv = Mv;
            st.Lv = Lv;
            st.tmp = tmp;
            st.G = G;
            st.ex_slot = ex_slot;
        }
        inner_batch(p, &bo, t, x, y);
        const int *idx = batch_order_step(&bo, t);
        for (int b = 0; b < p->batch && h->E; b++) /* grad l_i of each weighted example */
            if (idx[b] < h->E) {
                ex_slot[idx[b]] = b;
                model_loss_grad(p->model, w, x + (long)b * dim, y + b, 1, G + (long)b * P);
            }
        kinds_weigh(&kd, idx);
        model_hvp_block_each(p->model, w, x, y, p->batch, active, chunk, Z, HZ, g, fold, &st);
        kinds_unweigh(&kd);
        for (int b = 0; b < p->batch && h->E; b++)
            if (idx[b] < h->E)
                ex_slot[idx[b]] = -1;
        if (!st.finite) {
            rc = hg_fail(err, "forward: inner run diverged: non-finite gradient at step %d", t);
            break;
        }
        if (kv) {
            kinds_sgd_step(&kd, t, w, v, comp, g);
            for (long i = 0; h->K[HYPER_LR] && i < h->width[HYPER_LR]; i++) {
                int j;
                long o, n;
                const long q = hyper_column_at(h, HYPER_LR, t, i);
                kinds_of_column(&kd, q, &j, &o, &n);
                be->vec.axpy(Z + (long)slot[q] * P + o, -1, v + o, n);
            }
            continue;
        }
        be->vec.sgd_step(w, v, comp, g, P, a, m, l);
        inner_round(p, t, w, v); /* --round-noise: identity for the tangents */
        const int ca = hyper_column(h, HYPER_LR, t);
        if (ca >= 0)
            be->vec.axpy(Z + (long)slot[ca] * P, -1, v, P);
    }
    engine_phase(out, ENGINE_PHASE_NONE);
    if (rc == 0 && !be->vec.all_finite(w, P))
        rc = hg_fail(err, "forward: inner run diverged: non-finite weights at step %d", T);
    if (rc == 0) {
        engine_phase(out, ENGINE_PHASE_VALIDATION);
        engine_keep_wT(cfg, w);
        model_set_grad(p->model, w, p->val->x, p->val->y, p->val->n, g, &out->val_loss,
                       &out->val_acc);
        engine_phase(out, ENGINE_PHASE_HYPERGRAD);
        for (int q = 0; q < N; q++)
            out->hypergrad[q] = be->vec.dot(Z + (long)slot[q] * P, g, P);
        engine_phase(out, ENGINE_PHASE_NONE);
    }
    /* per-step values exist only without sharing (every column one step) */
    for (int k = 0; rc == 0 && !kv && k < HYPER_KINDS; k++)
        if (h->K[k] == T) {
            out->per_step[k] = mem_alloc(MEM_OTHER, sizeof(double) * T);
            memcpy(out->per_step[k], out->hypergrad + h->offset[k], sizeof(double) * T);
        }

    mem_free(cols);
    mem_free(slot);
    kinds_free(&kd);
    mem_free(ex_slot);
    real *const bufs[] = {Z, U, HZ, w, v, comp, g, mask, x, A, Mv, Lv, tmp, G};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        be->mem.free(bufs[i]);
    be->mem.free(y);
    batch_order_free(&bo);
    return rc;
}

static int forward_check(const EngineOptions *o, HgErr *err)
{
    if (o->N == 0)
        return hg_fail(err, "forward: nothing is learned (--learn none); forward mode carries "
                       "one tangent per learned value and needs at least one (e.g. --learn "
                       "lr:1)");
    return engine_refuse_foreign(&FORWARD_OPS, o, err);
}

/* DESIGN.md: the tangents Z and U, 2 P N reals. */
static double forward_formula_bytes(long P, int T, int N, const EngineResult *r)
{
    return 2.0 * P * N * sizeof(real);
}

static const EngineOption FORWARD_OPTIONS[] = {ENGINE_OPTION_HVP_CLAMP, {0}};

const EngineOps FORWARD_OPS = {"forward", forward_run, forward_check, forward_state,
                               .options = FORWARD_OPTIONS, .exact = 1, .plain_wT = 1,
                               .formula_bytes = forward_formula_bytes};
