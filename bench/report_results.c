/* report_results.c — RESULTS.md from the sections' renderers: Headlines,
 * the table of sections (what ran each, how long, its status), the
 * sections, and how to reproduce them. Each section's run status comes from
 * the <results>/<section>.status file bench.sh writes after running it:
 *   {"section": "engines", "seconds": 928, "exit": 0, "state": "ok"}
 * (state: ok, failed, interrupted); a section without one has not run and
 * is left out. Nothing here reads the clock: the same results render to the
 * same bytes.
 */
#define _GNU_SOURCE /* open_memstream */
#include "report.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../io/atomic_file.h"
#include "report_json.h"

const ReportSection *report_find(const char *name)
{
    for (int i = 0; REPORT_SECTIONS[i]; i++)
        if (!strcmp(REPORT_SECTIONS[i]->name, name)) return REPORT_SECTIONS[i];
    return NULL;
}

void report_headline(ReportCtx *c, const char *anchor, const char *fmt, ...)
{
    if (c->nheads >= REPORT_MAX_HEADLINES) return;
    Headline *h = &c->heads[c->nheads++];
    snprintf(h->section, sizeof h->section, "%s", c->section ? c->section : "");
    snprintf(h->anchor, sizeof h->anchor, "%s", anchor);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->text, sizeof h->text, fmt, ap);
    va_end(ap);
}

void report_ran_by(ReportCtx *c, const RjEnvelope *e)
{
    if (c->commit[0]) return;
    snprintf(c->commit, sizeof c->commit, "%s", e->commit);
    c->threads = e->threads;
    c->ranks = e->ranks;
}

const char *report_path(const ReportCtx *c, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", c->results, name);
    return buf;
}

void report_image(ReportCtx *c, const char *name, const char *alt)
{
    fprintf(c->md, "![%s](%s/%s.png)\n", alt, c->plots_link ? c->plots_link : c->plots, name);
}

/* The plots folder as seen from the folder of RESULTS.md (out): plots under
 * it are linked relatively, anything else by the path as given. */
static const char *plots_link(const char *out, const char *plots)
{
    const char *slash = strrchr(out, '/');
    if (!slash) return plots;
    size_t n = (size_t)(slash - out) + 1;
    return strncmp(out, plots, n) ? plots : plots + n;
}

void report_slug(const char *heading, char *buf, size_t n)
{
    size_t k = 0;
    for (const unsigned char *s = (const unsigned char *)heading; *s && k + 1 < n; s++) {
        if (isalnum(*s) || *s == '-' || *s == '_' || *s >= 0x80) buf[k++] = (char)tolower(*s);
        else if (*s == ' ') buf[k++] = '-';
    }
    buf[k] = '\0';
}

/* 1 if name is one of the space-separated words of list. */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        while (*p == ' ') p++;
        const char *e = p;
        while (*e && *e != ' ') e++;
        if ((size_t)(e - p) == n && !strncmp(p, name, n)) return 1;
        p = e;
    }
    return 0;
}

typedef struct Status {
    int present;
    long seconds, exit;
    char state[32];
} Status;

static int read_status(const char *results, const char *name, Status *st, HgErr *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.status", results, name);
    memset(st, 0, sizeof *st);
    if (!rj_exists(path)) return 0;
    Rj r;
    json_t *root = rj_load(&r, path);
    if (root) {
        st->seconds = rj_int(&r, root, "seconds");
        st->exit = rj_int(&r, root, "exit");
        snprintf(st->state, sizeof st->state, "%s", rj_str(&r, root, "state"));
        if (!r.bad && strcmp(st->state, "ok") && strcmp(st->state, "failed") &&
            strcmp(st->state, "interrupted"))
            rj_fail(&r, "field 'state' is '%s', expected ok, failed or interrupted", st->state);
    }
    int bad = r.bad;
    if (bad) *err = r.err;
    rj_close(&r);
    st->present = !bad;
    return bad ? -1 : 0;
}

