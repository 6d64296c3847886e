/* test_report_soak.c — the soak section's renderer (bench/report_soak.c) on
 * fixture results (tests/fixtures/report/soak/, trimmed from a T = 10^5
 * run): its table's numbers are the JSON's, its buffer check, its headline,
 * and a missing or malformed field named with its file. */
#include "report_fixture.h"
#include "test.h"

/* The section rendered from dir into a string (free it); rc the renderer's. */
static char *render(const char *dir, ReportCtx *c, int *rc)
{
    return render_section("soak", dir, rc, c);
}

/* A copy of the fixture folder in the temporary one, soak.json edited by fn. */
static const char *edited(const char *name, void (*fn)(json_t *root))
{
    return fixture_copy("soak", name, (FixtureEdit){.target = "soak.json", .edit = fn});
}

static void test_soak_numbers_are_the_json(void)
{
    files_setup("report-soak");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render(fixture_dir("soak"), c, &rc);
    EXPECT(rc == 0, "renders: %s", c->err.msg);
    /* infobuf_bytes 407930352 / floor 386714870.11 = 1.05486; MiB 389.0, 368.8 */
    EXPECT(strstr(md, "| information buffer / floor (at most 1.06) | 1.0549 (389.0 MiB against "
                      "368.8 MiB) ok |"), "buffer row:\n%s", md);
    EXPECT(strstr(md, "| run time | 2128.4 s (21.28 ms per inner step) |"), "time row");
    EXPECT(strstr(md, "| peak RSS | 640.9 MiB |"), "peak RSS row (672043008 bytes)");
    EXPECT(strstr(md, "(4 samples, every 2 s) | first 1.7 MiB, at the midpoint 639.6 MiB, last "
                      "640.9 MiB, largest 640.9 MiB |"), "RSS samples row");
    EXPECT(strstr(md, "MLP (203,530 parameters)") && strstr(md, "T = 100000 inner steps"),
           "problem from the JSON");
    EXPECT(strstr(md, "infobuf     389.03 MiB") != NULL, "the run's summary kept");
    EXPECT(strstr(md, "Reproduce: `build/f32/hgbench hypergrad --engine reversible"), "reproduce");
    EXPECT(c->nheads == 1 && strstr(c->heads[0].text, "1.055x its floor") &&
               strstr(c->heads[0].text, "T = 100,000"),
           "headline: %s", c->nheads ? c->heads[0].text : "(none)");
    EXPECT(!c->check_failed[0], "check holds: %s", c->check_failed);
    EXPECT(!strcmp(c->commit, "9d52efe") && c->threads == 1, "ran by %s x %ld", c->commit,
           c->threads);
    int rc2;
    char *md2 = render(fixture_dir("soak"), c, &rc2);
    EXPECT(md2 && !strcmp(md, md2), "same results, same bytes");
    free(md);
    free(md2);
    free(c);
}

static void drop_floor(json_t *root)
{
    json_object_del(json_object_get(root, "mem"), "infobuf_floor_bytes");
}
static void string_time(json_t *root) { json_object_set_new(root, "time_s", json_string("slow")); }
static void big_buffer(json_t *root)
{
    json_object_set_new(json_object_get(root, "mem"), "infobuf_bytes", json_real(5e8));
}

static void test_soak_bad_fields_named(void)
{
    files_setup("report-soak");
    ReportCtx *c = calloc(1, sizeof *c);
    int rc;
    char *md = render(edited("no-floor", drop_floor), c, &rc);
    EXPECT(rc == -1 && strstr(c->err.msg, "no-floor/soak.json: mem: field 'infobuf_floor_bytes' is "
                                          "missing"),
           "missing field: %s", c->err.msg);
    free(md);
    md = render(edited("string-time", string_time), c, &rc);
    EXPECT(rc == -1 && strstr(c->err.msg, "soak.json") &&
               strstr(c->err.msg, "field 'time_s' is a string, expected a number"),
           "wrong type: %s", c->err.msg);
    free(md);
    md = render(edited("big-buffer", big_buffer), c, &rc);
    EXPECT(rc == 0 && strstr(md, "**over**") && strstr(c->check_failed, "1.2929x its floor"),
           "a buffer over 1.06x fails the check: %s", c->check_failed);
    free(md);
    free(c);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_soak_numbers_are_the_json),
                              TEST(test_soak_bad_fields_named)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
