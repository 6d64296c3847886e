/* report_sections.c — the sections of RESULTS.md, in order. A new section
 * is a renderer file (bench/report_<name>.c) and one line here. */
#include "report.h"

extern const ReportSection REPORT_MODELS, REPORT_ENGINES, REPORT_FIG2, REPORT_FIG3,
    REPORT_MICRO, REPORT_PYTORCH, REPORT_ATLAS, REPORT_CONDITIONING, REPORT_SOAK, REPORT_SWEEP, REPORT_GPU;
extern const ReportSection REPORT_PERWEIGHT, REPORT_PERLAYER;

const ReportSection *const REPORT_SECTIONS[] = {
    &REPORT_MODELS, &REPORT_ENGINES, &REPORT_FIG2, &REPORT_FIG3, &REPORT_MICRO,
    &REPORT_PYTORCH, &REPORT_ATLAS, &REPORT_CONDITIONING, &REPORT_SOAK, &REPORT_SWEEP, &REPORT_GPU,
    &REPORT_PERWEIGHT, &REPORT_PERLAYER,
    NULL,
};