/* The last lines of the section's log, as bench.sh kept it. */
static void log_tail(FILE *f, const char *results, const char *name, int lines)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.log", results, name);
    FILE *in = fopen(path, "r");
    if (!in) { fprintf(f, "(no log at %s)\n", path); return; }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    char buf[8192];
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (len + n + 1 > cap) { cap = 2 * (len + n + 1); text = realloc(text, cap); HG_CHECK(text, "realloc"); }
        memcpy(text + len, buf, n);
        len += n;
    }
    fclose(in);
    if (!text) return;
    for (size_t i = 0; i < len; i++) if (text[i] == '\r') text[i] = '\n';
    size_t start = len;
    int seen = 0;
    while (start > 0) {
        if (text[start - 1] == '\n' && start != len && ++seen > lines) break;
        start--;
    }
    fwrite(text + start, 1, len - start, f);
    if (len && text[len - 1] != '\n') fputc('\n', f);
    free(text);
}

int report_section(const ReportOptions *o, const char *name, FILE *f, ReportCtx *c)
{
    const ReportSection *s = report_find(name);
    if (!s) return hg_fail(&c->err, "unknown section '%s'", name);
    c->results = o->results;
    c->plots = o->plots;
    c->plots_link = o->out && strcmp(o->out, "-") ? plots_link(o->out, o->plots) : o->plots;
    c->quick = o->quick;
    c->run_gnuplot = o->run_gnuplot;
    c->section = s->name;
    c->md = f;
    c->skipped[0] = c->check_failed[0] = c->commit[0] = '\0';
    c->threads = c->ranks = 0;
    return s->render(c);
}

typedef struct Rendered {
    const char *name;
    Status st;
    int ran_now, render_failed;
    char *md;
    size_t md_len;
    char skipped[256], check_failed[256], commit[96];
    long threads, ranks;
} Rendered;

static const char *state_text(const Rendered *r, char *buf, size_t n)
{
    const char *st = r->render_failed ? "**not rendered** (see the section)"
                   : !strcmp(r->st.state, "failed") ? "**failed**"
                   : !strcmp(r->st.state, "interrupted") ? "**interrupted**"
                   : r->check_failed[0] ? "**check failed**: "
                   : r->skipped[0] ? "skipped (the section says why)" : "ok";
    snprintf(buf, n, "%s%s%s", st, r->check_failed[0] && !r->render_failed ? r->check_failed : "",
             r->ran_now ? "" : ", not rerun by this run: from an earlier one");
    return buf;
}

static void write_results(FILE *f, const ReportOptions *o, const ReportCtx *c,
                          const Rendered *rs, int n)
{
    fprintf(f, "# hgbench results\n\n");
    fprintf(f, "Generated by `%s` (scripts/bench.sh runs the sections; `hgbench-report`\n"
               "renders this file from their results in `%s/`, JSON with one envelope per file,\n"
               "and draws the plots in `%s/`). Do not edit by hand: rerun `make bench`, or\n"
               "`build/hgbench-report --results %s --plots %s` to render the same results again.\n"
               "Every table names the machine, commit and command of its numbers.\n\n",
            o->command ? o->command : "make bench", o->results, o->plots, o->results, o->plots);
    if (o->quick)
        fprintf(f, "**QUICK run**: every experiment is cut to run in minutes (sizes stated in each\n"
                   "section); its numbers show the pipeline works, not the results. Run `make bench`\n"
                   "for the full sizes.\n\n");
    fprintf(f, "## Headlines\n\n");
    if (!c->nheads) fprintf(f, "No section rendered a headline.\n");
    for (int i = 0; i < c->nheads; i++) {
        char slug[200];
        report_slug(c->heads[i].anchor, slug, sizeof slug);
        fprintf(f, "- %s ([%s](#%s))\n", c->heads[i].text, c->heads[i].section, slug);
    }
    fprintf(f, "\n## Sections\n\n");
    fprintf(f, "| section | status | commit | ranks × threads | time (s) |\n|---|---|---|--:|--:|\n");
    for (int i = 0; i < n; i++) {
        char st[400];
        fprintf(f, "| %s | %s | %s | ", rs[i].name, state_text(&rs[i], st, sizeof st),
                rs[i].commit[0] ? rs[i].commit : "");
        if (rs[i].threads) fprintf(f, "%ld × %ld", rs[i].ranks > 0 ? rs[i].ranks : 1, rs[i].threads);
        fprintf(f, " | %ld |\n", rs[i].st.seconds);
    }
    fprintf(f, "\n");
    for (int i = 0; i < n; i++) {
        fwrite(rs[i].md, 1, rs[i].md_len, f);
        if (!rs[i].ran_now)
            fprintf(f, "*(Not rerun by this `make bench`: the section as an earlier run left its "
                       "results, with their own commit and date.)*\n\n");
    }
    fprintf(f, "## Reproduce\n\n    %s\n\n", o->command ? o->command : "make bench");
    fprintf(f, "Sections alone: `SECTIONS=\"engines fig2\" make bench`; each section's own command is\n"
               "given under it.\n");
}

