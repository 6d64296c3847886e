/* cli_hpo.h — `hgbench hpo`: gradient-based hyperparameter optimisation.
 * The inner problem is hypergrad's (the same flags, defaults and data
 * loading, cli_hypergrad.h); each outer step runs one engine on the schedule
 * theta describes (hyper_unpack), logs its validation (and, with --test,
 * test) accuracy and the hypergradient's norm, then moves theta by an outer
 * optimiser (harness/outer.h). After the last update the final theta is
 * evaluated by a plain training run. The best schedule (highest validation
 * accuracy; earliest on ties) is kept; --patience stops early.
 *
 * Output: a per-outer-step table on stdout (whitespace columns, '#'
 * context), then, after two blank lines (gnuplot's `index 1`), the best and
 * final schedules per inner step; a progress bar on stderr; --json FILE
 * (atomic) with the whole log. A failed inner run (divergence) ends the run
 * cleanly: it is logged with its message, never printed as a number.
 *
 * --resample batches,val,init (any of them; none, the default) gives each
 * outer step s its own batch order, validation split and/or w_0 (seeds from
 * harness/problem.h's problem_outer_seed; outer step 0 is the run without
 * it); --hvp-clamp C (an engine option) clamps the Hessian-vector products.
 * Both are in the table's '#' header and the --json header ("resample",
 * "hvp_clamp").
 *
 * --resume LOG continues the run that wrote LOG (after an interrupt, say)
 * from its last finished outer step: the same flags must be given, and the
 * outcome is bit for bit the uninterrupted run's (cli/hpo_resume.h).
 *
 * Exit status: 0 done (also when stopped by --patience or a failed inner run
 * after at least one evaluated schedule); 1 the first inner run failed or
 * the engine refused the run (memory); 2 a usage error, refused before any
 * work, or a --resume log that does not match the command; 3 data not
 * loaded or output not written; 130/143 interrupted (SIGINT/SIGTERM), the
 * log of the finished outer steps written.
 */
#ifndef HG_CLI_HPO_H
#define HG_CLI_HPO_H

#include <stdio.h>

#include "../harness/outer.h"
#include "cli_hypergrad.h"

typedef struct HpoOptions {
    HypergradOptions prob;  /* the inner problem: hypergrad's flags */
    OuterConfig outer;
    int outer_steps;        /* updates of theta; 0: evaluate the initial schedule only */
    int patience;           /* stop after this many outer steps without a better
                             * validation accuracy; 0: off */
    unsigned resample;      /* --resample: ProblemResample bits drawn anew at each
                             * outer step (problem.h); 0: none */
    int test;               /* evaluate on the data set's test split too */
    const char *json;       /* NULL: none; --resume's log by default with it */
    const char *resume;     /* --resume LOG: NULL unless given */
    int help;
} HpoOptions;

/* Parses argv[1..argc) (argv[0] is the command name) and checks every value
 * and combination that can be checked without data: 0, or -1 with a message
 * naming the flag. */
int hpo_parse(int argc, char **argv, HpoOptions *o, HgErr *err);
void hpo_usage(FILE *f);
/* Parses, runs, reports; returns the exit status. */
int hpo_main(int argc, char **argv);

#endif
