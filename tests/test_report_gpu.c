/* test_report_gpu.c — the gpu renderer (bench/report_gpu.c) on fixture JSON
 * from scripts/bench-gpu.sh (tests/fixtures/report/gpu/): ran/ is a
 * REHEARSE=1 QUICK run of the fig2 part (gpu.json, gpu-fig2.json,
 * gpu-fig2-f32.json), skipped/ a run here without a GPU. Checks: the device
 * record's cells are gpu.json's strings, Figure 2's table is the runs'
 * numbers as formatted, a rehearsal says so first and makes no headline
 * while a GPU's run headlines its ceilings, a skip sets c->skipped with the
 * reason, a missing or mistyped field fails naming the file and the field,
 * and rendering twice gives the same bytes. */
#define _GNU_SOURCE /* open_memstream */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_fixture.h"
#include "test.h"

/* The fixture folder gpu/<which> (files_setup first: the renders write to
 * its temporary folder). */
static const char *fixtures(const char *which)
{
    files_setup("report-gpu");
    char name[64];
    snprintf(name, sizeof name, "gpu/%s", which);
    return fixture_dir(name);
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
    o.rc = render_into("gpu", results, &o.md, &o.c);
    return o;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(absent)";
}

/* The fixture `which` copied to a scratch folder `name`, `target` changed
 * by edit (NULL: none). */
static const char *copy(const char *which, const char *name, const char *target,
                        void (*edit)(json_t *))
{
    char section[64];
    snprintf(section, sizeof section, "gpu/%s", which);
    files_setup("report-gpu");
    return fixture_copy(section, name, (FixtureEdit){.target = edit ? target : NULL, .edit = edit});
}

