/* test_report.c — hgbench-report's core: the envelope written by
 * io/envelope.c read back, the checked JSON getters' errors (file and
 * field named), the Markdown number formats, and RESULTS.md put together
 * from status files (failed and interrupted sections, a section that cannot
 * render, determinism). The section renderers have tests of their own
 * (tests/test_report_<section>.c) on fixture JSON. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../bench/report.h"
#include "../bench/report_json.h"
#include "../bench/report_md.h"
#include "../io/envelope.h"
#include "support_files.h"
#include "test.h"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    HG_CHECK(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void test_envelope_round_trip(void)
{
    files_setup("report");
    const char *path = files_tmp("env.json");
    FILE *f = fopen(path, "w");
    JsonWriter j;
    json_init(&j, f);
    char *argv[] = {"hgbench-engines", "--label", "a b", "--it's", NULL};
    Machine m = {.cores = 2, .pus = 4, .packages = 1};
    snprintf(m.cpu, sizeof m.cpu, "Test CPU");
    snprintf(m.host, sizeof m.host, "box");
    Envelope e = {.program = "hgbench-engines", .commit = "abc1234", .argc = 4, .argv = argv,
                  .threads = 2, .ranks = 3, .precision = "float64", .machine = &m};
    envelope_begin(&j, &e);
    json_key(&j, "rows");
    json_array_begin(&j, 0);
    json_array_end(&j);
    json_object_end(&j);
    fputc('\n', f);
    fclose(f);

    Rj r;
    json_t *root = rj_load(&r, path);
    EXPECT(root, "load: %s", r.err.msg);
    RjEnvelope env;
    rj_envelope(&r, root, &env);
    EXPECT(!r.bad, "envelope: %s", r.err.msg);
    EXPECT(!strcmp(env.program, "hgbench-engines"), "program %s", env.program);
    EXPECT(!strcmp(env.commit, "abc1234"), "commit %s", env.commit);
    EXPECT(!strcmp(env.command, "hgbench-engines --label 'a b' '--it'\\''s'"), "command %s",
           env.command);
    EXPECT(env.threads == 2 && env.ranks == 3, "threads %ld ranks %ld", env.threads, env.ranks);
    EXPECT(!strcmp(env.precision, "float64"), "precision %s", env.precision);
    EXPECT(!strcmp(env.cpu, "Test CPU") && env.cores == 2 && env.pus == 4, "machine %s %ld %ld",
           env.cpu, env.cores, env.pus);
    EXPECT(strlen(env.date) == 20 && env.date[19] == 'Z', "date %s", env.date);
    rj_close(&r);
}

static void test_getters_name_file_and_field(void)
{
    files_setup("report");
    const char *path = files_tmp("rows.json");
    write_text(path, "{\"rows\": [{\"t\": 1.5, \"name\": \"a\"}, {\"t\": \"slow\"}, {}],\n"
                     " \"n\": 3, \"x\": null}\n");
    Rj r;
    json_t *root = rj_load(&r, path);
    EXPECT(root, "load: %s", r.err.msg);
    json_t *rows = rj_array(&r, root, "rows");
    json_t *row0 = rj_row(&r, rows, "rows", 0);
    EXPECT(rj_num(&r, row0, "t") == 1.5 && !strcmp(rj_str(&r, row0, "name"), "a"), "row 0");
    EXPECT(rj_int(&r, root, "n") == 3, "n");
    EXPECT(isnan(rj_num_or_null(&r, root, "x")), "null reads as NaN");
    EXPECT(rj_num_opt(&r, row0, "absent", 7) == 7, "optional default");
    EXPECT(!r.bad, "no error yet: %s", r.err.msg);
    json_t *row1 = rj_row(&r, rows, "rows", 1);
    double t = rj_num(&r, row1, "t");
    EXPECT(r.bad && t == 0, "a string where a number goes is an error");
    EXPECT(strstr(r.err.msg, path) && strstr(r.err.msg, "rows[1]") &&
               strstr(r.err.msg, "field 't' is a string, expected a number"),
           "message: %s", r.err.msg);
    /* the first error is kept */
    json_t *row2 = rj_row(&r, rows, "rows", 2);
    rj_num(&r, row2, "t");
    EXPECT(strstr(r.err.msg, "rows[1]") != NULL, "first error kept: %s", r.err.msg);
    rj_close(&r);

    Rj r2;
    root = rj_load(&r2, path);
    rj_at(&r2, "rows[2]");
    rj_num(&r2, json_array_get(json_object_get(root, "rows"), 2), "time_s");
    EXPECT(strstr(r2.err.msg, "rows[2]: field 'time_s' is missing"), "missing: %s", r2.err.msg);
    rj_close(&r2);

    const char *bad = files_tmp("bad.json");
    write_text(bad, "{\"a\": 1,\n \"b\": }\n");
    Rj r3;
    EXPECT(!rj_load(&r3, bad), "malformed JSON refused");
    EXPECT(strstr(r3.err.msg, bad) && strstr(r3.err.msg, "line 2"), "names file and line: %s",
           r3.err.msg);
    Rj r4;
    EXPECT(!rj_load(&r4, files_tmp("absent.json")), "absent file refused");
    EXPECT(strstr(r4.err.msg, "no such file"), "absent: %s", r4.err.msg);
}

