/* report_sweep.c — the sweep section: independent runs over MPI ranks
 * (scripts/bench-sweep.sh). From sweep-1x2.json and sweep-2x1.json (the
 * runner's summaries): wall time, the jobs' summed time and efficiency of
 * the same 8 jobs as 1 rank x 2 threads and 2 ranks x 1 thread. Then, on
 * paper, from the job times the fig2 and fig3 results beside them measured:
 * Figure 2 at S = 100 and Figure 3 with 5 repeats on 16, 64 and 256 ranks,
 * handed out in list order to the first free rank as hgbench-sweep and
 * hgbench-fig2 do, and where the scaling stops.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_json.h"
#include "report_md.h"

#define HEADING "Scale-out: independent runs over MPI ranks (hgbench-sweep)"
#define FIG3_REPEATS 5
#define FIG2_SEEDS 100

/* One sweep summary: its wall time and the jobs' summed time. */
typedef struct Sweep {
    int present;
    RjEnvelope env;
    double wall, sum;
    long done, jobs;
} Sweep;

static int read_sweep(ReportCtx *c, const char *name, Sweep *s, Rj *r)
{
    char path[4096];
    memset(s, 0, sizeof *s);
    memset(r, 0, sizeof *r); /* rj_close is safe on it when there is no file */
    report_path(c, name, path, sizeof path);
    if (!rj_exists(path)) return 0;
    json_t *root = rj_load(r, path);
    if (!root) return -1;
    rj_envelope(r, root, &s->env);
    s->wall = rj_num(r, root, "wall_s");
    s->done = rj_int(r, root, "done");
    json_t *res = rj_array(r, root, "results");
    s->jobs = res ? (long)json_array_size(res) : 0;
    for (long i = 0; i < s->jobs && !r->bad; i++)
        s->sum += rj_num(r, rj_row(r, res, "results", (size_t)i), "seconds");
    s->present = !r->bad;
    return r->bad ? -1 : 0;
}

/* List scheduling in list order onto R ranks: each job to the rank free
 * first; the time the last rank finishes. */
static double makespan(const double *t, int n, int R)
{
    double *free_at = calloc((size_t)R, sizeof *free_at);
    HG_CHECK(free_at, "calloc");
    for (int i = 0; i < n; i++) {
        int b = 0;
        for (int k = 1; k < R; k++)
            if (free_at[k] < free_at[b]) b = k;
        free_at[b] += t[i];
    }
    double m = 0;
    for (int k = 0; k < R; k++) m = fmax(m, free_at[k]);
    free(free_at);
    return m;
}

static const char *hms(char *b, size_t n, double s)
{
    if (s >= 3600) snprintf(b, n, "%.1f h", s / 3600);
    else if (s >= 60) snprintf(b, n, "%.1f min", s / 60);
    else snprintf(b, n, "%.0f s", s);
    return b;
}

static void sweep_row(FILE *f, const char *label, const Sweep *s, double one, int cores)
{
    if (!s->present) {
        fprintf(f, "| %s | - | - | - | - | **no summary** (the run failed or was not made; see the log) |\n",
                label);
        return;
    }
    fprintf(f, "| %s | `%s` | %.1f s | %.1f s | ", label, s->env.command, s->wall, s->sum);
    if (one > 0) fprintf(f, "%.2f", one / (cores * s->wall));
    else fprintf(f, "-");
    fprintf(f, " | %ld/%ld |\n", s->done, s->jobs);
}

