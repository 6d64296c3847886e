/* fig2.c — hgbench-fig2: hypergradient MSE against the sharing window W
 * (FDS paper, Section 5.1 and Figure 2; the bound of Theorem 4.1).
 *
 * One fixed schedule (cosine-annealed learning rate, momentum, clamp) on
 * LeNet / Fashion-MNIST, run from S seeds (seed s: model_init seed s and the
 * batch order hgbench hypergrad derives from --seed s; the validation split
 * is the same for every seed). Per seed, the per-step learning-rate
 * hypergradients of f = L_val(w_T) from a non-greedy engine (bptt or
 * reversible, lr learned per step, K = T) and the greedy ones (one-step
 * look-ahead on the validation set, no online updates); the statistics
 * (MSE per window, the bound's fits, greedy's bias and variance) are
 * fig2_stats.h's.
 *
 * Precision: the binary's (build/f32 or build/f64). --seeds-out keeps the
 * per-step values (and, with --record N, bptt's trajectories of the first N
 * seeds) so that a run in the other precision can --compare against them:
 * the difference of the per-step values, and the same with the reverse pass
 * redone in this binary's precision on the recorded trajectory (bptt's
 * replay), which separates the rounding of the training run from that of
 * the reverse pass. --kahan compensates the weight update.
 *
 * Ranks: under mpirun or srun the seeds are handed out over MPI ranks
 * (bench/farm.h: rank 0 gives the next seed to whichever rank is free,
 * itself included); every seed's values go back to rank 0, which places them
 * by seed and writes the outputs, so they equal a one-process run's, times
 * and date aside. Every rank loads the data; --seeds-out trajectories are
 * written by the rank that ran the seed (a folder all ranks share).
 *
 * Outputs: a whitespace-column table with '#' context lines (stdout, and
 * --out FILE atomically), a JSON record (--json: io/envelope.h's envelope,
 * the settings and summary numbers, rows = one per window, the rounding
 * rows of --compare, the per-step curves and every seed's per-step values),
 * and the per-step curves as columns (--steps-out). hgbench-report renders
 * the section and its plots from the JSON (bench/report_fig2.c).
 * Leaves out: hyperparameters other than the learning rate, outer
 * optimisation, a direct estimate of the theorem's maximum correlation c.
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/flags.h"
#include "../common/mem.h"
#include "../common/real.h"
#include "../common/timer.h"
#include "../datasets/dataset.h"
#include "../engines/engine.h"
#include "../harness/problem.h"
#include "../harness/runner.h"
#include "../io/atomic_file.h"
#include "../io/envelope.h"
#include "../io/json_writer.h"
#include "../io/machine.h"
#include "../io/npy.h"
#include "../io/progress.h"
#include "../io/trajectory_file.h"
#include "farm.h"
#include "fig2_stats.h"

#define PROG "hgbench-fig2"
#define MAX_SEEDS 100000
#define MAX_STEPS 100000
#define MAX_THREADS 1024
#define MAX_FAILS_SHOWN 20
#define MAX_COMPARE 4
#define MAX_LABEL 32
#define LENET_PARAMS 61706 /* 1x28x28 LeNet, for the memory check before loading */

/* The settings of the paper's Figure 2 (FDS, Section 5.1, Appendix C). */
#define PAPER_SEEDS 100
#define PAPER_STEPS 250
#define PAPER_BATCH 128
#define PAPER_VAL 2000
#define PAPER_LR 0.01

static const int PAPER_WINDOWS[] = {1, 2, 5, 10, 25, 50, 125, 250};
static const int QUICK_WINDOWS[] = {1, 2, 5, 10, 25, 50};

typedef struct Fig2Options {
    int seeds, steps, batch, val, threads;
    uint64_t val_seed;
    double lr, mom, clamp;
    const char *data, *data_dir, *reverse, *out, *json, *steps_out, *commit;
    const char *device;   /* --device (the problem layer resolves it) */
    int nwin, windows[MAX_WINDOWS];
    int windows_given;  /* --windows on the command line */
    int windows_note;   /* 1: windows made for a T other than the paper's */
    FitKind fit;
    int quick, help;
    int kahan;          /* compensated weight update (inner.h) */
    int greedy;         /* 0: --greedy off, no greedy runs */
    const char *seeds_out; /* folder: per_step.npy, val_loss.npy, trajectory-<s>/ */
    int record;         /* bptt trajectories kept for seeds < record */
    int ncompare;
    const char *compare_label[MAX_COMPARE], *compare_dir[MAX_COMPARE];
    int ranks;          /* MPI ranks the seeds were spread over, for the envelope */
    int argc;           /* the command as run, for the JSON's envelope */
    char **argv;
} Fig2Options;

static Fig2Options fig2_defaults(void)
{
    Fig2Options o = {
        .seeds = 20, .steps = PAPER_STEPS, .batch = PAPER_BATCH, .val = PAPER_VAL,
        .threads = 2, .val_seed = 1, .lr = PAPER_LR, .mom = 0.9, .clamp = 1,
        .data = "fashion-mnist", .data_dir = NULL, .device = "cpu", .reverse = "bptt",
        .commit = "unknown",
        .fit = FIT_REL, .greedy = 1,
    };
    return o;
}

/* ------------------------------------------------------------ flags */

static int parse_fit(const char *flag, const char *v, void *target, HgErr *err)
{
    FitKind *fit = target;
    if (!strcmp(v, "rel"))
        *fit = FIT_REL;
    else if (!strcmp(v, "abs"))
        *fit = FIT_ABS;
    else
        return hg_fail(err, "%s '%s': expected rel or abs", flag, v);
    return 0;
}

/* --compare LABEL=DIR, up to MAX_COMPARE of them. */
static int parse_compare(const char *flag, const char *v, void *target, HgErr *err)
{
    Fig2Options *o = target;
    const char *eqv = strchr(v, '=');
    if (o->ncompare == MAX_COMPARE)
        return hg_fail(err, "%s: at most %d", flag, MAX_COMPARE);
    if (!eqv || eqv == v || !eqv[1] || eqv - v >= MAX_LABEL ||
        strcspn(v, " \t#") < (size_t)(eqv - v))
        return hg_fail(err, "%s '%s': expected LABEL=DIR, a label of 1..%d characters "
                       "without spaces or '#'", flag, v, MAX_LABEL - 1);
    o->compare_label[o->ncompare] = v;
    o->compare_dir[o->ncompare++] = eqv + 1;
    return 0;
}

static const char *const DATA_SETS[] = {"fashion-mnist", "mnist", NULL};
static const char *const OFF_ON[] = {"off", "on", NULL};

