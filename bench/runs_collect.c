/* runs_collect.c — hgbench-runs: the results of a section made of many
 * single `hgbench hypergrad --json` runs (atlas, conditioning) as one result
 * file with the shared envelope (io/envelope.h), for hgbench-report.
 *
 *   hgbench-runs --program bench-atlas --out atlas.json --dir DIR
 *                --runs "T20-f64-bptt T20-f64-reversible ..." [--commit ID]
 *                [--threads N] [--ranks N] [--param KEY=VALUE]... [--drop KEYS]
 *                -- COMMAND WORDS...
 *
 * One row per name of --runs, in that order: {"name", "status": "ok", "run":
 * <DIR/NAME.json as it is>} when the run left its JSON, else {"name",
 * "status": "failed" or "skipped", "reason"}, the reason being the last line
 * of DIR/NAME.json.err (the run's stderr; a line "skipped: why" written by
 * the section for a run it left out makes the row skipped). --param values go
 * to "params" (numbers as numbers); the words after `--` are the envelope's
 * command, the section's own command line (what reproduces it). --drop
 * "log,outer_state,final.schedule": those members of every run left out, a
 * path per key: a.b is member b of member a, a[].b member b of each element
 * of array a (a section that needs only an hpo run's summaries); the params
 * say what was dropped. --slim is --drop SLIM_KEYS, for `hgbench hpo --json`
 * logs: each log entry's theta and hypergrad, the optimiser's outer_state
 * (what --resume reads) and the best and final entries' schedules (their
 * theta per inner step, which theta and the run's settings give) are left
 * out, best's and final's theta kept; a per-weight log (N = 7,850 values a
 * step) shrinks ~50x, and the run's own file in DIR keeps everything.
 * Exit 0, 2 on bad flags, 3 when the output cannot be written. Leaves out:
 * running anything and judging the runs (the section's renderer does).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/flags.h"
#include "../io/atomic_file.h"
#include "../io/envelope.h"
#include "report_json.h"

#define MAX_PARAMS 32

typedef struct Collect {
    const char *program, *out, *dir, *runs, *commit, *drop;
    int threads, ranks, slim;
    const char *params[MAX_PARAMS];
    int nparams;
} Collect;

static int parse_param(const char *flag, const char *value, void *target, HgErr *err)
{
    Collect *c = target;
    const char *eq = strchr(value, '=');
    if (!eq || eq == value) return hg_fail(err, "%s: '%s' is not KEY=VALUE", flag, value);
    if (c->nparams == MAX_PARAMS) return hg_fail(err, "%s: more than %d", flag, MAX_PARAMS);
    c->params[c->nparams++] = value;
    return 0;
}

/* A jansson value through the writer, as it is (the run's own record). */
static void put_value(JsonWriter *j, json_t *v)
{
    const char *key;
    json_t *x;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        json_object_begin(j, 0);
        json_object_foreach(v, key, x) {
            json_key(j, key);
            put_value(j, x);
        }
        json_object_end(j);
        break;
    case JSON_ARRAY:
        json_array_begin(j, 1);
        json_array_foreach(v, i, x) put_value(j, x);
        json_array_end(j);
        break;
    case JSON_STRING: json_put_string(j, json_string_value(v)); break;
    case JSON_INTEGER: json_int(j, (long long)json_integer_value(v)); break;
    case JSON_REAL: json_double(j, json_real_value(v)); break;
    case JSON_TRUE: json_bool(j, 1); break;
    case JSON_FALSE: json_bool(j, 0); break;
    default: json_put_null(j); break;
    }
}

/* The reason a run left no JSON: the last line of its .err, without the
 * program's prefix; *skipped when the section wrote "skipped: why". */