/* Figure 2 at S = 100 from fig2.json's per-seed times (bptt + greedy). */
static int project_fig2(ReportCtx *c, FILE *f)
{
    char path[4096], b1[32], b2[32];
    report_path(c, "fig2.json", path, sizeof path);
    if (!rj_exists(path)) {
        fprintf(f, "- Figure 2: no results in %s: nothing to project.\n", path);
        return 0;
    }
    Rj r;
    json_t *root = rj_load(&r, path);
    if (!root) return hg_fail(&c->err, "%s", r.err.msg);
    json_t *t = rj_object(&r, root, "time_s");
    rj_at(&r, "time_s");
    double seed = rj_num(&r, t, "nongreedy_mean") + rj_num(&r, t, "greedy_mean");
    rj_at(&r, "%s", "");
    long threads = rj_int(&r, root, "threads");
    int quick = rj_bool(&r, root, "quick");
    if (r.bad) { int rc = hg_fail(&c->err, "%s", r.err.msg); rj_close(&r); return rc; }
    fprintf(f, "- **Figure 2 at S = %d, float64** (one item per seed: bptt and greedy): a seed takes\n"
               "  %s at %ld threads (%s%s); %d seeds, one after another: %s.\n",
            FIG2_SEEDS, hms(b1, sizeof b1, seed), threads, path, quick ? ", a QUICK run's sizes" : "",
            FIG2_SEEDS, hms(b2, sizeof b2, FIG2_SEEDS * seed));
    double items[FIG2_SEEDS];
    for (int i = 0; i < FIG2_SEEDS; i++) items[i] = seed;
    static const int ranks[] = {16, 64, 256};
    for (int k = 0; k < 3; k++) {
        double m = makespan(items, FIG2_SEEDS, ranks[k]);
        fprintf(f, "  - %d ranks x %ld threads: %s (speed-up %.0f)\n", ranks[k], threads,
                hms(b1, sizeof b1, m), FIG2_SEEDS * seed / m);
    }
    fprintf(f, "  - Scaling stops at %d ranks, one seed each: the longest item, one seed, %s.\n",
            FIG2_SEEDS, hms(b1, sizeof b1, seed));
    rj_close(&r);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* 1 if name is fig3-<data set>-<method>.json of one of Figure 3's methods,
 * or its repeat 0, fig3-<data set>-<method>-r0.json (one job per method and
 * data set, whatever the repeats that ran). */
static int fig3_log(const char *name)
{
    static const char *const methods[] = {"-greedy", "-nongreedy", "-fds", "-cosine"};
    static const char *const tails[] = {".json", "-r0.json"};
    size_t n = strlen(name);
    if (strncmp(name, "fig3-", 5) || !strncmp(name, "fig3-protocol-", 14)) return 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++) {
            char end[32];
            size_t k = (size_t)snprintf(end, sizeof end, "%s%s", methods[i], tails[j]);
            if (n > k && !strcmp(name + n - k, end)) return 1;
        }
    return 0;
}

/* Figure 3 with 5 repeats from the hpo logs' total times. */
static int project_fig3(ReportCtx *c, FILE *f)
{
    struct dirent **ents;
    int n = scandir(c->results, &ents, NULL, by_name);
    if (n < 0) return hg_fail(&c->err, "%s: cannot list the folder", c->results);
    double *jobs = NULL, total = 0, longest = 0;
    int nj = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        if (!rc && fig3_log(ents[i]->d_name)) {
            char path[4096];
            Rj r;
            json_t *root = rj_load(&r, report_path(c, ents[i]->d_name, path, sizeof path));
            double t = root ? rj_num(&r, root, "time_s") : 0;
            if (r.bad) rc = hg_fail(&c->err, "%s", r.err.msg);
            rj_close(&r);
            jobs = realloc(jobs, (size_t)(nj + FIG3_REPEATS) * sizeof *jobs);
            HG_CHECK(jobs, "realloc");
            for (int k = 0; k < FIG3_REPEATS; k++) jobs[nj++] = t;
            total += FIG3_REPEATS * t;
            longest = fmax(longest, t);
        }
        free(ents[i]);
    }
    free(ents);
    char b1[32];
    if (!rc && !nj) fprintf(f, "- Figure 3: no hpo results in %s: nothing to project.\n", c->results);
    if (!rc && nj) {
        fprintf(f, "- **Figure 3 with %d repeats**: %d hpo jobs (methods x data sets x %d, each its whole\n"
                   "  outer loop, which is sequential), %s one after another (%s/fig3-*.json).\n",
                FIG3_REPEATS, nj, FIG3_REPEATS, hms(b1, sizeof b1, total), c->results);
        static const int ranks[] = {16, 64, 256};
        for (int k = 0; k < 3; k++) {
            double m = makespan(jobs, nj, ranks[k]);
            fprintf(f, "  - %d ranks: %s (speed-up %.1f)\n", ranks[k], hms(b1, sizeof b1, m), total / m);
        }
        fprintf(f, "  - Scaling stops at the longest single job, %s: from %d ranks on, every job has a\n"
                   "    rank of its own and the figure waits on that one.\n",
                hms(b1, sizeof b1, longest), nj);
    }
    free(jobs);
    return rc;
}