static void test_rehearsal_tables_are_the_json_numbers(void)
{
    const char *dir = fixtures("ran");
    Out o = render(dir);
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    if (o.rc) { free(o.md); return; }
    json_t *g = fixture_load(dir, "gpu.json");
    char line[1024];
    const char *head = "## GPU\n\n**REHEARSAL on the CPU**";
    EXPECT(!strncmp(o.md, head, strlen(head)), "a rehearsal says so first");
    snprintf(line, sizeof line, "| device | %s |\n", str(g, "gpu"));
    EXPECT(strstr(o.md, line) != NULL, "device cell: %s", line);
    snprintf(line, sizeof line, "| host | %lld CPUs, %s |\n",
             json_integer_value(json_object_get(g, "host_cpus")), str(g, "host_cpu"));
    EXPECT(strstr(o.md, line) != NULL, "host cell: %s", line);
    snprintf(line, sizeof line, "Reproduce: `%s`", str(g, "command"));
    EXPECT(strstr(o.md, line) != NULL, "the script's command: %s", line);
    EXPECT(strstr(o.md, "Machine: ") != NULL, "provenance");
    /* Figure 2's first MSE row: W, float64's and float32's MSE(W) */
    json_t *f64 = fixture_load(dir, "gpu-fig2.json"), *f32 = fixture_load(dir, "gpu-fig2-f32.json");
    json_t *m64 = json_object_get(f64, "mse"), *m32 = json_object_get(f32, "mse");
    json_t *w = json_object_get(f64, "windows");
    EXPECT(json_array_size(m64) > 0 && json_array_size(w) > 0, "the fixture has MSE rows");
    snprintf(line, sizeof line, "### Figure 2 on the GPU\n");
    EXPECT(strstr(o.md, line) != NULL, "Figure 2's heading");
    snprintf(line, sizeof line, "| %lld | %.4g | ", json_integer_value(json_array_get(w, 0)),
             json_number_value(json_array_get(m64, 0)));
    EXPECT(strstr(o.md, line) != NULL, "MSE row: %s", line);
    /* after the bootstrap's interval and share (the file has per-seed values) */
    snprintf(line, sizeof line, "%% | %.4g |", json_number_value(json_array_get(m32, 0)));
    EXPECT(strstr(o.md, line) != NULL, "MSE row's float32 cell: %s", line);
    EXPECT(strstr(o.md, "/gpu-fig2.png)") != NULL, "the plot is linked");
    EXPECT(o.c.nheads == 0, "no headline from a rehearsal (%d)", o.c.nheads);
    /* the engines part: the GPU's first row with the CPU's time beside it */
    json_t *eg = fixture_load(dir, "gpu-engines-horizon-synthetic-f32-cuda.json");
    json_t *ec = fixture_load(dir, "gpu-engines-horizon-synthetic-f32-cpu.json");
    json_t *g0 = json_array_get(json_object_get(eg, "rows"), 0);
    json_t *c0 = json_array_get(json_object_get(ec, "rows"), 0);
    double t = json_number_value(json_object_get(g0, "time_s"));
    long long T = json_integer_value(json_object_get(g0, "T"));
    snprintf(line, sizeof line, "| %s | %lld | %lld | %.3f | %.3f | %.2f | %.3f | %.2f |",
             str(g0, "engine"), T, json_integer_value(json_object_get(g0, "K")), t, 1e3 * t / T,
             json_number_value(json_object_get(g0, "step_ratio_to_plain")),
             json_number_value(json_object_get(c0, "time_s")),
             json_number_value(json_object_get(c0, "time_s")) / t);
    EXPECT(strstr(o.md, line) != NULL, "engines row: %s", line);
    snprintf(line, sizeof line, "GPU plain step %.3f ms",
             1e3 * json_number_value(json_object_get(eg, "plain_step_s")));
    EXPECT(strstr(o.md, line) != NULL, "plain step: %s", line);
    json_decref(eg);
    json_decref(ec);
    /* the pytorch part: hgbench's rows, PyTorch's failure as recorded */
    json_t *hb = fixture_load(dir, "gpu-pytorch-hgbench-bptt-f64.json");
    t = json_number_value(json_object_get(hb, "time_s"));
    snprintf(line, sizeof line, "| hgbench bptt (GPU) | float64 | %.3f | %.2f | 0 |\n", t,
             1e3 * t / (double)json_integer_value(json_object_get(hb, "steps")));
    EXPECT(strstr(o.md, line) != NULL, "hgbench row: %s", line);
    json_t *pt = fixture_load(dir, "gpu-pytorch-f64.json");
    json_t *ag = json_object_get(json_object_get(pt, "methods"), "autograd");
    snprintf(line, sizeof line, "| PyTorch autograd (unrolled loop, GPU) | float64 | %.3f | %.2f |",
             json_number_value(json_object_get(ag, "time_s")),
             json_number_value(json_object_get(ag, "ms_per_step")));
    EXPECT(strstr(o.md, line) != NULL, "PyTorch's row: %s", line);
    json_decref(pt);
    json_decref(hb);
    /* the models part: the first op of the first model, float32 */
    json_t *mj = fixture_load(dir, "gpu-models-f32-b16.json");
    json_t *m0 = json_array_get(json_object_get(mj, "models"), 0);
    json_t *r0 = json_array_get(json_object_get(m0, "rows"), 0);
    snprintf(line, sizeof line, "| float32 | 16 | %s | %s |  | %.4g | %.3g | 0.000 |\n",
             str(m0, "model"), str(r0, "op"), json_number_value(json_object_get(r0, "median_ms")),
             json_number_value(json_object_get(r0, "gemm_gflops")) / 1000);
    EXPECT(strstr(o.md, line) != NULL, "models row: %s", line);
    /* the phases part: that model's first layer from its profile */
    json_t *l0 = json_array_get(json_object_get(json_object_get(m0, "profile"), "layers"), 0);
    snprintf(line, sizeof line, "| float32 | 16 | %s | 0 | %s | %.4f | %.4f |", str(m0, "model"),
             str(l0, "type"), json_number_value(json_object_get(l0, "forward_ms")),
             json_number_value(json_object_get(l0, "backward_ms")));
    EXPECT(strstr(o.md, line) != NULL, "profile row: %s", line);
    json_decref(mj);
    /* the conv part: the first row, one path (the fake device's) */
    json_t *cj = fixture_load(dir, "gpu-conv-f32.json");
    json_t *c0r = json_array_get(json_object_get(cj, "rows"), 0);
    snprintf(line, sizeof line, "| float32 | %s | %lld | %s | %lld | %.4f | skipped |  |\n",
             str(c0r, "layer"), json_integer_value(json_object_get(c0r, "n")), str(c0r, "op"),
             json_integer_value(json_object_get(c0r, "kc")),
             json_number_value(json_object_get(c0r, "median_ms")));
    EXPECT(strstr(o.md, line) != NULL, "conv row: %s", line);
    json_decref(cj);
    EXPECT(o.c.skipped[0] == '\0', "not skipped: %s", o.c.skipped);
    json_decref(f64);
    json_decref(f32);
    json_decref(g);
    Out again = render(dir);
    EXPECT(again.rc == 0 && !strcmp(o.md, again.md), "rendering twice gives the same bytes");
    free(again.md);
    free(o.md);
}