static void reason_of(const char *errpath, char *buf, size_t n, int *skipped)
{
    *skipped = 0;
    FILE *f = fopen(errpath, "r");
    if (!f) {
        snprintf(buf, n, "no result and no log (%.1000s: %s)", errpath, strerror(errno));
        return;
    }
    char line[2048], last[2048] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && !strstr(line, "memory estimate")) memcpy(last, line, sizeof last);
    }
    fclose(f);
    const char *s = last;
    if (!strncmp(s, "hgbench hypergrad: ", 19)) s += 19;
    else if (!strncmp(s, "hgbench hpo: ", 13)) s += 13;
    if (!strncmp(s, "skipped: ", 9)) { s += 9; *skipped = 1; }
    snprintf(buf, n, "%s", s[0] ? s : "no result, and its log is empty");
}

/* --slim: an hpo log without its per-step vectors and resume state */
#define SLIM_KEYS "outer_state,log[].theta,log[].hypergrad,best.schedule,final.schedule"

/* Deletes the member at path (a, a.b, a[].b, ...) from v where it exists; a
 * path through a value of another type deletes nothing. */
static void drop_path(json_t *v, char *path)
{
    char *rest = strchr(path, '.');
    if (rest)
        *rest++ = '\0';
    const size_t n = strlen(path);
    const int each = n > 2 && !strcmp(path + n - 2, "[]");
    if (each)
        path[n - 2] = '\0';
    if (!json_is_object(v))
        return;
    if (!rest && !each) {
        json_object_del(v, path);
        return;
    }
    json_t *m = json_object_get(v, path), *e;
    if (!rest) /* "a[]": the array itself */
        json_object_del(v, path);
    else if (!each)
        drop_path(m, rest);
    else if (json_is_array(m)) {
        size_t i;
        json_array_foreach(m, i, e) {
            char *copy = strdup(rest);
            HG_CHECK(copy, "strdup");
            drop_path(e, copy);
            free(copy);
        }
    }
}

static void row(JsonWriter *j, const Collect *c, const char *name)
{
    char path[4096], errpath[4200];
    snprintf(path, sizeof path, "%s/%s.json", c->dir, name);
    snprintf(errpath, sizeof errpath, "%s.err", path);
    json_object_begin(j, 0);
    json_field_string(j, "name", name);
    FILE *probe = fopen(path, "r");
    if (probe) {
        fclose(probe);
        json_error_t e;
        json_t *run = rj_parse_file(path, 0, &e); /* seeds past 2^63 as strings */
        if (run && c->drop) {
            char *keys = strdup(c->drop), *save = NULL;
            HG_CHECK(keys, "strdup");
            for (char *k = strtok_r(keys, " ,", &save); k; k = strtok_r(NULL, " ,", &save))
                drop_path(run, k);
            free(keys);
        }
        if (run) {
            json_field_string(j, "status", "ok");
            json_key(j, "run");
            put_value(j, run);
            json_decref(run);
        } else {
            char why[600];
            snprintf(why, sizeof why, "%.300s: line %d: not valid JSON: %.200s", path, e.line, e.text);
            json_field_string(j, "status", "failed");
            json_field_string(j, "reason", why);
        }
    } else {
        char why[2048];
        int skipped;
        reason_of(errpath, why, sizeof why, &skipped);
        json_field_string(j, "status", skipped ? "skipped" : "failed");
        json_field_string(j, "reason", why);
    }
    json_object_end(j);
}

static void param(JsonWriter *j, const char *kv)
{
    const char *eq = strchr(kv, '=');
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    char *end;
    double x = strtod(eq + 1, &end);
    if (eq[1] && !*end && isfinite(x)) json_field_double(j, key, x);
    else json_field_string(j, key, eq + 1);
}

