/* report_main.c — hgbench-report: RESULTS.md and the plots from the bench's
 * results (bench/report.h). make bench runs it after the sections; run it
 * alone to render the same results again (same bytes).
 *
 *   hgbench-report [--results bench/results] [--plots plots] [--out RESULTS.md]
 *                  [--sections "engines fig2"] [--ran "..."] [--quick] [--no-gnuplot]
 *   hgbench-report --section engines     one section's Markdown on stdout
 *
 * Exit: 0; 1 when a section failed to run or to render (RESULTS.md says
 * which, naming the file and field); 2 on bad flags or an unwritable output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/flags.h"
#include "report.h"

int main(int argc, char **argv)
{
    ReportOptions o = {.results = "bench/results", .plots = "plots", .out = "RESULTS.md",
                       .run_gnuplot = 1};
    const char *one = NULL;
    int help = 0, no_gnuplot = 0;
    Flag table[] = {
        {"--results", "DIR", "bench/results", "the folder of the sections' results",
         FLAG_STRING, .target = &o.results},
        {"--plots", "DIR", "plots", "the folder of the plots, their data and scripts",
         FLAG_STRING, .target = &o.plots},
        {"--out", "FILE", "RESULTS.md", "where RESULTS.md goes (- for stdout)", FLAG_STRING,
         .target = &o.out},
        {"--sections", "LIST", "all", "the sections to render, space-separated", FLAG_STRING,
         .target = &o.sections},
        {"--ran", "LIST", NULL,
         "the sections this make bench ran; the others are marked as from an earlier run",
         FLAG_STRING, .target = &o.ran, .empty_ok = 1},
        {"--command", "CMD", "make bench", "the command shown under Reproduce", FLAG_STRING,
         .target = &o.command},
        {"--quick", NULL, NULL, "the results are a QUICK run's: say so", FLAG_SWITCH,
         .target = &o.quick},
        {"--no-gnuplot", NULL, NULL, "write the plots' data and scripts, do not draw them",
         FLAG_SWITCH, .target = &no_gnuplot},
        {"--section", "NAME", NULL, "render one section's Markdown to stdout, nothing else",
         FLAG_STRING, .target = &one},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &help},
        {NULL},
    };
    HgErr err;
    if (flags_parse(table, argc, argv, &err)) {
        fprintf(stderr, "hgbench-report: %s\n", err.msg);
        return 2;
    }
    if (help) {
        printf("usage: hgbench-report [flags]\n\nRenders RESULTS.md and the plots from the "
               "bench's JSON results.\n\n");
        flags_usage(stdout, table);
        printf("\nsections:");
        for (int i = 0; REPORT_SECTIONS[i]; i++) printf(" %s", REPORT_SECTIONS[i]->name);
        printf("\n");
        return 0;
    }
    o.run_gnuplot = !no_gnuplot;
    if (one) {
        if (!report_find(one)) {
            fprintf(stderr, "hgbench-report: --section '%s': not a section (hgbench-report --help "
                            "lists them)\n", one);
            return 2;
        }
        ReportCtx *c = calloc(1, sizeof *c);
        HG_CHECK(c, "calloc");
        int rc = report_section(&o, one, stdout, c);
        if (rc) fprintf(stderr, "hgbench-report: section %s: %s\n", one, c->err.msg);
        free(c);
        return rc ? 1 : 0;
    }
    return report_run(&o);
}
