/* report_md.h — Markdown pieces every renderer needs: numbers at a
 * precision that suits their size, table headers, and the line that says
 * where a table's numbers come from (machine, commit, threads, command).
 * The formats are the ones the bench's tables have always used, so that a
 * table rendered here has the numbers the awk of the scripts printed.
 */
#ifndef HG_REPORT_MD_H
#define HG_REPORT_MD_H

#include <stdio.h>

#include "../common/stats.h"
#include "report_json.h"

#define MD_MIB 1048576.0 /* bytes in a MiB, for every renderer's memory columns */

/* Significant-looking digits by magnitude: >= 100 "%.0f", >= 10 "%.1f",
 * >= 1 "%.2f", >= 0.1 "%.3f", >= 0.01 "%.4f", else "%.5f". NaN: "". */
const char *md_num(char *buf, size_t n, double x);
/* printf's %.*g / %.*f / %.*e into buf; NaN and infinities as "n/a". */
const char *md_g(char *buf, size_t n, int digits, double x);
const char *md_f(char *buf, size_t n, int decimals, double x);
const char *md_e(char *buf, size_t n, int decimals, double x);

/* A table's header: the names, and the alignment row from `align` (one
 * letter per column: 'l' left, 'r' right). */
void md_table_head(FILE *f, const char *align, const char *const *names);

/* "Machine: <cpu> (<cores> cores, <pus> PUs); commit <c>; <t> threads x <r>
 * ranks; <precision>; <date>." from an envelope. */
void md_provenance(FILE *f, const RjEnvelope *e);
/* "Reproduce: `<command>`" from an envelope. */
void md_reproduce(FILE *f, const RjEnvelope *e);

/* The cells of a paired claim a - b over n repeats, "+0.0012 [-0.0030,
 * +0.0054] | not resolved |" (95% t interval and its verdict; one repeat:
 * the mean, no interval, no verdict); returns the interval. */
StatsInterval md_paired_claim(FILE *f, const double *a, const double *b, int n);

#endif
