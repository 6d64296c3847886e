/* report_engines.c — the engines section of RESULTS.md (experiments 1 and
 * 2) from hgbench-engines' JSON: <results>/engines-horizon.json (every engine
 * along T) and engines-count.json (forward against the reverse engines along
 * the learned-value count N = K at one T). Each: its table, the crossover of
 * forward and reverse in words (count), three plots (engines-horizon-time,
 * engines-horizon-memory, engines-count-time) and two headlines (reversible's
 * memory against bptt's at the largest T, with its time; the crossover).
 * Leaves out: running anything (scripts/bench-engines.sh).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_json.h"
#include "report_md.h"
#include "report_plot.h"

#define MAX_ROWS 512

typedef struct ERow {
    const char *engine, *status, *message, *reproduce;
    long T, K;
    double time_s, ratio, trajectory, checkpoints, infobuf, tangents, formula, rss;
    double infobuf_bytes, infobuf_floor;
} ERow;

typedef struct EFile {
    Rj r;
    RjEnvelope env;
    json_t *root;
    const char *model, *data, *greedy_target, *seed, *batch_seed, *val_seed;
    double lr, mom, wd, plain, plain_min, plain_max;
    long batch, val_examples, plain_loops, plain_loop_steps;
    ERow rows[MAX_ROWS];
    int n;
} EFile;

/* Loads <results>/<name>: 1, 0 if absent (the run did not finish), -1 with
 * c->err naming the file and field. */
static int load(ReportCtx *c, const char *name, EFile *f)
{
    char path[4096];
    report_path(c, name, path, sizeof path);
    if (!rj_exists(path)) return 0;
    Rj *r = &f->r;
    f->root = rj_load(r, path);
    if (!f->root) return hg_fail(&c->err, "%s", r->err.msg);
    rj_envelope(r, f->root, &f->env);
    f->model = rj_str(r, f->root, "model");
    f->data = rj_str(r, f->root, "data");
    f->greedy_target = rj_str(r, f->root, "greedy_target");
    f->seed = rj_str(r, f->root, "seed");
    f->batch_seed = rj_str(r, f->root, "batch_seed");
    f->val_seed = rj_str(r, f->root, "val_seed");
    f->lr = rj_num(r, f->root, "lr");
    f->mom = rj_num(r, f->root, "mom");
    f->wd = rj_num(r, f->root, "wd");
    f->batch = rj_int(r, f->root, "batch");
    f->val_examples = rj_int(r, f->root, "val_examples");
    f->plain = rj_num(r, f->root, "plain_step_s");
    f->plain_min = rj_num(r, f->root, "plain_step_min_s");
    f->plain_max = rj_num(r, f->root, "plain_step_max_s");
    f->plain_loops = rj_int(r, f->root, "plain_loops");
    f->plain_loop_steps = rj_int(r, f->root, "plain_loop_steps");
    json_t *rows = rj_array(r, f->root, "rows");
    size_t n = json_array_size(rows);
    if (n > MAX_ROWS) rj_fail(r, "field 'rows' has %zu rows, more than %d", n, MAX_ROWS);
    if (!r->bad && n == 0) rj_fail(r, "field 'rows' is empty");
    for (size_t i = 0; i < n && !r->bad; i++) {
        json_t *o = rj_row(r, rows, "rows", i);
        ERow *e = &f->rows[f->n++];
        e->engine = rj_str(r, o, "engine");
        e->T = rj_int(r, o, "T");
        e->K = rj_int(r, o, "K");
        e->status = rj_str(r, o, "status");
        e->reproduce = rj_str(r, o, "reproduce");
        if (r->bad) break;
        if (strcmp(e->status, "ok")) {
            if (strcmp(e->status, "skipped") && strcmp(e->status, "failed"))
                rj_fail(r, "field 'status' is '%s', expected ok, skipped or failed", e->status);
            e->message = rj_str(r, o, "message");
            continue;
        }
        if (e->T < 1) rj_fail(r, "field 'T' is %ld, expected at least 1", e->T);
        e->time_s = rj_num(r, o, "time_s");
        e->ratio = rj_num(r, o, "step_ratio_to_plain");
        e->trajectory = rj_num(r, o, "trajectory");
        e->checkpoints = rj_num(r, o, "checkpoints");
        e->infobuf = rj_num(r, o, "infobuf");
        e->tangents = rj_num(r, o, "tangents");
        e->formula = rj_num(r, o, "formula_bytes");
        e->rss = rj_num(r, o, "peak_rss");
        e->infobuf_bytes = rj_num(r, o, "infobuf_bytes");
        e->infobuf_floor = rj_num(r, o, "infobuf_floor_bytes");
    }
    rj_at(r, "%s", "");
    if (r->bad) return hg_fail(&c->err, "%s", r->err.msg);
    report_ran_by(c, &f->env);
    return 1;
}

