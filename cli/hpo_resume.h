/* hpo_resume.h — `hgbench hpo --resume LOG`: what the JSON log holds for a
 * resumed run, and reading it back.
 *
 * The log already holds, per finished outer step s, theta_s and g_s as
 * %.17g (they read back bit for bit); hpo_restore (harness/hpo.h) replays
 * the outer optimiser over them. The log adds "outer_state": the state the
 * replay must reach after the last entry (updates, the next theta, the sign
 * steps and last signs or the Adam moments, per learned kind), so a log of
 * another run, or one edited by hand, is refused instead of resumed into
 * something else.
 *
 * A log is refused with a message naming the field when: it is not a whole
 * JSON object (a truncated file); it is not an hpo log; any field of the
 * problem or outer settings it records differs from the command's (the
 * command must repeat the flags that wrote it; the caller writes those
 * fields for its own command, the same way, into `header`); an entry is not
 * an outer step with finite numbers of the learned layout; or the replayed
 * state differs from outer_state.
 * Leaves out: changing settings on resume (more outer steps, other flags).
 */
#ifndef HG_HPO_RESUME_H
#define HG_HPO_RESUME_H

#include <stddef.h>

#include "../harness/hpo.h"
#include "../io/json_reader.h"
#include "../io/json_writer.h"

typedef struct HpoResumeLog {
    char *text;        /* the file */
    size_t len;
    json_t *root;      /* the parsed file (json_reader.h), NULL until read */
    HpoStep *done;     /* [n] finished outer steps; theta, grad [N] each */
    int n;
} HpoResumeLog;

/* Writes "outer_state" (a member of the open log object): o's state and
 * theta [N], the next outer step's schedule. */
void hpo_resume_write_state(JsonWriter *j, const HyperLayout *h, const OuterOpt *o,
                            const double *theta);

/* Reads the log at path; header[0, header_len) is a JSON object of the
 * fields this command writes before "log", each of which the log must hold
 * with the same text. *r is zeroed first; hpo_resume_free is safe after a
 * failure. */
int hpo_resume_read(HpoResumeLog *r, const char *path, const char *header, size_t header_len,
                    const HyperLayout *h, HgErr *err);
/* After hpo_restore: o and theta [N] must equal the log's outer_state bit
 * for bit. */
int hpo_resume_check_state(const HpoResumeLog *r, const char *path, const HyperLayout *h,
                           const OuterOpt *o, const double *theta, HgErr *err);
void hpo_resume_free(HpoResumeLog *r);

#endif
