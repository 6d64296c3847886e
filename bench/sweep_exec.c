/* sweep_exec.c — one job of hgbench-sweep (see sweep_exec.h). */
#include "sweep_exec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/timer.h"

volatile sig_atomic_t sweep_child_pid = 0;

int sweep_result_valid(const char *path)
{
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode) || st.st_size < 2)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int depth = 0, in_str = 0, esc = 0, started = 0, closed = 0, ok = 1;
    for (int c; ok && (c = fgetc(f)) != EOF;) {
        if (closed) {
            ok = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        } else if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else if (!started) {
            if (c == '{')
                started = depth = 1;
            else
                ok = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            closed = --depth == 0;
            ok = depth >= 0;
        }
    }
    fclose(f);
    return ok && closed;
}

/* The log's last non-empty line, into msg. */
static void last_line(const char *log, char *msg, size_t cap)
{
    char buf[4096];
    msg[0] = '\0';
    FILE *f = fopen(log, "rb");
    if (!f)
        return;
    long n = 0;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > (long)sizeof buf - 1)
        fseek(f, -(long)(sizeof buf - 1), SEEK_END);
    else
        fseek(f, 0, SEEK_SET);
    const size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    char *end = buf + got;
    while (end > buf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        *--end = '\0';
    char *start = strrchr(buf, '\n');
    start = start ? start + 1 : buf;
    /* a progress bar redraws with \r: keep the last state */
    char *cr = strrchr(start, '\r');
    snprintf(msg, cap, "%.*s", (int)cap - 1, cr ? cr + 1 : start);
}

void sweep_clean_parts(const SweepJob *job)
{
    char part[4200], dir[4096];
    snprintf(part, sizeof part, "%s.part", job->result);
    unlink(part);
    const char *slash = strrchr(part, '/');
    const char *base = slash ? slash + 1 : part;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - part) : 1, slash ? part : ".");
    if (slash == part)
        snprintf(dir, sizeof dir, "/");
    DIR *d = opendir(dir);
    if (!d)
        return;
    const size_t blen = strlen(base);
    for (struct dirent *e; (e = readdir(d));)
        if (!strncmp(e->d_name, base, blen) && !strncmp(e->d_name + blen, ".tmp.", 5)) {
            char p[4400];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
}

extern char **environ;

/* The environment with CUDA_VISIBLE_DEVICES=gpu (replacing one there), made
 * before fork: a forked child of a threaded process should only exec. */
static char **job_environ(const char *gpu, char *entry, size_t cap)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    HG_CHECK(env, "environment of %zu entries", n);
    snprintf(entry, cap, "CUDA_VISIBLE_DEVICES=%s", gpu);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!gpu[0] || strncmp(environ[i], "CUDA_VISIBLE_DEVICES=", 21))
            env[k++] = environ[i];
    if (gpu[0])
        env[k++] = entry;
    env[k] = NULL;
    return env;
}

/* In the child: never returns. Only async-signal-safe calls until execve
 * (rank 0 has a thread answering the other ranks). */
static void child(char **argv, char **env, const char *prog, const char *log, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) /* the runner died before prctl */
        _exit(143);
    /* the runner's handlers are reset by execve */
    const int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0666);
    const int nul = open("/dev/null", O_RDONLY);
    if (fd < 0)
        _exit(126); /* the parent says why */
    dup2(fd, 1);
    dup2(fd, 2);
    if (nul >= 0)
        dup2(nul, 0);
    execve(prog, argv, env);
    static const char msg[] = "hgbench-sweep: cannot run the job's program (--hgbench)\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(127);
    _exit(127);
}

void sweep_exec(const SweepJob *job, const char *prog, const char *gpu,
                volatile sig_atomic_t *interrupted, SweepResult *out)
{
    char part[4200], log[4200];
    out->exit_code = -1;
    snprintf(out->gpu, sizeof out->gpu, "%s", gpu);
    if (sweep_result_valid(job->result)) {
        out->status = JOB_SKIPPED;
        snprintf(out->message, sizeof out->message, "its result is there");
        return;
    }
    if (*interrupted) {
        out->status = JOB_NOT_RUN;
        return;
    }
    snprintf(part, sizeof part, "%s.part", job->result);
    snprintf(log, sizeof log, "%s.log", job->result);
    sweep_clean_parts(job);
    const double t0 = now_s();
    const pid_t parent = getpid();
    char entry[64];
    char **argv = sweep_job_argv(job, prog, part), **env = job_environ(gpu, entry, sizeof entry);
    fflush(NULL);
    const pid_t pid = fork();
    if (pid == 0)
        child(argv, env, prog, log, parent);
    sweep_argv_free(job, argv);
    free(env);
    if (pid < 0) {
        out->status = JOB_FAILED;
        snprintf(out->message, sizeof out->message, "cannot start: fork: %s", strerror(errno));
        return;
    }
    sweep_child_pid = pid;
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    sweep_child_pid = 0;
    out->seconds = now_s() - t0;
    out->exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    if (out->exit_code == 0 && sweep_result_valid(part)) {
        if (rename(part, job->result) == 0) {
            out->status = JOB_DONE;
            return;
        }
        out->status = JOB_FAILED;
        snprintf(out->message, sizeof out->message, "cannot rename %.150s to %.150s: %s", part,
                 job->result, strerror(errno));
        unlink(part);
        return;
    }
    sweep_clean_parts(job);
    if (*interrupted) {
        out->status = JOB_INTERRUPTED;
        snprintf(out->message, sizeof out->message, "interrupted (exit %d)", out->exit_code);
        return;
    }
    out->status = JOB_FAILED;
    char last[320];
    last_line(log, last, sizeof last);
    if (out->exit_code == 0)
        snprintf(out->message, sizeof out->message, "exit 0 but no complete JSON in %.300s", part);
    else if (out->exit_code == 126 && access(log, W_OK))
        snprintf(out->message, sizeof out->message, "cannot write its log %.300s: %s", log,
                 strerror(errno));
    else if (WIFSIGNALED(ws))
        snprintf(out->message, sizeof out->message, "killed by signal %d%s%s", WTERMSIG(ws),
                 last[0] ? "; last line: " : "", last);
    else
        snprintf(out->message, sizeof out->message, "exit %d: %s", out->exit_code,
                 last[0] ? last : "(no output)");
}