static int ok(const ERow *e)
{
    return !strcmp(e->status, "ok");
}

/* The engine state: what grows with T or N (the plot's and headline's measure). */
static double state_bytes(const ERow *e)
{
    return e->trajectory + e->checkpoints + e->infobuf + e->tangents;
}

/* The distinct values of T (or K) in row order, "10,100" into buf. */
static const char *list_of(const EFile *f, int by_k, long *vals, int *nvals, char *buf, size_t n)
{
    int k = 0;
    for (int i = 0; i < f->n; i++) {
        long v = by_k ? f->rows[i].K : f->rows[i].T;
        int seen = 0;
        for (int j = 0; j < k; j++) seen |= vals[j] == v;
        if (!seen && k < MAX_ROWS) vals[k++] = v;
    }
    size_t len = 0;
    buf[0] = '\0';
    for (int j = 0; j < k && len < n; j++)
        len += (size_t)snprintf(buf + len, n - len, "%s%ld", j ? "," : "", vals[j]);
    *nvals = k;
    return buf;
}

static const char *pretty(const char *name)
{
    return !strcmp(name, "lenet") ? "LeNet" : !strcmp(name, "mlp") ? "MLP"
         : !strcmp(name, "fashion-mnist") ? "Fashion-MNIST" : !strcmp(name, "mnist") ? "MNIST"
         : name;
}

static void plain_line(FILE *md, const EFile *f)
{
    fprintf(md, "Plain step (gradient + update): median %.3f ms, min %.3f, max %.3f over %ld loops "
                "of %ld steps (half before the runs, half after).\n", 1e3 * f->plain,
            1e3 * f->plain_min, 1e3 * f->plain_max, f->plain_loops, f->plain_loop_steps);
}

static void table(FILE *md, const EFile *f)
{
    static const char *const head[] = {"engine", "T", "K", "s per hypergradient", "ms per step",
                                       "× plain step", "trajectory (checkpoints) MiB",
                                       "buffer MiB", "tangents MiB", "formula MiB",
                                       "peak RSS MiB"};
    md_table_head(md, "lrrrrrrrrrr", head);
    for (int i = 0; i < f->n; i++) {
        const ERow *e = &f->rows[i];
        if (!ok(e)) {
            fprintf(md, "| %s | %ld | %ld | **%s**: %s | | | | | | | |\n", e->engine, e->T, e->K,
                    e->status, e->message);
            continue;
        }
        fprintf(md, "| %s | %ld | %ld | %.2f | %.2f | %.2f | %.2f | %.4f | %.2f | %.3f | %.0f |\n",
                e->engine, e->T, e->K, e->time_s, 1e3 * e->time_s / (double)e->T, e->ratio,
                (e->trajectory + e->checkpoints) / MD_MIB, e->infobuf / MD_MIB, e->tangents / MD_MIB,
                e->formula / MD_MIB, e->rss / MD_MIB);
    }
}

/* The engines with an ok row, in the order given, space-separated. */
static const char *engines_with_rows(const EFile *f, const char *const *order, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; order[k]; k++)
        for (int i = 0; i < f->n; i++)
            if (ok(&f->rows[i]) && !strcmp(f->rows[i].engine, order[k])) {
                len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? " " : "", order[k]);
                break;
            }
    return buf;
}

/* One plot: a data block per engine (gnuplot's index), x and the columns
 * `what` writes, then the renderer's plot commands with E the engine list. */
typedef void (*PlotRow)(FILE *d, const ERow *e);
static void plot(ReportCtx *c, const EFile *f, const char *name, const char *const *order,
                 PlotRow what, const char *columns, const char *commands)
{
    char list[256];
    engines_with_rows(f, order, list, sizeof list);
    if (!list[0]) return;
    Plot p;
    FILE *d = plot_begin(c, &p, name);
    if (!d) return;
    fprintf(d, "# %s; one block per engine: %s\n", columns, list);
    int block = 0;
    for (int k = 0; order[k]; k++) {
        int any = 0;
        for (int i = 0; i < f->n; i++) {
            const ERow *e = &f->rows[i];
            if (!ok(e) || strcmp(e->engine, order[k])) continue;
            if (!any && block++) fprintf(d, "\n\n");
            if (!any) fprintf(d, "# %s\n", e->engine);
            any = 1;
            what(d, e);
        }
    }
    fprintf(plot_script(&p), "E = '%s'\n%s\n", list, commands);
    plot_end(c, &p);
}

