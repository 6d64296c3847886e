/* report_fig2.c — the fig2 section of RESULTS.md.
 * Interim: its script still writes the Markdown (<results>/fig2.md); this
 * renderer copies it until the section's results are rendered here. */
#include "report.h"

static int render(ReportCtx *c)
{
    return report_legacy_md(c);
}

const ReportSection REPORT_FIG2 = {"fig2", render};
