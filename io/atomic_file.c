/* atomic_file.c — temporary, fsync, rename (atomic_file.h). */
#include "atomic_file.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int atomic_open(AtomicFile *a, const char *path, HgErr *err)
{
    memset(a, 0, sizeof *a);
    const int n = snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof a->tmp || strlen(path) >= sizeof a->path)
        return hg_fail(err, "%s: path too long", path);
    memcpy(a->path, path, strlen(path) + 1);
    a->f = fopen(a->tmp, "wb");
    if (!a->f)
        return hg_fail(err, "%s: cannot create %s: %s", path, a->tmp, strerror(errno));
    return 0;
}

int atomic_commit(AtomicFile *a, HgErr *err)
{
    if (!a->f)
        return hg_fail(err, "%s: not open", a->path);
    int bad = ferror(a->f) || fflush(a->f) != 0;
    int saved = errno;
    if (!bad && fsync(fileno(a->f)) != 0) {
        bad = 1;
        saved = errno;
    }
    if (fclose(a->f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    a->f = NULL;
    if (!bad && rename(a->tmp, a->path) != 0) {
        bad = 1;
        saved = errno;
    }
    if (bad) {
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
    fclose(a->f);
    a->f = NULL;
    remove(a->tmp);
}
