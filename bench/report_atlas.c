/* report_atlas.c — the trade-off atlas section of RESULTS.md from
 * <results>/atlas.json (hgbench-runs: the section's hgbench hypergrad runs
 * as they are, scripts/bench-atlas.sh). Here: each method's time, engine
 * memory and error against g* (float64 bptt per step of the same T), one
 * table per T and precision, the memory-time front of the exact per-step
 * methods in words, two plots per T and precision (atlas-T<T>-f<p>-memory
 * and -error, each with its Pareto front), and one headline (the front at the
 * largest T in float64).
 *
 * Run names: T<T>-f<64|32>-<method>; the method's name says its layout:
 * forward-N<n> is compared with g* summed over its n windows ("windows"), hd
 * by its per-step look-ahead values ("online"), every other one per step.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_md.h"
#include "report_plot.h"
#include "report_runs.h"

#define MAX_ROWS 256
#define MAX_T 16
#define EXACT 1e-3 /* "within 1e-3 of g*": exact up to rounding */

typedef struct ARow {
    char method[64];
    const char *engine, *compare, *status;
    long T, N, recomputed;
    int prec, ok, has_err;
    double time, engine_mib, state_mib, act_mib, loss, rel, cosine;
    char why[600];
} ARow;

typedef struct Atlas {
    RunsFile f;
    ARow rows[MAX_ROWS];
    int n, nT;
    long Ts[MAX_T];
    double hd_rate, fwd_max_nt, memory_bytes;
    long params;
    const char *problem;
    int quick;
} Atlas;

static const char *engine_of(const char *method)
{
    if (!strncmp(method, "checkpoint", 10)) return "checkpoint";
    if (!strncmp(method, "truncated", 9)) return "bptt";
    if (!strncmp(method, "forward", 7)) return "forward";
    if (!strncmp(method, "greedy", 6) || !strcmp(method, "hd")) return "greedy";
    return method; /* bptt, reversible */
}

static const char *compare_of(const char *method)
{
    return !strncmp(method, "forward-N", 9) ? "windows" : !strcmp(method, "hd") ? "online" : "step";
}

/* One row from the file's row i. */
static void read_row(Atlas *a, size_t i, ARow *w)
{
    Rj *r = &a->f.r;
    json_t *row = json_array_get(a->f.rows, i);
    const char *name = json_string_value(json_object_get(row, "name"));
    int used = 0;
    if (sscanf(name, "T%ld-f%d-%n", &w->T, &w->prec, &used) != 2 || !used ||
        (w->prec != 32 && w->prec != 64) || w->T < 1) {
        rj_at(r, "rows[%zu]", i);
        rj_fail(r, "name '%s' is not T<T>-f<32|64>-<method>", name);
        return;
    }
    snprintf(w->method, sizeof w->method, "%s", name + used);
    w->engine = engine_of(w->method);
    w->compare = compare_of(w->method);
    w->N = !strcmp(w->compare, "windows") ? atol(w->method + 9) : w->T;
    const char *reason;
    json_t *run = runs_get(&a->f, name, &w->status, &reason);
    if (!run) {
        snprintf(w->why, sizeof w->why, "%s", reason);
        return;
    }
    w->ok = 1;
    w->time = rj_num(r, run, "time_s");
    w->loss = rj_num(r, run, "val_loss");
    w->recomputed = rj_int_opt(r, run, "recomputed_steps", 0);
    json_t *m = rj_object(r, run, "mem");
    rj_at(r, "rows[%zu].run.mem (%s)", i, name);
    double params = rj_num(r, m, "params"), traj = rj_num(r, m, "trajectory"),
           ckpt = rj_num(r, m, "checkpoints"), info = rj_num(r, m, "infobuf"),
           tang = rj_num(r, m, "tangents"), other = rj_num(r, m, "other");
    w->act_mib = rj_num(r, m, "activations") / MD_MIB;
    w->state_mib = (traj + ckpt + info + tang) / MD_MIB;
    w->engine_mib = (params + traj + ckpt + info + tang + other) / MD_MIB;
}