/* The rehearsal's record as a GPU's would read. */
static void as_gpu(json_t *j)
{
    json_object_set_new(j, "rehearsal", json_integer(0));
    json_object_set_new(j, "gpu", json_string("NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)"));
    json_object_set_new(j, "sgemm", json_string("51.3 TFLOP/s"));
    json_object_set_new(j, "dgemm", json_string("49.9 TFLOP/s"));
}

static void test_gpu_run_headlines_its_ceilings(void)
{
    Out o = render(copy("ran", "as-gpu", "gpu.json", as_gpu));
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    EXPECT(o.md && !strstr(o.md, "REHEARSAL"), "no rehearsal note");
    EXPECT(o.md && strstr(o.md, "| float32 GEMM ceiling | 51.3 TFLOP/s |\n"), "ceiling cell");
    int found = 0;
    for (int i = 0; i < o.c.nheads; i++)
        found |= strstr(o.c.heads[i].text, "51.3 TFLOP/s") && strstr(o.c.heads[i].text, "49.9");
    EXPECT(found, "a headline has the ceilings (%d headlines)", o.c.nheads);
    free(o.md);
}

/* The rehearsal as a GPU's run; test_pytorch_pair replaces the PyTorch
 * float32 result with one made from hgbench's bptt run: autograd at 2 s,
 * the same hypergradient, on a named GPU. */
static void as_gpu_run(json_t *j)
{
    json_object_set_new(j, "rehearsal", json_integer(0));
}

static void test_pytorch_pair(void)
{
    const char *dir = copy("ran", "pytorch", "gpu.json", as_gpu_run);
    json_t *hb = fixture_load(dir, "gpu-pytorch-hgbench-bptt-f32.json");
    json_t *pt = json_object(), *methods = json_object(), *m = json_object();
    json_object_set_new(m, "status", json_string("ok"));
    json_object_set_new(m, "time_s", json_real(2.0));
    json_object_set_new(m, "ms_per_step", json_real(200.0));
    json_object_set(m, "hypergrad", json_object_get(json_object_get(hb, "hypergrad"), "lr"));
    json_object_set_new(methods, "autograd", m);
    json_object_set_new(pt, "methods", methods);
    json_object_set_new(pt, "gpu", json_string("NVIDIA H100"));
    char path[4400];
    snprintf(path, sizeof path, "%s/gpu-pytorch-f32.json", dir);
    HG_CHECK(json_dump_file(pt, path, 0) == 0, "%s", path);
    json_decref(pt);
    Out o = render(dir);
    EXPECT(o.rc == 0, "renders: %s", o.c.err.msg);
    double t = json_number_value(json_object_get(hb, "time_s"));
    double ms = 1e3 * t / (double)json_integer_value(json_object_get(hb, "steps"));
    char line[512];
    snprintf(line, sizeof line, "| PyTorch autograd (unrolled loop, GPU) | float32 | 2.000 | 200.00 | 0 |\n");
    EXPECT(o.md && strstr(o.md, line), "PyTorch's row: %s", line);
    snprintf(line, sizeof line, "| float32 | bptt | %.2f | autograd | 200.00 | %.2fx |\n", ms,
             200.0 / ms);
    EXPECT(o.md && strstr(o.md, line), "the pair: %s", line);
    EXPECT(o.md && strstr(o.md, "PyTorch's device: NVIDIA H100."), "PyTorch's device");
    snprintf(line, sizeof line, "PyTorch autograd takes %.2fx hgbench bptt's time per inner step "
             "(float32, 200.00 against %.2f ms", 200.0 / ms, ms);
    int found = 0;
    for (int i = 0; i < o.c.nheads; i++) found |= strstr(o.c.heads[i].text, line) != NULL;
    EXPECT(found, "a headline has '%s'", line);
    json_decref(hb);
    free(o.md);
}

