/* report_plot.c — the generated plot files of report_plot.h. */
#define _GNU_SOURCE /* open_memstream */
#include "report_plot.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

FILE *plot_begin(ReportCtx *c, Plot *p, const char *name)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.dat", c->plots, name);
    HgErr err;
    if (atomic_open(&p->data, path, &err)) {
        fprintf(stderr, "hgbench-report: %s\n", err.msg);
        c->plot_failed = 1;
        return NULL;
    }
    p->script = open_memstream(&p->body, &p->body_len);
    HG_CHECK(p->script, "open_memstream");
    fprintf(p->data.f, "# data of %s/%s.{png,svg}, written by hgbench-report (section %s)\n",
            c->plots, name, c->section ? c->section : "?");
    p->ok = 1;
    return p->data.f;
}

FILE *plot_script(Plot *p)
{
    return p->script;
}

static int run_gnuplot(const char *script)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int plot_end(ReportCtx *c, Plot *p)
{
    if (!p->ok) return -1;
    fclose(p->script);
    HgErr err;
    int rc = 0;
    if (atomic_commit(&p->data, &err)) {
        fprintf(stderr, "hgbench-report: %s\n", err.msg);
        rc = -1;
    }
    char gp[4096], out[4096];
    snprintf(gp, sizeof gp, "%s/%s.gp", c->plots, p->name);
    snprintf(out, sizeof out, "%s/%s", c->plots, p->name);
    AtomicFile a;
    if (!rc && atomic_open(&a, gp, &err) == 0) {
        FILE *f = a.f;
        fprintf(f, "# %s.gp — written by hgbench-report (section %s) from %s.dat; run from the\n"
                   "# repository root: gnuplot %s\n", p->name, c->section ? c->section : "?",
                p->name, gp);
        fprintf(f, "DAT = '%s/%s.dat'\nOUT = '%s'\nload 'plots/style.gp'\n", c->plots, p->name, out);
        fprintf(f, "set terminal pngcairo size 800,500 enhanced font 'Helvetica,10'\n"
                   "set output OUT.'.png'\n%s\nunset output\n", p->body);
        fprintf(f, "set terminal svg size 800,500 dynamic enhanced font 'Helvetica,12'\n"
                   "set output OUT.'.svg'\n%s\nunset output\n", p->body);
        if (atomic_commit(&a, &err)) rc = -1;
    } else if (!rc) {
        rc = -1;
    }
    if (rc) fprintf(stderr, "hgbench-report: %s\n", err.msg);
    free(p->body);
    p->body = NULL;
    p->ok = 0;
    if (!rc && c->run_gnuplot) {
        int g = run_gnuplot(gp);
        if (g) {
            fprintf(stderr, "hgbench-report: gnuplot %s: %s\n", gp,
                    g == 127 ? "gnuplot not found (Debian: gnuplot-nox)" : "failed");
            rc = -1;
        }
    }
    if (rc) c->plot_failed = 1;
    return rc;
}
