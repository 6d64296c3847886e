/* atomic_file.h — write an output so that nothing already there is lost or
 * half-written:
 *   a regular file (or a new name): a temporary in the same folder
 *     ("PATH.tmp.PID"), flushed and fsync'ed, then renamed over it, so
 *     readers see the old file or the complete new one;
 *   a symbolic link: followed (to its final target, which need not exist
 *     yet), and that target replaced as above; the link stays a link;
 *   anything else that exists (a character device such as /dev/null or
 *     /dev/full, a FIFO, a socket): written through, never renamed over;
 *   "-": standard output, written through and left open.
 * Every error names the path and the system's reason (strerror).
 * Leaves out: fsync of the folder (a crash right after the rename may still
 * lose the new name on some file systems).
 */
#ifndef HG_ATOMIC_FILE_H
#define HG_ATOMIC_FILE_H

#include <stdio.h>

#include "../common/check.h"

typedef struct AtomicFile {
    FILE *f;          /* write here between open and commit */
    char path[4096];  /* the name as given */
    char target[4096];/* what is written: path, or a symlink's final target */
    char tmp[4096];   /* the temporary beside target; "" when written through */
    int through;      /* 1: written in place (device, FIFO, socket, "-") */
    int fd;           /* under f (f's writes go through it, so that a failed
                       * write keeps its reason in error) */
    int error;        /* errno of the first failed write or close; 0: none */
} AtomicFile;
/* An AtomicFile must stay where atomic_open put it until commit or abort. */

/* Opens the output for writing; -1 with a message naming PATH. */
int atomic_open(AtomicFile *a, const char *path, HgErr *err);
/* Finishes it: flush, fsync and rename for a regular file (the temporary
 * removed on failure), flush and close when written through; -1 if any
 * write failed, naming the path and the reason. */
int atomic_commit(AtomicFile *a, HgErr *err);
/* Closes and removes the temporary (written-through outputs are just
 * closed); a no-op on a file not open. */
void atomic_abort(AtomicFile *a);

#endif