static void time_per_step(FILE *d, const ERow *e)
{
    fprintf(d, "%ld %.9g\n", e->T, 1e3 * e->time_s / (double)e->T);
}
static void state_and_formula(FILE *d, const ERow *e)
{
    fprintf(d, "%ld %.9g %.9g\n", e->T, state_bytes(e) / MD_MIB, e->formula / MD_MIB);
}
static void time_by_count(FILE *d, const ERow *e)
{
    fprintf(d, "%ld %.9g\n", e->K, e->time_s);
}

static const ERow *find(const EFile *f, const char *engine, long T, long K)
{
    for (int i = 0; i < f->n; i++)
        if (ok(&f->rows[i]) && !strcmp(f->rows[i].engine, engine) && f->rows[i].T == T &&
            (K < 0 || f->rows[i].K == K))
            return &f->rows[i];
    return NULL;
}

static void horizon(ReportCtx *c, const EFile *f)
{
    FILE *md = c->md;
    long Ts[MAX_ROWS], Ks[MAX_ROWS];
    int nT, nK;
    char tlist[512], klist[512];
    list_of(f, 0, Ts, &nT, tlist, sizeof tlist);
    list_of(f, 1, Ks, &nK, klist, sizeof klist);
    if (strcmp(tlist, "10,100,1000,10000"))
        fprintf(md, "**Cut for time** (T ∈ {%s}): the full run is T ∈ {10, 100, 1000, 10000}.\n\n",
                tlist);
    fprintf(md, "%s on %s, batch %ld, %s, lr %g / momentum %g / wd %g constant,\n"
                "lr learned in K = %s windows; T ∈ {%s}. Greedy looks ahead on %s. Checkpoint\n"
                "stores C = round(√T) states on the binomial schedule (bptt's hypergradient, bit "
                "for bit).\n",
            pretty(f->model), pretty(f->data), f->batch, f->env.precision, f->lr, f->mom, f->wd,
            klist, tlist,
            strcmp(f->greedy_target, "train") ? "the validation set"
                : "the next training\nbatch (HD); its validation-set variant costs a validation "
                  "gradient per step");
    plain_line(md, f);
    fprintf(md, "Times include the final validation gradient (%ld examples), which dominates "
                "small T.\nEach run is one run of T steps (its steps are the repetitions); memory "
                "is the\nallocator's peak per kind during the run.\n\n", f->val_examples);
    table(md, f);
    fprintf(md, "\n");
    md_provenance(md, &f->env);
    md_reproduce(md, &f->env);
    fprintf(md, "\n");
    report_image(c, "engines-horizon-time", "time per step vs T");
    report_image(c, "engines-horizon-memory", "engine state vs T");
    fprintf(md, "\n");
    int any = 0;
    for (int i = 0; i < f->n; i++) {
        const ERow *e = &f->rows[i];
        if (!ok(e) || e->infobuf_floor <= 0) continue;
        fprintf(md, "- %s T=%ld K=%ld: information buffer %.0f bytes = %.3f x its floor %.0f "
                    "bytes\n", e->engine, e->T, e->K, e->infobuf_bytes,
                e->infobuf_bytes / e->infobuf_floor, e->infobuf_floor);
        any = 1;
    }
    if (any) fprintf(md, "\n");
    fprintf(md, "Seeds: init %s, batch order %s (derived from it, as hgbench hypergrad --seed %s), "
                "validation split %s. Each row's val loss and |hypergradient|\nare those of "
                "`hgbench hypergrad` on the same problem, bit for bit; the first row's command:\n"
                "`%s` (every row's is in the results' JSON, field `reproduce`).\n\n",
            f->seed, f->batch_seed, f->seed, f->val_seed, f->rows[0].reproduce);

    static const char *const all[] = {"bptt", "checkpoint", "reversible", "forward", "greedy", NULL};
    static const char *const stateful[] = {"bptt", "checkpoint", "reversible", "forward", NULL};
    plot(c, f, "engines-horizon-time", all, time_per_step, "T ms_per_step",
         "set logscale xy; set xlabel 'inner steps T'; set ylabel 'ms per inner step'\n"
         "set title 'Time per inner step vs horizon (LeNet, batch 128, lr in K = 10 windows)'\n"
         "plot for [i=1:words(E)] DAT index i-1 using 1:2 with linespoints "
         "ls ENGINE_LS(word(E,i)) title word(E,i)");
    plot(c, f, "engines-horizon-memory", stateful, state_and_formula, "T state_MiB formula_MiB",
         "set logscale xy; set xlabel 'inner steps T'; set ylabel 'engine state (MiB)'\n"
         "set title 'Engine state vs T: trajectory, buffer, tangents (points) and formulas (lines)'\n"
         "plot for [i=1:words(E)] DAT index i-1 using 1:2 with points ls ENGINE_LS(word(E,i)) "
         "title word(E,i).' measured', \\\n"
         "     for [i=1:words(E)] DAT index i-1 using 1:3 with lines ls ENGINE_LS(word(E,i)) "
         "title word(E,i).' formula'");

    /* headline: reversible against bptt at the largest T both ran */
    for (int i = nT - 1; i >= 0; i--) {
        const ERow *b = find(f, "bptt", Ts[i], -1), *r = find(f, "reversible", Ts[i], -1);
        if (!b || !r || state_bytes(r) <= 0) continue;
        char bm[32], rm[32], bt[32], rt[32];
        report_headline(c, "Horizon scaling (experiment 1)",
                        "At T = %ld the reversible engine keeps %s MiB of state against bptt's %s "
                        "MiB (%.0fx less), at %.2fx bptt's time per hypergradient (%s s against "
                        "%s s).", Ts[i], md_num(rm, sizeof rm, state_bytes(r) / MD_MIB),
                        md_num(bm, sizeof bm, state_bytes(b) / MD_MIB), state_bytes(b) / state_bytes(r),
                        r->time_s / b->time_s, md_num(rt, sizeof rt, r->time_s),
                        md_num(bt, sizeof bt, b->time_s));
        break;
    }
}

