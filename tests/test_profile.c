/* test_profile.c — the per-layer profile and the engines' phases
 * (backend/stopwatch.h), on the host clock and through the Backend's timer
 * ops: a fake "device" (the CPU backend with host-clock timer ops that add
 * nothing until a flush) stands in for CUDA's events, so the device path of
 * net.c and engine.c runs here too. Checked: every time is finite and >= 0,
 * a profile's or a run's parts sum to no more than the wall time around
 * them (they are disjoint pieces of it) and to more than 0; marks go to the
 * device only while asked for; the same bytes with and without them; the
 * programs print the phases (hgbench-report's gpu section tables them from
 * the JSON: tests/test_report_gpu.c). Timings are printed, never held to a
 * speed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../common/mem.h"
#include "../common/timer.h"
#include "../engines/engine.h"
#include "support_files.h"
#include "support_models.h"
#include "test.h"

/* ---- the fake device: segments held pending until a flush ---- */
enum { FAKE_PENDING = 4096 };
struct DevTimer {
    double t[FAKE_PENDING];
    double *acc[FAKE_PENDING];
    int count;
};
static long fake_marks, fake_timers; /* marks made; timers alive */

static DevTimer *fake_new(void)
{
    fake_timers++;
    return mem_alloc(MEM_OTHER, sizeof(DevTimer));
}

static void fake_flush(DevTimer *d)
{
    for (int i = 0; i + 1 < d->count; i++)
        if (d->acc[i])
            *d->acc[i] += d->t[i + 1] - d->t[i];
    if (d->count > 0) { /* the newest mark may hold an open segment */
        d->t[0] = d->t[d->count - 1];
        d->acc[0] = d->acc[d->count - 1];
        d->count = d->acc[0] != NULL;
    }
}

static void fake_mark(DevTimer *d, double *acc)
{
    fake_marks++;
    if (d->count == FAKE_PENDING)
        fake_flush(d);
    d->t[d->count] = now_s();
    d->acc[d->count++] = acc;
}

static void fake_free(DevTimer *d)
{
    fake_flush(d);
    fake_timers--;
    mem_free(d);
}

static Backend fake;
static const Backend *fake_device(void)
{
    fake = BACKEND_CPU;
    fake.name = "fake-device";
    fake.timer.timer_new = fake_new;
    fake.timer.timer_mark = fake_mark;
    fake.timer.timer_flush = fake_flush;
    fake.timer.timer_free = fake_free;
    return &fake;
}

/* ---- the profile ---- */

typedef struct Profile {
    double sec[PASS_COUNT][MODEL_MAX_LAYERS];
    long calls[PASS_COUNT];
    double wall; /* around the calls */
} Profile;

/* calls x loss_grad, then calls x hvp, profiled from a reset. */
static void take_profile(ModelCase *c, int calls, real *g, real *V, real *HV, Profile *p)
{
    model_profile_reset(c->m);
    const double t0 = now_s();
    for (int i = 0; i < calls; i++) {
        model_loss_grad(c->m, c->w, c->x, c->y, c->n, g);
        model_hvp(c->m, c->w, c->x, c->y, c->n, V, HV);
    }
    p->wall = now_s() - t0;
    model_profile(c->m, p->sec, p->calls);
}

/* Every entry finite and >= 0 (0 past the last layer), their sum in
 * (0, wall], every pass counted. */
static void check_profile(const Model *m, const Profile *p, int calls, const char *what)
{
    double sum = 0;
    int bad = 0;
    for (int q = 0; q < PASS_COUNT; q++)
        for (int l = 0; l < MODEL_MAX_LAYERS; l++) {
            const double s = p->sec[q][l];
            bad += !(isfinite(s) && s >= 0) || (l >= m->nlayers && s != 0);
            sum += s;
        }
    printf("# %s: profile sums to %.4g s of %.4g s wall (%.0f%%)\n", what, sum, p->wall,
           100 * sum / p->wall);
    EXPECT(!bad, "%s: %d profile entries not finite, negative, or past the last layer", what,
           bad);
    EXPECT(sum > 0 && sum <= p->wall, "%s: the profile sums to %.6g s, wall %.6g s", what, sum,
           p->wall);
    EXPECT(p->calls[PASS_FORWARD] == 2 * calls && p->calls[PASS_BACKWARD] == 2 * calls &&
               p->calls[PASS_RFORWARD] == calls && p->calls[PASS_RBACKWARD] == calls,
           "%s: passes counted %ld %ld %ld %ld for %d loss_grad + %d hvp", what,
           p->calls[PASS_FORWARD], p->calls[PASS_BACKWARD], p->calls[PASS_RFORWARD],
           p->calls[PASS_RBACKWARD], calls, calls);
}

