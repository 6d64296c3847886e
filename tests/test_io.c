/* test_io.c — outputs that respect what is there (io/atomic_file.h): a
 * regular file replaced atomically with no temporary left, a symlink
 * followed and its target replaced (the link stays a link, dangling or
 * relative), a FIFO and character devices written through and never renamed
 * over, "-" as standard output, write errors naming the path and the
 * system's reason (/dev/full: no space), and the same through hgbench
 * hypergrad --json; and interrupts: SIGINT or SIGTERM stops a long run
 * within a step, exits 130 / 143, leaves no partial or temporary file (and
 * hpo's log of the finished outer steps). */
#include <signal.h>
#include <time.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../io/atomic_file.h"
#include "../io/npy.h"
#include "support_files.h"
#include "test.h"

static int write_text(const char *path, const char *text, HgErr *err)
{
    AtomicFile a;
    if (atomic_open(&a, path, err))
        return -1;
    fputs(text, a.f);
    return atomic_commit(&a, err);
}

static int is_text(const char *path, const char *text)
{
    char *s = files_slurp(path, NULL);
    const int ok = s && !strcmp(s, text);
    free(s);
    return ok;
}

/* Names in the temporary folder that look like a left-over temporary. */
static int temporaries_left(void)
{
    DIR *d = opendir(files_tmp_dir());
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static mode_t kind_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0;
}

static void test_regular_files_and_links(void)
{
    files_setup("io");
    HgErr err = {{0}};
    char file[4096], link[4096], dangling[4096], target[4096], sub[4096], rel[4096];
    snprintf(file, sizeof file, "%s", files_tmp("out.json"));
    EXPECT(write_text(file, "old\n", &err) == 0 && write_text(file, "new\n", &err) == 0 &&
               is_text(file, "new\n") && kind_of(file) == S_IFREG,
           "a regular file is replaced: %s", err.msg);

    snprintf(link, sizeof link, "%s", files_tmp("link.json"));
    EXPECT(symlink(file, link) == 0, "symlink: %s", strerror(errno));
    EXPECT(write_text(link, "through the link\n", &err) == 0 && kind_of(link) == S_IFLNK &&
               is_text(file, "through the link\n"),
           "a symlink stays a link and its target gets the new content: %s", err.msg);

    snprintf(target, sizeof target, "%s", files_tmp("not-yet.json"));
    snprintf(dangling, sizeof dangling, "%s", files_tmp("dangling.json"));
    EXPECT(symlink("not-yet.json", dangling) == 0, "symlink: %s", strerror(errno));
    EXPECT(write_text(dangling, "made\n", &err) == 0 && kind_of(dangling) == S_IFLNK &&
               is_text(target, "made\n"),
           "a dangling relative link: its target is made beside it: %s", err.msg);

    snprintf(sub, sizeof sub, "%s", files_tmp("sub"));
    EXPECT(mkdir(sub, 0700) == 0, "mkdir: %s", strerror(errno));
    snprintf(rel, sizeof rel, "%.4000s/rel.json", sub);
    EXPECT(symlink("../out.json", rel) == 0, "symlink: %s", strerror(errno));
    EXPECT(write_text(rel, "relative\n", &err) == 0 && kind_of(rel) == S_IFLNK &&
               is_text(file, "relative\n"),
           "a relative link resolves against its own folder: %s", err.msg);
    EXPECT(temporaries_left() == 0, "no temporary is left behind");

    err.msg[0] = 0;
    EXPECT(write_text(sub, "x", &err) == -1 && strstr(err.msg, sub) && strstr(err.msg, "folder"),
           "a folder is refused, named: '%s'", err.msg);
}

