/* test_report_runs.c — hgbench-runs (bench/runs_collect.c), which collects a
 * section's single hgbench hypergrad --json runs into one result file with
 * the envelope, and the window sums of report_runs.h's lr error. Checks: a
 * run's JSON kept as it is (a seed past 2^63 kept exactly, as a string), a
 * skipped run, a failed run's reason (the last line of its .err, the memory
 * estimate and the program's prefix left out), a run that left nothing, the
 * params (numbers as numbers), the command after `--`, bad flags; --drop's
 * paths (a.b, a[].b); --slim, its preset, leaving out an hpo log's per-step
 * theta and hypergrad and its outer_state and best's and final's schedules
 * (their theta kept, the run's own file untouched); and the relative error and cosine of a 2-window g against a 4-step reference. */
#define _GNU_SOURCE /* open_memstream */
#include <math.h>

#include "../bench/report_runs.h"
#include "report_fixture.h"
#include "test.h"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    HG_CHECK(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static const char *collector(void)
{
    static char path[sizeof files_bin_dir + 32];
    snprintf(path, sizeof path, "%s/../hgbench-runs", files_bin_dir);
    return path;
}

static void test_collect(void)
{
    files_setup("report-runs");
    char dir[1024], p[1200];
    snprintf(dir, sizeof dir, "%s", files_tmp("runs"));
    mkdir(dir, 0777);
    snprintf(p, sizeof p, "%s/T4-f64-bptt.json", dir);
    write_text(p, "{\"engine\": \"bptt\", \"perturb_seed\": 13738701848656184382, "
                  "\"batch_seed\": 7, \"hypergrad\": {\"lr\": [1, 2, 3, 4]}, \"val_loss\": 0.5}\n");
    snprintf(p, sizeof p, "%s/T4-f64-forward-N100.json.err", dir);
    write_text(p, "skipped: N T = 400 > FWD_MAX_NT = 100\n");
    snprintf(p, sizeof p, "%s/T4-f32-bptt.json.err", dir);
    write_text(p, "hgbench hypergrad: bptt memory estimate: 0.1 GiB\n"
                  "hgbench hypergrad: the inner run diverged at step 3\n");
    char out[1200], args[4096];
    snprintf(out, sizeof out, "%s/atlas.json", files_tmp_dir());
    snprintf(args, sizeof args,
             "--program bench-atlas --out %s --dir %s --runs T4-f64-bptt,T4-f64-forward-N100,"
             "T4-f32-bptt,T4-f32-hd --commit abc --threads 2 --param hd_rate=1e-5 "
             "--param horizons=4,8 -- QUICK=1 bash scripts/bench-atlas.sh", out, dir);
    Run r = run_prog(collector(), args);
    EXPECT(r.status == 0, "hgbench-runs exit %d: %s", r.status, r.err);
    run_free(&r);
    json_error_t e;
    json_t *root = json_load_file(out, 0, &e);
    EXPECT(root, "%s: %s", out, e.text);
    if (!root) return;
    EXPECT(!strcmp(json_string_value(json_object_get(root, "schema")), "hgbench-results/1") &&
               !strcmp(json_string_value(json_object_get(root, "command")),
                       "QUICK=1 bash scripts/bench-atlas.sh") &&
               !strcmp(json_string_value(json_object_get(root, "commit")), "abc") &&
               json_integer_value(json_object_get(root, "threads")) == 2,
           "envelope");
    json_t *params = json_object_get(root, "params");
    EXPECT(json_real_value(json_object_get(params, "hd_rate")) == 1e-5 &&
               !strcmp(json_string_value(json_object_get(params, "horizons")), "4,8"),
           "params: a number, and a list kept as a string");
    json_t *rows = json_object_get(root, "rows");
    EXPECT(json_array_size(rows) == 4, "one row per run named, got %zu", json_array_size(rows));
    json_t *run = json_object_get(json_array_get(rows, 0), "run");
    EXPECT(run && !strcmp(json_string_value(json_object_get(run, "perturb_seed")),
                          "13738701848656184382") &&
               json_integer_value(json_object_get(run, "batch_seed")) == 7 &&
               json_array_size(json_object_get(json_object_get(run, "hypergrad"), "lr")) == 4,
           "the run as it is, a seed past 2^63 as its decimal string");
    json_t *skip = json_array_get(rows, 1), *fail = json_array_get(rows, 2),
           *none = json_array_get(rows, 3);
    EXPECT(!strcmp(json_string_value(json_object_get(skip, "status")), "skipped") &&
               !strcmp(json_string_value(json_object_get(skip, "reason")),
                       "N T = 400 > FWD_MAX_NT = 100"),
           "skipped row");
    EXPECT(!strcmp(json_string_value(json_object_get(fail, "status")), "failed") &&
               !strcmp(json_string_value(json_object_get(fail, "reason")),
                       "the inner run diverged at step 3"),
           "failed row: %s", json_string_value(json_object_get(fail, "reason")));
    EXPECT(!strcmp(json_string_value(json_object_get(none, "status")), "failed") &&
               strstr(json_string_value(json_object_get(none, "reason")), "no result and no log"),
           "a run that left nothing");
    json_decref(root);

    /* --drop: the members named are left out of every run, the rest kept */
    snprintf(args, sizeof args, "--program x --out %s --dir %s --runs T4-f64-bptt "
             "--drop outer_state,hypergrad.lr,val_loss.x -- x", out, dir);
    r = run_prog(collector(), args);
    EXPECT(r.status == 0, "--drop: exit %d: %s", r.status, r.err);
    run_free(&r);
    root = json_load_file(out, 0, &e);
    run = json_object_get(json_array_get(json_object_get(root, "rows"), 0), "run");
    json_t *hg = json_object_get(run, "hypergrad");
    EXPECT(run && hg && !json_object_get(hg, "lr") && json_object_get(run, "val_loss") &&
               json_object_get(run, "engine") &&
               !strcmp(json_string_value(json_object_get(json_object_get(root, "params"),
                                                         "dropped")), "outer_state,hypergrad.lr,val_loss.x"),
           "--drop: hypergrad.lr left out (hypergrad kept), a.b of a number ignored, the rest "
           "kept, the params say so");
    json_decref(root);

    r = run_prog(collector(), "--program x --out /dev/null --dir . --runs a");
    EXPECT(r.status == 2 && strstr(r.err, "-- COMMAND is required"), "no command: %d %s",
           r.status, r.err);
    run_free(&r);
    r = run_prog(collector(), "--program x --out /dev/null --dir . --runs a --param nokey -- x");
    EXPECT(r.status == 2 && strstr(r.err, "--param: 'nokey' is not KEY=VALUE"), "bad param: %s",
           r.err);
    run_free(&r);
}