static void test_skip_says_why(void)
{
    const char *dir = fixtures("skipped");
    json_t *g = fixture_load(dir, "gpu.json");
    Out o = render(dir);
    char line[1024];
    snprintf(line, sizeof line, "**skipped**: %s\n", str(g, "skipped"));
    EXPECT(o.rc == 0 && o.md && strstr(o.md, line), "the reason: %s", o.md ? o.md : "");
    EXPECT(!strncmp(o.c.skipped, str(g, "skipped"), sizeof o.c.skipped - 1), "c->skipped: %s",
           o.c.skipped);
    json_decref(g);
    free(o.md);

    files_setup("report-gpu");
    char *empty = files_tmp("empty");
    mkdir(empty, 0777);
    o = render(empty);
    EXPECT(o.rc == 0 && o.c.skipped[0] && o.md && strstr(o.md, "**not run**"),
           "no gpu.json: not run, skipped: %s", o.md ? o.md : "");
    free(o.md);
}

static void drop_parts(json_t *j)
{
    json_object_del(j, "parts");
}

static void mistype_host_cpus(json_t *j)
{
    json_object_set_new(j, "host_cpus", json_string("two"));
}

static void drop_seeds_ok(json_t *j)
{
    json_object_del(j, "seeds_ok");
}

static void mistype_time(json_t *j)
{
    json_object_set_new(json_array_get(json_object_get(j, "rows"), 1), "time_s",
                        json_string("fast"));
}

static void test_bad_fields_are_named(void)
{
    Out o = render(copy("ran", "missing", "gpu.json", drop_parts));
    EXPECT(o.rc == -1, "a missing field fails");
    EXPECT(strstr(o.c.err.msg, "gpu.json") && strstr(o.c.err.msg, "'parts' is missing"),
           "names the file and field: %s", o.c.err.msg);
    free(o.md);

    o = render(copy("ran", "mistyped", "gpu.json", mistype_host_cpus));
    EXPECT(o.rc == -1, "a field of the wrong type fails");
    EXPECT(strstr(o.c.err.msg, "gpu.json") && strstr(o.c.err.msg, "'host_cpus'"),
           "names the file and field: %s", o.c.err.msg);
    free(o.md);

    o = render(copy("ran", "fig2-missing", "gpu-fig2.json", drop_seeds_ok));
    EXPECT(o.rc == -1, "a missing field of Figure 2's run fails");
    EXPECT(strstr(o.c.err.msg, "gpu-fig2.json") && strstr(o.c.err.msg, "'seeds_ok'"),
           "names the file and field: %s", o.c.err.msg);
    free(o.md);

    o = render(copy("ran", "engines-mistyped", "gpu-engines-horizon-synthetic-f32-cuda.json",
                    mistype_time));
    EXPECT(o.rc == -1, "a mistyped engines row fails");
    EXPECT(strstr(o.c.err.msg, "gpu-engines-horizon-synthetic-f32-cuda.json") &&
               strstr(o.c.err.msg, "rows[1]") && strstr(o.c.err.msg, "'time_s'"),
           "names the file, row and field: %s", o.c.err.msg);
    free(o.md);

    o = render(copy("skipped", "skip-mistyped", "gpu.json", mistype_host_cpus));
    EXPECT(o.rc == 0, "a skip reads no device record");
    free(o.md);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_rehearsal_tables_are_the_json_numbers),
                              TEST(test_gpu_run_headlines_its_ceilings), TEST(test_pytorch_pair),
                              TEST(test_skip_says_why),
                              TEST(test_bad_fields_are_named)};
    const int rc = test_main(tests, ARRAY_LEN(tests), argc, argv);
    files_cleanup();
    return rc;
}
