/* manifest.c — hgbench-manifest: a result file with the shared envelope
 * (io/envelope.h) for a section that a script drives rather than one
 * program (scripts/fig3.sh: one `hgbench hpo` run per method and data set).
 * The script states its settings and outcomes as typed members; the command
 * after "--" (the script's own command line) is the envelope's command.
 *
 *   hgbench-manifest --out FILE --program NAME [--commit C] [--threads N] [--ranks N]
 *       [--precision P] [--str KEY=VALUE]... [--int KEY=N]... [--num KEY=X]...
 *       -- COMMAND...
 *
 * The file is { envelope..., KEY: value, ... } in the order given, written
 * atomically. Exit: 0; 2 bad flags (a key twice, a value that is not a
 * number, no command); 3 the file not written. Leaves out: nested members
 * and rows (a program with rows writes its own JSON).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/flags.h"
#include "../io/atomic_file.h"
#include "../io/envelope.h"

#define PROG "hgbench-manifest"
#define MAX_MEMBERS 64

typedef enum Kind { M_STR, M_INT, M_NUM } Kind;

typedef struct Member {
    Kind kind;
    char key[64];
    const char *value; /* into argv */
    long i;
    double x;
} Member;

typedef struct Members {
    Member m[MAX_MEMBERS];
    int n;
} Members;

/* The envelope's own members, which a manifest may not repeat. */
static const char *const RESERVED[] = {"schema", "program", "commit", "command", "date",
                                       "threads", "ranks", "precision", "device", "machine",
                                       NULL};

static int add(const char *flag, const char *v, Members *ms, Kind kind, HgErr *err)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || (size_t)(eq - v) >= sizeof ms->m[0].key)
        return hg_fail(err, "%s '%s': expected KEY=VALUE with a key of 1..%zu characters", flag, v,
                       sizeof ms->m[0].key - 1);
    if (ms->n == MAX_MEMBERS) return hg_fail(err, "%s: more than %d members", flag, MAX_MEMBERS);
    Member *m = &ms->m[ms->n];
    snprintf(m->key, sizeof m->key, "%.*s", (int)(eq - v), v);
    for (int i = 0; RESERVED[i]; i++)
        if (!strcmp(m->key, RESERVED[i]))
            return hg_fail(err, "%s '%s': '%s' is the envelope's (use its own flag)", flag, v,
                           m->key);
    for (int i = 0; i < ms->n; i++)
        if (!strcmp(ms->m[i].key, m->key))
            return hg_fail(err, "%s '%s': key '%s' given twice", flag, v, m->key);
    m->kind = kind;
    m->value = eq + 1;
    char *end;
    errno = 0;
    if (kind == M_INT) {
        m->i = strtol(m->value, &end, 10);
        if (!*m->value || *end || errno)
            return hg_fail(err, "%s '%s': '%s' is not an integer", flag, v, m->value);
    } else if (kind == M_NUM) {
        m->x = strtod(m->value, &end);
        if (!*m->value || *end || errno || !isfinite(m->x))
            return hg_fail(err, "%s '%s': '%s' is not a finite number", flag, v, m->value);
    }
    ms->n++;
    return 0;
}

static int add_str(const char *flag, const char *v, void *t, HgErr *err)
{
    return add(flag, v, t, M_STR, err);
}
static int add_int(const char *flag, const char *v, void *t, HgErr *err)
{
    return add(flag, v, t, M_INT, err);
}
static int add_num(const char *flag, const char *v, void *t, HgErr *err)
{
    return add(flag, v, t, M_NUM, err);
}

int main(int argc, char **argv)
{
    /* the command is everything after "--" */
    int split = 1;
    while (split < argc && strcmp(argv[split], "--")) split++;
    static Members ms;
    const char *out = NULL, *program = NULL, *commit = NULL, *precision = NULL;
    int threads = 1, ranks = 1, help = 0;
    Flag table[] = {
        {"--out", "FILE", NULL, "the file to write (atomically)", FLAG_STRING, .target = &out},
        {"--program", "NAME", NULL, "what made the results (scripts/fig3.sh)", FLAG_STRING,
         .target = &program},
        {"--commit", "C", "unknown", "the commit measured", FLAG_STRING, .target = &commit,
         .empty_ok = 1},
        {"--threads", "N", "1", "threads per process of the runs", FLAG_INT, .target = &threads,
         .lo = 1, .hi = 4096},
        {"--ranks", "N", "1", "MPI ranks the runs were spread over (hgbench-sweep's)",
         FLAG_INT, .target = &ranks, .lo = 1, .hi = 1 << 24},
        {"--precision", "P", "none", "the runs' precision (float32, float64)", FLAG_STRING,
         .target = &precision},
        {"--str", "KEY=VALUE", NULL, "a string member (repeatable)", FLAG_FUNC, .target = &ms,
         .parse = add_str},
        {"--int", "KEY=N", NULL, "an integer member (repeatable)", FLAG_FUNC, .target = &ms,
         .parse = add_int},
        {"--num", "KEY=X", NULL, "a number member (repeatable)", FLAG_FUNC, .target = &ms,
         .parse = add_num},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &help},
        {NULL},
    };
    HgErr err = {{0}};
    if (flags_parse(table, split, argv, &err)) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    if (help) {
        printf("usage: " PROG " --out FILE --program NAME [flags] -- COMMAND...\n\n"
               "A result file with the shared envelope for a script-driven section.\n\n");
        flags_usage(stdout, table);
        return 0;
    }
    if (!out || !program) {
        fprintf(stderr, PROG ": --out and --program are required\n");
        return 2;
    }
    if (split + 1 >= argc) {
        fprintf(stderr, PROG ": no command after '--' (the command that reproduces the results)\n");
        return 2;
    }
    AtomicFile af;
    if (atomic_open(&af, out, &err)) {
        fprintf(stderr, PROG ": --out %s\n", err.msg);
        return 3;
    }
    JsonWriter j;
    json_init(&j, af.f);
    const Envelope env = {.program = program, .commit = commit, .argc = argc - split - 1,
                          .argv = argv + split + 1, .threads = threads, .ranks = ranks,
                          .precision = precision};
    envelope_begin(&j, &env);
    for (int i = 0; i < ms.n; i++) {
        const Member *m = &ms.m[i];
        if (m->kind == M_STR) json_field_string(&j, m->key, m->value);
        else if (m->kind == M_INT) json_field_int(&j, m->key, m->i);
        else json_field_double(&j, m->key, m->x);
    }
    json_object_end(&j);
    fputc('\n', af.f);
    if (atomic_commit(&af, &err)) {
        fprintf(stderr, PROG ": --out %s\n", err.msg);
        return 3;
    }
    return 0;
}