static ARow *find(Atlas *a, long T, int prec, const char *method)
{
    for (int i = 0; i < a->n; i++)
        if (a->rows[i].T == T && a->rows[i].prec == prec && !strcmp(a->rows[i].method, method))
            return &a->rows[i];
    return NULL;
}

static int load(ReportCtx *c, Atlas *a)
{
    int s = runs_load(c, "atlas.json", &a->f);
    if (s <= 0) return s;
    Rj *r = &a->f.r;
    a->nT = runs_ints(runs_param_str(&a->f, "horizons"), a->Ts, MAX_T);
    a->hd_rate = runs_param(&a->f, "hd_rate");
    a->fwd_max_nt = runs_param(&a->f, "fwd_max_nt");
    a->quick = runs_param(&a->f, "quick") == 1;
    a->problem = runs_param_str(&a->f, "problem");
    json_t *mach = json_object_get(a->f.root, "machine");
    rj_at(r, "machine");
    a->memory_bytes = rj_num(r, mach, "memory_bytes");
    size_t n = json_array_size(a->f.rows);
    if (n > MAX_ROWS) rj_fail(r, "%zu rows, more than %d", n, MAX_ROWS);
    if (!r->bad && !a->nT) rj_fail(r, "params: horizons is empty");
    for (size_t i = 0; i < n && !r->bad; i++) read_row(a, i, &a->rows[a->n++]);
    /* errors against g*, float64 bptt of the same T */
    for (int i = 0; i < a->n && !r->bad; i++) {
        ARow *w = &a->rows[i];
        char ref[64], g[128];
        snprintf(ref, sizeof ref, "T%ld-f64-bptt", w->T);
        snprintf(g, sizeof g, "T%ld-f%d-%s", w->T, w->prec, w->method);
        const char *st, *why;
        json_t *rr = runs_get(&a->f, ref, &st, &why), *gr = runs_get(&a->f, g, &st, &why);
        long len;
        if (rr && gr && !runs_lr_error(&a->f, ref, rr, g, gr,
                                       !strcmp(w->compare, "online") ? "per_step" : "hypergrad",
                                       &w->rel, &w->cosine, &len))
            w->has_err = 1;
        if (!a->params && rr) a->params = rj_int(r, rr, "model_params");
        /* a forward run left out for time: its estimate from the N = 10 row */
        if (!w->ok && !strcmp(w->status, "skipped") && !strncmp(w->why, "N T = ", 6)) {
            const ARow *ten = find(a, w->T, w->prec, "forward-N10");
            size_t k = strlen(w->why);
            if (ten && ten->ok)
                snprintf(w->why + k, sizeof w->why - k, " (estimated about %.0f s, N / 10 times "
                         "the N = 10 row)", floor(ten->time * (double)w->N / 10));
            else
                snprintf(w->why + k, sizeof w->why - k, " (no N = 10 row to estimate it from)");
        }
    }
    rj_at(r, "%s", "");
    if (r->bad) return hg_fail(&c->err, "%s", r->err.msg);
    return 1;
}

/* %.*g, or "nan" as the error of a run with a value that is not finite */
static const char *num(char *buf, size_t n, int digits, double x)
{
    if (isnan(x)) snprintf(buf, n, "nan");
    else snprintf(buf, n, "%.*g", digits, x);
    return buf;
}

