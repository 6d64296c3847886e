/* envelope.h — the members every bench result file opens with, written by
 * this one writer: which program made the file, at which commit, by which
 * command, when, on which machine, with how many threads (and MPI ranks) and
 * in which precision. A result file is then
 *
 *   { "schema": "hgbench-results/1", "program": ..., "commit": ...,
 *     "command": ..., "date": ..., "threads": ..., "ranks": ...,
 *     "precision": ..., "device": ..., "machine": {...},
 *     <the program's own members>, "rows": [ {...}, ... ] }
 *
 * and hgbench-report (bench/report*.c) reads the same members back
 * (report_envelope). Leaves out: the rows, which are each program's own.
 */
#ifndef HG_ENVELOPE_H
#define HG_ENVELOPE_H

#include "json_writer.h"
#include "machine.h"

#define ENVELOPE_SCHEMA "hgbench-results/1"

typedef struct Envelope {
    const char *program;   /* "hgbench-engines" */
    const char *commit;    /* the --commit the bench passed; NULL: $HGBENCH_COMMIT
                            * (bench.sh exports it for every program it runs),
                            * else "unknown" */
    int argc;              /* the command as run (argv[0] included) */
    char *const *argv;
    int threads;           /* OpenMP threads per process */
    int ranks;             /* MPI ranks the run was spread over (0 means 1) */
    const char *precision; /* HG_REAL_NAME of the binary; NULL: none (a program
                            * with no real type, such as a shell-driven one) */
    const char *device;    /* "cpu", or the device record; NULL: "cpu" */
    const Machine *machine;/* NULL: probed here (machine_probe) */
} Envelope;

/* Opens the file's top-level object and writes the envelope's members (the
 * date is the UTC time of this call). The caller writes its own members and
 * closes with json_object_end. */
void envelope_begin(JsonWriter *j, const Envelope *e);

/* The command as one shell-quoted line ("prog --flag 'a b'"), into buf. */
void envelope_command(char *buf, size_t n, int argc, char *const *argv);

/* The machine record as a JSON object (the members of machine.h). */
void machine_json(JsonWriter *j, const Machine *m);

#endif
