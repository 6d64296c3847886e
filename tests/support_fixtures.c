/* support_fixtures.c — fixture_path of support_fixtures.h. */
#include "support_fixtures.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/check.h"
#include "test.h"

const char *fixture_path(const char *name)
{
    static char buf[4][4096];
    static int next;
    char *b = buf[next++ % 4];
    struct stat st;
    snprintf(b, sizeof buf[0], "tests/fixtures/%s", name);
    if (stat(b, &st) == 0) return b;
    /* build/<config>/tests/<binary> -> the root is three folders up */
    char root[3000];
    snprintf(root, sizeof root, "%s", test_argv0 ? test_argv0 : ".");
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(root, '/');
        if (!slash) { snprintf(root, sizeof root, "."); break; }
        *slash = '\0';
    }
    snprintf(b, sizeof buf[0], "%s/tests/fixtures/%s", root, name);
    HG_CHECK(stat(b, &st) == 0, "fixture %s: not in tests/fixtures/ nor at %s", name, b);
    return b;
}
