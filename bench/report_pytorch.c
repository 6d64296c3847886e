/* report_pytorch.c — the pytorch section of RESULTS.md.
 * Interim: its script still writes the Markdown (<results>/pytorch.md); this
 * renderer copies it until the section's results are rendered here. */
#include "report.h"

static int render(ReportCtx *c)
{
    return report_legacy_md(c);
}

const ReportSection REPORT_PYTORCH = {"pytorch", render};