int main(int argc, char **argv)
{
    Collect c = {.commit = "unknown", .threads = 1, .ranks = 1};
    int help = 0, dash = argc;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--")) { dash = i; break; }
    Flag table[] = {
        {"--program", "NAME", NULL, "the section's program, for the envelope", FLAG_STRING,
         .target = &c.program},
        {"--out", "FILE", NULL, "the result file (written atomically)", FLAG_STRING,
         .target = &c.out},
        {"--dir", "DIR", NULL, "the folder of the runs' JSON and .err files", FLAG_STRING,
         .target = &c.dir},
        {"--runs", "NAMES", NULL, "the runs, space- or comma-separated, in the rows' order; empty: "
         "no rows (a part of a section that was skipped, its params saying why)", FLAG_STRING,
         .target = &c.runs, .empty_ok = 1},
        {"--commit", "ID", "unknown", "the commit measured", FLAG_STRING, .target = &c.commit,
         .empty_ok = 1},
        {"--threads", "N", "1", "threads each run used", FLAG_INT, .target = &c.threads, .lo = 1,
         .hi = 4096},
        {"--ranks", "N", "1", "MPI ranks the runs were spread over (hgbench-sweep's)", FLAG_INT,
         .target = &c.ranks, .lo = 1, .hi = 1 << 24},
        {"--param", "KEY=VALUE", "none", "a setting of the section (repeatable)", FLAG_FUNC,
         .target = &c, .parse = parse_param},
        {"--drop", "KEYS", "none", "members left out of every run, comma-separated paths: a "
         "top-level member a, a member's member a.b, a[].b of each element of array a (hpo's "
         "log, outer_state, final.schedule, log[].theta, say)", FLAG_STRING,
         .target = &c.drop},
        {"--slim", NULL, NULL, "hpo logs: --drop " SLIM_KEYS " (each log entry's theta and "
         "hypergrad, outer_state, best's and final's schedule)", FLAG_SWITCH, .target = &c.slim},
        {"--help", NULL, NULL, "this text", FLAG_SWITCH, .target = &help},
        {NULL},
    };
    HgErr err;
    if (flags_parse(table, dash, argv, &err)) {
        fprintf(stderr, "hgbench-runs: %s\n", err.msg);
        return 2;
    }
    if (help) {
        printf("usage: hgbench-runs [flags] -- COMMAND...\n\nCollects hgbench hypergrad --json "
               "runs into one result file with the bench's envelope.\n\n");
        flags_usage(stdout, table);
        return 0;
    }
    const char *missing = !c.program ? "--program" : !c.out ? "--out" : !c.dir ? "--dir"
                        : !c.runs ? "--runs" : dash + 1 >= argc ? "-- COMMAND" : NULL;
    if (missing) {
        fprintf(stderr, "hgbench-runs: %s is required\n", missing);
        return 2;
    }
    char drop[4096];
    if (c.slim) { /* --slim is --drop SLIM_KEYS, with any keys of --drop */
        const int n = snprintf(drop, sizeof drop, "%s%s%s", c.drop ? c.drop : "", c.drop ? "," : "",
                               SLIM_KEYS);
        if (n < 0 || (size_t)n >= sizeof drop) {
            fprintf(stderr, "hgbench-runs: --drop: longer than %zu characters\n", sizeof drop - 100);
            return 2;
        }
        c.drop = drop;
    }
    AtomicFile a;
    if (atomic_open(&a, c.out, &err)) {
        fprintf(stderr, "hgbench-runs: %s\n", err.msg);
        return 3;
    }
    JsonWriter j;
    json_init(&j, a.f);
    const Envelope env = {.program = c.program, .commit = c.commit, .argc = argc - dash - 1,
                          .argv = argv + dash + 1, .threads = c.threads,
                          .ranks = c.ranks};
    envelope_begin(&j, &env);
    json_key(&j, "params");
    json_object_begin(&j, 0);
    for (int i = 0; i < c.nparams; i++) param(&j, c.params[i]);
    if (c.drop) json_field_string(&j, "dropped", c.drop);
    json_object_end(&j);
    json_key(&j, "rows");
    json_array_begin(&j, 0);
    char *names = strdup(c.runs), *save = NULL;
    HG_CHECK(names, "strdup");
    for (char *t = strtok_r(names, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) row(&j, &c, t);
    free(names);
    json_array_end(&j);
    json_object_end(&j);
    fputc('\n', a.f);
    if (atomic_commit(&a, &err)) {
        fprintf(stderr, "hgbench-runs: %s\n", err.msg);
        return 3;
    }
    return 0;
}