static FlagTable fig2_flags(Fig2Options *o)
{
    return (FlagTable){{
        {"--seeds", "S", "20", "seeds (new init and batch order each; the paper used 100)",
         FLAG_INT, .target = &o->seeds, .lo = 2, .hi = MAX_SEEDS},
        {"--steps", "T", "250", "inner steps", FLAG_INT, .target = &o->steps, .lo = 1,
         .hi = MAX_STEPS},
        {"--batch", "B", "128", "training batch size", FLAG_INT, .target = &o->batch, .lo = 1,
         .hi = 1000000},
        {"--val", "N", "2000", "validation examples split off the training set", FLAG_INT,
         .target = &o->val, .lo = 1, .hi = 10000000},
        {"--val-seed", "SEED", "1", "seed of the validation split (one for all seeds)",
         FLAG_SEED, .target = &o->val_seed},
        {"--lr", "A", "0.01", "initial learning rate, cosine-annealed to 0 over T", FLAG_REAL,
         .target = &o->lr, .lo = 0, .hi = 1e6, .open_lo = 1},
        {"--mom", "M", "0.9", "momentum", FLAG_REAL, .target = &o->mom, .lo = 0, .hi = 1},
        {"--clamp", "C", "1", "elementwise gradient clamp to [-C, C]; 0: off", FLAG_REAL,
         .target = &o->clamp, .lo = 0, .hi = 1e30},
        {"--windows", "W,W,..", "divisors of T", "sharing windows (each in 1..T)", FLAG_INTS,
         .target = o->windows, .lo = 1, .hi = MAX_STEPS, .count = &o->nwin,
         .max = MAX_WINDOWS, .given = &o->windows_given},
        {"--fit", "rel|abs", "rel", "bound fit: least squares on relative (rel) or absolute "
         "(abs) residuals of MSE(W)", FLAG_FUNC, .target = &o->fit, .parse = parse_fit},
        {"--data", "NAME", "fashion-mnist", "data set (fashion-mnist, mnist; 28x28 LeNet)",
         FLAG_CHOICE, .choices = DATA_SETS, .chosen = &o->data},
        {"--data-dir", "DIR", "the data set's default", "folder of the data set's files",
         FLAG_STRING, .target = &o->data_dir},
        {"--device", "NAME", "cpu", "cpu, cuda (CUDA builds only) or auto", FLAG_STRING,
         .target = &o->device},
        {"--reverse-engine", "E", "bptt", "non-greedy engine: an exact reverse-mode one "
         "(bptt or reversible)", FLAG_STRING, .target = &o->reverse},
        {"--threads", "N", "2", "OpenMP and OpenBLAS threads", FLAG_INT,
         .target = &o->threads, .lo = 1, .hi = MAX_THREADS},
        {"--out", "FILE", "stdout only", "also write the results table to FILE (atomically)",
         FLAG_STRING, .target = &o->out},
        {"--json", "FILE", "none", "JSON record: numbers, per-step curves, every seed",
         FLAG_STRING, .target = &o->json},
        {"--steps-out", "FILE", "none", "per-step truth, std and greedy mean as columns",
         FLAG_STRING, .target = &o->steps_out},
        {"--commit", "STR", "unknown", "commit recorded in the outputs", FLAG_STRING,
         .target = &o->commit, .empty_ok = 1},
        {"--kahan", NULL, "off", "compensated (Kahan) weight update in the inner runs",
         FLAG_SWITCH, .target = &o->kahan},
        {"--greedy", "on|off", "on", "run the greedy engine too", FLAG_CHOICE,
         .target = &o->greedy, .choices = OFF_ON},
        {"--seeds-out", "DIR", "none", "keep every seed's per-step values (DIR/per_step.npy, "
         "val_loss.npy) for another precision's --compare", FLAG_STRING,
         .target = &o->seeds_out},
        {"--record", "N", "0", "with --seeds-out: keep bptt's trajectories of the first N "
         "seeds (DIR/trajectory-<s>/, for --compare's replay; needs --reverse-engine bptt)",
         FLAG_INT, .target = &o->record, .lo = 0, .hi = MAX_SEEDS},
        {"--compare", "LABEL=DIR", "none", "compare another run's --seeds-out (same "
         "settings, any precision) against this one's per-step values, and replay its "
         "trajectories with a reverse pass in this precision; up to 4", FLAG_FUNC,
         .target = o, .parse = parse_compare},
        {"--quick", NULL, "off", "preset: T 50, S 4, validation 500, windows 1,2,5,10,25,50 "
         "(other flags override it, wherever they stand)", FLAG_SWITCH, .target = &o->quick},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &o->help},
    }};
}

static void usage(FILE *f)
{
    Fig2Options scratch;
    const FlagTable t = fig2_flags(&scratch);
    fprintf(f, "usage: " PROG " [flags]\n\n"
               "Figure 2 of the FDS paper: the mean squared error of per-step learning-rate\n"
               "hypergradients averaged over sharing windows of W steps, against the ensemble\n"
               "mean over seeds, for W in a list; the greedy hypergradients' MSE; Theorem\n"
               "4.1's bound sigma^2/W + eps^2 (W^2-1)/12 fitted and estimated.\n"
               "LeNet, xavier init, cosine learning rate, weight decay 0.\n\nFlags:\n");
    flags_usage(f, t.f);
    fprintf(f, "\nProgress on stderr (one unit per engine run). Exit status: 0 done; 1 fewer\n"
               "than 2 seeds gave non-greedy hypergradients; 2 a usage error (nothing done);\n"
               "3 data not loaded or an output not written.\n"
               "Under mpirun or srun the seeds are spread over the ranks (rank 0 writes the\n"
               "outputs, equal to one process's, times aside); MPI: %s.\n", farm_mpi_name());
}

static int cmp_int(const void *a, const void *b)
{
    const int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Windows for T when none were given: the paper's list at T = 250 (which is
 * every divisor of 250), the quick list at the quick preset's T = 50; other
 * T get their divisors, topped up with 1-2-5 steps <= T if there are fewer
 * than 6 (then some windows do not divide T and the last window of a seed is
 * shorter). */
static void default_windows(Fig2Options *o)
{
    const int T = o->steps;
    o->nwin = 0;
    if (T == PAPER_STEPS && !o->quick) {
        for (size_t i = 0; i < sizeof PAPER_WINDOWS / sizeof *PAPER_WINDOWS; i++)
            o->windows[o->nwin++] = PAPER_WINDOWS[i];
        return;
    }
    if (T == 50 && o->quick) {
        for (size_t i = 0; i < sizeof QUICK_WINDOWS / sizeof *QUICK_WINDOWS; i++)
            o->windows[o->nwin++] = QUICK_WINDOWS[i];
        return;
    }
    o->windows_note = 1;
    for (int w = 1; w <= T && o->nwin < MAX_WINDOWS; w++)
        if (T % w == 0)
            o->windows[o->nwin++] = w;
    if (o->nwin >= 6)
        return;
    for (long w = 1; w <= T && o->nwin < MAX_WINDOWS; w *= 10) {
        const long c[3] = {w, 2 * w, 5 * w};
        for (int i = 0; i < 3; i++) {
            int dup = c[i] > T;
            for (int j = 0; j < o->nwin && !dup; j++)
                dup = o->windows[j] == c[i];
            if (!dup && o->nwin < MAX_WINDOWS)
                o->windows[o->nwin++] = (int)c[i];
        }
    }
    qsort(o->windows, (size_t)o->nwin, sizeof *o->windows, cmp_int);
}

/* The engines --reverse-engine takes, from the registry: exact and reverse
 * mode ("bptt or reversible"). */
static const char *reverse_names(void)
{
    static char names[128];
    int n = 0;
    for (int i = 0; engine_at(i); i++)
        n += engine_at(i)->reverse && engine_at(i)->exact;
    names[0] = '\0';
    for (int i = 0, k = 0; engine_at(i); i++)
        if (engine_at(i)->reverse && engine_at(i)->exact) {
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     k == 0 ? "" : k == n - 1 ? " or " : ", ", engine_at(i)->name);
            k++;
        }
    return names;
}

/* The biased one-step look-ahead Figure 2 measures (greedy): the registry's
 * engine that is not exact. */
static const EngineOps *look_ahead_engine(void)
{
    for (int i = 0; engine_at(i); i++)
        if (!engine_at(i)->exact)
            return engine_at(i);
    return NULL;
}