/* The crossovers of forward and the reverse engines along N, as measured. */
static void count(ReportCtx *c, const EFile *f)
{
    FILE *md = c->md;
    long Ts[MAX_ROWS], Ks[MAX_ROWS];
    int nT, nK;
    char tlist[512], klist[512];
    list_of(f, 0, Ts, &nT, tlist, sizeof tlist);
    list_of(f, 1, Ks, &nK, klist, sizeof klist);
    if (strcmp(tlist, "1000") || strcmp(klist, "1,10,100"))
        fprintf(md, "**Cut for time** (T = %s, N ∈ {%s}): the full run is N ∈ {1, 10, 100} at "
                    "T = 1000.\n\n", tlist, klist);
    fprintf(md, "The same problem at T = %s with the learning rate learned in N = K windows,\n"
                "N ∈ {%s}: forward mode against the reverse engines. The issue's N = 1000 is left "
                "out\nof the default run: forward's cost grows with N (about ten times the N = 100 "
                "run, close\nto an hour on a 2-core machine); `COUNTS=1,10,100,1000` adds it.\n",
            tlist, klist);
    plain_line(md, f);
    fprintf(md, "\n");
    table(md, f);
    fprintf(md, "\n");

    /* the N forward ran at the (first) T, ascending */
    long ns[MAX_ROWS], T = Ts[0], tc = -1, mc = -1;
    int n = 0;
    for (int i = 0; i < f->n; i++) {
        const ERow *e = &f->rows[i];
        if (!ok(e) || strcmp(e->engine, "forward") || e->T != T) continue;
        int seen = 0;
        for (int j = 0; j < n; j++) seen |= ns[j] == e->K;
        if (!seen) ns[n++] = e->K;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (ns[j] < ns[i]) { long x = ns[i]; ns[i] = ns[j]; ns[j] = x; }
    for (int i = 0; i < n; i++) {
        const ERow *fw = find(f, "forward", T, ns[i]), *b = find(f, "bptt", T, ns[i]),
                   *r = find(f, "reversible", T, ns[i]);
        double rev = b ? b->time_s : r ? r->time_s : NAN;
        if (r && r->time_s < rev) rev = r->time_s;
        if (tc < 0 && !isnan(rev) && fw->time_s > rev) tc = ns[i];
        if (mc < 0 && b && fw->tangents > b->trajectory) mc = ns[i];
    }
    char a[32], b2[32];
    if (n == 0) {
        fprintf(md, "- No forward run succeeded: no crossover measured.\n");
    } else {
        const ERow *fw0 = find(f, "forward", T, ns[0]), *b0 = find(f, "bptt", T, ns[0]),
                   *r0 = find(f, "reversible", T, ns[0]);
        if (tc == ns[0])
            fprintf(md, "- **Time**: forward is already slower than the fastest reverse engine at "
                        "the smallest N measured (N = %ld: %.2f s vs %.2f s); its cost grows with N "
                        "while reverse mode costs one HVP per step whatever N.\n", ns[0],
                    fw0->time_s, b0 ? b0->time_s : r0->time_s);
        else if (tc > 0)
            fprintf(md, "- **Time**: forward is faster than the fastest reverse engine below N = "
                        "%ld and slower from N = %ld on (the smallest measured N where it is "
                        "slower).\n", tc, tc);
        else
            fprintf(md, "- **Time**: forward stayed faster than reverse for every N measured (up "
                        "to %ld).\n", ns[n - 1]);
        if (mc > 0)
            fprintf(md, "- **Memory**: forward tangents exceed the bptt trajectory from N = %ld on "
                        "(measured).\n", mc);
        else
            fprintf(md, "- **Memory**: forward tangents stay below the bptt trajectory for every N "
                        "measured (up to %ld); by the formulas they cross at N = T (2PN vs 2TP "
                        "reals).\n", ns[n - 1]);
        /* headline: the crossover, with the largest N's times */
        const ERow *fl = find(f, "forward", T, ns[n - 1]), *bl = find(f, "bptt", T, ns[n - 1]),
                   *rl = find(f, "reversible", T, ns[n - 1]);
        const ERow *best = bl && (!rl || bl->time_s <= rl->time_s) ? bl : rl;
        char where[160];
        if (tc == ns[0]) snprintf(where, sizeof where, "slower than the fastest reverse engine "
                                                       "from the smallest N measured (N = %ld) on",
                                  ns[0]);
        else if (tc > 0) snprintf(where, sizeof where, "faster than the fastest reverse engine "
                                                       "below N = %ld and slower from N = %ld on",
                                  tc, tc);
        else snprintf(where, sizeof where, "faster than the reverse engines for every N measured");
        if (best)
            report_headline(c, "Hyperparameter-count scaling (experiment 2)",
                            "At T = %ld, forward mode is %s; at N = %ld it takes %s s against "
                            "%s's %s s.", T, where, ns[n - 1], md_num(a, sizeof a, fl->time_s),
                            best->engine, md_num(b2, sizeof b2, best->time_s));
    }
    fprintf(md, "\n");
    md_provenance(md, &f->env);
    md_reproduce(md, &f->env);
    fprintf(md, "\n");
    report_image(c, "engines-count-time", "time vs N");
    fprintf(md, "\n");

    static const char *const order[] = {"forward", "bptt", "reversible", NULL};
    char cmds[512];
    snprintf(cmds, sizeof cmds,
             "set logscale xy; set xlabel 'learned values N'; set ylabel 'seconds per hypergradient'\n"
             "set title 'Forward vs reverse as N grows (T = %ld)'\n"
             "plot for [i=1:words(E)] DAT index i-1 using 1:2 with linespoints "
             "ls ENGINE_LS(word(E,i)) title word(E,i)", T);
    plot(c, f, "engines-count-time", order, time_by_count, "N time_s", cmds);
}

static int render(ReportCtx *c)
{
    EFile *h = calloc(1, sizeof *h), *n = calloc(1, sizeof *n);
    HG_CHECK(h && n, "calloc");
    int rc = 0, hs = load(c, "engines-horizon.json", h);
    int ns = hs < 0 ? -1 : load(c, "engines-count.json", n);
    if (hs < 0 || ns < 0) { rc = -1; goto done; }
    fprintf(c->md, "## Horizon scaling (experiment 1)\n\n");
    if (hs) horizon(c, h);
    else fprintf(c->md, "**failed**: no results (`engines-horizon.json`; see the bench log).\n\n");
    fprintf(c->md, "## Hyperparameter-count scaling (experiment 2)\n\n");
    if (ns) count(c, n);
    else fprintf(c->md, "**failed**: no results (`engines-count.json`; see the bench log).\n\n");
done:
    rj_close(&h->r);
    rj_close(&n->r);
    free(h);
    free(n);
    return rc;
}

const ReportSection REPORT_ENGINES = {"engines", render};