static void table(FILE *md, const Atlas *a, long T, int prec)
{
    static const char *const head[] = {"method", "compared", "N", "s per hypergradient",
                                       "engine MiB", "state MiB", "activations MiB", "val loss",
                                       "rel. error", "cosine", "recomputed steps"};
    md_table_head(md, "llrrrrrrrrr", head);
    for (int i = 0; i < a->n; i++) {
        const ARow *w = &a->rows[i];
        if (w->T != T || w->prec != prec) continue;
        if (!w->ok) {
            fprintf(md, "| %s | %s | %ld | **%s**: %s | | | | | | | |\n", w->method, w->compare,
                    w->N, w->status, w->why);
            continue;
        }
        char rel[32] = "n/a", cs[32] = "n/a", rec[32] = "";
        if (w->has_err) {
            num(rel, sizeof rel, 4, w->rel);
            num(cs, sizeof cs, 6, w->cosine);
        }
        if (w->recomputed > 0) snprintf(rec, sizeof rec, "%ld", w->recomputed);
        fprintf(md, "| %s | %s | %ld | %.3g | %.3g | %.3g | %.3g | %.5g | %s | %s | %s |\n",
                w->method, w->compare, w->N, w->time, w->engine_mib, w->state_mib, w->act_mib,
                w->loss, rel, cs, rec);
    }
}

/* The memory-time front of the per-step methods within EXACT of g*, in
 * words, into buf; 0 if no method qualifies. */
static int front_words(const Atlas *a, long T, int prec, char *buf, size_t n)
{
    const ARow *cand[MAX_ROWS], *fr[MAX_ROWS];
    int k = 0, nf = 0;
    for (int i = 0; i < a->n; i++) {
        const ARow *w = &a->rows[i];
        if (w->T == T && w->prec == prec && w->ok && !strcmp(w->compare, "step") && w->has_err &&
            !isnan(w->rel) && w->rel < EXACT)
            cand[k++] = w;
    }
    for (int i = 0; i < k; i++) {
        int dom = 0;
        for (int j = 0; j < k && !dom; j++)
            dom = j != i && cand[j]->time <= cand[i]->time &&
                  cand[j]->engine_mib <= cand[i]->engine_mib &&
                  (cand[j]->time < cand[i]->time || cand[j]->engine_mib < cand[i]->engine_mib);
        if (!dom) fr[nf++] = cand[i];
    }
    for (int i = 0; i < nf; i++) /* most memory (the fastest) first */
        for (int j = i + 1; j < nf; j++)
            if (fr[j]->engine_mib > fr[i]->engine_mib) { const ARow *x = fr[i]; fr[i] = fr[j]; fr[j] = x; }
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < nf && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s (%.3g MiB, %.3g s)",
                                i == 0 ? "the fastest is " : i == nf - 1 ? ", and with the least memory "
                                                                        : ", then ",
                                fr[i]->method, fr[i]->engine_mib, fr[i]->time);
    return nf;
}

static double y_of(const ARow *w, int error)
{
    return error ? (w->has_err ? w->rel : NAN) : w->engine_mib;
}

/* atlas-T<T>-f<p>-memory or -error: every ok row, and the Pareto front of
 * (time, y) over them; 0 if there is no front (nothing to draw). */
