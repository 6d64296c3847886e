/* engine.h — one interface for the hypergradient engines, and a registry.
 *
 * An engine runs the inner problem of inner.h under a schedule (the per-step
 * hyperparameters; learned kinds already hold the values of theta) and
 * returns the hypergradient of f = L_val(w_T) with respect to theta: for each
 * learned value, the exact derivative with respect to that shared value, the
 * sum over its window's steps. Engines: "bptt", "reversible", "forward", "greedy" (a
 * biased one-step look-ahead, not the derivative of f unless T = 1).
 * Every number an engine returns is checked finite: divergence is an error
 * naming the step, never a number.
 */
#ifndef HG_ENGINE_H
#define HG_ENGINE_H

#include <math.h>
#include <stddef.h>

#include "../common/mem.h"
#include "../harness/hyper.h"
#include "../harness/inner.h"

/* bptt's forward pass as arrays, handed out after it ran (record) or taken
 * in instead of running it (replay), so that a trajectory computed in one
 * precision can be differentiated in another (the float32 run's reverse pass
 * in float64). W [T][P] holds w_t, V [T][P] v_{t+1}, M [T][(P+63)/64] the
 * clamp masks' bits (bit i%64 of word i/64 set where entry i is unclamped;
 * NULL without a clamp), wT [P] w_T. The arrays are host memory whatever the
 * backend (bptt stages a device's through host copies), so a hook reads and
 * writes them directly. A hook returns 0, or -1 with err set. */
typedef struct TrajectoryHook {
    void *ctx;
    int (*record)(void *ctx, int T, long P, const real *W, const real *V, const uint64_t *M,
                  const real *wT, HgErr *err);
    int (*replay)(void *ctx, int T, long P, real *W, real *V, uint64_t *M, real *wT,
                  HgErr *err);
} TrajectoryHook;

/* The values of the options only some engines take: the one generic place
 * an option is listed. Which engine takes which, its flag, default, help
 * and JSON member are declared by the engine (EngineOps.options, its
 * EngineOption table), and every program's flags, JSON members, config and
 * refusals are made from those declarations. Zero is every option's
 * default unless its declaration says otherwise. */
typedef struct EngineSettings {
    int truncate;            /* bptt: differentiate through the last `truncate`
                              * steps only (0: all; Shaban et al. 2019, biased) */
    int greedy_on_train;     /* greedy: look ahead on the next training batch (HD)
                              * instead of the validation set (FDS's baseline) */
    double greedy_online_lr; /* greedy: > 0 updates the learned values after
                              * every step by this outer learning rate (HD) */
    int checkpoints;         /* checkpoint: C stored states (1 <= C < T) */
    int checkpoint_uniform;  /* checkpoint: every ceil(T / (C + 1)) steps instead of
                              * the binomial (revolve) schedule */
    double hvp_clamp;        /* bptt, checkpoint, reversible, forward: each entry of
                              * every Hessian-vector product clamped to [-C, C], as
                              * the FDS code does (engine_clamp_hvp); 0: off */
} EngineSettings;

typedef struct EngineConfig {
    const InnerProblem *prob;
    const HyperLayout *layout;
    const Schedule *sched;
    EngineSettings opt;               /* the engine's options (EngineOps.options) */
    const TrajectoryHook *trajectory; /* bptt: record its trajectory (hook's
                                       * record set) or replay one (replay set) */
    real *wT; /* non-NULL: w_T, where val_loss and val_acc are measured, is
               * copied here ([P], the problem's backend memory) */
} EngineConfig;

/* The parts of a run timed apart (EngineResult.phase_s), so that a device
 * run's time can be split where host clocks cannot see it. */
typedef enum EnginePhase {
    ENGINE_PHASE_INNER,      /* the inner steps: gradient and update (forward
                              * mode with its tangents, which ride the same
                              * passes; checkpoint: every step it recomputes) */
    ENGINE_PHASE_VALIDATION, /* the validation set at w_T: its gradient
                              * (greedy: its loss) */
    ENGINE_PHASE_HYPERGRAD,  /* the rest of the hypergradient: reverse mode's
                              * adjoint steps (an HVP each), greedy's
                              * look-ahead gradients, forward's Z^T g */
    ENGINE_PHASES,
    ENGINE_PHASE_NONE = ENGINE_PHASES /* in no phase: setup, checks, frees */
} EnginePhase;

