/* test_conv_dnnl.c — hgbench-conv-dnnl (bench/conv_dnnl.c) end to end on
 * tiny batches: every op's oneDNN result, in both variants (the strided one
 * through oneDNN's reference implementation, --time-ref), within the
 * program's tolerance of ours, ours deterministic, one row per op and
 * kernel, the JSON written; --perturb makes every check fail with exit 1;
 * a bad flag exits 2.
 *
 * The binary is build/<config>/hgbench-conv-dnnl beside this test's folder,
 * built (bench/conv_dnnl.mk) in the float32 configs only where Debian's
 * libdnnl-dev is installed (the Makefile's HAVE_DNNL, which also gives this
 * test HG_DNNL); without it (or with `make HAVE_DNNL=`) the tests are
 * skipped, saying so.
 * float64 builds leave this test out (Makefile): the program is float32.
 * Leaves out the timings (noise at these sizes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support_files.h"
#include "test.h"

#ifndef DNNL_HEADER
#define DNNL_HEADER "/usr/include/dnnl.h" /* as the Makefile */
#endif
#define TOL 1e-4

/* Skips unless this build has oneDNN; fails if it has but the binary is
 * not there (make builds it with the tests). */
static int have_binary(void)
{
    char prog[4400];
    snprintf(prog, sizeof prog, "%s/hgbench-conv-dnnl", files_bin_dir);
#ifndef HG_DNNL /* the build's decision, not what is installed now */
    test_skip("this build has no oneDNN (no %s at build time, or make HAVE_DNNL=): "
              "hgbench-conv-dnnl is not built (apt-get install libdnnl-dev)", DNNL_HEADER);
    return 0;
#endif
    EXPECT(access(prog, X_OK) == 0, "%s: not built although %s exists (make builds it)", prog,
           DNNL_HEADER);
    return access(prog, X_OK) == 0;
}

#define NCOLS 21 /* the table's columns (print_header in bench/conv_dnnl.c) */

/* The data rows of the table: lines not starting with '#', split on blanks. */
typedef struct Table {
    int nrows;
    char col[64][NCOLS][24];
} Table;

static void parse_table(const char *out, Table *t)
{
    memset(t, 0, sizeof *t);
    for (const char *line = out; *line && t->nrows < 64;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len && line[0] != '#') {
            char buf[512];
            snprintf(buf, sizeof buf, "%.*s", (int)len, line);
            int c = 0;
            for (char *save, *w = strtok_r(buf, " ", &save); w && c < NCOLS;
                 w = strtok_r(NULL, " ", &save))
                snprintf(t->col[t->nrows][c++], sizeof t->col[0][0], "%s", w);
            EXPECT(c == NCOLS, "row '%.*s': %d columns, expected %d", (int)len, line, c, NCOLS);
            t->nrows++;
        }
        line = end ? end + 1 : line + len;
    }
}

/* conv1 (im2col and direct; bwd_data im2col only) and conv2 (im2col): fwd,
 * bwd_data, bwd_weights, and rfwd, rbwd at each of nk tangent counts */
static int expected_rows(int nk) { return (2 + 1 + 2 + 4 * nk) + (3 + 2 * nk); }

static void test_agrees_with_ours(void)
{
    if (!have_binary()) return;
    char args[1024];
    const char *json = files_tmp("conv.json");
    snprintf(args, sizeof args,
             "--batch 3 --k 1,2 --repeats 1 --min-time 0.001 --threads 2 --time-ref --json %s",
             json);
    Run r = run_bin("hgbench-conv-dnnl", args);
    EXPECT(r.status == 0, "hgbench-conv-dnnl %s: exit %d: %s", args, r.status, r.err);
    Table *t = malloc(sizeof *t);
    parse_table(r.out, t);
    EXPECT(t->nrows == expected_rows(2), "%d rows, expected %d", t->nrows, expected_rows(2));
    int direct = 0;
    for (int i = 0; i < t->nrows; i++) {
        char (*c)[24] = t->col[i];
        direct += strcmp(c[4], "direct") == 0;
        for (int e = 16; e <= 17; e++) { /* err_strided, err_any */
            char *end;
            double v = strtod(c[e], &end);
            EXPECT(*end == '\0' && v >= 0 && v <= TOL, "%s n=%s %s k=%s %s: error column %d "
                   "is '%s', expected a number <= %g", c[0], c[1], c[2], c[3], c[4], e, c[e], TOL);
        }
        EXPECT(strcmp(c[18], "yes") == 0, "%s %s %s: ours not deterministic ('%s')", c[0], c[2],
               c[4], c[18]);
        for (int d = 19; d <= 20; d++)
            EXPECT(strcmp(c[d], "yes") == 0 || strcmp(c[d], "no") == 0,
                   "%s %s: determinism column %d is '%s'", c[0], c[2], d, c[d]);
    }
    EXPECT(direct == 2 + 2 * 2, "%d rows of the direct kernel, expected %d", direct, 2 + 2 * 2);
    free(t);
    size_t len;
    char *j = files_slurp(json, &len);
    EXPECT(j != NULL, "--json %s: not written", json);
    if (j) {
        int rows = 0;
        for (const char *p = j; (p = strstr(p, "\"ours\": ")); p++) rows++;
        EXPECT(rows == expected_rows(2), "JSON: %d rows, expected %d", rows, expected_rows(2));
        EXPECT(strstr(j, "\"failed_checks\": 0,") != NULL, "JSON: failed_checks is not 0");
        EXPECT(strstr(j, "\"status\": \"skipped\"") == NULL, "JSON: a variant skipped despite "
               "--time-ref");
        free(j);
    }
    run_free(&r);
}

static void test_perturbed_fails(void)
{
    if (!have_binary()) return;
    const char *args = "--batch 2 --k 1 --repeats 1 --min-time 0.001 --threads 2 --perturb";
    Run r = run_bin("hgbench-conv-dnnl", args);
    EXPECT(r.status == 1, "hgbench-conv-dnnl %s: exit %d, expected 1: %s", args, r.status,
           r.err);
    int fails = 0;
    for (const char *p = r.out; (p = strstr(p, ": oneDNN any against ours ")); p++) fails++;
    /* the strided variant is skipped (reference implementation): one any
     * check per row */
    EXPECT(fails == expected_rows(1), "%d failed any-checks, expected %d", fails,
           expected_rows(1));
    run_free(&r);
}

static void test_bad_flags(void)
{
    if (!have_binary()) return;
    Run r = run_bin("hgbench-conv-dnnl", "--batch 0");
    EXPECT(r.status == 2 && strstr(r.err, "--batch"), "--batch 0: exit %d: %s", r.status,
           r.err);
    run_free(&r);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {
        TEST(test_agrees_with_ours),
        TEST(test_perturbed_fails),
        TEST(test_bad_flags),
    };
    files_setup("conv-dnnl");
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
