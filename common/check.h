/* check.h — two kinds of failure.
 *
 * HG_CHECK: a broken invariant inside hgbench (a bug). Prints file:line and
 * aborts. HgErr: bad input from a user (a file, a flag): the function fills
 * the message, returns -1, and the caller decides; nothing is half-done.
 */
#ifndef HG_CHECK_H
#define HG_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define HG_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            abort();                                                         \
        }                                                                    \
    } while (0)

typedef struct HgErr {
    char msg[512];
} HgErr;

/* Formats the message into err (if not NULL) and returns -1. */
int hg_fail(HgErr *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "hgbench: <msg>" to stderr and exits with status 2. (C++, for the
 * CUDA backend's .cu files, spells _Noreturn differently.) */
#ifdef __cplusplus
[[noreturn]]
#else
_Noreturn
#endif
void hg_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
