/* trajectory_file.c — bptt trajectories as .npy files (trajectory_file.h). */
#include "trajectory_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/real.h"
#include "npy.h"

#define REAL_DESCR (sizeof(real) == 4 ? NPY_F4 : NPY_F8)

static int path_in(char *buf, size_t cap, const char *dir, const char *name, HgErr *err)
{
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap)
        return hg_fail(err, "%s: path too long", dir);
    return 0;
}

static int record(void *ctx, int T, long P, const real *W, const real *V, const uint64_t *M,
                  const real *wT, HgErr *err)
{
    const TrajectoryFolder *tf = ctx;
    char path[4200];
    if (mkdir(tf->dir, 0777) && errno != EEXIST)
        return hg_fail(err, "%s: cannot make the folder: %s", tf->dir, strerror(errno));
    const long ws[2] = {T + 1, P}, vs[2] = {T, P}, ms[2] = {T, (P + 63) / 64};
    NpyFile n;
    if (path_in(path, sizeof path, tf->dir, "w.npy", err) ||
        npy_begin(&n, path, REAL_DESCR, ws, 2, err) ||
        npy_append(&n, W, (size_t)T * P, err) || npy_append(&n, wT, (size_t)P, err) ||
        npy_end(&n, err))
        return -1;
    if (path_in(path, sizeof path, tf->dir, "v.npy", err) ||
        npy_write(path, REAL_DESCR, vs, 2, V, err))
        return -1;
    if (path_in(path, sizeof path, tf->dir, "mask.npy", err))
        return -1;
    if (M)
        return npy_write(path, NPY_U8, ms, 2, M, err);
    if (remove(path) && errno != ENOENT) /* a stale mask from a clamped run */
        return hg_fail(err, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

/* name's array, of shape rows x P: its first `head` rows into dst, the
 * others (if any) into tail. */
static int load_reals(const char *dir, const char *name, long rows, long P, long head,
                      real *dst, real *tail, HgErr *err)
{
    char path[4200];
    NpyArray a;
    const long shape[2] = {rows, P};
    if (path_in(path, sizeof path, dir, name, err) || npy_read(path, &a, err))
        return -1;
    if (npy_expect(&a, path, NULL, shape, 2, err)) {
        npy_array_free(&a);
        return -1;
    }
    const size_t split = (size_t)head * P;
    for (size_t i = 0; i < a.count; i++)
        *(i < split ? &dst[i] : &tail[i - split]) = (real)npy_get_double(&a, i);
    npy_array_free(&a);
    return 0;
}

static int replay(void *ctx, int T, long P, real *W, real *V, uint64_t *M, real *wT,
                  HgErr *err)
{
    const TrajectoryFolder *tf = ctx;
    char path[4200];
    /* w.npy's last row is w_T */
    if (load_reals(tf->dir, "w.npy", T + 1, P, T, W, wT, err) ||
        load_reals(tf->dir, "v.npy", T, P, T, V, NULL, err) ||
        path_in(path, sizeof path, tf->dir, "mask.npy", err))
        return -1;
    struct stat sb;
    const int has_mask = stat(path, &sb) == 0;
    if (!M)
        return has_mask ? hg_fail(err, "%s: the recorded run clamped its gradients, this one "
                                  "does not (--clamp)", path) : 0;
    if (!has_mask)
        return hg_fail(err, "%s: missing: the recorded run did not clamp, this one does", path);
    NpyArray a;
    const long shape[2] = {T, (P + 63) / 64};
    if (npy_read(path, &a, err))
        return -1;
    const int rc = npy_expect(&a, path, NPY_U8, shape, 2, err);
    if (rc == 0)
        memcpy(M, a.data, a.count * sizeof(uint64_t));
    npy_array_free(&a);
    return rc;
}

const TrajectoryHook *trajectory_folder(TrajectoryFolder *tf, const char *dir, int rec)
{
    memset(tf, 0, sizeof *tf);
    snprintf(tf->dir, sizeof tf->dir, "%s", dir);
    tf->hook.ctx = tf;
    if (rec)
        tf->hook.record = record;
    else
        tf->hook.replay = replay;
    return &tf->hook;
}
