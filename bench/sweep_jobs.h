/* sweep_jobs.h — hgbench-sweep's job list: read and check every line before
 * anything runs.
 *
 * Format (one job per line; blank lines and lines starting with '#' are
 * skipped):
 *
 *   hgbench hypergrad --engine bptt --precision 64 --steps 100 --json out/a.json
 *   hgbench hpo --engine forward --learn lr:10 --outer-steps 5 --json out/b.json
 *
 * A line is the hgbench command line a user could run alone: the word
 * "hgbench", the command hypergrad or hpo, then its flags, words separated
 * by spaces or tabs (no shell: quotes, backslashes, '$' and '`' are refused
 * rather than misread). Its result file is the value of its one --json
 * (--json FILE or --json=FILE; not "-"), unique in the list. The flags
 * themselves are hgbench's to check when the job runs: a bad one fails that
 * job, with hgbench's message, and not the list.
 */
#ifndef HG_SWEEP_JOBS_H
#define HG_SWEEP_JOBS_H

#include "../common/check.h"

#define SWEEP_MAX_LINE 16384
#define SWEEP_MAX_JOBS 1000000

typedef struct SweepJob {
    int line;        /* 1-based line in the list */
    char *text;      /* the line as written (trimmed) */
    int argc;
    char **argv;     /* argv[0] "hgbench", argv[1] the command, ..., NULL */
    int json_arg;    /* argv index of the result file's value */
    int json_eq;     /* 1: given as --json=FILE (argv[json_arg] is the whole word) */
    const char *result; /* the result file (points into argv) */
} SweepJob;

typedef struct SweepList {
    const char *path;
    int n;
    SweepJob *jobs;
} SweepList;

/* Reads and checks the list: -1 with "PATH:LINE: what is wrong" in err
 * (the first bad line), or "PATH: no jobs" for a list without any. */
int sweep_list_read(const char *path, SweepList *list, HgErr *err);
/* The same on text already in memory (path only names it in messages). */
int sweep_list_parse(const char *path, const char *text, SweepList *list, HgErr *err);
void sweep_list_free(SweepList *list);

/* Every job's result folder exists (made if missing, like mkdir -p) and
 * takes a new file: -1 naming the first line whose folder does not. */
int sweep_list_check_folders(const SweepList *list, HgErr *err);

/* argv of job with its result file replaced by file (for the temporary the
 * job writes); free with sweep_argv_free. argv[0] is prog. */
char **sweep_job_argv(const SweepJob *job, const char *prog, const char *file);
void sweep_argv_free(const SweepJob *job, char **argv);

#endif