int report_run(const ReportOptions *o)
{
    ReportCtx *c = calloc(1, sizeof *c);
    Rendered *rs = calloc(64, sizeof *rs);
    HG_CHECK(c && rs, "calloc");
    int n = 0, failed = 0;
    char dir[3800];
    snprintf(dir, sizeof dir, "%s/report", o->results);
    if (mkdir(dir, 0777) && errno != EEXIST) {
        fprintf(stderr, "hgbench-report: %s: %s\n", dir, strerror(errno));
        free(c); free(rs);
        return 2;
    }
    for (int i = 0; REPORT_SECTIONS[i]; i++) {
        const char *name = REPORT_SECTIONS[i]->name;
        if (o->sections && !in_list(o->sections, name)) continue;
        Rendered *r = &rs[n];
        r->name = name;
        HgErr err;
        if (read_status(o->results, name, &r->st, &err)) {
            fprintf(stderr, "hgbench-report: %s\n", err.msg);
            snprintf(r->st.state, sizeof r->st.state, "failed");
            r->st.present = 1;
        }
        if (!r->st.present) continue; /* never ran */
        n++;
        r->ran_now = !o->ran || in_list(o->ran, name);
        FILE *md = open_memstream(&r->md, &r->md_len);
        HG_CHECK(md, "open_memstream");
        if (report_section(o, name, md, c)) {
            r->render_failed = 1;
            failed = 1;
            fprintf(stderr, "hgbench-report: section %s: %s\n", name, c->err.msg);
            fprintf(md, "\n**Section `%s` could not be rendered**: %s\n\n", name, c->err.msg);
        }
        if (!strcmp(r->st.state, "failed")) {
            failed = 1;
            fprintf(md, "**Section `%s` failed** (exit %ld). End of its log:\n\n```\n", name,
                    r->st.exit);
            log_tail(md, o->results, name, 15);
            fprintf(md, "```\n\n");
        } else if (!strcmp(r->st.state, "interrupted")) {
            failed = 1;
            fprintf(md, "**Section `%s` interrupted** after %ld s: its results above may mix "
                        "this run's files with an earlier run's; each table names its own commit "
                        "and date.\n\n", name, r->st.seconds);
        }
        fclose(md);
        snprintf(r->skipped, sizeof r->skipped, "%s", c->skipped);
        snprintf(r->check_failed, sizeof r->check_failed, "%s", c->check_failed);
        if (c->check_failed[0]) failed = 1;
        memcpy(r->commit, c->commit, sizeof r->commit);
        r->threads = c->threads;
        r->ranks = c->ranks;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.md", dir, name);
        AtomicFile a;
        if (atomic_open(&a, path, &err) == 0) {
            fwrite(r->md, 1, r->md_len, a.f);
            if (atomic_commit(&a, &err)) fprintf(stderr, "hgbench-report: %s\n", err.msg);
        } else {
            fprintf(stderr, "hgbench-report: %s\n", err.msg);
        }
    }
    int rc = failed ? 1 : 0;
    AtomicFile a;
    HgErr err;
    if (atomic_open(&a, o->out, &err) == 0) {
        write_results(a.f, o, c, rs, n);
        if (atomic_commit(&a, &err)) { fprintf(stderr, "hgbench-report: %s\n", err.msg); rc = 2; }
    } else {
        fprintf(stderr, "hgbench-report: %s\n", err.msg);
        rc = 2;
    }
    if (c->plot_failed && !rc) rc = 1;
    for (int i = 0; i < n; i++) free(rs[i].md);
    free(rs);
    free(c);
    return rc;
}
