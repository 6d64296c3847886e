/* test_report_fig3.c — the fig3 renderer (bench/report_fig3.c) on fixture
 * JSON trimmed from a QUICK run of scripts/fig3.sh
 * (tests/fixtures/report/fig3/: the data sets' manifests and the hpo logs):
 * the summary and claims tables are the logs' numbers as formatted, the
 * headline carries them, a skipped data set says why, a missing or mistyped
 * field fails naming the file and the field, and rendering twice gives the
 * same bytes. The expected numbers are read from the fixture here. And
 * build/hgbench-manifest, which writes the manifests: the envelope and the
 * typed members read back, bad members refused naming the flag. */
#define _GNU_SOURCE /* open_memstream */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bench/report_json.h"
#include "report_fixture.h"
#include "test.h"

/* The fixture folder (files_setup first: the renders write to its
 * temporary folder). */
static const char *fixtures(void)
{
    files_setup("report-fig3");
    return fixture_dir("fig3");
}

typedef struct Out {
    int rc;
    char *md;
    ReportCtx c;
} Out;

static Out render(const char *results)
{
    Out o;
    memset(&o, 0, sizeof o);
    o.rc = render_into("fig3", results, &o.md, &o.c);
    return o;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The fixture's first data set that ran: its manifest. */
static json_t *ran_manifest(const char *dir)
{
    static const char *const names[] = {"fig3-fashion-mnist.json", "fig3-mnist.json"};
    for (int i = 0; i < 2; i++) {
        json_t *m = fixture_load(dir, names[i]);
        if (!strcmp(json_string_value(json_object_get(m, "state")), "ran")) return m;
        json_decref(m);
    }
    HG_CHECK(0, "the fixture has a data set that ran");
    return NULL;
}

static json_t *method(const char *dir, json_t *manifest, const char *m)
{
    char name[512];
    snprintf(name, sizeof name, "%s-%s.json", json_string_value(json_object_get(manifest, "base")), m);
    return fixture_load(dir, name);
}

static void test_tables_are_the_json_numbers(void)
{
    const char *dir = fixtures();
    Out o = render(dir);
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    if (o.rc) { free(o.md); return; }
    json_t *man = ran_manifest(dir);
    const char *label = json_string_value(json_object_get(man, "label"));
    char line[1024];
    snprintf(line, sizeof line, "### %s\n", label);
    EXPECT(strstr(o.md, line) != NULL, "the data set's heading: %s", line);
    /* each method's summary row */
    static const char *const methods[] = {"greedy", "nongreedy", "fds", "cosine"};
    for (int k = 0; k < 4; k++) {
        json_t *j = method(dir, man, methods[k]);
        json_t *best = json_object_get(j, "best"), *fin = json_object_get(j, "final");
        json_t *log = json_object_get(j, "log");
        double sum = 0;
        int n = 0;
        for (size_t i = 0; i < json_array_size(log); i++) {
            json_t *e = json_array_get(log, i);
            if (!strcmp(json_string_value(json_object_get(e, "status")), "ok")) {
                sum += num(e, "time_s");
                n++;
            }
        }
        char per[32] = "-";
        if (k != 3 && n) snprintf(per, sizeof per, "%.3f", sum / n);
        snprintf(line, sizeof line, "| %s | %lld | %.4f | %.4f | %.4f | %s | %s |\n", methods[k],
                 json_integer_value(json_object_get(best, "outer")), num(best, "val_acc"),
                 num(best, "test_acc"), num(fin, "val_acc"), per,
                 json_string_value(json_object_get(json_object_get(j, "stop"), "reason")));
        EXPECT(strstr(o.md, line) != NULL, "summary row: %s", line);
        json_decref(j);
    }
    /* the claim on test accuracy, its verdict, and the headline with it */
    json_t *fds = method(dir, man, "fds"), *cos = method(dir, man, "cosine");
    double tf = num(json_object_get(fds, "best"), "test_acc");
    double tc = num(json_object_get(cos, "best"), "test_acc");
    char a[32], b[32];
    snprintf(a, sizeof a, "%.4f", tf);
    snprintf(b, sizeof b, "%.4f", tc);
    snprintf(line, sizeof line, "| %s (FDS) vs %s (cosine) | **%s** |", a, b,
             strtod(a, NULL) >= strtod(b, NULL) ? "yes" : "no");
    EXPECT(strstr(o.md, line) != NULL, "claim row: %s", line);
    snprintf(line, sizeof line, "FDS's test accuracy %s against the cosine baseline's %s", a, b);
    int found = 0;
    for (int i = 0; i < o.c.nheads; i++) found |= strstr(o.c.heads[i].text, line) != NULL;
    EXPECT(found, "a headline has '%s'", line);
    json_decref(fds);
    json_decref(cos);
    /* a skipped data set says why */
    json_t *sv = fixture_load(dir, "fig3-svhn.json");
    snprintf(line, sizeof line, "- **svhn**: skipped: %s\n",
             json_string_value(json_object_get(sv, "reason")));
    EXPECT(strstr(o.md, line) != NULL, "skipped: %s", line);
    json_decref(sv);
    EXPECT(strstr(o.md, "Machine: ") && strstr(o.md, "Reproduce: `"), "provenance and command");
    snprintf(line, sizeof line, "%s-schedules.png)", json_string_value(json_object_get(man, "base")));
    EXPECT(strstr(o.md, line) != NULL, "schedules plot linked: %s", line);
    json_decref(man);
    Out again = render(dir);
    EXPECT(again.rc == 0 && !strcmp(o.md, again.md), "rendering twice gives the same bytes");
    free(again.md);
    free(o.md);
}

/* The fixture copied to a scratch folder, the file `target` changed by edit. */
static const char *broken(const char *name, const char *target, void (*edit)(json_t *))
{
    fixtures();
    return fixture_copy("fig3", name, (FixtureEdit){.target = target, .edit = edit});
}

static void drop_T(json_t *j)
{
    json_object_del(j, "T");
}

static void mistype_val_acc(json_t *j)
{
    json_object_set_new(json_array_get(json_object_get(j, "log"), 1), "val_acc",
                        json_string("high"));
}

static void test_bad_fields_are_named(void)
{
    const char *src = fixtures();
    json_t *man = ran_manifest(src);
    char mname[128], fname[512];
    snprintf(mname, sizeof mname, "fig3-%s.json", json_string_value(json_object_get(man, "data")));
    snprintf(fname, sizeof fname, "%s-nongreedy.json",
             json_string_value(json_object_get(man, "base")));
    json_decref(man);

    Out o = render(broken("missing", mname, drop_T));
    EXPECT(o.rc == -1, "a missing field fails");
    EXPECT(strstr(o.c.err.msg, mname) && strstr(o.c.err.msg, "'T' is missing"),
           "names the file and field: %s", o.c.err.msg);
    free(o.md);

    o = render(broken("mistyped", fname, mistype_val_acc));
    EXPECT(o.rc == -1, "a field of the wrong type fails");
    EXPECT(strstr(o.c.err.msg, fname) && strstr(o.c.err.msg, "log[1]") &&
               strstr(o.c.err.msg, "'val_acc'"),
           "names the file, entry and field: %s", o.c.err.msg);
    free(o.md);
}

static void test_no_results_says_so(void)
{
    files_setup("report-fig3");
    char *dir = files_tmp("empty");
    mkdir(dir, 0777);
    Out o = render(dir);
    EXPECT(o.rc == 0 && strstr(o.md, "**failed**: no results"), "no results: %s", o.md);
    free(o.md);
}

static void test_manifest_writes_the_envelope(void)
{
    files_setup("report-fig3");
    char prog[4200], out[4200], args[4800];
    snprintf(prog, sizeof prog, "%s/../hgbench-manifest", files_bin_dir);
    if (access(prog, X_OK)) {
        test_skip_part("%s is not built (make builds it with hgbench-report)", prog);
        return;
    }
    snprintf(out, sizeof out, "%s", files_tmp("manifest.json"));
    snprintf(args, sizeof args, "--out %s --program scripts/fig3.sh --commit abc --threads 3 "
             "--str data=mnist --int T=50 --num lr=0.02 -- QUICK=1 scripts/fig3.sh", out);
    Run r = run_prog(prog, args);
    EXPECT(r.status == 0, "exit %d: %s", r.status, r.err);
    run_free(&r);
    Rj rj;
    json_t *root = rj_load(&rj, out);
    EXPECT(root != NULL, "written: %s", rj.err.msg);
    if (!root) return;
    RjEnvelope e;
    rj_envelope(&rj, root, &e);
    EXPECT(!rj.bad, "an envelope: %s", rj.err.msg);
    EXPECT(!strcmp(e.program, "scripts/fig3.sh") && !strcmp(e.commit, "abc") && e.threads == 3,
           "program %s commit %s threads %ld", e.program, e.commit, e.threads);
    EXPECT(!strcmp(e.command, "QUICK=1 scripts/fig3.sh"), "command '%s'", e.command);
    EXPECT(!strcmp(rj_str(&rj, root, "data"), "mnist") && rj_int(&rj, root, "T") == 50 &&
               rj_num(&rj, root, "lr") == 0.02 && !rj.bad,
           "members typed: %s", rj.err.msg);
    rj_close(&rj);

    snprintf(args, sizeof args, "--out %s --program x --int T=5x -- a", out);
    r = run_prog(prog, args);
    EXPECT(r.status == 2 && strstr(r.err, "--int 'T=5x'"), "a bad integer: exit %d, %s",
           r.status, r.err);
    run_free(&r);
    snprintf(args, sizeof args, "--out %s --program x --int T=5 --str T=6 -- a", out);
    r = run_prog(prog, args);
    EXPECT(r.status == 2 && strstr(r.err, "given twice"), "a key twice: exit %d, %s", r.status,
           r.err);
    run_free(&r);
    snprintf(args, sizeof args, "--out %s --program x --str commit=y -- a", out);
    r = run_prog(prog, args);
    EXPECT(r.status == 2 && strstr(r.err, "envelope"), "an envelope key: exit %d, %s", r.status,
           r.err);
    run_free(&r);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_tables_are_the_json_numbers),
                              TEST(test_bad_fields_are_named), TEST(test_no_results_says_so),
                              TEST(test_manifest_writes_the_envelope)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