static void test_profile_host(void)
{
    ModelCase c = model_case_make(test_model("lenet"), 16, 1);
    const long P = c.m->nparams;
    real *g = mem_alloc(MEM_OTHER, sizeof(real) * P), *V = mem_alloc(MEM_OTHER, sizeof(real) * P);
    real *HV = mem_alloc(MEM_OTHER, sizeof(real) * P);
    random_unit(V, P, 2);
    Profile p;
    take_profile(&c, 3, g, V, HV, &p);
    check_profile(c.m, &p, 3, "lenet, host clock");
    EXPECT(model_profile_on_device(c.m, 1) == 0, "the CPU backend has no device time");
    take_profile(&c, 2, g, V, HV, &p);
    check_profile(c.m, &p, 2, "lenet, host clock after asking for the device");
    mem_free(g);
    mem_free(V);
    mem_free(HV);
    model_case_free(&c);
}

static void test_profile_fake_device(void)
{
    ModelCase c = model_case_make(test_model("lenet"), 16, 1);
    const long P = c.m->nparams;
    real *g0 = mem_alloc(MEM_OTHER, sizeof(real) * P), *g1 = mem_alloc(MEM_OTHER, sizeof(real) * P);
    real *V = mem_alloc(MEM_OTHER, sizeof(real) * P), *HV0 = mem_alloc(MEM_OTHER, sizeof(real) * P);
    real *HV1 = mem_alloc(MEM_OTHER, sizeof(real) * P);
    random_unit(V, P, 2);
    Profile p;
    take_profile(&c, 2, g0, V, HV0, &p); /* the CPU's bytes */

    model_set_backend(c.m, fake_device());
    const long timers = fake_timers;
    EXPECT(model_profile_on_device(c.m, 1) == 1 && fake_timers == timers + 1,
           "a backend with timer ops gives device time");
    fake_marks = 0;
    take_profile(&c, 2, g1, V, HV1, &p);
    check_profile(c.m, &p, 2, "lenet, fake device");
    /* a mark per layer and one closing the pass: the two forward passes of
     * each of the 2 calls alone make 4 (nlayers + 1) */
    EXPECT(fake_marks >= 4 * (c.m->nlayers + 1), "marks went to the device: %ld", fake_marks);
    EXPECT(!memcmp(g0, g1, sizeof(real) * P) && !memcmp(HV0, HV1, sizeof(real) * P),
           "the same bytes with the device's marks");

    EXPECT(model_profile_on_device(c.m, 0) == 0 && fake_timers == timers,
           "back on the host clock, the timer let go");
    fake_marks = 0;
    take_profile(&c, 1, g1, V, HV1, &p);
    EXPECT(fake_marks == 0, "no mark on the device unless asked: %ld", fake_marks);
    check_profile(c.m, &p, 1, "lenet, fake device, host clock");

    model_profile_on_device(c.m, 1);
    model_set_backend(c.m, &BACKEND_CPU); /* the work is rebuilt: its timer goes */
    EXPECT(fake_timers == timers, "model_set_backend lets the timer go");
    mem_free(g0);
    mem_free(g1);
    mem_free(V);
    mem_free(HV0);
    mem_free(HV1);
    model_case_free(&c);
}

/* ---- the engines' phases ---- */

static void check_phases(const EngineResult *r, const EngineOps *ops, const char *where)
{
    double sum = 0;
    int bad = 0;
    for (int p = 0; p < ENGINE_PHASES; p++) {
        bad += !(isfinite(r->phase_s[p]) && r->phase_s[p] >= 0);
        sum += r->phase_s[p];
    }
    printf("# %s %s: inner %.4g s, validation %.4g s, hypergrad %.4g s: %.0f%% of %.4g s\n",
           ops->name, where, r->phase_s[ENGINE_PHASE_INNER],
           r->phase_s[ENGINE_PHASE_VALIDATION], r->phase_s[ENGINE_PHASE_HYPERGRAD],
           100 * sum / r->time_s, r->time_s);
    EXPECT(!bad, "%s %s: a phase time not finite or negative", ops->name, where);
    EXPECT(sum > 0 && sum <= r->time_s, "%s %s: phases sum to %.6g s of %.6g s", ops->name,
           where, sum, r->time_s);
    EXPECT(r->phase_s[ENGINE_PHASE_INNER] > 0 && r->phase_s[ENGINE_PHASE_VALIDATION] > 0,
           "%s %s: the inner run and the validation set timed", ops->name, where);
    EXPECT(!ops->reverse || r->phase_s[ENGINE_PHASE_HYPERGRAD] > 0,
           "%s %s: the reverse pass timed", ops->name, where);
    EXPECT(r->phase_clock == NULL, "%s %s: no clock left in the result", ops->name, where);
}

