/* theta_file.h — --theta FILE: the starting value of every learned value,
 * read from a --json record of hgbench hypergrad (its "theta": layout and
 * values; a bare {"layout", "values"} object too) or from a .npy array of
 * N float64 or float32 entries, in the layout of the run (harness/hyper.h:
 * kinds lr, mom, wd in order, window-major, then layers or weights).
 *
 * A JSON file's layout must be the run's, kind by kind (kind, per, windows,
 * width); a .npy holds no layout, so only its length is checked. Every
 * value must be a finite number. Errors name the file and the field.
 */
#ifndef HG_THETA_FILE_H
#define HG_THETA_FILE_H

#include "../common/check.h"
#include "../harness/hyper.h"

/* theta [h->N] from path: 0, or -1 with "PATH: ..." in err. */
int theta_file_read(const char *path, const HyperLayout *h, double *theta, HgErr *err);

#endif