static int fig2_parse(int argc, char **argv, Fig2Options *o, HgErr *err)
{
    *o = fig2_defaults();
    /* --quick first, so that any other flag overrides it wherever it stands */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            o->quick = 1;
            o->steps = 50;
            o->seeds = 4;
            o->val = 500;
        }
    }
    const FlagTable t = fig2_flags(o);
    if (flags_parse(t.f, argc, argv, err))
        return -1;
    if (o->help)
        return 0;
    const EngineOps *rev = engine_find(o->reverse);
    if (!rev || !rev->reverse || !rev->exact)
        return hg_fail(err, "--reverse-engine '%s': expected %s", o->reverse, reverse_names());
    for (int i = 0; o->windows_given && i < o->nwin; i++)
        for (int j = 0; j < i; j++)
            if (o->windows[j] == o->windows[i])
                return hg_fail(err, "--windows: window %d given twice", o->windows[i]);
    if (o->record && !o->seeds_out)
        return hg_fail(err, "--record %d: needs --seeds-out DIR to keep the trajectories in",
                       o->record);
    EngineOptions eo = engine_options_plain(o->steps, o->steps);
    eo.kahan = o->kahan;
    eo.trajectory = o->record > 0;
    if (rev->check && rev->check(&eo, err))
        return -1;
    if (!o->windows_given)
        default_windows(o);
    for (int i = 0; i < o->nwin; i++)
        if (o->windows[i] > o->steps)
            return hg_fail(err, "--windows: window %d is longer than --steps %d", o->windows[i],
                           o->steps);
    if (o->windows_given)
        qsort(o->windows, (size_t)o->nwin, sizeof *o->windows, cmp_int);
    /* the per-seed arrays [S][T] twice, and bptt's trajectory, must fit */
    const double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    const double per_seed = 2.0 * o->seeds * o->steps * sizeof(double);
    if (phys > 0 && per_seed > 0.25 * phys)
        return hg_fail(err, "--seeds %d x --steps %d: the per-step values need %.2f GiB; use "
                       "fewer", o->seeds, o->steps, per_seed / (1 << 30));
    EngineState est;
    if (engine_check_state(rev, LENET_PARAMS, &eo, o->clamp > 0, &est, err))
        return -1;
    return 0;
}

/* ------------------------------------------------------------ the run */

typedef char ErrMsg[sizeof ((HgErr *)0)->msg];

/* The rows of one --compare: its values over all common seeds; the same over
 * the seeds with a replayed trajectory; those replays (reverse pass here). */
enum CompareRow { ROW_DIRECT, ROW_SAME_SEEDS, ROW_REPLAYED, COMPARE_ROWS };
static const char *const ROW_SUFFIX[COMPARE_ROWS] = {
    "", ":replayed-seeds", HG_PRECISION == 64 ? ":reverse64" : ":reverse32"};

/* Another run's --seeds-out, compared against this run (--compare). */
typedef struct Compare {
    const char *dir;
    char label[MAX_LABEL];
    int S;                   /* seeds in its per_step.npy */
    double *x, *x_val;       /* [S][T], [S]: its per-step values, validation losses */
    int *ok;                 /* [S]: finite rows */
    double *xr, *xr_val;     /* [S][T], [S]: its trajectories, reverse pass here */
    int *ok_r;               /* [S]: replayed */
    int replay_failed;
    Fig2Rounding row[COMPARE_ROWS]; /* against this run, by CompareRow */
} Compare;

typedef struct Fig2Run {
    const Fig2Options *o;
    const char *device;        /* the backend the runs used (--device auto resolved) */
    Machine mc;
    char date[32];
    long P;
    int n_train, n_val;
    const char *data_dir;
    double *lr;                /* [T] the schedule's learning rates */
    double *h, *g;             /* [S][T] per-step hypergradients */
    int *ok_h, *ok_g;          /* [S] */
    ErrMsg *fail_h, *fail_g;   /* [S] why a run failed */
    double *time_h, *time_g;   /* [S] seconds per run */
    double *val_h;             /* [S] validation loss of the non-greedy run */
    double total_s;
    Compare cmp[MAX_COMPARE];
} Fig2Run;

static void fmt_ints(char *buf, size_t cap, const int *a, int n)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%d", i ? "," : "", a[i]);
}

static double mean_ok(const double *x, const int *ok, int n)
{
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (ok[i]) {
            s += x[i];
            k++;
        }
    return k ? s / k : NAN;
}

/* --compare: how far other runs' per-step values are from this run's, next
 * to the across-seed spread MSE(1) that the figure measures. */
static void write_rounding_context(const Fig2Run *r, double mse1, FILE *f)
{
    const Fig2Options *o = r->o;
    for (int i = 0; i < o->ncompare; i++) {
        const Compare *c = &r->cmp[i];
        const Fig2Rounding *d = &c->row[ROW_DIRECT], *q = &c->row[ROW_REPLAYED];
        fprintf(f, "# rounding %s (%s, --compare): against this %s run over %d seeds: mean "
                   "square difference %.4g = %.3g x MSE(1), relative rms %.3g (worst seed "
                   "%.3g), correlation %.4f, validation loss differs by %.3g on average\n",
                c->label, c->dir, HG_REAL_NAME, d->seeds, d->mse_diff, d->mse_diff / mse1,
                d->rel_rms, d->max_rel, d->corr, d->val_diff);
        if (q->seeds)
            fprintf(f, "# rounding %s:reverse%d (its trajectories, reverse pass in %s here): "
                       "over %d seeds: mean square difference %.4g = %.3g x MSE(1), relative "
                       "rms %.3g (worst seed %.3g), correlation %.4f, validation loss differs "
                       "by %.3g; %s itself on the same seeds: %.4g\n",
                    c->label, HG_PRECISION, HG_REAL_NAME, q->seeds, q->mse_diff,
                    q->mse_diff / mse1, q->rel_rms, q->max_rel, q->corr, q->val_diff, c->label,
                    c->row[ROW_SAME_SEEDS].mse_diff);
        else
            fprintf(f, "# rounding %s:reverse%d: no trajectory replayed (record them with "
                       "--record N)%s\n", c->label, HG_PRECISION,
                    c->replay_failed ? "; FAILED replays, see stderr" : "");
    }
}

static void write_rounding_block(const Fig2Run *r, double mse1, FILE *f)
{
    const Fig2Options *o = r->o;
    fprintf(f, "\n\n# block 2 (gnuplot index 2): --compare, per-step values of other runs "
               "against this one: LABEL over the seeds both have, LABEL:replayed-seeds over "
               "those with a recorded trajectory, LABEL:reverseNN those trajectories with the "
               "reverse pass in this precision\n");
    fprintf(f, "# %-30s %5s %24s %12s %12s %12s %10s %12s\n", "label", "seeds", "mse_diff",
            "per_mse1", "rel_rms", "max_rel", "corr", "val_diff");
    for (int i = 0; i < o->ncompare; i++)
        for (int k = 0; k < COMPARE_ROWS; k++) {
            const Compare *c = &r->cmp[i];
            const Fig2Rounding *d = &c->row[k];
            char label[MAX_LABEL + 24];
            snprintf(label, sizeof label, "%s%s", c->label, ROW_SUFFIX[k]);
            if (d->seeds)
                fprintf(f, "%-32s %5d %24.17g %12.5g %12.5g %12.5g %10.6f %12.5g\n", label,
                        d->seeds, d->mse_diff, d->mse_diff / mse1, d->rel_rms, d->max_rel,
                        d->corr, d->val_diff);
        }
}

