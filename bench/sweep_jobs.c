/* sweep_jobs.c — the job list of hgbench-sweep (format in sweep_jobs.h). */
#include "sweep_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const COMMANDS[] = {"hypergrad", "hpo", NULL};

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    HG_CHECK(d, "strdup of %zu bytes", strlen(s));
    return d;
}

/* One line's words into job (text already set): -1 with the reason. */
static int parse_words(SweepJob *job, HgErr *err)
{
    const char *bad = strpbrk(job->text, "'\"\\$`");
    if (bad)
        return hg_fail(err, "'%c' in the line: the list is not a shell, write each word as "
                       "is (no quotes, escapes or variables)", *bad);
    int cap = 8;
    job->argv = malloc(sizeof(char *) * (size_t)cap);
    HG_CHECK(job->argv, "job words");
    char *copy = xstrdup(job->text), *save = NULL;
    job->argc = 0;
    for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (job->argc + 2 > cap) {
            cap *= 2;
            job->argv = realloc(job->argv, sizeof(char *) * (size_t)cap);
            HG_CHECK(job->argv, "job words");
        }
        job->argv[job->argc++] = xstrdup(w);
    }
    job->argv[job->argc] = NULL;
    free(copy);
    if (strcmp(job->argv[0], "hgbench"))
        return hg_fail(err, "'%s': a job starts with the word hgbench (then hypergrad or hpo)",
                       job->argv[0]);
    int known = 0;
    for (int i = 0; job->argc > 1 && COMMANDS[i]; i++)
        known |= !strcmp(job->argv[1], COMMANDS[i]);
    if (!known)
        return hg_fail(err, "'hgbench %s': a job is hgbench hypergrad or hgbench hpo",
                       job->argc > 1 ? job->argv[1] : "");
    job->json_arg = 0;
    for (int i = 2; i < job->argc; i++) {
        const int eq = !strncmp(job->argv[i], "--json=", 7);
        if (!eq && strcmp(job->argv[i], "--json"))
            continue;
        if (job->json_arg)
            return hg_fail(err, "--json given twice: a job has one result file");
        if (!eq && (i + 1 == job->argc || !strncmp(job->argv[i + 1], "--", 2)))
            return hg_fail(err, "--json needs a value (the job's result file)");
        job->json_arg = eq ? i : i + 1;
        job->json_eq = eq;
        job->result = eq ? job->argv[i] + 7 : job->argv[i + 1];
        i += !eq;
    }
    if (!job->json_arg)
        return hg_fail(err, "no --json FILE: a job's result is its --json file");
    if (!job->result[0] || !strcmp(job->result, "-"))
        return hg_fail(err, "--json '%s': a job's result must be a file", job->result);
    if (job->result[strlen(job->result) - 1] == '/')
        return hg_fail(err, "--json '%s': a folder, not a file", job->result);
    return 0;
}

static void job_free(SweepJob *job)
{
    for (int i = 0; job->argv && i < job->argc; i++)
        free(job->argv[i]);
    free(job->argv);
    free(job->text);
    memset(job, 0, sizeof *job);
}

int sweep_list_parse(const char *path, const char *text, SweepList *list, HgErr *err)
{
    memset(list, 0, sizeof *list);
    list->path = path;
    int cap = 16;
    list->jobs = calloc((size_t)cap, sizeof *list->jobs);
    HG_CHECK(list->jobs, "job list");
    int line = 0;
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        const size_t len = end ? (size_t)(end - p) : strlen(p);
        line++;
        const char *q = p;
        p += len + (end != NULL);
        if (len >= SWEEP_MAX_LINE) {
            sweep_list_free(list);
            return hg_fail(err, "%s:%d: longer than %d characters", path, line,
                           SWEEP_MAX_LINE - 1);
        }
        char buf[SWEEP_MAX_LINE];
        memcpy(buf, q, len);
        buf[len] = '\0';
        if (memchr(q, '\0', len)) {
            sweep_list_free(list);
            return hg_fail(err, "%s:%d: a NUL byte: not a text file", path, line);
        }
        /* trim */
        char *s = buf, *e = buf + len;
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            *--e = '\0';
        if (!*s || *s == '#')
            continue;
        if (list->n == SWEEP_MAX_JOBS) {
            sweep_list_free(list);
            return hg_fail(err, "%s:%d: more than %d jobs", path, line, SWEEP_MAX_JOBS);
        }
        if (list->n == cap) {
            cap *= 2;
            list->jobs = realloc(list->jobs, sizeof *list->jobs * (size_t)cap);
            HG_CHECK(list->jobs, "job list");
        }
        SweepJob *job = &list->jobs[list->n];
        memset(job, 0, sizeof *job);
        job->line = line;
        job->text = xstrdup(s);
        HgErr why = {{0}};
        if (parse_words(job, &why)) {
            job_free(job);
            sweep_list_free(list);
            return hg_fail(err, "%s:%d: %s", path, line, why.msg);
        }
        list->n++;
        for (int i = 0; i < list->n - 1; i++)
            if (!strcmp(list->jobs[i].result, job->result)) {
                hg_fail(err, "%s:%d: result file %s is also line %d's: each job needs its own",
                        path, line, job->result, list->jobs[i].line);
                sweep_list_free(list);
                return -1;
            }
    }
    if (list->n == 0) {
        sweep_list_free(list);
        return hg_fail(err, "%s: no jobs (every line is blank or a # comment)", path);
    }
    return 0;
}