typedef struct EngineResult {
    int N, T;
    double val_loss, val_acc;          /* at w_T */
    double *hypergrad;                 /* [N] */
    double *per_step[HYPER_KINDS];     /* [T] for learned kinds where the engine
                                        * has per-step values; else NULL */
    double time_s;                     /* wall time of run */
    size_t mem_peak[MEM_NTAGS];        /* engine-state bytes by kind (peaks) */
    size_t peak_rss;
    size_t device_peak; /* a device backend's peak use (cudaMemGetInfo); 0: none */
    /* reversible: information-buffer bytes at their peak (packed words plus
     * each stream's open word) and the floor sum_t P log2(1/m_t) / 8 */
    size_t infobuf_bytes;
    double infobuf_floor_bytes;
    /* checkpoint: steps recomputed to reach states (beyond each reversed
     * step's own recomputation), and the binomial minimum for C slots */
    long recomputed_steps, recomputed_min;
    int stored_states; /* checkpoint: states stored at the peak (C, or C + L) */
    /* Seconds per phase (engine_phase); time_s less their sum is the time
     * in none. On a backend with timer ops they are the device's stream
     * time by its marks (CUDA events; phase_device 1), else host wall
     * time. */
    double phase_s[ENGINE_PHASES];
    int phase_device;
    struct Stopwatch *phase_clock; /* engine_run's while it runs; then NULL */
} EngineResult;

/* What an engine keeps that grows with the problem (bptt's trajectory,
 * forward's tangents), for the estimate printed and the refusal made before
 * any work. */
typedef struct EngineState {
    double bytes;       /* 0: nothing that grows with T or N */
    char what[200];     /* "the trajectory (2 T P = 2 x 100 x 61706 reals of 4 bytes)" */
    char remedy[160];   /* what to change when it does not fit */
} EngineState;

/* The options a run asks of an engine, known before any data is loaded, so
 * that a program refuses what an engine cannot do before any work. */
typedef struct EngineOptions {
    int T, N;          /* steps, learned values */
    int kahan;         /* the problem's compensated update */
    int trajectory;    /* a trajectory record or replay hook */
    EngineSettings opt;/* the options' values */
    unsigned asked;    /* bit i: engine_option_at(i) was asked for (given on the
                        * command line, or set to other than its default) */
    HyperPer per[HYPER_KINDS]; /* learned kinds per layer or weight (else per run) */
    int E;             /* examples whose loss weights are learned (0: none) */
} EngineOptions;

/* One option an engine takes, declared in its file (EngineOps.options, a
 * table ended by a NULL flag): the flag and its help, the default, the
 * JSON member, and the EngineSettings field its value lives in. */
typedef enum EngineOptionKind {
    ENGINE_OPTION_INT,    /* an int field, an integer in [lo, hi] */
    ENGINE_OPTION_REAL,   /* a double field, finite, in [lo, hi] */
    ENGINE_OPTION_CHOICE, /* an int field, the index in choices (NULL-terminated);
                           * written in JSON as the choice's name */
} EngineOptionKind;

typedef struct EngineOption {
    const char *flag;  /* "--truncate"; NULL ends a table */
    const char *meta;  /* "K" in "--truncate K" */
    const char *shown; /* the default as help shows it */
    const char *help;  /* help prints "<engine> only: " before it */
    EngineOptionKind kind;
    size_t field;      /* offsetof(EngineSettings, ...) */
    const char *json;  /* the member of a record (hgbench hypergrad --json) */
    double lo, hi;     /* INT, REAL */
    const char *const *choices; /* CHOICE */
    double def;        /* the default value (a CHOICE's index) */
    int moves_schedule;/* 1: set (not its default), the run changes its schedule
                        * while it runs (greedy's online updates), so the
                        * schedule given is not the one run */
} EngineOption;

/* --hvp-clamp C, declared alike by each engine that forms Hessian-vector
 * products (bptt, checkpoint, reversible: H u in the reverse pass; forward:
 * H Z in the tangent update) and applied there by engine_clamp_hvp. Greedy
 * forms none (its look-ahead is a gradient), so it does not declare it and
 * refuses it by name (engine_refuse_foreign). */
#define ENGINE_OPTION_HVP_CLAMP                                                              \
    {"--hvp-clamp", "C", "0",                                                                \
     "clamp each entry of every Hessian-vector product to [-C, C], as the FDS code does "     \
     "(an estimate, no longer the exact derivative); 0 = off", ENGINE_OPTION_REAL,            \
     offsetof(EngineSettings, hvp_clamp), "hvp_clamp", .lo = 0, .hi = HUGE_VAL}

/* At most this many options over all engines (EngineOptions.asked's bits). */
#define ENGINE_OPTIONS_MAX 16

/* What an engine knows about itself, so that no code outside engines/ has to
 * compare its name: a program asks the table (an option's JSON members are
 * written when the engine takes the option, the information buffer's when
 * it keeps one, and so on). */
