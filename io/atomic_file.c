/* atomic_file.c — temporary, fsync, rename; or written through (atomic_file.h).
 * The FILE is a glibc cookie stream over the descriptor, so the reason of a
 * failed write (ENOSPC, EPIPE, ...) is kept rather than left in errno for
 * whatever runs next. */
#define _GNU_SOURCE
#include "atomic_file.h"

#include <fcntl.h>
#include <signal.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_LINKS = 40,  /* as the kernel's limit on a chain of symlinks */
       MAX_OPEN = 32 };  /* temporaries removed if a signal ends the process */

/* A process that exits before committing, or is killed by SIGINT or SIGTERM
 * (with no handler of its own: the
 * commands that poll for interrupts finish their writes themselves) must
 * not leave temporaries behind: the open ones are unlinked, then the signal
 * takes its default course. */
static AtomicFile *volatile open_files[MAX_OPEN];

static void unlink_open(void)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (open_files[i])
            unlink(open_files[i]->tmp); /* async-signal-safe */
}

static void unlink_temporaries(int sig)
{
    unlink_open();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void track(AtomicFile *a, int on)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (on ? !open_files[i] : open_files[i] == a) {
            open_files[i] = on ? a : NULL;
            break;
        }
    if (!on)
        return;
    static int at_exit;
    if (!at_exit++)
        atexit(unlink_open); /* an exit() (hg_die, say) before commit */
    const int sigs[] = {SIGINT, SIGTERM};
    for (int k = 0; k < 2; k++) {
        struct sigaction old;
        if (sigaction(sigs[k], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
            signal(sigs[k], unlink_temporaries);
    }
}

/* The final target of a chain of symlinks starting at path (relative
 * targets resolved against their link's folder); the target itself may not
 * exist. 0, or -1 naming the path. */
static int follow_links(const char *path, char *out, size_t cap, HgErr *err)
{
    if (strlen(path) >= cap)
        return hg_fail(err, "%s: path too long", path);
    memcpy(out, path, strlen(path) + 1);
    for (int hops = 0; hops < MAX_LINKS; hops++) {
        struct stat st;
        if (lstat(out, &st) != 0 || !S_ISLNK(st.st_mode))
            return 0; /* not there yet, or not a link: this is the target */
        char link[4096];
        const ssize_t n = readlink(out, link, sizeof link - 1);
        if (n < 0)
            return hg_fail(err, "%s: cannot read the link %s: %s", path, out, strerror(errno));
        link[n] = '\0';
        char next[8192];
        if (link[0] == '/') {
            snprintf(next, sizeof next, "%s", link);
        } else {
            char dir[4096];
            snprintf(dir, sizeof dir, "%s", out);
            snprintf(next, sizeof next, "%s/%s", dirname(dir), link);
        }
        if (strlen(next) >= cap)
            return hg_fail(err, "%s: the link's target is too long a path", path);
        memcpy(out, next, strlen(next) + 1);
    }
    return hg_fail(err, "%s: more than %d symbolic links in a chain", path, MAX_LINKS);
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
    AtomicFile *a = cookie;
    size_t done = 0;
    while (done < n) {
        const ssize_t k = write(a->fd, buf + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (!a->error)
                a->error = k < 0 ? errno : EIO;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)k;
    }
    return (ssize_t)n;
}

static int cookie_close(void *cookie)
{
    AtomicFile *a = cookie;
    const int rc = close(a->fd);
    if (rc != 0 && !a->error)
        a->error = errno;
    a->fd = -1;
    return rc;
}

/* f over a new descriptor for name: 0, or -1 with errno set. */
static int open_stream(AtomicFile *a, const char *name, int flags)
{
    a->fd = open(name, flags, 0666);
    if (a->fd < 0)
        return -1;
    a->f = fopencookie(a, "w", (cookie_io_functions_t){.write = cookie_write,
                                                        .close = cookie_close});
    if (!a->f) {
        const int e = errno;
        close(a->fd);
        errno = e;
        return -1;
    }
    return 0;
}

int atomic_open(AtomicFile *a, const char *path, HgErr *err)
{
    memset(a, 0, sizeof *a);
    a->fd = -1;
    if (strlen(path) >= sizeof a->path)
        return hg_fail(err, "%s: path too long", path);
    memcpy(a->path, path, strlen(path) + 1);
    if (!strcmp(path, "-")) {
        snprintf(a->target, sizeof a->target, "standard output");
        a->f = stdout;
        a->through = 1;
        return 0;
    }
    if (follow_links(path, a->target, sizeof a->target, err))
        return -1;
    struct stat st;
    if (stat(a->target, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return hg_fail(err, "%s: is a folder, not a file", path);
        /* a device, FIFO or socket: write through */
        if (open_stream(a, a->target, O_WRONLY))
            return hg_fail(err, "%s: cannot open it for writing: %s", path, strerror(errno));
        a->through = 1;
        return 0;
    }
    const int n = snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", a->target, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof a->tmp)
        return hg_fail(err, "%s: path too long", path);
    if (open_stream(a, a->tmp, O_WRONLY | O_CREAT | O_TRUNC))
        return hg_fail(err, "%s: cannot create %s: %s", path, a->tmp, strerror(errno));
    track(a, 1);
    return 0;
}

int atomic_commit(AtomicFile *a, HgErr *err)
{
    if (!a->f)
        return hg_fail(err, "%s: not open", a->path);
    const int std = a->f == stdout;
    int bad = ferror(a->f) || fflush(a->f) != 0;
    int saved = bad ? (std ? errno : a->error) : 0;
    if (!bad && !a->through && fsync(a->fd) != 0) {
        bad = 1;
        saved = errno;
    }
    if (!std && fclose(a->f) != 0 && !bad) {
        bad = 1;
        saved = a->error ? a->error : errno;
    }
    a->f = NULL;
    if (!bad && !a->through && rename(a->tmp, a->target) != 0) {
        bad = 1;
        saved = errno;
    }
    if (!a->through)
        track(a, 0);
    if (bad) {
        if (!a->through)
            remove(a->tmp);
        return hg_fail(err, "%s: cannot write it: %s", a->path,
                       saved ? strerror(saved) : "write error");
    }
    return 0;
}

void atomic_abort(AtomicFile *a)
{
    if (!a->f)
        return;
    if (a->f != stdout)
        fclose(a->f);
    a->f = NULL;
    if (!a->through) {
        track(a, 0);
        remove(a->tmp);
    }
}
