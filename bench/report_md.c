/* report_md.c — the Markdown pieces of report_md.h. */
#include "report_md.h"

#include <math.h>
#include <string.h>

const char *md_num(char *buf, size_t n, double x)
{
    if (isnan(x)) { snprintf(buf, n, "%s", ""); return buf; }
    int decimals = x >= 100 ? 0 : x >= 10 ? 1 : x >= 1 ? 2 : x >= 0.1 ? 3 : x >= 0.01 ? 4 : 5;
    snprintf(buf, n, "%.*f", decimals, x);
    return buf;
}

const char *md_g(char *buf, size_t n, int digits, double x)
{
    if (!isfinite(x)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.*g", digits, x);
    return buf;
}

const char *md_f(char *buf, size_t n, int decimals, double x)
{
    if (!isfinite(x)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.*f", decimals, x);
    return buf;
}

const char *md_e(char *buf, size_t n, int decimals, double x)
{
    if (!isfinite(x)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.*e", decimals, x);
    return buf;
}

void md_table_head(FILE *f, const char *align, const char *const *names)
{
    size_t k = strlen(align);
    fputc('|', f);
    for (size_t i = 0; i < k; i++) fprintf(f, " %s |", names[i]);
    fputs("\n|", f);
    for (size_t i = 0; i < k; i++) fputs(align[i] == 'r' ? "--:|" : "---|", f);
    fputc('\n', f);
}

void md_provenance(FILE *f, const RjEnvelope *e)
{
    fprintf(f, "Machine: %s (%ld cores, %ld PUs); commit %s; %ld thread%s", e->cpu, e->cores,
            e->pus, e->commit, e->threads, e->threads == 1 ? "" : "s");
    if (e->ranks > 1) fprintf(f, " x %ld MPI ranks", e->ranks);
    if (e->precision && e->precision[0]) fprintf(f, "; %s", e->precision);
    if (e->device && strcmp(e->device, "cpu")) fprintf(f, "; device %s", e->device);
    if (e->blas_core && e->blas_core[0]) fprintf(f, "; OpenBLAS core %s", e->blas_core);
    fprintf(f, "; %s.\n", e->date);
}

void md_reproduce(FILE *f, const RjEnvelope *e)
{
    fprintf(f, "Reproduce: `%s`\n", e->command);
}

StatsInterval md_paired_claim(FILE *f, const double *a, const double *b, int n)
{
    StatsInterval iv = stats_paired_interval(a, b, n, 0.95);
    if (n < 2)
        fprintf(f, "%+.4f (one repeat: no interval) | |", iv.mean);
    else
        fprintf(f, "%+.4f [%+.4f, %+.4f] | %s |", iv.mean, iv.lo, iv.hi,
                stats_verdict_name(stats_verdict(iv)));
    return iv;
}