static int plot(ReportCtx *c, const Atlas *a, long T, int prec, int error)
{
    const ARow *pts[MAX_ROWS], *fr[MAX_ROWS];
    int k = 0, nf = 0;
    for (int i = 0; i < a->n; i++) {
        const ARow *w = &a->rows[i];
        if (w->T == T && w->prec == prec && w->ok && !isnan(w->time) && !isnan(y_of(w, error)))
            pts[k++] = w;
    }
    for (int i = 0; i < k; i++) {
        double xi = pts[i]->time, yi = fmax(y_of(pts[i], error), 1e-17);
        int dom = 0;
        for (int j = 0; j < k && !dom; j++) {
            double xj = pts[j]->time, yj = fmax(y_of(pts[j], error), 1e-17);
            dom = j != i && xj <= xi && yj <= yi && (xj < xi || yj < yi);
        }
        if (!dom) fr[nf++] = pts[i];
    }
    if (!nf) return 0;
    for (int i = 0; i < nf; i++) /* by time, then y */
        for (int j = i + 1; j < nf; j++)
            if (fr[j]->time < fr[i]->time ||
                (fr[j]->time == fr[i]->time && y_of(fr[j], error) < y_of(fr[i], error))) {
                const ARow *x = fr[i]; fr[i] = fr[j]; fr[j] = x;
            }
    char name[96];
    snprintf(name, sizeof name, "atlas-T%ld-f%d-%s", T, prec, error ? "error" : "memory");
    Plot p;
    FILE *d = plot_begin(c, &p, name);
    if (!d) return 0;
    fprintf(d, "# index 0: method engine seconds %s (every run that ran)\n",
            error ? "rel_error" : "engine_MiB");
    for (int i = 0; i < k; i++)
        fprintf(d, "%s %s %.9g %.9g\n", pts[i]->method, pts[i]->engine, pts[i]->time,
                y_of(pts[i], error));
    fprintf(d, "\n\n# index 1: the Pareto front: seconds %s method\n",
            error ? "rel_error (0 drawn at 1e-17)" : "engine_MiB");
    for (int i = 0; i < nf; i++)
        fprintf(d, "%.9g %.9g %s\n", fr[i]->time, fmax(y_of(fr[i], error), 1e-17), fr[i]->method);
    FILE *s = plot_script(&p);
    fprintf(s, "set logscale xy; set xlabel 'seconds per hypergradient'; set ylabel '%s'\n",
            error ? "relative error vs float64 bptt" : "engine memory (MiB)");
    if (error)
        fprintf(s, "set title 'Error vs time, T = %ld, float%d (0 drawn at 1e-17)' noenhanced\n", T,
                prec);
    else
        fprintf(s, "set title 'Memory vs time, T = %ld, float%d (LeNet, Fashion-MNIST)' noenhanced\n",
                T, prec);
    fputs("set format y '10^{%L}'; set format x '%g'; set key bottom right\n"
          "set offsets graph 0.05, graph 0.15, graph 0.1, graph 0.1\n"
          "atleast(v) = (v > 1e-17 ? v : 1e-17)\n"
          "plot DAT index 1 using 1:2 with steps ls 6 title 'Pareto front', \\\n"
          "  for [e in 'bptt checkpoint reversible forward greedy'] DAT index 0 using "
          "(strcol(2) eq e ? $3 : NaN):(atleast($4)) with points ls ENGINE_LS(e) ps 1.2 title e, \\\n"
          "  DAT index 0 using 3:(atleast($4) * (int($0) % 2 ? 1.35 : 0.74)):1 with labels "
          "offset char 0.6,0 left font ',8' noenhanced notitle\n", s);
    plot_end(c, &p);
    return 1;
}

/* "C = 7 (log2 T), C = 10 (sqrt T, T/10)": the checkpoint counts the
 * section runs at T in float64, as scripts/bench-atlas.sh picks them. */
static void checkpoint_line(FILE *md, long T)
{
    const long cs[3] = {(long)(log((double)T) / log(2.0) + 0.5), (long)(sqrt((double)T) + 0.5),
                        (long)((double)T / 10 + 0.5)};
    static const char *const why[3] = {"log2 T", "sqrt T", "T/10"};
    long done[3];
    int nd = 0;
    fprintf(md, "Checkpoints: ");
    for (;;) { /* ascending, each C once with every reason it stands for */
        long next = -1;
        for (int i = 0; i < 3; i++) {
            int seen = 0;
            for (int j = 0; j < nd; j++) seen |= done[j] == cs[i];
            if (!seen && cs[i] >= 1 && cs[i] < T && (next < 0 || cs[i] < next)) next = cs[i];
        }
        if (next < 0) break;
        fprintf(md, "%sC = %ld (", nd ? ", " : "", next);
        for (int i = 0, first = 1; i < 3; i++)
            if (cs[i] == next) { fprintf(md, "%s%s", first ? "" : ", ", why[i]); first = 0; }
        fprintf(md, ")");
        done[nd++] = next;
    }
    fprintf(md, ".\n\n");
}