typedef struct EngineOps {
    const char *name;
    int (*run)(const EngineConfig *cfg, EngineResult *out, HgErr *err);
    /* 0, or -1 naming the option (and flag) this engine cannot do. */
    int (*check)(const EngineOptions *o, HgErr *err);
    /* The state for P parameters and the options' T steps, N learned values
    * (and the checkpoint count); NULL: none. */
    void (*state)(long P, const EngineOptions *o, int clamp, EngineState *st);
    /* The options only this engine (or a few) takes; NULL: none. */
    const EngineOption *options;
    /* 1: takes a trajectory record or replay hook (EngineConfig.trajectory). */
    int trajectory;
    /* 1: fills EngineResult's recomputed_steps and recomputed_min. */
    int recomputes;
    /* The options in opt in words, for a summary line, into buf (left ""
     * when none is asked), as " (truncated to the last 5 steps)"; r: the
     * finished run, or NULL before it. NULL: the engine has nothing to say. */
    void (*describe)(const EngineSettings *opt, const EngineResult *r, char *buf, size_t cap);
    /* 1: the exact derivative of f = L_val(w_T) (to rounding); 0: an
     * estimate (greedy: a biased one-step look-ahead, exact only for T = 1). */
    int exact;
    /* 1: reverse mode, per-step hypergradients at a cost independent of N. */
    int reverse;
    /* 1: fills EngineResult's infobuf_bytes and infobuf_floor_bytes. */
    int infobuf;
    /* DESIGN.md's formula for the engine's state in bytes, for P parameters,
     * T steps, N learned values and the run's result r (reversible's floor
     * is measured); NULL: none (0). */
    double (*formula_bytes)(long P, int T, int N, const EngineResult *r);
    /* What the hypergradient of a run with cfg is, in a sentence (for a
     * record such as --export's problem.json); NULL, or a NULL return: the
     * exact derivative of f, engine_definition's default. */
    const char *(*definition)(const EngineConfig *cfg);
    /* 1: its w_T (EngineConfig.wT) is bit for bit a plain training run's
     * (inner_train_layout) on the schedule it was given, unless an option
     * moves the schedule (engine_moving_option): its inner steps are the
     * same operations in the same order (tests/test_engine_wT.c). 0: not
     * (reversible's steps are fixed-point). */
    int plain_wT;
} EngineOps;

/* Copies w [P] (backend memory) to cfg->wT when it is set: each engine
 * calls it with w_T, where it measures the validation loss. */
void engine_keep_wT(const EngineConfig *cfg, const real *w);

/* The engines (tests name them; programs go through the registry). A new
 * engine is its own file plus one line in engine.c's registry. */
extern const EngineOps BPTT_OPS, REVERSIBLE_OPS, FORWARD_OPS, GREEDY_OPS, CHECKPOINT_OPS;

/* Bytes of BPTT's stored trajectory (and clamp masks), for refusing runs
 * that would not fit before any work. */
size_t bptt_trajectory_bytes(long P, int T, int clamp);

/* Bytes of the forward engine's tangents: Z and U (2 P N reals) and the H Z
 * of one block of columns. */
size_t forward_tangent_bytes(long P, int N);

/* Bytes of the checkpoint engine's stored states: C (+ one segment's L with
 * the uniform schedule) states of 2 P reals (3 P with the Kahan update). */
size_t checkpoint_bytes(long P, int T, int C, int uniform, int kahan);
/* C clipped to the checkpoint engine's range 1 <= C < T (T >= 2); C <= 0
 * asks for the default, round(sqrt(T)) (with the uniform schedule, the
 * classic memory of 2 sqrt(T) states). */
int checkpoint_count(int C, int T);
/* The binomial schedule: the fewest steps recomputed to reverse t steps from
 * a stored state with s free slots, and where its first checkpoint goes
 * (1 <= split < t; t >= 2, s >= 1). */
long checkpoint_binomial_advances(long t, int s);
long checkpoint_binomial_split(long t, int s);

/* Engine state above this many bytes is refused before any work: the memory
 * this process can still get (mem_limit: MemAvailable, RLIMIT_AS, RLIMIT_DATA,
 * the smallest), else 80% of the physical memory (0 if unknown: nothing is
 * refused). */
double engine_memory_limit(void);
double physical_memory_bytes(void);

/* ops's state for the problem into st (zero if it keeps none); -1 with
 * "<engine>: <what> needs X GiB but only <the limit, named>; <remedy>" when
 * it is over engine_memory_limit. Every caller refuses through this one, and
 * engine_run checks it for every engine before it allocates. */
int engine_check_state(const EngineOps *ops, long P, const EngineOptions *o, int clamp,
                       EngineState *st, HgErr *err);
/* -1 with "<engine>: <what> needs X GiB but the device has Y GiB free;
 * <remedy>" when the backend has memory of its own (mem_available) and st
 * does not fit in 90% of what is free there; else 0. Engines call it
 * with engine_check_state, before any work. */