static void write_context(const Fig2Run *r, const Fig2Stats *st, FILE *f)
{
    const Fig2Options *o = r->o;
    char wins[512];
    fmt_ints(wins, sizeof wins, o->windows, o->nwin);
    fprintf(f, "# hgbench-fig2: hypergradient MSE vs sharing window W (FDS paper, Figure 2 and "
               "Theorem 4.1)\n");
    fprintf(f, "# date: %s   commit: %s   precision: %s   threads: %d   device: %s%s\n", r->date,
            o->commit, HG_REAL_NAME, o->threads, r->device, o->quick ? "   preset: --quick" : "");
    machine_print(&r->mc, f, "# machine ");
    fprintf(f, "# model: lenet (%ld parameters), xavier-normal init   data: %s (%s), train %d, "
               "validation %d (paper: %d) split off the training set with val seed %llu, both "
               "normalised with the training part's per-channel statistics\n",
            r->P, o->data, r->data_dir ? r->data_dir : "?", r->n_train, r->n_val, PAPER_VAL,
            (unsigned long long)o->val_seed);
    fprintf(f, "# inner: T = %d steps (paper: %d), batch %d (paper: %d), learning rate cosine-"
               "annealed from %g (paper: %g), momentum %g, weight decay 0, gradient clamp "
               "%s%g\n",
            o->steps, PAPER_STEPS, o->batch, PAPER_BATCH, o->lr, PAPER_LR, o->mom,
            o->clamp > 0 ? "+-" : "off ", o->clamp);
    fprintf(f, "# weight update: %s\n", o->kahan ? "compensated (Kahan, --kahan): w -= a v "
            "summed with a carried rounding error" : "plain, w -= a v in the working precision");
    fprintf(f, "# seeds: S = %d (paper: %d); seed s = 0..S-1 sets model_init's seed and the batch "
               "order (as hgbench hypergrad --seed s); the validation set is the same for all\n",
            o->seeds, PAPER_SEEDS);
    fprintf(f, "# engines: non-greedy = %s (learning rate learned per step, K = T), greedy = "
               "greedy (one-step look-ahead on the validation set, no online updates); both "
               "per-step values are d(validation loss)/d(a_t), same sign and scale\n",
            o->reverse);
    if (o->greedy)
        fprintf(f, "# succeeded: %s %d/%d seeds, greedy %d/%d seeds\n", o->reverse, st->n_ng,
                o->seeds, st->n_gr, o->seeds);
    else
        fprintf(f, "# succeeded: %s %d/%d seeds, greedy not run (--greedy off: its numbers "
                "are nan)\n", o->reverse, st->n_ng, o->seeds);
    int shown = 0;
    for (int s = 0; s < o->seeds; s++) {
        if (!r->ok_h[s] && shown++ < MAX_FAILS_SHOWN)
            fprintf(f, "# FAILED: seed %d %s: %s\n", s, o->reverse, r->fail_h[s]);
        if (o->greedy && !r->ok_g[s] && shown++ < MAX_FAILS_SHOWN)
            fprintf(f, "# FAILED: seed %d greedy: %s\n", s, r->fail_g[s]);
    }
    if (shown > MAX_FAILS_SHOWN)
        fprintf(f, "# FAILED: ... %d more (see the JSON)\n", shown - MAX_FAILS_SHOWN);
    fprintf(f, "# time: %s %.2f s per seed, greedy %.2f s per seed (means over successful "
               "runs); %.1f s in all\n",
            o->reverse, mean_ok(r->time_h, r->ok_h, o->seeds), mean_ok(r->time_g, r->ok_g, o->seeds),
            r->total_s);
    fprintf(f, "# truth: the mean over the %d non-greedy seeds of their per-step "
               "hypergradients; it includes each seed itself (as in the paper), so with few "
               "seeds every MSE is smaller by about a factor (S-1)/S\n", st->n_ng);
    fprintf(f, "# windows W: %s%s; a seed's hypergradient at step t is its mean over t's window "
               "[jW, (j+1)W) (the last may be shorter); MSE(W) = mean over seeds and steps of "
               "(that - truth)^2\n",
            wins, o->windows_given ? " (--windows)" :
                  o->windows_note ? " (T is not the paper's 250: the divisors of T, topped up "
                                    "with 1-2-5 steps if fewer than 6)" :
                  o->quick ? " (the --quick list; paper: 1,2,5,10,25,50,125,250)" :
                             " (the paper's list: the divisors of 250)");
    fprintf(f, "# bound (Theorem 4.1, iid case): MSE(W) ~ sigma^2/W + eps^2 (W^2-1)/12\n");
    fprintf(f, "#   fit (least squares on %s residuals of MSE(W), sigma^2, eps^2 >= 0%s%s): "
               "sigma^2 = %.6g, eps^2 = %.6g (eps = %.6g), minimum at W = (6 sigma^2/eps^2)^(1/3)"
               " = %.4g\n",
            o->fit == FIT_REL ? "relative" : "absolute", st->fit_note[0] ? "; " : "",
            st->fit_note, st->sigma2_fit, st->eps2_fit, sqrt(st->eps2_fit), st->fit_wstar);
    fprintf(f, "#   fit with Theorem 4.1's correlation term, MSE(W) ~ sigma^2 ((1-c)/W + c) + eps^2 "
               "(W^2-1)/12 (same least squares, all terms >= 0): sigma^2 = %.6g, c = %.4g, eps^2 = "
               "%.6g, minimum at W = (6 sigma^2 (1-c)/eps^2)^(1/3) = %.4g (c is the fit's, not "
               "the theorem's maximum correlation)\n",
            st->sigma2_fitc, st->c_fitc, st->eps2_fitc, st->fitc_wstar);
    fprintf(f, "#   estimated directly: sigma^2 = mean over steps of the across-seed variance "
               "(divided by S) = %.6g, eps = mean over steps of |truth[t+1]-truth[t]| = %.6g "
               "(eps^2 = %.6g; truth's own noise inflates it when S is small), minimum at W = "
               "%.4g\n",
            st->sigma2_est, st->eps_est, st->eps_est * st->eps_est, st->est_wstar);
    const double mse1 = st->one >= 0 ? st->mse[st->one] : st->sigma2_est;
    fprintf(f, "# measured minimum: MSE = %.6g at W = %d (MSE(1) = %.6g, MSE(1) / minimum = "
               "%.3g)\n",
            st->mse[st->best], o->windows[st->best], mse1, mse1 / st->mse[st->best]);
    fprintf(f, "# greedy: MSE = %.6g = squared bias of its seed mean %.6g + its across-seed "
               "variance %.6g; greedy / MSE(1) = %.3g, greedy / minimum = %.3g\n",
            st->greedy_mse, st->greedy_bias2, st->greedy_var, st->greedy_mse / mse1,
            st->greedy_mse / st->mse[st->best]);
    fprintf(f, "# check: at the last step greedy and non-greedy are the same derivative; max "
               "relative difference over seeds %.3g\n", st->last_step_rel);
    write_rounding_context(r, mse1, f);
}

static void write_table(const Fig2Run *r, const Fig2Stats *st, FILE *f)
{
    const Fig2Options *o = r->o;
    write_context(r, st, f);
    fprintf(f, "# block 0 (gnuplot index 0)\n");
    fprintf(f, "# %4s %24s %24s %24s %24s\n", "W", "mse", "bound_fit", "bound_est",
            "bound_fit_c");
    for (int i = 0; i < o->nwin; i++)
        fprintf(f, "%6d %24.17g %24.17g %24.17g %24.17g\n", o->windows[i], st->mse[i],
                st->bound_fit[i], st->bound_est[i], st->bound_fitc[i]);
    fprintf(f, "\n\n# block 1 (gnuplot index 1): the greedy MSE and the summary numbers\n");
    fprintf(f, "# greedy_mse greedy_bias2 greedy_var T S_ok sigma2_fit eps2_fit sigma2_est "
               "eps2_est W_best mse_best S_greedy_ok sigma2_fit_c c_fit_c eps2_fit_c\n");
    fprintf(f, "%.17g %.17g %.17g %d %d %.17g %.17g %.17g %.17g %d %.17g %d %.17g %.17g %.17g\n",
            st->greedy_mse, st->greedy_bias2, st->greedy_var, o->steps, st->n_ng, st->sigma2_fit,
            st->eps2_fit, st->sigma2_est, st->eps_est * st->eps_est, o->windows[st->best],
            st->mse[st->best], st->n_gr, st->sigma2_fitc, st->c_fitc, st->eps2_fitc);
    write_rounding_block(r, st->one >= 0 ? st->mse[st->one] : st->sigma2_est, f);
}