static void intro(FILE *md, const Atlas *a)
{
    char tl[256] = "", hd[32];
    size_t len = 0;
    for (int t = 0; t < a->nT; t++)
        len += (size_t)snprintf(tl + len, sizeof tl - len, "%s%ld", t ? ", " : "", a->Ts[t]);
    runs_short_g(hd, sizeof hd, a->hd_rate);
    fprintf(md, "Which method to use for a hypergradient: time per hypergradient, engine memory, "
                "and error\nagainst the exact one, for every method on one problem: LeNet (%ld,%03ld "
                "parameters) on\nFashion-MNIST, batch 128, 1000 validation examples, lr 0.05, "
                "momentum 0.9, weight decay 5e-4,\nconstant, seed 0 (init, batch order derived from "
                "it, validation split 1), threads: %ld,\nT ∈ {%s}, float64 and float32. One run each "
                "(no repeats); the time is the\nengine's run (data loading left out), memory the "
                "allocator's tagged peaks.\n\n", a->params / 1000, a->params % 1000,
            a->f.env.threads, tl);
    if (a->quick)
        fprintf(md, "**QUICK**: T ∈ {%s} (the full run: T ∈ {100, 1000}).\n\n", tl);
    fprintf(md,
        "**The exact hypergradient** g\\* is float64 bptt with the learning rate learned per step\n"
        "(`--learn lr:T`) on the same problem and seeds. **Layouts**: every method but forward\n"
        "and HD also learns the learning rate per step and is compared with g\\* per step\n"
        "(\"step\"): truncated bptt and greedy learn the same quantity as the exact engines but\n"
        "estimate it (truncation sets the first T − K steps to 0; greedy differentiates one step\n"
        "ahead). Forward mode's cost grows with the number of learned values, so it learns N\n"
        "windows (`--learn lr:N`) and is compared with g\\* summed over the same windows\n"
        "(\"windows\"): the window sums are the exact hypergradient of that layout, so forward\n"
        "answers a coarser question exactly, and its N = 1 row is not per-step information.\n"
        "HD adapts one learning rate online (`--greedy-online-lr %s`, HD_RATE: small, so that\n"
        "the adapted run stays near g\\*'s), which is HD's setting; its per-step look-ahead values "
        "are\ncompared with g\\* per step (\"online\"). Its\n"
        "run is not g\\*'s (the rate moved while it ran: the val loss column shows how far), so its\n"
        "error also holds that difference. Reversible runs in int64 fixed point, a slightly\n"
        "different training run in float32 (its val loss differs).\n\n", hd);
    fprintf(md,
        "**Memory**: engine = params (w, v and the engine's working vectors) + trajectory +\n"
        "checkpoints + information buffer + tangents + other, the tagged peaks; state = the part\n"
        "that grows with T or N. The model's activations (forward's tangent block grows them with\n"
        "N) and the data are listed apart. Truncated bptt stores the whole trajectory before its K\n"
        "reverse steps, as measured; a truncating implementation could keep the last K steps only."
        "\n\n");
    /* T = 10^4: would bptt's trajectory fit, and how long would the section take */
    long Tmax = a->Ts[0];
    for (int t = 1; t < a->nT; t++) if (a->Ts[t] > Tmax) Tmax = a->Ts[t];
    double s = 0, P = (double)a->params, gib = 1073741824.0;
    for (int i = 0; i < a->n; i++) if (a->rows[i].T == Tmax && a->rows[i].ok) s += a->rows[i].time;
    double f64 = 2e4 * P * 8 / gib, f32 = 2e4 * P * 4 / gib, here = a->memory_bytes / gib;
    fprintf(md,
        "**Cuts**: float32 runs checkpoint at C = round(√T) only (its hypergradient equals bptt's\n"
        "bit for bit, `tests/test_checkpoint.c`, and its time against bptt is measured in float64);\n"
        "forward is skipped where N T > %.0f (its cost grows as N T; the skipped row gives\n"
        "the estimate from its N = 10 row; `FWD_MAX_NT=100000` adds N = 100 at T = 1000). T = 10⁴:\n"
        "bptt's trajectory is 2 T P = %.1f GiB in float64 (%.1f GiB in float32) of %.1f GiB here, "
        "so it %s; it is left out for time: every method costs about 10^4 / T times its T = %ld "
        "row, %.0f minutes in all by this run's rows (`HORIZONS=100,1000,10000` adds it).\n\n",
        a->fwd_max_nt, f64, f32, here, f64 < here ? "fits" : "does not fit in float64", Tmax,
        s * 1e4 / (double)Tmax / 60);
}

