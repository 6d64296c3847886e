/* test.h — a minimal test runner for hgbench's C tests.
 *
 * A test is a void function; EXPECT* count a check and record a failure
 * (with file:line and a message) and let the test go on, so one run shows
 * every mismatch. A test that makes no check fails: it cannot have tested
 * anything. Each binary prints TAP-like lines ("ok - name (N checks, ...)",
 * "not ok - name", "skip - name") and closes with "N passed, M failed, K
 * skipped" after a "# checks:" line; scripts/run-tests.sh adds the binaries
 * up. A test binary exits nonzero when any test failed.
 *
 * Skips are loud: a test left out of a build (TEST_F64_ONLY in a float32
 * build, say) is listed as "skip - name" with its reason, and a part of a
 * test that cannot run (test_skip_part) prints a SKIP line and is counted.
 */
#ifndef HG_TEST_H
#define HG_TEST_H

#include <math.h>
#include <stdio.h>

typedef struct TestCase {
    const char *name;
    void (*fn)(void);   /* NULL: left out of this build, skipped with why */
    const char *why;
} TestCase;

#define TEST(fn) { #fn, fn, NULL }
/* A test that only a float64 build can run, listed as skipped elsewhere. */
#ifdef HG_F64
#define TEST_F64_ONLY(fn, reason) { #fn, fn, NULL }
#else
#define TEST_F64_ONLY(fn, reason) { #fn, NULL, reason }
#endif

/* Checks made so far (every EXPECT*, pass or fail). */
extern long test_checks;

void test_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Marks the running test skipped, with a reason printed loudly. */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A part of the running test that cannot run here: printed as a SKIP line
 * and counted, the rest of the test goes on. */
void test_skip_part(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* argv[0] of the running test binary. */
extern const char *test_argv0;
int test_main(const TestCase *tests, int n, int argc, char **argv);
/* Relative error |a - b| / max(|a|, |b|, floor). */
double rel_err(double a, double b, double floor);
/* Max-norm relative error of two vectors: max|a-b| / max(max|a|, floor). */
double max_rel_err_d(const double *a, const double *b, long n, double floor);

#define EXPECT(cond, ...)                                   \
    do {                                                    \
        test_checks++;                                      \
        if (!(cond))                                        \
            test_fail_at(__FILE__, __LINE__, __VA_ARGS__);  \
    } while (0)

/* |a - b| <= tol * max(|a|, |b|, floor) */
#define EXPECT_REL(a, b, tol, floor, what)                                   \
    do {                                                                     \
        double a_ = (a), b_ = (b), e_ = rel_err(a_, b_, (floor));            \
        test_checks++;                                                       \
        if (!(e_ <= (tol)))                                                  \
            test_fail_at(__FILE__, __LINE__,                                 \
                         "%s: %.17g vs %.17g, rel err %.3g > tol %.3g",      \
                         (what), a_, b_, e_, (double)(tol));                 \
    } while (0)

#define ARRAY_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

#endif