static int run(EngineCase *c, const EngineOps *ops, EngineResult *r)
{
    HgErr err = {{0}};
    EngineConfig cfg = {.prob = &c->prob, .layout = &c->layout, .sched = &c->sched,
                        .opt.checkpoints = engine_takes(ops, "--checkpoints") ? 2 : 0};
    const int rc = engine_run(ops, &cfg, r, &err);
    EXPECT(rc == 0, "%s: %s", ops->name, err.msg);
    return rc;
}

static void test_engine_phases(void)
{
    EngineCase c;
    engine_case_make(&c, "mlp-relu", 8 * 16 + 32, 32, 6, (int[]){2, 1, 0}, 0, 16, 0);
    for (int i = 0; engine_at(i); i++) {
        const EngineOps *ops = engine_at(i);
        EngineResult host, dev;
        model_set_backend(c.model, &BACKEND_CPU);
        if (run(&c, ops, &host))
            continue;
        EXPECT(host.phase_device == 0, "%s: host phases on the CPU", ops->name);
        check_phases(&host, ops, "host clock");
        model_set_backend(c.model, fake_device());
        const long timers = fake_timers;
        fake_marks = 0;
        if (!run(&c, ops, &dev)) {
            EXPECT(dev.phase_device == 1 && fake_marks >= 3 && fake_timers == timers,
                   "%s: phases by the device's marks (%ld), timer let go", ops->name,
                   fake_marks);
            check_phases(&dev, ops, "fake device");
            EXPECT(!memcmp(host.hypergrad, dev.hypergrad, sizeof(double) * host.N) &&
                       host.val_loss == dev.val_loss,
                   "%s: the same bytes with the device's marks", ops->name);
            engine_result_free(&dev);
        }
        engine_result_free(&host);
    }
    model_set_backend(c.model, &BACKEND_CPU);
    engine_case_free(&c);
}

/* hgbench hypergrad --json and hgbench-engines --out give the phases. */
static void test_programs_print_phases(void)
{
    files_setup("profile");
    char args[8192];
    const char *json = files_tmp("run.json"), *eng = files_tmp("engines.txt");
    snprintf(args, sizeof args, "hypergrad --engine bptt --model logreg --data synthetic:16 "
             "--steps 4 --batch 8 --val 16 --threads 1 --json %s", json);
    Run r = run_bin("hgbench", args);
    EXPECT(r.status == 0 && strstr(r.out, "phases      inner "), "hgbench hypergrad: exit %d: %s",
           r.status, r.err);
    run_free(&r);
    char *j = files_slurp(json, NULL);
    EXPECT(j && strstr(j, "\"inner_time_s\":") && strstr(j, "\"validation_time_s\":") &&
               strstr(j, "\"hypergrad_time_s\":") && strstr(j, "\"phase_clock\": \"host\""),
           "the run's JSON holds its phases");
    free(j);
    snprintf(args, sizeof args, "--engines bptt,greedy --model logreg --data synthetic:16 "
             "--steps 4 --lr-windows 2 --batch 8 --val 16 --plain-repeats 1 --threads 1 --out %s",
             eng);
    r = run_bin("hgbench-engines", args);
    EXPECT(r.status == 0, "hgbench-engines: exit %d: %s", r.status, r.err);
    run_free(&r);
    char *e = files_slurp(eng, NULL);
    EXPECT(e && strstr(e, "\n# phases bptt T=4 K=2: inner ") &&
               strstr(e, "\n# phases greedy T=4 K=2: inner "), "hgbench-engines prints phases");
    free(e);
    files_cleanup();
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {TEST(test_profile_host), TEST(test_profile_fake_device),
                                     TEST(test_engine_phases), TEST(test_programs_print_phases)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