static void test_devices_fifos_and_stdout(void)
{
    files_setup("io");
    HgErr err = {{0}};
    EXPECT(write_text("/dev/null", "{}\n", &err) == 0 && kind_of("/dev/null") == S_IFCHR,
           "/dev/null is written through and stays a device: %s", err.msg);

    err.msg[0] = 0;
    AtomicFile a;
    int rc = atomic_open(&a, "/dev/full", &err);
    if (rc == 0) {
        for (int i = 0; i < 100000; i++) /* past stdio's buffer */
            fputs("0123456789", a.f);
        rc = atomic_commit(&a, &err);
    }
    EXPECT(rc == -1 && strstr(err.msg, "/dev/full") && strstr(err.msg, strerror(ENOSPC)) &&
               kind_of("/dev/full") == S_IFCHR,
           "/dev/full: the error names it and says why, and it stays a device: '%s'", err.msg);

    NpyFile n;
    err.msg[0] = 0;
    rc = npy_begin(&n, "/dev/full", "<f8", (long[]){100000}, 1, &err);
    static double zeros[100000];
    if (rc == 0)
        rc = npy_append(&n, zeros, 100000, &err);
    if (rc == 0)
        rc = npy_end(&n, &err);
    EXPECT(rc == -1 && strstr(err.msg, strerror(ENOSPC)), "an .npy on a full device says why: "
           "'%s'", err.msg);

    char fifo[4096], got[4096];
    snprintf(fifo, sizeof fifo, "%s", files_tmp("pipe"));
    snprintf(got, sizeof got, "%s", files_tmp("from-pipe.txt"));
    EXPECT(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    const pid_t pid = fork();
    if (pid == 0) { /* the reader: copies what comes through the FIFO */
        const int in = open(fifo, O_RDONLY), out = open(got, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char buf[256];
        for (ssize_t k; in >= 0 && (k = read(in, buf, sizeof buf)) > 0;)
            if (write(out, buf, (size_t)k) != k)
                _exit(1);
        _exit(0);
    }
    err.msg[0] = 0;
    EXPECT(write_text(fifo, "through the fifo\n", &err) == 0, "a FIFO: %s", err.msg);
    int status = -1;
    waitpid(pid, &status, 0);
    EXPECT(status == 0 && is_text(got, "through the fifo\n") && kind_of(fifo) == S_IFIFO,
           "the FIFO's reader got the text, and it is still a FIFO");

    EXPECT(atomic_open(&a, "-", &err) == 0 && a.f == stdout && atomic_commit(&a, &err) == 0,
           "- is standard output, left open: %s", err.msg);
    EXPECT(temporaries_left() == 0, "no temporary is left behind");
}

static void test_hypergrad_json_outputs(void)
{
    files_setup("io");
    const char *small = "hypergrad --model logreg --data synthetic:16 --steps 4 --batch 4 --val 8 "
                        "--threads 1 --json ";
    char args[512];
    snprintf(args, sizeof args, "%s/dev/null", small);
    Run r = run_bin("hgbench", args);
    EXPECT(r.status == 0 && kind_of("/dev/null") == S_IFCHR, "--json /dev/null: exit %d (%s)",
           r.status, r.err);
    run_free(&r);

    snprintf(args, sizeof args, "%s/dev/full", small);
    r = run_bin("hgbench", args);
    EXPECT(r.status != 0 && strstr(r.err, "/dev/full") && strstr(r.err, strerror(ENOSPC)) &&
               kind_of("/dev/full") == S_IFCHR,
           "--json /dev/full: exit %d, '%s'", r.status, r.err);
    run_free(&r);

    snprintf(args, sizeof args, "%s-", small);
    r = run_bin("hgbench", args);
    EXPECT(r.status == 0 && r.out[0] == '{' && strstr(r.out, "\"hypergrad\"") &&
               !strstr(r.out, "val loss    ") && strstr(r.err, "val loss"),
           "--json -: the JSON alone on stdout, the summary on stderr (exit %d):\n%.300s",
           r.status, r.out);
    run_free(&r);
}

/* Starts files_bin_dir/hgbench with args (space-separated), signals it
 * after `after` seconds, and returns its exit status (-1: killed by the
 * signal itself, i.e. not handled) and the seconds from signal to exit. */
static int run_and_signal(const char *args, int sig, double after, double *took)
{
    char prog[8192], buf[8192], *argv[64];
    snprintf(prog, sizeof prog, "%s/hgbench", files_bin_dir);
    snprintf(buf, sizeof buf, "%s", args);
    int n = 0;
    argv[n++] = prog;
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && n < 63;
         w = strtok_r(NULL, " ", &save))
        argv[n++] = w;
    argv[n] = NULL;
    const pid_t pid = fork();
    if (pid == 0) {
        const int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execv(prog, argv);
        _exit(127);
    }
    nanosleep(&(struct timespec){(time_t)after, (long)((after - (time_t)after) * 1e9)}, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *took = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_interrupts(void)
{
    files_setup("io");
    /* runs that would take minutes (greedy keeps no trajectory to allocate):
     * the signal must end them long before */
    const char *long_run = "--engine greedy --model lenet --data synthetic --steps 20000 "
                           "--batch 32 --val 32 --threads 1";
    char args[8192], json[4096];
    double took;
    snprintf(json, sizeof json, "%s", files_tmp("interrupted.json"));
    snprintf(args, sizeof args, "hypergrad %s --json %s", long_run, json);
    int rc = run_and_signal(args, SIGINT, 2.0, &took);
    EXPECT(rc == 130 && access(json, F_OK) != 0 && took < 10,
           "hypergrad, SIGINT: exit %d (want 130) after %.2f s, %s", rc, took,
           access(json, F_OK) == 0 ? "a JSON was written" : "no JSON");
    snprintf(json, sizeof json, "%s", files_tmp("hpo.json"));
    snprintf(args, sizeof args, "hpo --model logreg --data synthetic:16 --steps 20000 --batch 8 "
             "--val 16 --threads 1 --outer-steps 1000 --json %s", json);
    rc = run_and_signal(args, SIGTERM, 2.0, &took);
    char *log = files_slurp(json, NULL);
    EXPECT(rc == 143 && took < 10 && log && strstr(log, "interrupted"),
           "hpo, SIGTERM: exit %d (want 143) after %.2f s; its log %s", rc, took,
           log ? "says why it stopped" : "is missing");
    free(log);
    EXPECT(temporaries_left() == 0, "no temporary is left behind");
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_regular_files_and_links),
                              TEST(test_devices_fifos_and_stdout),
                              TEST(test_hypergrad_json_outputs), TEST(test_interrupts)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