static void test_slim(void)
{
    files_setup("report-runs");
    char dir[1024], p[1200];
    snprintf(dir, sizeof dir, "%s", files_tmp("slim"));
    mkdir(dir, 0777);
    snprintf(p, sizeof p, "%s/weight-r0.json", dir);
    const char *log = "{\"command\": \"hpo\", \"outer_state\": {\"theta\": {\"wd\": [1, 2]}},\n"
                      " \"log\": [{\"outer\": 0, \"val_acc\": 0.5, \"theta\": {\"wd\": [1, 1]},\n"
                      "  \"hypergrad\": {\"wd\": [3, 4]}}, {\"outer\": 1, \"val_acc\": 0.6}],\n"
                      " \"best\": {\"outer\": 1, \"theta\": {\"wd\": [1, 2]}, \"schedule\": {\"wd\": [1]}},\n"
                      " \"final\": {\"outer\": 1, \"theta\": {\"wd\": [1, 2]}}}\n";
    write_text(p, log);
    char out[1200], args[4096];
    snprintf(out, sizeof out, "%s/slim.json", files_tmp_dir());
    snprintf(args, sizeof args, "--program x --out %s --dir %s --runs weight-r0 --slim -- x", out, dir);
    Run r = run_prog(collector(), args);
    EXPECT(r.status == 0, "hgbench-runs --slim exit %d: %s", r.status, r.err);
    run_free(&r);
    json_error_t e;
    json_t *root = json_load_file(out, 0, &e);
    EXPECT(root, "%s: %s", out, e.text);
    if (!root) return;
    json_t *run = json_object_get(json_array_get(json_object_get(root, "rows"), 0), "run");
    json_t *e0 = json_array_get(json_object_get(run, "log"), 0);
    EXPECT(run && !json_object_get(run, "outer_state"), "outer_state left out");
    EXPECT(e0 && !json_object_get(e0, "theta") && !json_object_get(e0, "hypergrad") &&
               json_real_value(json_object_get(e0, "val_acc")) == 0.5 &&
               json_array_size(json_object_get(run, "log")) == 2,
           "log entries kept without theta and hypergrad");
    EXPECT(json_array_size(json_object_get(json_object_get(json_object_get(run, "best"), "theta"),
                                           "wd")) == 2 &&
               json_object_get(json_object_get(run, "final"), "theta") &&
               !json_object_get(json_object_get(run, "best"), "schedule"),
           "best's and final's theta kept, best's schedule left out");
    const char *dropped = json_string_value(json_object_get(json_object_get(root, "params"), "dropped"));
    EXPECT(dropped && !strcmp(dropped, "outer_state,log[].theta,log[].hypergrad,best.schedule,"
                                       "final.schedule"),
           "--slim is a --drop preset, and the params say what it dropped: %s", dropped);
    json_decref(root);
    /* --drop's a[].b path: a member of each element; with --slim, both lists */
    snprintf(args, sizeof args, "--program x --out %s --dir %s --runs weight-r0 --drop "
             "log[].val_acc,best,final.x.y --slim -- x", out, dir);
    r = run_prog(collector(), args);
    EXPECT(r.status == 0, "--drop log[].val_acc --slim: exit %d: %s", r.status, r.err);
    run_free(&r);
    root = json_load_file(out, 0, &e);
    run = json_object_get(json_array_get(json_object_get(root, "rows"), 0), "run");
    e0 = json_array_get(json_object_get(run, "log"), 0);
    json_t *e1 = json_array_get(json_object_get(run, "log"), 1);
    EXPECT(e0 && e1 && !json_object_get(e0, "val_acc") && !json_object_get(e1, "val_acc") &&
               json_integer_value(json_object_get(e1, "outer")) == 1 &&
               !json_object_get(e0, "theta") && !json_object_get(run, "best") &&
               json_object_get(json_object_get(run, "final"), "theta"),
           "--drop log[].val_acc,best with --slim: each entry's val_acc and best left out, the "
           "slim keys too, final kept");
    json_decref(root);
    snprintf(args, sizeof args, "--program x --out %s --dir %s --runs= --param state=skipped -- x", out, dir);
    r = run_prog(collector(), args);
    EXPECT(r.status == 0, "empty --runs: exit %d: %s", r.status, r.err);
    run_free(&r);
    root = json_load_file(out, 0, &e);
    EXPECT(root && json_array_size(json_object_get(root, "rows")) == 0 &&
               !strcmp(json_string_value(json_object_get(json_object_get(root, "params"), "state")),
                       "skipped"),
           "empty --runs: no rows, the params kept");
    json_decref(root);
    size_t n;
    char *kept = files_slurp(p, &n);
    EXPECT(kept && !strcmp(kept, log), "the run's own file untouched");
    free(kept);
}

