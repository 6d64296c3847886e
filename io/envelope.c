/* envelope.c — the shared envelope of envelope.h. */
#include "envelope.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A word that a POSIX shell reads back unchanged needs no quotes. */
static int shell_safe(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                     "-_./:=,+@%", *s))
            return 0;
    return 1;
}

void envelope_command(char *buf, size_t n, int argc, char *const *argv)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && len + 1 < n; i++) {
        const char *a = argv[i];
        if (i) buf[len++] = ' ';
        if (shell_safe(a)) {
            len += (size_t)snprintf(buf + len, n - len, "%s", a);
        } else { /* 'it'\''s' */
            buf[len++] = '\'';
            for (; *a && len + 5 < n; a++) {
                if (*a == '\'') { memcpy(buf + len, "'\\''", 4); len += 4; }
                else buf[len++] = *a;
            }
            if (len + 1 < n) buf[len++] = '\'';
        }
        if (len >= n) len = n - 1;
        buf[len] = '\0';
    }
}

void machine_json(JsonWriter *j, const Machine *m)
{
    json_object_begin(j, 0);
    json_field_string(j, "host", m->host);
    json_field_string(j, "cpu", m->cpu);
    json_field_int(j, "packages", m->packages);
    json_field_int(j, "cores", m->cores);
    json_field_int(j, "pus", m->pus);
    json_field_int(j, "numa_nodes", m->numa_nodes);
    json_field_double(j, "memory_bytes", m->memory_bytes);
    json_field_double(j, "numa_memory_bytes", m->numa_memory_bytes);
    json_key(j, "caches");
    json_array_begin(j, 1);
    for (int i = 0; i < 3; i++) {
        if (!m->cache[i].size) continue;
        json_object_begin(j, 1);
        json_field_int(j, "level", m->cache[i].level);
        json_field_int(j, "bytes", m->cache[i].size);
        json_field_int(j, "count", m->cache[i].count);
        json_object_end(j);
    }
    json_array_end(j);
    json_key(j, "gpus");
    json_array_begin(j, 1);
    for (int i = 0; i < m->ngpus; i++) json_put_string(j, m->gpus[i]);
    json_array_end(j);
    json_key(j, "os_devices");
    json_array_begin(j, 1);
    for (int i = 0; i < m->nosdevs; i++) json_put_string(j, m->osdevs[i]);
    json_array_end(j);
    json_field_string(j, "source", m->source);
    if (m->blas_core[0]) {
        json_field_string(j, "blas_core", m->blas_core);
        json_field_string(j, "blas_core_source", m->blas_core_source);
    }
    json_object_end(j);
}

void envelope_begin(JsonWriter *j, const Envelope *e)
{
    char cmd[8192], date[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    envelope_command(cmd, sizeof cmd, e->argc, e->argv);

    json_object_begin(j, 0);
    json_field_string(j, "schema", ENVELOPE_SCHEMA);
    json_field_string(j, "program", e->program);
    const char *commit = e->commit ? e->commit : getenv("HGBENCH_COMMIT");
    json_field_string(j, "commit", commit && *commit ? commit : "unknown");
    json_field_string(j, "command", cmd);
    json_field_string(j, "date", date);
    json_field_int(j, "threads", e->threads);
    json_field_int(j, "ranks", e->ranks > 0 ? e->ranks : 1);
    if (e->precision) json_field_string(j, "precision", e->precision);
    else json_field_null(j, "precision");
    json_field_string(j, "device", e->device ? e->device : "cpu");
    Machine probed;
    const Machine *m = e->machine;
    if (!m) { machine_probe(&probed); m = &probed; }
    json_key(j, "machine");
    machine_json(j, m);
}
