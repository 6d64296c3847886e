/* report_fig3.c — the fig3 section of RESULTS.md.
 * Interim: its script still writes the Markdown (<results>/fig3.md); this
 * renderer copies it until the section's results are rendered here. */
#include "report.h"

static int render(ReportCtx *c)
{
    return report_legacy_md(c);
}

const ReportSection REPORT_FIG3 = {"fig3", render};
