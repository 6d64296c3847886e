/* report.h — hgbench-report: RESULTS.md and its plots from the bench's
 * results as data (JSON files with io/envelope.h's envelope).
 *
 * One renderer per bench section (bench/report_<section>.c). A renderer
 * reads its section's JSON files from c->results, writes the section's
 * Markdown to c->md, may add headlines (report_headline) and plots
 * (report_plot.h), and returns 0, or -1 with c->err naming the file and the
 * field that is missing or malformed. Renderers never measure and never
 * read the clock: rendering the same results twice gives the same bytes.
 *
 * report_results.c puts RESULTS.md together: Headlines, the section table
 * (each section's commit, ranks x threads, time and status, from its own
 * envelope and the status file bench.sh writes), the sections in order,
 * and how to reproduce. Leaves out: running anything (scripts/ do that).
 */
#ifndef HG_REPORT_H
#define HG_REPORT_H

#include <stdio.h>

#include "../common/check.h"

#define REPORT_MAX_HEADLINES 64

typedef struct Headline {
    char section[32];  /* the section that made it */
    char text[600];    /* one sentence, Markdown */
    char anchor[160];  /* the heading it links to, as written ("Figure 2: ...") */
} Headline;

typedef struct ReportCtx {
    const char *results; /* folder of the raw results: bench/results */
    const char *plots;   /* folder of the plots and their data: plots */
    const char *plots_link; /* the same folder as RESULTS.md links it */
    int quick;           /* a QUICK run's results: say the cuts */
    FILE *md;            /* the running section's Markdown */
    const char *section; /* the running section's name */
    /* a renderer sets skipped to say why its section did not run here
     * (no GPU, say); RESULTS.md's table then shows it as skipped */
    char skipped[256];
    /* a renderer sets check_failed when a check its section exists for did
     * not hold (the soak's buffer over 1.06x its floor, say): RESULTS.md's
     * table then shows the section as failed, and hgbench-report exits 1 */
    char check_failed[256];
    HgErr err;
    Headline heads[REPORT_MAX_HEADLINES];
    int nheads;
    int plot_failed;     /* a gnuplot run failed (the section still renders) */
    /* what ran the section, from its results' envelope (report_ran_by): shown
     * in RESULTS.md's table of sections */
    char commit[96];
    long threads, ranks;
    int run_gnuplot;     /* 0: write the plot scripts and data only */
} ReportCtx;

typedef struct ReportSection {
    const char *name;                /* "engines", as bench.sh's SECTIONS */
    int (*render)(ReportCtx *c);
} ReportSection;

/* The sections in RESULTS.md's order (report_sections.c); NULL-terminated. */
extern const ReportSection *const REPORT_SECTIONS[];
const ReportSection *report_find(const char *name);

/* One headline: a sentence with its number (and interval where there are
 * repeats), linking to the heading `anchor` of the running section. */
void report_headline(ReportCtx *c, const char *anchor, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A renderer states which run made its section (the envelope of its
 * results; the first call wins). */
struct RjEnvelope;
void report_ran_by(ReportCtx *c, const struct RjEnvelope *e);

/* "<results>/<name>" into buf (n bytes). */
const char *report_path(const ReportCtx *c, const char *name, char *buf, size_t n);

/* "![alt](<plots_link>/<name>.png)" and a newline: a plot drawn by
 * report_plot.h, linked from where RESULTS.md is. */
void report_image(ReportCtx *c, const char *name, const char *alt);

/* GitHub's anchor for a heading ("Figure 2: a b" -> "figure-2-a-b"). */
void report_slug(const char *heading, char *buf, size_t n);


/* What one hgbench-report run renders (report_results.c). */
typedef struct ReportOptions {
    const char *results, *plots; /* as in ReportCtx */
    const char *out;             /* RESULTS.md; "-": stdout */
    const char *sections;        /* space-separated names to render; NULL: all */
    const char *ran;             /* the sections this make bench ran (the rest
                                  * are marked as from an earlier run); NULL:
                                  * every section rendered counts as run */
    const char *command;         /* "make bench QUICK=1", for the Reproduce line */
    int quick, run_gnuplot;
} ReportOptions;

/* Renders the sections and RESULTS.md (atomically), each section's Markdown
 * also to <results>/report/<section>.md. Returns 0, 1 when a section failed
 * (its run, or its rendering: RESULTS.md then says so and names the file and
 * field), 2 when RESULTS.md could not be written. */
int report_run(const ReportOptions *o);

/* One section alone to f (no RESULTS.md): 0, or -1 with err. For tests and
 * `hgbench-report --section NAME`. */
int report_section(const ReportOptions *o, const char *name, FILE *f, ReportCtx *c);

#endif