static void write_steps(const Fig2Run *r, const Fig2Stats *st, FILE *f)
{
    const Fig2Options *o = r->o;
    fprintf(f, "# hgbench-fig2 per-step learning-rate hypergradients: T = %d, S = %d (%s %d "
               "ok, greedy %d ok), %s, commit %s, %s\n",
            o->steps, o->seeds, o->reverse, st->n_ng, st->n_gr, HG_REAL_NAME, o->commit, r->date);
    fprintf(f, "# truth = mean over seeds of the non-greedy values, std = their across-seed "
               "standard deviation (divided by S); greedy_mean/std the same for greedy\n");
    fprintf(f, "# %4s %14s %24s %24s %24s %24s\n", "t", "lr", "truth", "std", "greedy_mean",
            "greedy_std");
    for (int t = 0; t < o->steps; t++)
        fprintf(f, "%6d %14.8g %24.17g %24.17g %24.17g %24.17g\n", t, r->lr[t], st->truth[t],
                st->std[t], st->gr_mean[t], st->gr_std[t]);
}

static void write_json(const Fig2Run *r, const Fig2Stats *st, FILE *f)
{
    const Fig2Options *o = r->o;
    const int S = o->seeds, T = o->steps;
    JsonWriter j;
    json_init(&j, f);
    const Envelope env = {.program = PROG, .commit = o->commit, .argc = o->argc,
                          .argv = o->argv, .threads = o->threads, .ranks = o->ranks,
                          .precision = HG_REAL_NAME,
                          .device = r->device, .machine = &r->mc};
    envelope_begin(&j, &env);
    json_field_string(&j, "experiment", "fig2");
    json_field_bool(&j, "quick", o->quick);
    json_key(&j, "settings");
    json_object_begin(&j, 0);
    json_field_string(&j, "model", "lenet");
    json_field_int(&j, "params", r->P);
    json_field_string(&j, "data", o->data);
    json_field_string(&j, "data_dir", r->data_dir ? r->data_dir : "?");
    json_field_int(&j, "train", r->n_train);
    json_field_int(&j, "val", r->n_val);
    json_field_uint(&j, "val_seed", o->val_seed);
    json_field_int(&j, "steps", T);
    json_field_int(&j, "batch", o->batch);
    json_field_int(&j, "seeds", S);
    json_field_string(&j, "init", "xavier");
    json_field_string(&j, "schedule", "cosine");
    json_field_double(&j, "lr", o->lr);
    json_field_double(&j, "mom", o->mom);
    json_field_double(&j, "wd", 0);
    json_field_double(&j, "clamp", o->clamp);
    json_field_string(&j, "reverse_engine", o->reverse);
    json_field_bool(&j, "kahan", o->kahan);
    json_field_bool(&j, "greedy", o->greedy);
    json_field_string(&j, "fit", o->fit == FIT_REL ? "rel" : "abs");
    json_object_end(&j);
    json_key(&j, "paper");
    json_object_begin(&j, 1);
    json_field_int(&j, "seeds", PAPER_SEEDS);
    json_field_int(&j, "steps", PAPER_STEPS);
    json_field_int(&j, "batch", PAPER_BATCH);
    json_field_int(&j, "val", PAPER_VAL);
    json_field_double(&j, "lr", PAPER_LR);
    json_object_end(&j);
    json_key(&j, "seeds_ok");
    json_object_begin(&j, 1);
    json_field_int(&j, "nongreedy", st->n_ng);
    json_field_int(&j, "greedy", st->n_gr);
    json_object_end(&j);
    long wl[MAX_WINDOWS];
    for (int i = 0; i < o->nwin; i++)
        wl[i] = o->windows[i];
    json_field_longs(&j, "windows", wl, o->nwin);
    json_field_string(&j, "windows_from", o->windows_given ? "flag" : o->windows_note ? "divisors"
                      : o->quick ? "quick" : "paper");
    json_field_doubles(&j, "mse", st->mse, o->nwin);
    json_field_doubles(&j, "bound_fit", st->bound_fit, o->nwin);
    json_field_doubles(&j, "bound_est", st->bound_est, o->nwin);
    json_field_doubles(&j, "bound_fit_c", st->bound_fitc, o->nwin);
    json_field_double(&j, "greedy_mse", st->greedy_mse);
    json_field_double(&j, "greedy_bias2", st->greedy_bias2);
    json_field_double(&j, "greedy_var", st->greedy_var);
    json_field_double(&j, "fit_sigma2", st->sigma2_fit);
    json_field_double(&j, "fit_eps2", st->eps2_fit);
    json_field_string(&j, "fit_note", st->fit_note);
    json_field_double(&j, "fit_c_sigma2", st->sigma2_fitc);
    json_field_double(&j, "fit_c_c", st->c_fitc);
    json_field_double(&j, "fit_c_eps2", st->eps2_fitc);
    json_field_double(&j, "fit_c_w_min", st->fitc_wstar);
    json_field_double(&j, "est_sigma2", st->sigma2_est);
    json_field_double(&j, "est_eps", st->eps_est);
    json_field_double(&j, "fit_w_min", st->fit_wstar);
    json_field_double(&j, "est_w_min", st->est_wstar);
    json_field_int(&j, "w_best", o->windows[st->best]);
    json_field_double(&j, "mse_best", st->mse[st->best]);
    json_field_double(&j, "last_step_max_rel_diff", st->last_step_rel);
    const double mse1 = st->one >= 0 ? st->mse[st->one] : st->sigma2_est;
    json_field_double(&j, "mse1", mse1);
    json_key(&j, "rounding");
    json_array_begin(&j, 0);
    for (int i = 0; i < o->ncompare; i++)
        for (int k = 0; k < COMPARE_ROWS; k++) {
            const Compare *c = &r->cmp[i];
            const Fig2Rounding *d = &c->row[k];
            char name[MAX_LABEL + 24];
            snprintf(name, sizeof name, "%s%s", c->label, ROW_SUFFIX[k]);
            json_object_begin(&j, 1);
            json_field_string(&j, "name", name);
            json_field_string(&j, "label", c->label);
            json_field_string(&j, "dir", c->dir);
            json_field_string(&j, "seeds_used", k == ROW_DIRECT ? "all" : "replayed");
            json_field_bool(&j, "reverse_here", k == ROW_REPLAYED);
            json_field_int(&j, "seeds", d->seeds);
            json_field_double(&j, "mse_diff", d->mse_diff);
            json_field_double(&j, "per_mse1", d->mse_diff / mse1);
            json_field_double(&j, "rel_rms", d->rel_rms);
            json_field_double(&j, "max_rel", d->max_rel);
            json_field_double(&j, "corr", d->corr);
            json_field_double(&j, "val_diff", d->val_diff);
            json_object_end(&j);
        }
    json_array_end(&j);
    json_field_doubles(&j, "lr_schedule", r->lr, T);
    json_field_doubles(&j, "truth", st->truth, T);
    json_field_doubles(&j, "std", st->std, T);
    json_field_doubles(&j, "greedy_mean", st->gr_mean, T);
    json_field_doubles(&j, "greedy_std", st->gr_std, T);
    json_key(&j, "time_s");
    json_object_begin(&j, 0);
    json_field_doubles(&j, "nongreedy", r->time_h, S);
    json_field_doubles(&j, "greedy", r->time_g, S);
    json_field_double(&j, "total", r->total_s);
    json_field_double(&j, "nongreedy_mean", mean_ok(r->time_h, r->ok_h, S));
    json_field_double(&j, "greedy_mean", mean_ok(r->time_g, r->ok_g, S));
    json_object_end(&j);
    json_key(&j, "per_seed");
    json_object_begin(&j, 0);
    for (int e = 0; e < 2; e++) {
        json_key(&j, e ? "greedy" : "nongreedy");
        json_array_begin(&j, 0);
        for (int s = 0; s < S; s++)
            json_doubles(&j, (e ? r->ok_g[s] : r->ok_h[s]) ? (e ? r->g : r->h) + (long)s * T
                                                           : NULL, T);
        json_array_end(&j);
    }
    json_object_end(&j);
    json_key(&j, "failures");
    json_array_begin(&j, 0);
    for (int s = 0; s < S; s++)
        for (int e = 0; e < 2; e++) {
            if (e ? r->ok_g[s] : r->ok_h[s])
                continue;
            json_object_begin(&j, 1);
            json_field_int(&j, "seed", s);
            json_field_string(&j, "engine", e ? "greedy" : o->reverse);
            json_field_string(&j, "error", e ? r->fail_g[s] : r->fail_h[s]);
            json_object_end(&j);
        }
    json_array_end(&j);
    /* one row per window: the curve and the bound's three versions */
    json_key(&j, "rows");
    json_array_begin(&j, 0);
    for (int i = 0; i < o->nwin; i++) {
        json_object_begin(&j, 1);
        json_field_int(&j, "W", o->windows[i]);
        json_field_double(&j, "mse", st->mse[i]);
        json_field_double(&j, "bound_fit", st->bound_fit[i]);
        json_field_double(&j, "bound_est", st->bound_est[i]);
        json_field_double(&j, "bound_fit_c", st->bound_fitc[i]);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
}

typedef void (*Writer)(const Fig2Run *, const Fig2Stats *, FILE *);

static int write_atomic(const char *flag, const char *path, Writer w, const Fig2Run *r,
                        const Fig2Stats *st)
{
    AtomicFile af;
    HgErr err = {{0}};
    if (atomic_open(&af, path, &err)) {
        fprintf(stderr, PROG ": %s %s\n", flag, err.msg);
        return -1;
    }
    w(r, st, af.f);
    if (atomic_commit(&af, &err)) {
        fprintf(stderr, PROG ": %s %s\n", flag, err.msg);
        return -1;
    }
    return 0;
}

/* A long run must not end unable to write: try each output's temporary now. */
static int check_writable(const char *flag, const char *path)
{
    AtomicFile af;
    HgErr err = {{0}};
    if (!path)
        return 0;
    if (atomic_open(&af, path, &err)) {
        fprintf(stderr, PROG ": %s %s\n", flag, err.msg);
        return -1;
    }
    atomic_abort(&af);
    return 0;
}

/* LeNet on --data through the problem layer (harness/problem.h), seed 0;
 * seed s is problem_reseed(s): w_0 and batch order as hypergrad --seed s.
 * 0 done; -1 data not loaded (exit 3); -2 --val or --batch do not fit it or
 * the data is not 1x28x28 (exit 2). */
static int load_problem(const Fig2Options *o, Problem *pb, HgErr *err)
{
    ProblemSpec spec = problem_spec_defaults();
    spec.model = "lenet";
    spec.data = o->data;
    spec.data_dir = o->data_dir;
    spec.device = o->device;
    spec.steps = o->steps;
    spec.batch = o->batch;
    spec.val = o->val;
    spec.val_seed = o->val_seed;
    spec.seed = 0;
    spec.kahan = o->kahan;
    const int rc = problem_load(&spec, pb, err);
    return rc == PROBLEM_BAD_SPEC ? -2 : rc;
}

/* DIR/name into buf. */
static int dir_path(char *buf, size_t cap, const char *dir, const char *name)
{
    return (size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap ? -1 : 0;
}

/* Reads --compare's per_step.npy [S'][T] and val_loss.npy [S'] (checked
 * before any run, so that a bad folder costs nothing). */
static int compare_load(const Fig2Options *o, int i, Compare *c, HgErr *err)
{
    const int T = o->steps;
    char path[4200];
    NpyArray a = {0}, v = {0};
    memset(c, 0, sizeof *c);
    c->dir = o->compare_dir[i];
    snprintf(c->label, sizeof c->label, "%.*s", (int)(strchr(o->compare_label[i], '=') -
             o->compare_label[i]), o->compare_label[i]);
    if (dir_path(path, sizeof path, c->dir, "per_step.npy"))
        return hg_fail(err, "--compare %s: path too long", c->dir);
    if (npy_read(path, &a, err))
        return -1;
    if (a.ndim != 2 || a.shape[1] != T || a.shape[0] < 1) {
        npy_array_free(&a);
        return hg_fail(err, "--compare %s: shape %s, expected [seeds][%d] (the same --steps)",
                       path, a.ndim == 2 ? "of another --steps" : "not 2-d", T);
    }
    const long sv[1] = {a.shape[0]};
    if (npy_expect(&a, path, NPY_F8, a.shape, 2, err) ||
        dir_path(path, sizeof path, c->dir, "val_loss.npy") || npy_read(path, &v, err) ||
        npy_expect(&v, path, NPY_F8, sv, 1, err)) {
        npy_array_free(&a);
        npy_array_free(&v);
        return -1;
    }
    c->S = (int)a.shape[0];
    c->x = a.data;
    c->x_val = v.data;
    c->ok = mem_alloc(MEM_OTHER, sizeof(int) * c->S);
    for (int s = 0; s < c->S; s++) {
        c->ok[s] = isfinite(c->x_val[s]);
        for (int t = 0; t < T; t++)
            c->ok[s] &= isfinite(c->x[(long)s * T + t]);
    }
    c->xr = mem_alloc(MEM_OTHER, sizeof(double) * c->S * T);
    c->xr_val = mem_alloc(MEM_OTHER, sizeof(double) * c->S);
    c->ok_r = mem_alloc(MEM_OTHER, sizeof(int) * c->S);
    return 0;
}

static void compare_free(Compare *c)
{
    mem_free(c->x);
    mem_free(c->x_val);
    mem_free(c->ok);
    mem_free(c->xr);
    mem_free(c->xr_val);
    mem_free(c->ok_r);
}

/* Seed s's trajectory in c (if c has one) differentiated by bptt here. */
static void compare_replay(const Fig2Options *o, Compare *c, int s, const EngineConfig *base,
                           const Progress *pg)
{
    char dir[4200], w[4300];
    snprintf(dir, sizeof dir, "%s/trajectory-%d", c->dir, s);
    snprintf(w, sizeof w, "%s/w.npy", dir);
    if (s >= c->S || access(w, F_OK))
        return;
    TrajectoryFolder tf;
    EngineConfig cfg = *base;
    cfg.trajectory = trajectory_folder(&tf, dir, 0);
    EngineResult res;
    HgErr err = {{0}};
    if (engine_run(&BPTT_OPS, &cfg, &res, &err)) {
        fprintf(stderr, "%s" PROG ": --compare %s: seed %d, replay failed: %s\n",
                pg && pg->tty ? "\n" : "", c->label, s, err.msg);
        c->replay_failed++;
        return;
    }
    memcpy(c->xr + (long)s * o->steps, res.per_step[HYPER_LR], sizeof(double) * o->steps);
    c->xr_val[s] = res.val_loss;
    c->ok_r[s] = 1;
    engine_result_free(&res);
}

/* --seeds-out: per_step.npy [S][T] and val_loss.npy [S], NaN for failed seeds. */
static int write_seeds_out(const Fig2Run *r, HgErr *err)
{
    const Fig2Options *o = r->o;
    const int S = o->seeds, T = o->steps;
    char path[4200];
    double *x = mem_alloc(MEM_OTHER, sizeof(double) * S * T);
    double *v = mem_alloc(MEM_OTHER, sizeof(double) * S);
    for (int s = 0; s < S; s++) {
        for (int t = 0; t < T; t++)
            x[(long)s * T + t] = r->ok_h[s] ? r->h[(long)s * T + t] : NAN;
        v[s] = r->ok_h[s] ? r->val_h[s] : NAN;
    }
    const long xs[2] = {S, T}, vs[1] = {S};
    int rc = dir_path(path, sizeof path, o->seeds_out, "per_step.npy") ||
             npy_write(path, NPY_F8, xs, 2, x, err) ||
             dir_path(path, sizeof path, o->seeds_out, "val_loss.npy") ||
             npy_write(path, NPY_F8, vs, 1, v, err);
    mem_free(x);
    mem_free(v);
    return rc ? -1 : 0;
}

/* Seed s's runs: the reverse engine (its trajectory kept for the first
 * --record seeds) and the look-ahead one, into row s of r's arrays; then
 * each --compare's replay of that seed. pg NULL: no progress drawn. */
static void run_seed(Fig2Run *r, const EngineOps *const ops[2], Problem *pb, const Runner *run,
                     int s, Progress *pg, long *done)
{
    const Fig2Options *o = r->o;
    const int T = o->steps;
    problem_reseed(pb, (uint64_t)s); /* w_0 and batch order as hypergrad --seed s */
    const EngineConfig cfg = run->cfg; /* the run builder's, on pb's inner problem */
    for (int e = 0; e < 1 + o->greedy; e++) {
        EngineResult res;
        HgErr e_err = {{0}};
        double *dst = (e ? r->g : r->h) + (long)s * T;
        int *ok = e ? r->ok_g : r->ok_h;
        EngineConfig ecfg = cfg;
        TrajectoryFolder tf;
        if (e == 0 && s < o->record) {
            char dir[4200];
            snprintf(dir, sizeof dir, "%s/trajectory-%d", o->seeds_out, s);
            ecfg.trajectory = trajectory_folder(&tf, dir, 1);
        }
        if (engine_run(ops[e], &ecfg, &res, &e_err) == 0) {
            HG_CHECK(res.per_step[HYPER_LR], "%s returns per-step lr values", ops[e]->name);
            memcpy(dst, res.per_step[HYPER_LR], sizeof(double) * T);
            ok[s] = 1;
            (e ? r->time_g : r->time_h)[s] = res.time_s;
            if (e == 0)
                r->val_h[s] = res.val_loss;
            engine_result_free(&res);
        } else {
            memcpy((e ? r->fail_g : r->fail_h)[s], e_err.msg, sizeof e_err.msg);
            (e ? r->time_g : r->time_h)[s] = NAN;
            fprintf(stderr, "%s" PROG ": seed %d, %s failed: %s\n", pg && pg->tty ? "\n" : "",
                    s, ops[e]->name, e_err.msg);
        }
        if (pg)
            progress_update(pg, ++*done);
    }
    for (int i = 0; i < o->ncompare; i++)
        if (s < r->cmp[i].S) {
            compare_replay(o, &r->cmp[i], s, &cfg, pg);
            if (pg)
                progress_update(pg, ++*done);
        }
}

/* Each --compare's rounding rows against this run: direct, replayed, and
 * the direct one on the seeds both gave. */
static void compare_rows(Fig2Run *r)
{
    const int S = r->o->seeds, T = r->o->steps;
    for (int i = 0; i < r->o->ncompare; i++) {
        Compare *c = &r->cmp[i];
        fig2_rounding(T, S, r->h, r->ok_h, r->val_h, c->S, c->x, c->ok, c->x_val,
                      &c->row[ROW_DIRECT]);
        fig2_rounding(T, S, r->h, r->ok_h, r->val_h, c->S, c->xr, c->ok_r, c->xr_val,
                      &c->row[ROW_REPLAYED]);
        int *both = mem_alloc(MEM_OTHER, sizeof(int) * c->S);
        for (int s = 0; s < c->S; s++)
            both[s] = c->ok[s] && c->ok_r[s];
        fig2_rounding(T, S, r->h, r->ok_h, r->val_h, c->S, c->x, both, c->x_val,
                      &c->row[ROW_SAME_SEEDS]);
        mem_free(both);
    }
}

/* The table, steps, JSON and seeds outputs: 0, 1 (no MSE: fewer than 2
 * seeds), or 3 (an output not written). */
static int write_outputs(Fig2Run *r, Fig2Stats *st)
{
    const Fig2Options *o = r->o;
    int status = 0;
    HgErr err = {{0}};
    if (st->n_ng < 2) {
        fprintf(stderr, PROG ": only %d of %d seeds gave non-greedy hypergradients; no MSE\n",
                st->n_ng, o->seeds);
        status = 1;
    } else {
        write_table(r, st, stdout);
        fflush(stdout);
        if (o->out && write_atomic("--out", o->out, write_table, r, st))
            status = 3;
        if (o->steps_out && write_atomic("--steps-out", o->steps_out, write_steps, r, st))
            status = 3;
    }
    if (o->json && write_atomic("--json", o->json, write_json, r, st))
        status = 3;
    if (o->seeds_out && write_seeds_out(r, &err)) {
        fprintf(stderr, PROG ": --seeds-out %s\n", err.msg);
        status = 3;
    }
    return status;
}

static void run_arrays_alloc(Fig2Run *r, int S, int T)
{
    r->h = mem_alloc(MEM_OTHER, sizeof(double) * S * T);
    r->g = mem_alloc(MEM_OTHER, sizeof(double) * S * T);
    r->ok_h = mem_alloc(MEM_OTHER, sizeof(int) * S);
    r->ok_g = mem_alloc(MEM_OTHER, sizeof(int) * S);
    r->fail_h = mem_alloc(MEM_OTHER, sizeof *r->fail_h * S);
    r->fail_g = mem_alloc(MEM_OTHER, sizeof *r->fail_g * S);
    r->time_h = mem_alloc(MEM_OTHER, sizeof(double) * S);
    r->time_g = mem_alloc(MEM_OTHER, sizeof(double) * S);
    r->val_h = mem_alloc(MEM_OTHER, sizeof(double) * S);
}

static void run_arrays_free(Fig2Run *r)
{
    void *const bufs[] = {r->h, r->g, r->ok_h, r->ok_g, r->fail_h, r->fail_g, r->time_h,
                          r->time_g, r->val_h};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        mem_free(bufs[i]);
}

/* ------------------------------------------------------------ seeds over ranks */

/* The seeds handed out by bench/farm.h: each rank runs a seed into its own
 * scratch run w and sends row s back as bytes; rank 0 puts it into row s of
 * the real run r. */
typedef struct SeedFarm {
    Fig2Run *r, *w;
    const EngineOps *const *ops;
    Problem *pb;
    const Runner *run;
    Progress *pg;
    long done;
} SeedFarm;

/* One seed's row as bytes: h, g [T]; time_h, time_g, val_h; per --compare
 * xr [T] and xr_val; ok_h, ok_g; per --compare ok_r and its replay failures;
 * fail_h, fail_g. */
static size_t seed_bytes(const Fig2Options *o)
{
    const size_t T = (size_t)o->steps, nc = (size_t)o->ncompare;
    return sizeof(double) * (2 * T + 3 + nc * (T + 1)) + sizeof(int) * (2 + 2 * nc) +
           2 * sizeof(ErrMsg);
}

/* Copies n bytes between row storage and the byte cursor *p, either way. */
static void move(char **p, void *row, size_t n, int pack)
{
    if (pack)
        memcpy(*p, row, n);
    else
        memcpy(row, *p, n);
    *p += n;
}

/* pack: row s of r into buf; else buf into row s of r. failed[i]: replay
 * failures of seed s (pack: read; unpack: added to r's counts). */
static void seed_row(Fig2Run *r, int s, char *buf, int *failed, int pack)
{
    const int T = r->o->steps;
    const size_t row = sizeof(double) * (size_t)T;
    char *p = buf;
    move(&p, r->h + (long)s * T, row, pack);
    move(&p, r->g + (long)s * T, row, pack);
    move(&p, &r->time_h[s], sizeof(double), pack);
    move(&p, &r->time_g[s], sizeof(double), pack);
    move(&p, &r->val_h[s], sizeof(double), pack);
    move(&p, &r->ok_h[s], sizeof(int), pack);
    move(&p, &r->ok_g[s], sizeof(int), pack);
    move(&p, r->fail_h[s], sizeof(ErrMsg), pack);
    move(&p, r->fail_g[s], sizeof(ErrMsg), pack);
    for (int i = 0; i < r->o->ncompare; i++) {
        Compare *c = &r->cmp[i];
        const int in = s < c->S; /* the row exists in c's arrays */
        double zero[1] = {0};
        int z = 0;
        if (in) {
            move(&p, c->xr + (long)s * T, row, pack);
            move(&p, &c->xr_val[s], sizeof(double), pack);
            move(&p, &c->ok_r[s], sizeof(int), pack);
        } else {
            p += row;
            move(&p, zero, sizeof(double), pack);
            move(&p, &z, sizeof(int), pack);
        }
        move(&p, &failed[i], sizeof(int), pack);
        if (!pack)
            c->replay_failed += failed[i];
    }
}

static void seed_work(int s, void *result, void *ctx)
{
    SeedFarm *sf = ctx;
    int before[MAX_COMPARE], failed[MAX_COMPARE];
    long ignored = 0;
    for (int i = 0; i < sf->w->o->ncompare; i++)
        before[i] = sf->w->cmp[i].replay_failed;
    run_seed(sf->w, sf->ops, sf->pb, sf->run, s, NULL, &ignored);
    for (int i = 0; i < sf->w->o->ncompare; i++)
        failed[i] = sf->w->cmp[i].replay_failed - before[i];
    seed_row(sf->w, s, result, failed, 1);
}

static void seed_done(int s, const void *result, int rank, void *ctx)
{
    SeedFarm *sf = ctx;
    int failed[MAX_COMPARE];
    seed_row(sf->r, s, (char *)result, failed, 0);
    sf->done += 1 + sf->r->o->greedy;
    for (int i = 0; i < sf->r->o->ncompare; i++)
        sf->done += s < sf->r->cmp[i].S;
    progress_update(sf->pg, sf->done);
}

/* The scratch run a rank computes seeds into: r's settings and --compare
 * data, arrays of its own. */
static void scratch_init(Fig2Run *w, const Fig2Run *r)
{
    const int S = r->o->seeds, T = r->o->steps;
    *w = *r;
    run_arrays_alloc(w, S, T);
    for (int i = 0; i < r->o->ncompare; i++) {
        Compare *c = &w->cmp[i];
        c->replay_failed = 0;
        c->xr = mem_alloc(MEM_OTHER, sizeof(double) * c->S * T);
        c->xr_val = mem_alloc(MEM_OTHER, sizeof(double) * c->S);
        c->ok_r = mem_alloc(MEM_OTHER, sizeof(int) * c->S);
    }
}

static void scratch_free(Fig2Run *w)
{
    run_arrays_free(w);
    for (int i = 0; i < w->o->ncompare; i++) {
        mem_free(w->cmp[i].xr);
        mem_free(w->cmp[i].xr_val);
        mem_free(w->cmp[i].ok_r);
    }
}

static int fig2_run(const Fig2Options *o, const Farm *farm)
{
    const int S = o->seeds, T = o->steps;
    const double t_start = now_s();
    BACKEND_CPU.mem.set_threads(o->threads); /* OpenMP and OpenBLAS */
    if (check_writable("--out", o->out) || check_writable("--json", o->json) ||
        check_writable("--steps-out", o->steps_out))
        return 3;
    if (o->seeds_out && mkdir(o->seeds_out, 0777) && errno != EEXIST) {
        fprintf(stderr, PROG ": --seeds-out %s: cannot make the folder: %s\n", o->seeds_out,
                strerror(errno));
        return 3;
    }

    HgErr err = {{0}};
    Fig2Run r = {.o = o};
    machine_probe(&r.mc);
    const time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(r.date, sizeof r.date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    r.data_dir = o->data_dir ? o->data_dir : dataset_default_dir(o->data);
    for (int i = 0; i < o->ncompare; i++)
        if (compare_load(o, i, &r.cmp[i], &err)) {
            fprintf(stderr, PROG ": %s\n", err.msg);
            for (int j = 0; j < i; j++)
                compare_free(&r.cmp[j]);
            return 3;
        }

    Problem pb;
    const int lrc = load_problem(o, &pb, &err);
    if (lrc) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        problem_free(&pb);
        return lrc == -2 ? 2 : 3;
    }
    r.n_train = pb.train.n;
    r.n_val = pb.val.n;
    r.P = pb.model->nparams;
    r.device = pb.be->name;
    HG_CHECK(r.P == LENET_PARAMS, "LeNet 1x28x28 has %ld parameters", r.P);

    const EngineOps *const ops[2] = {engine_find(o->reverse), look_ahead_engine()};
    HG_CHECK(ops[0] && ops[1], "engines %s and a look-ahead (greedy) are registered",
             o->reverse);
    /* lr learned per step (K = T) on a cosine schedule without weight decay:
     * each engine runs the run builder's config (the look-ahead one, and the
     * trajectory hooks, on a copy of it) */
    RunSpec spec = runner_spec(ops[0], T, (int[]){T, 0, 0}, o->lr, o->mom, 0);
    spec.shape = SCHEDULE_COSINE;
    spec.clamp = o->clamp;
    Runner run;
    if (runner_build(&run, &pb.inner, &spec, &err)) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        runner_free(&run);
        problem_free(&pb);
        return 2;
    }
    r.lr = run.sched.v[HYPER_LR];
    run_arrays_alloc(&r, S, T);
    EngineState est;
    const EngineOptions eo = engine_options_plain(T, T);
    engine_check_state(ops[0], r.P, &eo, o->clamp > 0, &est, &err);
    if (est.bytes > 0)
        fprintf(stderr, PROG ": %s keeps %s: %.3f GiB per run\n", ops[0]->name, est.what,
                est.bytes / (1 << 30));

    Progress pg;
    /* progress units: the engine runs, and the replays of --compare */
    long units = (1L + o->greedy) * S;
    for (int i = 0; i < o->ncompare; i++)
        units += r.cmp[i].S < S ? r.cmp[i].S : S;
    if (farm->rank == 0)
        progress_start(&pg, "fig2", units);
    Fig2Run w;
    scratch_init(&w, &r);
    SeedFarm sf = {.r = &r, .w = &w, .ops = ops, .pb = &pb, .run = &run, .pg = &pg};
    farm_run(farm, S, seed_bytes(o), seed_work, seed_done, &sf, NULL);
    scratch_free(&w);
    if (farm->rank != 0) { /* rank 0 has every seed and writes the outputs */
        for (int i = 0; i < o->ncompare; i++)
            compare_free(&r.cmp[i]);
        run_arrays_free(&r);
        runner_free(&run);
        problem_free(&pb);
        return 0;
    }
    progress_end(&pg);
    r.total_s = now_s() - t_start;
    compare_rows(&r);

    Fig2Stats st;
    const Fig2Setup setup = {S, T, o->nwin, o->windows, o->fit};
    fig2_stats(&setup, r.h, r.ok_h, r.g, r.ok_g, &st);
    int status = write_outputs(&r, &st);
    for (int i = 0; i < o->ncompare; i++) {
        if (r.cmp[i].replay_failed && status == 0)
            status = 1;
        compare_free(&r.cmp[i]);
    }
    fig2_stats_free(&st);
    run_arrays_free(&r);
    runner_free(&run);
    problem_free(&pb);
    return status;
}

int main(int argc, char **argv)
{
    Fig2Options o;
    HgErr err = {{0}};
    Farm farm;
    farm_init(&farm, &argc, &argv);
    if (farm.mpi) { /* each rank on a node takes its own GPU (--device cuda) */
        char gpu[32];
        farm_pick_gpu(farm_local_rank(), getenv("CUDA_VISIBLE_DEVICES"), farm_count_gpus(), gpu,
                      sizeof gpu);
        if (gpu[0])
            setenv("CUDA_VISIBLE_DEVICES", gpu, 1);
    }
    int status = 0;
    if (fig2_parse(argc, argv, &o, &err)) {
        if (farm.rank == 0)
            fprintf(stderr, PROG ": %s\n", err.msg);
        status = 2;
    } else if (o.help) {
        if (farm.rank == 0)
            usage(stdout);
    } else {
        o.ranks = farm.size;
        o.argc = argc; /* the envelope's command */
        o.argv = argv;
        status = fig2_run(&o, &farm);
    }
    farm_finalize(&farm);
    return status;
}