static int render(ReportCtx *c)
{
    Sweep s12, s21;
    Rj r1, r2;
    if (read_sweep(c, "sweep-1x2.json", &s12, &r1) || read_sweep(c, "sweep-2x1.json", &s21, &r2)) {
        int rc = hg_fail(&c->err, "%s", r1.bad ? r1.err.msg : r2.err.msg);
        rj_close(&r1);
        rj_close(&r2);
        return rc;
    }
    if (!s12.present && !s21.present) {
        rj_close(&r1);
        rj_close(&r2);
        return hg_fail(&c->err, "%s/sweep-1x2.json and sweep-2x1.json: neither sweep left a summary",
                       c->results);
    }
    const Sweep *any = s21.present ? &s21 : &s12;
    report_ran_by(c, &any->env);
    FILE *f = c->md;
    fprintf(f, "## " HEADING "\n\n");
    fprintf(f, "The same 8 jobs (`hgbench hypergrad`, LeNet, float64, engines bptt, forward, reversible\n"
               "and greedy for seeds 0 and 1; the job lists are `%s/sweep-jobs-{1,2}.txt`) through\n"
               "`build/hgbench-sweep`, once as one process with `--threads 2` and once as MPI ranks\n"
               "with `--threads 1`. Efficiency: the 1-thread jobs' summed time over the cores in use\n"
               "(threads or ranks) x the wall time (1 = every core busy with 1-thread work all along).\n\n",
            c->results);
    fprintf(f, "| ranks x threads | command | wall | jobs' summed time | efficiency | done |\n"
               "|---|---|--:|--:|--:|--:|\n");
    double one = s21.present ? s21.sum : 0;
    char label[32];
    snprintf(label, sizeof label, "%ld x %ld", s12.present ? s12.env.ranks : 1,
             s12.present ? s12.env.threads : 2);
    sweep_row(f, label, &s12, one, 2);
    snprintf(label, sizeof label, "%ld x %ld", s21.present ? s21.env.ranks : 2,
             s21.present ? s21.env.threads : 1);
    sweep_row(f, label, &s21, one, s21.present ? (int)s21.env.ranks : 2);
    fprintf(f, "\n");
    md_provenance(f, &any->env);
    fprintf(f, "\nOn a machine shared with other work these times are indicative only (the bench warns\n"
               "when it sees other load).\n\n");
    if (s12.present && s21.present && s21.wall > 0)
        report_headline(c, HEADING,
                        "The same 8 independent runs took %.1f s as 1 process x 2 threads and %.1f s as "
                        "%ld MPI ranks x 1 thread (efficiency %.2f against %.2f).",
                        s12.wall, s21.wall, s21.env.ranks, one / (2 * s12.wall),
                        one / (s21.env.ranks * s21.wall));
    fprintf(f, "### On paper: Figure 2 and Figure 3 over more ranks\n\n"
               "From the job times of this results folder's fig2 and fig3 runs, handed out in list\n"
               "order to the first free rank (hgbench-sweep's and hgbench-fig2's order), hand-out and\n"
               "start-up costs left out.\n\n");
    int rc = project_fig2(c, f);
    if (!rc) rc = project_fig3(c, f);
    if (!rc)
        fprintf(f, "- Rank 0's hand-out is one MPI message pair per job, answered after a 1 ms poll\n"
                   "  sleep (`mpirun -np 2 build/hgbench-sweep --handout-rate 2000` measures it); 256\n"
                   "  ranks on 200 s jobs ask for 1.3 jobs/s. Each job's process start and data loading\n"
                   "  happen on its own rank, in parallel.\n\n");
    fprintf(f, "Reproduce: `scripts/bench-sweep.sh` (`MPIRUN=\"...\"` for the launcher of the ranks).\n\n");
    rj_close(&r1);
    rj_close(&r2);
    return rc;
}

const ReportSection REPORT_SWEEP = {"sweep", render};