int sweep_list_read(const char *path, SweepList *list, HgErr *err)
{
    memset(list, 0, sizeof *list);
    FILE *f = fopen(path, "rb");
    if (!f)
        return hg_fail(err, "%s: cannot read the job list: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    HG_CHECK(text, "job list text");
    for (size_t got; (got = fread(text + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (len + 1 == cap) {
            cap *= 2;
            text = realloc(text, cap);
            HG_CHECK(text, "job list text");
        }
    }
    const int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        return hg_fail(err, "%s: cannot read the job list", path);
    }
    if (memchr(text, '\0', len)) {
        free(text);
        return hg_fail(err, "%s: a NUL byte: not a text file", path);
    }
    text[len] = '\0';
    const int rc = sweep_list_parse(path, text, list, err);
    free(text);
    return rc;
}

void sweep_list_free(SweepList *list)
{
    for (int i = 0; list->jobs && i < list->n; i++)
        job_free(&list->jobs[i]);
    free(list->jobs);
    list->jobs = NULL;
    list->n = 0;
}

/* mkdir -p dir: 0, or -1 with errno set. */
static int make_folders(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(buf, &st))
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int sweep_list_check_folders(const SweepList *list, HgErr *err)
{
    for (int i = 0; i < list->n; i++) {
        const SweepJob *job = &list->jobs[i];
        char dir[4096], probe[4200];
        const char *slash = strrchr(job->result, '/');
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else if (slash == job->result)
            snprintf(dir, sizeof dir, "/");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - job->result), job->result);
        int seen = 0;
        for (int k = 0; k < i && !seen; k++) {
            const char *r = list->jobs[k].result, *s2 = strrchr(r, '/');
            seen = slash && s2 && s2 - r == slash - job->result &&
                   !strncmp(r, job->result, (size_t)(slash - job->result));
            seen |= !slash && !s2;
        }
        if (seen)
            continue;
        if (make_folders(dir))
            return hg_fail(err, "%s:%d: result folder %s: cannot make it: %s", list->path,
                           job->line, dir, strerror(errno));
        snprintf(probe, sizeof probe, "%s/.hgbench-sweep-probe.%ld", dir, (long)getpid());
        const int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0)
            return hg_fail(err, "%s:%d: result folder %s: cannot write in it: %s", list->path,
                           job->line, dir, strerror(errno));
        close(fd);
        unlink(probe);
    }
    return 0;
}

char **sweep_job_argv(const SweepJob *job, const char *prog, const char *file)
{
    char **argv = calloc((size_t)job->argc + 1, sizeof *argv);
    HG_CHECK(argv, "job argv");
    for (int i = 0; i < job->argc; i++)
        argv[i] = job->argv[i];
    argv[0] = (char *)prog;
    if (job->json_eq) {
        const size_t n = strlen(file) + 8;
        argv[job->json_arg] = malloc(n);
        HG_CHECK(argv[job->json_arg], "job argv");
        snprintf(argv[job->json_arg], n, "--json=%s", file);
    } else {
        argv[job->json_arg] = (char *)file;
    }
    return argv;
}

void sweep_argv_free(const SweepJob *job, char **argv)
{
    if (argv && job->json_eq)
        free(argv[job->json_arg]);
    free(argv);
}