/* Google Benchmark prints NaN for the cv of a counter that is 0 in every
 * repetition: the lenient loader reads such tokens as null, strings kept. */
static void test_lenient_nonfinite(void)
{
    files_setup("report");
    const char *path = files_tmp("gbench.json");
    write_text(path, "{\"a\": NaN, \"b\": -inf, \"c\": [Infinity, 1.5, nan],\n"
                     " \"s\": \"NaN and \\\"inf\\\" stay\", \"t\": true}\n");
    Rj r;
    EXPECT(!rj_load(&r, path), "strict loading refuses NaN");
    json_t *root = rj_load_lenient(&r, path);
    EXPECT(root != NULL, "lenient: %s", r.err.msg);
    EXPECT(isnan(rj_num_or_null(&r, root, "a")) && isnan(rj_num_or_null(&r, root, "b")),
           "NaN and -inf read as null");
    json_t *c = json_object_get(root, "c");
    EXPECT(json_is_null(json_array_get(c, 0)) && json_real_value(json_array_get(c, 1)) == 1.5 &&
               json_is_null(json_array_get(c, 2)),
           "in arrays too");
    EXPECT(!strcmp(rj_str(&r, root, "s"), "NaN and \"inf\" stay") && rj_bool(&r, root, "t"),
           "strings and true untouched: %s", rj_str(&r, root, "s"));
    EXPECT(!r.bad, "%s", r.err.msg);
    rj_close(&r);
}

/* hpo's per-step seeds are uint64 values written as bare integers; those
 * past 2^63 (jansson's limit) read as their exact decimal strings, in the
 * strict and lenient loaders, while small integers, reals and strings that
 * look like numbers keep their types. */
static void test_big_integers(void)
{
    files_setup("report");
    const char *path = files_tmp("seeds.json");
    write_text(path, "{\"seeds\": [13545793002821144494, 7, -9223372036854775808],\n"
                     " \"big\": 18446744073709551615, \"neg\": -9223372036854775809,\n"
                     " \"x\": 1.5e300, \"s\": \"13545793002821144494\"}\n");
    for (int lenient = 0; lenient <= 1; lenient++) {
        Rj r;
        json_t *root = lenient ? rj_load_lenient(&r, path) : rj_load(&r, path);
        EXPECT(root != NULL, "big integers load (lenient %d): %s", lenient, r.err.msg);
        if (!root) continue;
        json_t *seeds = json_object_get(root, "seeds");
        EXPECT(json_is_string(json_array_get(seeds, 0)) &&
                   !strcmp(json_string_value(json_array_get(seeds, 0)), "13545793002821144494"),
               "a seed past 2^63 reads as its exact decimal string");
        EXPECT(json_integer_value(json_array_get(seeds, 1)) == 7 &&
                   json_is_integer(json_array_get(seeds, 2)) &&
                   json_integer_value(json_array_get(seeds, 2)) == INT64_MIN,
               "integers within int64 stay integers");
        EXPECT(!strcmp(rj_str(&r, root, "big"), "18446744073709551615") &&
                   !strcmp(rj_str(&r, root, "neg"), "-9223372036854775809"),
               "2^64-1 and below INT64_MIN as strings");
        EXPECT(rj_num(&r, root, "x") == 1.5e300 &&
                   !strcmp(rj_str(&r, root, "s"), "13545793002821144494"),
               "reals and strings untouched");
        EXPECT(!r.bad, "%s", r.err.msg);
        rj_close(&r);
    }
}

static void test_number_formats(void)
{
    char b[64];
    EXPECT(!strcmp(md_num(b, sizeof b, 123.456), "123"), "%s", b);
    EXPECT(!strcmp(md_num(b, sizeof b, 12.345), "12.3"), "%s", b);
    EXPECT(!strcmp(md_num(b, sizeof b, 1.2345), "1.23"), "%s", b);
    EXPECT(!strcmp(md_num(b, sizeof b, 0.12345), "0.123"), "%s", b);
    EXPECT(!strcmp(md_num(b, sizeof b, 0.012345), "0.0123"), "%s", b);
    EXPECT(!strcmp(md_num(b, sizeof b, 0.0012345), "0.00123"), "%s", b);
    EXPECT(!strcmp(md_num(b, sizeof b, NAN), ""), "NaN is blank: '%s'", b);
    EXPECT(!strcmp(md_g(b, sizeof b, 3, INFINITY), "n/a"), "%s", b);
    report_slug("Figure 2: hypergradient error vs sharing window (experiment 3)", b, sizeof b);
    EXPECT(!strcmp(b, "figure-2-hypergradient-error-vs-sharing-window-experiment-3"), "%s", b);
}