/* g (2 windows) against a 4-step reference: g* = (1 + 2, 3 + 4) = (3, 7). */
static void test_window_error(void)
{
    files_setup("report-runs");
    const char *path = files_tmp("err.json");
    write_text(path, "{\"schema\": \"hgbench-results/1\", \"params\": {}, \"rows\": [],\n"
                     " \"ref\": {\"hypergrad\": {\"lr\": [1, 2, 3, 4]}},\n"
                     " \"g\": {\"hypergrad\": {\"lr\": [3, 8]}},\n"
                     " \"long\": {\"hypergrad\": {\"lr\": [1, 2, 3, 4, 5]}}}\n");
    RunsFile f;
    memset(&f, 0, sizeof f);
    f.root = rj_load(&f.r, path);
    f.rows = json_object_get(f.root, "rows");
    double rel, cosine;
    long n;
    int rc = runs_lr_error(&f, "ref", json_object_get(f.root, "ref"), "g",
                           json_object_get(f.root, "g"), "hypergrad", &rel, &cosine, &n);
    EXPECT(rc == 0 && n == 2, "rc %d n %ld", rc, n);
    /* |(0, 1)| / |(3, 7)| and (9 + 56) / (|(3, 8)| |(3, 7)|) */
    EXPECT(fabs(rel - 1 / sqrt(58.0)) < 1e-15, "rel %g", rel);
    EXPECT(fabs(cosine - 65 / sqrt(73.0 * 58.0)) < 1e-15, "cosine %g", cosine);
    rc = runs_lr_error(&f, "ref", json_object_get(f.root, "ref"), "long",
                       json_object_get(f.root, "long"), "hypergrad", &rel, &cosine, &n);
    EXPECT(rc == -1 && strstr(f.r.err.msg, "more than the reference's 4"), "longer g: %s",
           f.r.err.msg);
    rj_close(&f.r);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_collect), TEST(test_slim), TEST(test_window_error)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
