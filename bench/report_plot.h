/* report_plot.h — a plot as two generated files beside its images: the
 * data (<plots>/<name>.dat, written by the renderer: whitespace columns,
 * blocks separated by two blank lines for gnuplot's `index`) and the script
 * (<plots>/<name>.gp: the shared style, then the renderer's commands, once
 * per terminal), and gnuplot run on the script to draw <plots>/<name>.png
 * and .svg. Both files are written atomically; a gnuplot that fails or is
 * missing is reported (c->plot_failed), and the section still renders.
 *
 *   Plot p;
 *   FILE *d = plot_begin(c, &p, "engines-horizon-time");
 *   fprintf(d, "# engine T ms_per_step\n"); ...
 *   fprintf(plot_script(&p), "set logscale xy\nplot DAT index 0 using 1:2 ...\n");
 *   plot_end(c, &p);
 *
 * In the commands, DAT is the data file's path (a gnuplot string) and
 * ENGINE_LS(e) the shared line style (plots/style.gp).
 */
#ifndef HG_REPORT_PLOT_H
#define HG_REPORT_PLOT_H

#include <stdio.h>

#include "../io/atomic_file.h"
#include "report.h"

typedef struct Plot {
    char name[128];
    AtomicFile data;
    char *body;      /* the renderer's commands (open_memstream) */
    size_t body_len;
    FILE *script;
    int ok;
} Plot;

/* Opens the data file; NULL (and c->plot_failed) if it cannot be written. */
FILE *plot_begin(ReportCtx *c, Plot *p, const char *name);
/* Where the renderer writes its gnuplot commands (set ..., plot ...). */
FILE *plot_script(Plot *p);
/* Writes the script, commits the data, runs gnuplot (c->run_gnuplot).
 * Returns 0, or -1 with the reason on stderr and c->plot_failed set. */
int plot_end(ReportCtx *c, Plot *p);

#endif