/* A results folder with three sections' status files: gpu ok (its
 * record, no parts), engines failed (with a log), fig2 never
 * run; soak ran but its Markdown is missing (cannot render). */
static const char *results_fixture(void)
{
    files_setup("report");
    const char *dir = files_tmp("results");
    mkdir(dir, 0777);
    char p[1024];
    snprintf(p, sizeof p, "%s/gpu.status", dir);
    write_text(p, "{\"section\": \"gpu\", \"seconds\": 12, \"exit\": 0, \"state\": \"ok\"}\n");
    snprintf(p, sizeof p, "%s/gpu.json", dir);
    write_text(p, "{\"schema\": \"hgbench-results/1\", \"program\": \"scripts/bench-gpu.sh\", "
                  "\"commit\": \"abc\", \"command\": \"bash scripts/bench-gpu.sh\", \"date\": "
                  "\"2026-01-01T00:00:00Z\", \"threads\": 2, \"machine\": {\"cpu\": \"x\", "
                  "\"host\": \"h\", \"cores\": 2, \"pus\": 2, \"packages\": 1}, \"quick\": 1, "
                  "\"rehearsal\": 0, \"parts\": \"\", \"gpu\": \"A GPU\", \"clocks\": \"\", "
                  "\"sgemm\": \"\", \"dgemm\": \"\", \"copy\": \"\", \"host_cpus\": 2, "
                  "\"host_cpu\": \"x\"}\n");
    snprintf(p, sizeof p, "%s/engines.status", dir);
    write_text(p, "{\"section\": \"engines\", \"seconds\": 5, \"exit\": 3, \"state\": \"failed\"}\n");
    snprintf(p, sizeof p, "%s/engines.md", dir);
    write_text(p, "## Horizon scaling\n\n");
    snprintf(p, sizeof p, "%s/engines.log", dir);
    write_text(p, "line 1\nprogress\rdone\nhgbench-engines: out of memory\n");
    return dir;
}

static void test_results_md(void)
{
    const char *dir = results_fixture();
    char out[1024], out2[1024];
    snprintf(out, sizeof out, "%s/RESULTS.md", dir);
    snprintf(out2, sizeof out2, "%s/RESULTS2.md", dir);
    ReportOptions o = {.results = dir, .plots = dir, .out = out, .ran = "engines",
                       .command = "make bench QUICK=1", .quick = 1};
    int rc = report_run(&o);
    EXPECT(rc == 1, "a failed section makes the exit 1, got %d", rc);
    char *md = files_slurp(out, NULL);
    EXPECT(md != NULL, "RESULTS.md written");
    if (!md) return;
    EXPECT(strstr(md, "## GPU\n\n") && strstr(md, "| device | A GPU |"), "gpu section rendered");
    EXPECT(strstr(md, "| gpu | ok, not rerun by this run: from an earlier one |"), "gpu row");
    EXPECT(strstr(md, "| engines | **failed** |"), "engines row:\n%s", md);
    EXPECT(strstr(md, "**Section `engines` failed** (exit 3)") &&
               strstr(md, "hgbench-engines: out of memory"),
           "failure note with the log's end");
    EXPECT(strstr(md, "| fig2 |") == NULL, "a section that never ran is left out");
    EXPECT(strstr(md, "**QUICK run**") && strstr(md, "    make bench QUICK=1"), "QUICK said");
    EXPECT(strstr(md, "## Headlines") != NULL, "headlines heading");

    o.out = out2;
    report_run(&o);
    char *md2 = files_slurp(out2, NULL);
    EXPECT(md2 && !strcmp(md, md2), "rendering the same results twice gives the same bytes");
    free(md2);
    free(md);

    /* soak ran but left nothing to render: named, exit 1, others kept */
    char p[1024];
    snprintf(p, sizeof p, "%s/soak.status", dir);
    write_text(p, "{\"section\": \"soak\", \"seconds\": 1, \"exit\": 0, \"state\": \"ok\"}\n");
    o.out = out;
    rc = report_run(&o);
    md = files_slurp(out, NULL);
    EXPECT(rc == 1 && md && strstr(md, "**Section `soak` could not be rendered**") &&
               strstr(md, "soak-run.json"),
           "unrenderable section named (rc %d)", rc);
    EXPECT(md && strstr(md, "## GPU"), "the other sections still render");
    free(md);

    /* a malformed status file is named */
    write_text(p, "{\"section\": \"soak\", \"seconds\": 1, \"exit\": 0, \"state\": \"fine\"}\n");
    rc = report_run(&o);
    EXPECT(rc == 1, "a bad status file fails the run, got %d", rc);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_envelope_round_trip),
                              TEST(test_getters_name_file_and_field),
                              TEST(test_lenient_nonfinite), TEST(test_big_integers),
                              TEST(test_number_formats),
                              TEST(test_results_md)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
