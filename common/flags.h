/* flags.h — the one flag parser of every hgbench binary: a table of flag
 * specs (name, metavariable, the default shown in help, help text, kind,
 * target), one parser with errors that name the flag, one usage printer.
 *
 *   Options o = my_defaults();            defaults are the caller's
 *   FlagTable t = my_flags(&o);           the table points into o
 *   if (flags_parse(t.f, argc, argv, &err)) { print err.msg; exit 2; }
 *   ...
 *   flags_usage(stdout, t.f);
 *
 * A table entry reads
 *   {"--steps", "T", "100", "inner SGD steps", FLAG_INT, .target = &o->steps,
 *    .lo = 1, .hi = 10000000},
 * (the target designated, so that -Wextra accepts the fields left zero).
 * Choice lists are static arrays: a table may outlive the function that
 * built it.
 *
 * Syntax: --flag V or --flag=V; a switch takes no value (--flag=V is an
 * error); -h is --help when the table has --help; a value may not start
 * with "--" unless given as --flag=V (so "--json --steps 5" says --json
 * needs a value); the last of a repeated flag wins, except FLAG_FUNC
 * targets that collect (their function decides). Parsing only writes the
 * targets of the flags given: absent flags leave their defaults untouched.
 *
 * Error messages (HgErr; the caller exits with status 2, a usage error):
 *   unknown flag '--nope' (PROG --help lists the flags), PROG from argv[0]
 *   unexpected argument 'x' (flags start with --; PROG --help lists them)
 *   flag --steps needs a value (--steps T)  flag --kahan takes no value
 *   --steps 'abc': not an integer           --lr '0.1.2': not a number
 *   --steps 0: out of range, must be an integer in [1, 10000000]
 *   --lr -1: out of range, must be >= 0     --lr nan: must be finite
 *   --seed '-1': not a seed (an integer in [0, 18446744073709551615])
 *   --greedy-target 'best': must be val or train
 *   --steps '1,,2': ...; --steps: more than 16 values
 * Leaves out: short flags other than -h, positional arguments, abbreviations.
 */
#ifndef HG_FLAGS_H
#define HG_FLAGS_H

#include <stdint.h>
#include <stdio.h>

#include "check.h"

typedef enum FlagKind {
    FLAG_INT,    /* int *target, an integer in [lo, hi] */
    FLAG_REAL,   /* double *target, finite, in [lo, hi] (hi may be INFINITY);
                  * open_lo: > lo */
    FLAG_SEED,   /* uint64_t *target, a decimal integer in [0, UINT64_MAX] */
    FLAG_STRING, /* const char **target, pointing into argv; empty refused
                  * unless empty_ok */
    FLAG_CHOICE, /* int *target = the index in choices (NULL-terminated);
                  * chosen, if set, = the choice's name (then target may be NULL) */
    FLAG_INTS,   /* int target[max], *count values: a comma list of integers
                  * in [lo, hi], at least one, at most max */
    FLAG_SWITCH, /* int *target = 1; takes no value */
    FLAG_FUNC,   /* parse(flag, value, target, err): anything else */
} FlagKind;

typedef int (*FlagParseFn)(const char *flag, const char *value, void *target, HgErr *err);

typedef struct Flag {
    const char *name;  /* "--steps"; NULL ends a table */
    const char *meta;  /* "T" in "--steps T"; NULL for a switch */
    const char *def;   /* the default as help shows it, "(default X)"; NULL: none */
    const char *help;  /* one sentence or a few; wrapped by flags_usage */
    FlagKind kind;
    void *target;
    double lo, hi;     /* FLAG_INT, FLAG_REAL, FLAG_INTS */
    int open_lo;       /* FLAG_REAL: lo itself is out of range */
    int empty_ok;      /* FLAG_STRING: "" is a value */
    const char *const *choices; /* FLAG_CHOICE */
    const char **chosen;        /* FLAG_CHOICE, optional */
    int *count, max;   /* FLAG_INTS */
    FlagParseFn parse; /* FLAG_FUNC */
    int *given;        /* optional: set to 1 when the flag is on the command line */
} Flag;

/* A table by value, for functions that build one over an options struct;
 * unused entries are zero (name NULL ends the table). */
#define FLAGS_MAX 48
typedef struct FlagTable {
    Flag f[FLAGS_MAX + 1];
} FlagTable;

/* Parses argv[1..argc) against table (argv[0] is the program's name): 0, or
 * -1 with a message naming the flag. Targets of absent flags are untouched;
 * on an error, flags before the bad one may have been written, the bad one's
 * target is not (for the kinds but FLAG_FUNC, whose function decides). */
int flags_parse(const Flag *table, int argc, char **argv, HgErr *err);

/* Like flags_parse, but the flags that are not the table's go to rest, in
 * order, after rest[0] = argv[0] (*nrest entries, then NULL; rest has room
 * for argc + 1): such a --flag, and the next word too unless the flag was
 * --flag=V or the word starts with "--". For commands that hand flags on
 * (hpo to hypergrad, hgbench-micro to Google Benchmark). */
int flags_parse_known(const Flag *table, int argc, char **argv, int *nrest, char **rest,
                      HgErr *err);

/* One value by one spec, as flags_parse does it (for commands that route
 * flags themselves). */
int flags_set(const Flag *spec, const char *value, HgErr *err);

/* The spec named by the first len bytes of name, or NULL. */
const Flag *flags_find(const Flag *table, const char *name, size_t len);

/* "  --name META" padded to column FLAGS_HELP_COL, then the help and
 * "(default X)" wrapped at 80 columns, one flag after another; flags
 * whose names are in omit (NULL-terminated; omit may be NULL) are left out. */
#define FLAGS_HELP_COL 28
void flags_usage(FILE *f, const Flag *table);
void flags_usage_omit(FILE *f, const Flag *table, const char *const *omit);

/* Writes text word-wrapped to width columns, continuation lines indented to
 * column col (the cursor is at col when called); ends with a newline. */
void flags_wrap(FILE *f, const char *text, int col, int width);

/* The parsers behind the kinds, for FLAG_FUNC functions and for values
 * inside other values ("--init normal:SIGMA"), with the same messages. */
int flags_parse_int(const char *flag, const char *s, long lo, long hi, int *out, HgErr *err);
int flags_parse_real(const char *flag, const char *s, double lo, double hi, int open_lo,
                     double *out, HgErr *err);
int flags_parse_seed(const char *flag, const char *s, uint64_t *out, HgErr *err);

#endif
