/* report_fig2.h — Figure 2's tables and plots from hgbench-fig2's JSON,
 * shared by the fig2 section (bench/report_fig2.c) and any section that
 * repeats the experiment elsewhere (the GPU section's "Figure 2 on the GPU":
 * the same tables from gpu-fig2.json and gpu-fig2-f32.json).
 */
#ifndef HG_REPORT_FIG2_H
#define HG_REPORT_FIG2_H

#include "report.h"

typedef struct Fig2Files {
    const char *f64;   /* the float64 run's --json (the curve, the rounding rows) */
    const char *f32;   /* the float32 run's --json, drawn beside it; NULL or absent: none */
    const char *kahan; /* the float32 --kahan run's --json (its command only); NULL: none */
    const char *plot;  /* plot names: <plot> (MSE vs W) and <plot>-steps */
    const char *anchor;          /* the heading the headlines link to; NULL: no headlines */
    const char *anchor_precision;
    int intervals;     /* 1: the f64 run's per_seed values are required, and the
                        * bootstrap intervals over seeds shown; 0: shown only
                        * when the file has them */
} Fig2Files;

/* Under the caller's heading: the run's settings as bullets, the MSE(W)
 * table (float64 and float32 side by side), the bound's fits, the rounding
 * subsection ("### Precision: ...") and its decision, the plots, and the
 * runs' commands. 0, or -1 with c->err naming the file and the field. */
int report_fig2_body(ReportCtx *c, const Fig2Files *files);

#endif