static int render(ReportCtx *c)
{
    Atlas *a = calloc(1, sizeof *a);
    HG_CHECK(a, "calloc");
    FILE *md = c->md;
    int rc = 0, s = load(c, a);
    if (s < 0) { rc = -1; goto done; }
    fprintf(md, "## Trade-off atlas\n\n");
    if (!s) {
        fprintf(md, "**failed**: no results (`atlas.json`; see the bench log).\n\n");
        goto done;
    }
    if (!a->params) a->params = 61706; /* no float64 bptt run: LeNet's count */
    intro(md, a);
    for (int t = 0; t < a->nT; t++)
        for (int prec = 64; prec >= 32; prec -= 32) {
            long T = a->Ts[t];
            char words[1024];
            fprintf(md, "### T = %ld, float%d\n\n", T, prec);
            if (prec == 64) checkpoint_line(md, T);
            table(md, a, T, prec);
            fprintf(md, "\nMemory–time front of the per-step methods within 10⁻³ of g\\* (forward's "
                        "window rows left\nout: a coarser question): ");
            if (front_words(a, T, prec, words, sizeof words)) fprintf(md, "%s.\n\n", words);
            else fprintf(md, "no per-step method came within 1e-3 of g\\* here.\n\n");
            int mem = plot(c, a, T, prec, 0), err = plot(c, a, T, prec, 1);
            char name[96], alt[96];
            if (mem) {
                snprintf(name, sizeof name, "atlas-T%ld-f%d-memory", T, prec);
                snprintf(alt, sizeof alt, "memory vs time, T = %ld, float%d", T, prec);
                report_image(c, name, alt);
            }
            if (err) {
                snprintf(name, sizeof name, "atlas-T%ld-f%d-error", T, prec);
                snprintf(alt, sizeof alt, "error vs time, T = %ld, float%d", T, prec);
                report_image(c, name, alt);
            }
            if (mem || err) fprintf(md, "\n");
        }
    /* headline: the front at the largest T in float64 */
    for (int t = a->nT - 1; t >= 0; t--) {
        char words[1024];
        if (!front_words(a, a->Ts[t], 64, words, sizeof words)) continue;
        report_headline(c, "Trade-off atlas",
                        "Trade-off atlas at T = %ld, float64: of the per-step methods within 1e-3 "
                        "of the exact hypergradient, %s.", a->Ts[t], words);
        break;
    }
    char hd[32];
    runs_short_g(hd, sizeof hd, a->hd_rate);
    md_provenance(md, &a->f.env);
    fprintf(md, "\nEach run's JSON is in `atlas/` beside `atlas.json`, which collects them "
                "(hgbench-runs).\nReproduce the section: `%s`;\none row: `build/hgbench hypergrad "
                "--precision 64 %s --steps T` plus the row's\nflags (bptt: `--engine bptt --learn "
                "lr:T`; checkpoint: `--engine checkpoint --checkpoints C\n--learn lr:T`; truncated: "
                "`--engine bptt --truncate K --learn lr:T`; forward: `--engine\nforward --learn "
                "lr:N`; greedy: `--engine greedy --greedy-target val|train --learn lr:T`; HD:\n"
                "`--engine greedy --greedy-target train --greedy-online-lr %s --learn lr:1`); "
                "hgbench-report\ncomputes its error against g\\*'s file.\n\n",
            a->f.env.command, a->problem, hd);
    if (a->f.r.bad) rc = hg_fail(&c->err, "%s", a->f.r.err.msg);
done:
    runs_close(&a->f);
    free(a);
    return rc;
}

const ReportSection REPORT_ATLAS = {"atlas", render};
