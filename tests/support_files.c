/* support_files.c — temporary files and child runs for the tests (support_files.h). */
#include "support_files.h"
#include <jansson.h>

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/check.h"
#include "../io/json_reader.h"

char files_bin_dir[4096];
static char tmp_dir[256];

void files_setup(const char *name)
{
    if (files_bin_dir[0])
        return;
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    HG_CHECK(n > 0, "cannot read /proc/self/exe");
    self[n] = '\0';
    char *tests = dirname(self); /* build/<config>/tests */
    snprintf(files_bin_dir, sizeof files_bin_dir, "%s", dirname(tests));
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/hgbench-test-%s-XXXXXX", name);
    HG_CHECK(mkdtemp(tmp_dir), "mkdtemp");
}

void files_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4600];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            files_remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

const char *files_tmp_dir(void) { return tmp_dir; }

void files_cleanup(void)
{
    if (tmp_dir[0])
        files_remove_tree(tmp_dir);
}

char *files_tmp(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 512, "%s/%s", tmp_dir, name);
    return b;
}

char *files_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void run_free(Run *r)
{
    free(r->out);
    free(r->err);
}

Run run_prog(const char *prog, const char *args)
{
    char copy[4096], *argv[128];
    int argc = 0;
    argv[argc++] = (char *)prog;
    char *save = NULL;
    snprintf(copy, sizeof copy, "%s", args);
    for (char *tok = strtok_r(copy, " ", &save); tok && argc < 127;
         tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    const char *out = files_tmp("stdout.txt"), *err = files_tmp("stderr.txt");
    fflush(stdout);
    const pid_t pid = fork();
    HG_CHECK(pid >= 0, "fork");
    if (pid == 0) {
        const int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(126);
        execv(prog, argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    Run r = {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0),
             files_slurp(out, NULL), files_slurp(err, NULL)};
    if (!r.out)
        r.out = calloc(1, 1);
    if (!r.err)
        r.err = calloc(1, 1);
    return r;
}

Run run_bin(const char *name, const char *args)
{
    char prog[4300];
    snprintf(prog, sizeof prog, "%s/%s", files_bin_dir, name);
    return run_prog(prog, args);
}

void files_write_idx(const char *dir, const char *prefix, int n, int salt)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *f = fopen(path, "wb");
    HG_CHECK(f, "cannot write %s", path);
    const unsigned char hi[] = {0, 0, 8, 3, 0, 0, (unsigned char)(n >> 8), (unsigned char)n,
                                0, 0, 0, 28, 0, 0, 0, 28};
    fwrite(hi, 1, sizeof hi, f);
    for (long i = 0; i < (long)n * 784; i++)
        fputc((int)(((i / 784) % 10) * 20 + (i * 7919 + salt) % 41), f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    f = fopen(path, "wb");
    HG_CHECK(f, "cannot write %s", path);
    const unsigned char hl[] = {0, 0, 8, 1, 0, 0, (unsigned char)(n >> 8), (unsigned char)n};
    fwrite(hl, 1, sizeof hl, f);
    for (int i = 0; i < n; i++)
        fputc(i % 10, f);
    fclose(f);
}

char *files_results_of(const char *path)
{
    char *text = files_slurp(path, NULL);
    if (!text)
        return NULL;
    char *o = text;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        const size_t len = end ? (size_t)(end - line + 1) : strlen(line);
        char keep[64];
        snprintf(keep, sizeof keep, "%.*s", (int)(len < 63 ? len : 63), line);
        if (!strstr(keep, "time_s\":") && !strstr(keep, "\"peak_rss\":")) {
            memmove(o, line, len);
            o += len;
        }
        line += len;
    }
    *o = '\0';
    return text;
}

json_t *files_read_json(const char *path)
{
    size_t len = 0;
    char *text = files_slurp(path, &len);
    HgErr err = {{0}};
    json_t *j = text ? json_read_text(text, len, path, &err) : NULL;
    free(text);
    return j;
}
