/* test.c — runner for test.h. Optional argv[1]: run only tests whose name
 * contains it. */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../common/timer.h"

const char *test_argv0 = ""; /* for tests that find sibling tools */
long test_checks;
static int failures_in_test;
static int skipped_test;
static int skipped_parts;

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "#   FAIL %s:%d: ", file, line);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    failures_in_test++;
}

static void skip_line(const char *prefix, const char *fmt, va_list ap)
{
    fprintf(stdout, "#   %s: ", prefix);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
}

void test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    skip_line("SKIP", fmt, ap);
    va_end(ap);
    skipped_test = 1;
}

void test_skip_part(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    skip_line("SKIP (part)", fmt, ap);
    va_end(ap);
    skipped_parts++;
}

double rel_err(double a, double b, double floor)
{
    if (isnan(a) || isnan(b))
        return INFINITY;
    double scale = fmax(fmax(fabs(a), fabs(b)), floor);
    return scale > 0 ? fabs(a - b) / scale : 0.0;
}

double max_rel_err_d(const double *a, const double *b, long n, double floor)
{
    double diff = 0, scale = floor;
    for (long i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i]))
            return INFINITY;
        diff = fmax(diff, fabs(a[i] - b[i]));
        scale = fmax(scale, fmax(fabs(a[i]), fabs(b[i])));
    }
    return scale > 0 ? diff / scale : 0.0;
}

int test_main(const TestCase *tests, int n, int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    test_argv0 = argv[0];
    int passed = 0, failed = 0, skipped = 0, parts = 0;
    long checks = 0;
    for (int i = 0; i < n; i++) {
        if (filter && !strstr(tests[i].name, filter))
            continue;
        if (!tests[i].fn) {
            printf("#   SKIP: %s\nskip - %s\n", tests[i].why, tests[i].name);
            skipped++;
            continue;
        }
        failures_in_test = 0;
        skipped_test = 0;
        skipped_parts = 0;
        test_checks = 0;
        double t0 = now_s();
        tests[i].fn();
        double dt = now_s() - t0;
        checks += test_checks;
        parts += skipped_parts;
        char extra[64] = "";
        if (skipped_parts)
            snprintf(extra, sizeof extra, ", %d parts skipped", skipped_parts);
        if (failures_in_test) {
            printf("not ok - %s (%d failed of %ld checks, %.2f s)\n", tests[i].name,
                   failures_in_test, test_checks, dt);
            failed++;
        } else if (skipped_test) {
            printf("skip - %s (%ld checks made before it)\n", tests[i].name, test_checks);
            skipped++;
        } else if (test_checks == 0) {
            printf("not ok - %s (made no checks, %.2f s)\n", tests[i].name, dt);
            failed++;
        } else {
            printf("ok - %s (%ld checks%s, %.2f s)\n", tests[i].name, test_checks, extra, dt);
            passed++;
        }
        fflush(stdout);
    }
    printf("# checks: %ld, parts skipped: %d\n", checks, parts);
    printf("%s: %d passed, %d failed, %d skipped\n", argv[0], passed, failed,
           skipped);
    return failed ? 1 : 0;
}
