/* trajectory_file.h — bptt's trajectory (engine.h's TrajectoryHook) kept in
 * a folder, so that a run in one precision can be differentiated in another:
 * build/f32 records, build/f64 replays the float32 run with a float64
 * reverse pass.
 *
 * Folder DIR (made if needed), in the recording binary's precision:
 *   w.npy     [T+1][P]  w_0 .. w_{T-1}, then w_T
 *   v.npy     [T][P]    v_1 .. v_T
 *   mask.npy  [T][W]    <u8 words of clamp-mask bits (W = (P+63)/64), only
 *                       when the run clamps
 * Replay reads <f4 or <f8 into this build's real and refuses a folder whose
 * shapes do not match the run (T, P, clamp) naming the file.
 */
#ifndef HG_TRAJECTORY_FILE_H
#define HG_TRAJECTORY_FILE_H

#include "../engines/engine.h"

typedef struct TrajectoryFolder {
    char dir[4096];
    TrajectoryHook hook; /* ctx is this struct */
} TrajectoryFolder;

/* The hook that records into dir (record) or replays from it (!record). */
const TrajectoryHook *trajectory_folder(TrajectoryFolder *tf, const char *dir, int record);

#endif
