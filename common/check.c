/* check.c — user-facing error reporting (see check.h). */
#include "check.h"

#include <stdarg.h>

int hg_fail(HgErr *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void hg_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hgbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}
