/* atomic_file.h — write a file so that readers see either the old file or
 * the complete new one, never a half-written one: a temporary in the same
 * folder ("PATH.tmp.PID"), flushed and fsync'ed, then renamed over PATH.
 * Leaves out: fsync of the folder (a crash right after the rename may still
 * lose the new name on some file systems).
 */
#ifndef HG_ATOMIC_FILE_H
#define HG_ATOMIC_FILE_H

#include <stdio.h>

#include "../common/check.h"

typedef struct AtomicFile {
    FILE *f;          /* write here between open and commit */
    char path[4096];  /* the final name */
    char tmp[4096];   /* the temporary beside it */
} AtomicFile;

/* Opens the temporary for writing; -1 with a message naming PATH. */
int atomic_open(AtomicFile *a, const char *path, HgErr *err);
/* Closes and renames into place; -1 (temporary removed) if any write, the
 * flush, the fsync or the rename failed. */
int atomic_commit(AtomicFile *a, HgErr *err);
/* Closes and removes the temporary; a no-op on a file not open. */
void atomic_abort(AtomicFile *a);

#endif