int engine_check_device(const EngineOps *ops, const Backend *be, const EngineState *st,
                        HgErr *err);
/* The options of a run of T steps learning N values, nothing else asked
 * (every option at its default). */
EngineOptions engine_options_plain(int T, int N);

/* Test hook: >= 0 perturbs one recomputed gradient entry by 1e-3 at that
 * reverse step of the reversible engine, so tests can see its bit-for-bit
 * restore check fail. -1 (the default): off. */
extern int reversible_test_flip;

/* NULL for an unknown name; engine_names lists the valid ones. */
const EngineOps *engine_find(const char *name);
const char *engine_names(void);
/* The i-th registered engine, in the registry's order; NULL for i past the
 * last (for (int i = 0; engine_at(i); i++) visits them all). */
const EngineOps *engine_at(int i);
/* 1 if ops takes the option of that flag ("--truncate"). */
int engine_takes(const EngineOps *ops, const char *flag);

/* --- the options the engines declare (EngineOps.options) ----------------- */

/* The i-th option over the registry (engines in order, each flag once), its
 * engine in *owner (may be NULL); NULL for i past the last. */
const EngineOption *engine_option_at(int i, const EngineOps **owner);
/* Every option at its declared default. */
EngineSettings engine_settings_defaults(void);
/* The option's value in s (a CHOICE's index). */
double engine_option_value(const EngineOption *x, const EngineSettings *s);
/* The value as the flag takes it ("5", "0.01", "uniform"). */
void engine_option_text(const EngineOption *x, const EngineSettings *s, char *buf, size_t cap);
/* Bits of the options whose value in s is not their default. */
unsigned engine_options_set(const EngineSettings *s);
/* The options of ops that move the schedule while the run goes (set in s):
 * the first one's flag, or NULL. */
const char *engine_moving_option(const EngineOps *ops, const EngineSettings *s);
/* The flag table entries of every option (engine_option_at's order) into
 * out, at most cap, their targets in *s and given[i] set when option i is on
 * the command line; the number written. Help reads "<engine> only: <help>". */
struct Flag;
int engine_flags(struct Flag *out, int cap, EngineSettings *s, int given[ENGINE_OPTIONS_MAX]);
/* The asked bits of given (engine_flags's). */
unsigned engine_options_given(const int given[ENGINE_OPTIONS_MAX]);
/* ops's summary of s (EngineOps.describe) into buf; "" without one. */
const char *engine_describe(const EngineOps *ops, const EngineSettings *s, const EngineResult *r,
                            char *buf, size_t cap);

double engine_formula_bytes(const EngineOps *ops, long P, int T, int N, const EngineResult *r);
/* ops->definition for cfg, or the exact derivative's sentence. */
const char *engine_definition(const EngineOps *ops, const EngineConfig *cfg);

/* What cfg asks of the engine (an option counts as asked for when it is not
 * its default). */
EngineOptions engine_options(const EngineConfig *cfg);

/* Refusals of the options ops does not declare, each naming its flag and
 * the engines that take it, and of a trajectory hook for an engine without
 * one. */
int engine_refuse_foreign(const EngineOps *ops, const EngineOptions *o, HgErr *err);

/* -1 with "<engine>: interrupted at step t" once the problem's stop flag is
 * set (inner.h), else 0: every engine asks before each inner step, forward
 * and reverse. */
static inline int engine_interrupted(const EngineConfig *cfg, const char *engine, int t,
                                     HgErr *err)
{
    if (!inner_stopped(cfg->prob))
        return 0;
    return hg_fail(err, "%s: interrupted at step %d", engine, t);
}

/* --hvp-clamp: hv [n], a Hessian-vector product (or a block of them), each
 * entry clamped to [-c, c]. c = 0 leaves it untouched (no pass over it: the
 * run is bit for bit the unclamped one). A product that is not finite is
 * left as it is, so that the engine's divergence check still sees it. */
static inline void engine_clamp_hvp(const Backend *be, double c, real *hv, long n)
{
    if (c > 0 && be->vec.all_finite(hv, n))
        be->vec.clamp(hv, n, c, NULL);
}

/* An engine's run enters phase p (ENGINE_PHASE_NONE: leaves the one it was
 * in); the time until its next call goes to out->phase_s[p]. A mark on
 * the device's stream or one host clock read: cheap enough per step. */
void engine_phase(EngineResult *out, EnginePhase p);
/* "inner", "validation", "hypergrad" */
const char *engine_phase_name(EnginePhase p);

/* Runs an engine: checks its options (ops->check), zeroes out, allocates its arrays, times the run
 * and its phases, records the memory peaks by kind, checks every returned number is finite. */
int engine_run(const EngineOps *ops, const EngineConfig *cfg, EngineResult *out, HgErr *err);
void engine_result_free(EngineResult *r);

#endif
