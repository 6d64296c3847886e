/* test_gpu.c — the engines on the CUDA backend (make test-gpu), through
 * the problem layer (--device cuda: data and w0 uploaded once):
 *   - bptt and forward agree to GPU_AGREE and bptt and reversible to
 *     GPU_REVERSIBLE (float64: 1e-9 and 1e-7, normalised max error);
 *   - a central finite difference of f in the learning rate (a smooth
 *     model, float64) agrees with the engines to FD_TOL;
 *   - the reversible engine restores w_0 bit for bit (it checks itself and
 *     fails otherwise; a planted flip must make it fail);
 *   - the GPU's hypergradients against the CPU's in float64 within CPU_TOL
 *     (the same sums in other orders, through T steps);
 *   - one seed gives the same bytes on two GPU runs;
 *   - bptt on each conv path (cuDNN, im2col + cuBLAS; on the fake device
 *     the CPU's: ours, and oneDNN's where built in) against the CPU;
 *   - the per-layer profile by CUDA events and bptt's phases: finite,
 *     positive, within the wall time around them, and the same bytes with
 *     the marks as without.
 * Without a usable GPU it prints one line, "cuda: skipped: <why>", and
 * runs every test on the strict fake device instead (HG_FAKE_DEVICE=strict:
 * the CPU's kernels, device memory closed to the host outside backend ops),
 * so that a host access to device memory fails here on the CPU, not on a
 * lent GPU; the tests a fake device cannot run (CUDA events; conv paths
 * where the CPU has one)
 * say so. With HG_REQUIRE_GPU=1 (make test-gpu) it exits 2 instead.
 * No GPU has run it yet: the tolerances are the CPU's agreement bounds
 * (tests/test_engines.c) and have not been measured on a device.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h"
#include "../backend/fake_device.h"
#include "../common/timer.h"
#include "../engines/engine.h"
#include "../harness/problem.h"
#include "support_device.h"
#include "test.h"

#ifdef HG_F64
#define GPU_AGREE 1e-9
#define GPU_REVERSIBLE 1e-7
#define CPU_TOL 1e-8
#else
#define GPU_AGREE 1e-3
#define GPU_REVERSIBLE 1e-3
#define CPU_TOL 1e-2
#endif
#define FD_TOL 1e-5

enum { T = 6 };

static const Backend *gpu;

typedef struct Setup {
    Problem pb;
    HyperLayout layout;
    Schedule sched;
} Setup;

static int setup(Setup *s, const char *model, const char *device)
{
    HgErr err = {{0}};
    ProblemSpec spec = problem_spec_defaults();
    spec.model = model;
    spec.data = "synthetic";
    spec.device = device;
    spec.steps = T;
    spec.batch = 32;
    spec.val = 200;
    spec.seed = 3;
    memset(s, 0, sizeof *s);
    if (problem_load(&spec, &s->pb, &err) ||
        hyper_layout_init(&s->layout, T, (int[]){T, T, 1}, &err) ||
        schedule_init(&s->sched, T, SCHEDULE_COSINE, 0.05, 0.9, 1e-3, 0, &err)) {
        test_fail_at(__FILE__, __LINE__, "setup %s on %s: %s", model, device, err.msg);
        return -1;
    }
    return 0;
}

static void setup_free(Setup *s)
{
    schedule_free(&s->sched);
    problem_free(&s->pb);
}

static int run(const Setup *s, const EngineOps *ops, EngineResult *r)
{
    HgErr err = {{0}};
    EngineConfig cfg = {.prob = &s->pb.inner, .layout = &s->layout, .sched = &s->sched};
    const int rc = engine_run(ops, &cfg, r, &err);
    if (rc)
        test_fail_at(__FILE__, __LINE__, "%s on %s: %s", ops->name,
                     inner_backend(&s->pb.inner)->name, err.msg);
    return rc;
}

static int need_gpu(void)
{
    if (!gpu)
        test_skip("no usable GPU (see the cuda: skipped line)");
    return gpu != NULL;
}

static double agree(const EngineResult *a, const EngineResult *b)
{
    return max_rel_err_d(a->hypergrad, b->hypergrad, a->N, 1e-30);
}

static void test_engines_agree_on_gpu(void)
{
    if (!need_gpu())
        return;
    Setup s;
    if (setup(&s, "lenet", "cuda"))
        return;
    EngineResult b, f, r, b2;
    if (!run(&s, &BPTT_OPS, &b) && !run(&s, &FORWARD_OPS, &f) && !run(&s, &REVERSIBLE_OPS, &r) &&
        !run(&s, &BPTT_OPS, &b2)) {
        printf("# lenet on the GPU: bptt vs forward %.3g, vs reversible %.3g\n", agree(&f, &b),
               agree(&r, &b));
        EXPECT(agree(&f, &b) <= GPU_AGREE, "bptt vs forward on the GPU: %.3g", agree(&f, &b));
        EXPECT(agree(&r, &b) <= GPU_REVERSIBLE, "bptt vs reversible on the GPU: %.3g",
               agree(&r, &b));
        EXPECT(!memcmp(b.hypergrad, b2.hypergrad, sizeof(double) * b.N) &&
                   b.val_loss == b2.val_loss,
               "two bptt runs on the GPU give different bytes");
        EXPECT(b.device_peak > 0, "the device's peak use is recorded");
        engine_result_free(&f);
        engine_result_free(&r);
        engine_result_free(&b2);
    }
    engine_result_free(&b);
    setup_free(&s);
}

static void test_reversible_restores_on_gpu(void)
{
    if (!need_gpu())
        return;
    Setup s;
    if (setup(&s, "lenet", "cuda"))
        return;
    EngineResult r;
    EXPECT(run(&s, &REVERSIBLE_OPS, &r) == 0, "reversible restores w0 on the GPU");
    engine_result_free(&r);
    reversible_test_flip = T / 2; /* a recomputed gradient off by 1e-3: must be caught */
    HgErr err = {{0}};
    EngineConfig cfg = {.prob = &s.pb.inner, .layout = &s.layout, .sched = &s.sched};
    EXPECT(engine_run(&REVERSIBLE_OPS, &cfg, &r, &err) == -1 &&
               strstr(err.msg, "did not restore w_0"),
           "a planted flip fails the restore check on the GPU: '%s'", err.msg);
    reversible_test_flip = -1;
    setup_free(&s);
}

static void test_gpu_matches_cpu(void)
{
    if (!need_gpu())
        return;
    Setup g, c;
    if (setup(&g, "lenet", "cuda") || setup(&c, "lenet", "cpu"))
        return;
    const EngineOps *ops[] = {&BPTT_OPS, &FORWARD_OPS, &REVERSIBLE_OPS, &GREEDY_OPS};
    for (int i = 0; i < ARRAY_LEN(ops); i++) {
        EngineResult rg, rc;
        if (!run(&g, ops[i], &rg) && !run(&c, ops[i], &rc)) {
            printf("# %s: GPU vs CPU %.3g (val loss %.17g vs %.17g)\n", ops[i]->name,
                   agree(&rg, &rc), rg.val_loss, rc.val_loss);
            EXPECT(agree(&rg, &rc) <= CPU_TOL, "%s: GPU vs CPU hypergradient %.3g", ops[i]->name,
                   agree(&rg, &rc));
            EXPECT_REL(rg.val_loss, rc.val_loss, CPU_TOL, 1e-30, "validation loss GPU vs CPU");
            engine_result_free(&rc);
        }
        engine_result_free(&rg);
    }
    setup_free(&g);
    setup_free(&c);
}

/* bptt on each conv path (cuDNN, im2col + cuBLAS) against the CPU: the
 * choice auto makes must not matter beyond CPU_TOL. A path that is not
 * available (no cuDNN) is skipped, saying why. */
static void test_conv_paths_match_cpu(void)
{
    if (!need_gpu())
        return;
    if (!gpu->layer.conv_path) {
        test_skip("%s has one conv path", gpu->name);
        return;
    }
    Setup g, c;
    if (setup(&g, "lenet", "cuda") || setup(&c, "lenet", "cpu"))
        return;
    EngineResult rc;
    if (!run(&c, &BPTT_OPS, &rc)) {
        /* the fake device runs the CPU's kernels: their paths (oneDNN's
         * where built in), then back to the CPU's default */
        static const char *const cuda_paths[] = {"cudnn", "gemm"}, *const cpu_paths[] = {"ours",
                                                                                       "dnnl"};
        const int on_cpu = gpu->layer.conv_path("ours", NULL) == 0;
        const char *const *paths = on_cpu ? cpu_paths : cuda_paths;
        for (int p = 0; p < 2; p++) {
            HgErr err = {{0}};
            if (gpu->layer.conv_path(paths[p], &err)) {
                test_skip_part("conv path %s: %s", paths[p], err.msg);
                continue;
            }
            EngineResult rg;
            if (!run(&g, &BPTT_OPS, &rg)) {
                printf("# bptt, conv path %s: GPU vs CPU %.3g\n", paths[p], agree(&rg, &rc));
                EXPECT(agree(&rg, &rc) <= CPU_TOL, "conv path %s: GPU vs CPU %.3g", paths[p],
                       agree(&rg, &rc));
            }
            engine_result_free(&rg);
        }
        HgErr err = {{0}};
        const char *back = on_cpu ? "ours" : "auto";
        EXPECT(gpu->layer.conv_path(back, &err) == 0, "back to %s: %s", back, err.msg);
    }
    engine_result_free(&rc);
    setup_free(&g);
    setup_free(&c);
}

/* f(lr + h) - f(lr - h) over 2h, the lr of every step moved (a smooth tanh
 * MLP: no kinks), against the sum of bptt's per-step lr derivatives. The
 * central difference's truncation error scales as h^2: 2.0e-5 relative at
 * h = 1e-4 (over FD_TOL, on CPU arithmetic too), 2e-7 at h = 1e-5, where
 * rounding (~1e-16 f / h) is still far below it. */
static void test_finite_difference_on_gpu(void)
{
#ifndef HG_F64
    test_skip("finite differences need float64");
    return;
#endif
    if (!need_gpu())
        return;
    Setup s;
    if (setup(&s, "mlp:32:tanh", "cuda"))
        return;
    EngineResult b;
    if (run(&s, &BPTT_OPS, &b)) {
        setup_free(&s);
        return;
    }
    double d = 0;
    for (int t = 0; t < T; t++)
        d += b.hypergrad[s.layout.offset[HYPER_LR] + t];
    const Backend *be = inner_backend(&s.pb.inner);
    const long P = s.pb.model->nparams;
    real *w = be->mem.alloc(MEM_PARAMS, sizeof(real) * P);
    const double h = 1e-5;
    double f[2];
    for (int side = 0; side < 2; side++) {
        Schedule sc;
        HgErr err;
        schedule_init(&sc, T, SCHEDULE_COSINE, 0.05, 0.9, 1e-3, 0, &err);
        for (int t = 0; t < T; t++)
            sc.v[HYPER_LR][t] += side ? -h : h;
        be->mem.copy(w, s.pb.inner.w0, sizeof(real) * P);
        EXPECT(inner_train(&s.pb.inner, &sc, w, &f[side], NULL, &err) == 0, "train: %s", err.msg);
        schedule_free(&sc);
    }
    const double fd = (f[0] - f[1]) / (2 * h);
    printf("# finite difference on the GPU: %.12g, bptt %.12g\n", fd, d);
    EXPECT_REL(fd, d, FD_TOL, 1e-8, "d f / d lr: finite difference vs bptt on the GPU");
    be->mem.free(w);
    engine_result_free(&b);
    setup_free(&s);
}

/* Sums p[0..n) into *sum; the count of entries not finite or negative. */
static int add_times(const double *p, int n, double *sum)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        bad += !(isfinite(p[i]) && p[i] >= 0);
        *sum += p[i];
    }
    return bad;
}

static void test_event_times_on_gpu(void)
{
    if (!need_gpu())
        return;
    if (!gpu->timer.timer_new) {
        test_skip("%s has no device timers (host time is its time)", gpu->name);
        return;
    }
    Setup s;
    if (setup(&s, "lenet", "cuda"))
        return;
    Model *m = s.pb.model;
    const Backend *be = inner_backend(&s.pb.inner);
    const long P = m->nparams;
    const int n = 32, calls = 5;
    const real *x = s.pb.inner.train->x, *w = s.pb.inner.w0;
    const int32_t *y = s.pb.inner.train->y;
    const size_t bytes = sizeof(real) * P;
    real *g = be->mem.alloc(MEM_PARAMS, bytes), *V = be->mem.alloc(MEM_TANGENTS, bytes);
    real *HV = be->mem.alloc(MEM_TANGENTS, bytes);
    real *ref = mem_alloc(MEM_OTHER, 2 * bytes), *got = mem_alloc(MEM_OTHER, 2 * bytes);
    for (long i = 0; i < P; i++)
        ref[i] = (real)((i % 7) - 3) / 7;
    be->mem.upload(V, ref, bytes);
    model_loss_grad(m, w, x, y, n, g); /* the conv paths picked (HG_CUDA_CONV=auto) */
    model_hvp(m, w, x, y, n, V, HV);
    model_loss_grad(m, w, x, y, n, g); /* the bytes without marks */
    model_hvp(m, w, x, y, n, V, HV);
    be->mem.download(ref, g, bytes);
    be->mem.download(ref + P, HV, bytes);

    EXPECT(model_profile_on_device(m, 1) == 1, "the CUDA backend profiles by its events");
    model_profile_reset(m);
    const double t0 = now_s();
    for (int i = 0; i < calls; i++) {
        model_loss_grad(m, w, x, y, n, g);
        model_hvp(m, w, x, y, n, V, HV);
    }
    be->mem.download(got, g, bytes); /* waits for the stream */
    be->mem.download(got + P, HV, bytes);
    const double wall = now_s() - t0;
    double sec[PASS_COUNT][MODEL_MAX_LAYERS], sum = 0;
    long pc[PASS_COUNT];
    model_profile(m, sec, pc);
    model_profile_on_device(m, 0);
    const int bad = add_times(&sec[0][0], PASS_COUNT * MODEL_MAX_LAYERS, &sum);
    printf("# lenet on the GPU: the event profile sums to %.4g ms of %.4g ms wall (%.0f%%)\n",
           1e3 * sum, 1e3 * wall, 100 * sum / wall);
    EXPECT(!bad && sum > 0 && sum <= 1.01 * wall + 1e-4,
           "event profile: %d bad entries, sum %.6g s, wall %.6g s", bad, sum, wall);
    EXPECT(!memcmp(ref, got, 2 * bytes), "the same gradient and H v bytes with the marks");

    EngineResult r;
    if (!run(&s, &BPTT_OPS, &r)) {
        double psum = 0;
        const int pbad = add_times(r.phase_s, ENGINE_PHASES, &psum);
        printf("# bptt on the GPU: inner %.4g s, validation %.4g s, hypergrad %.4g s by CUDA "
               "events; %.0f%% of %.4g s wall\n", r.phase_s[ENGINE_PHASE_INNER],
               r.phase_s[ENGINE_PHASE_VALIDATION], r.phase_s[ENGINE_PHASE_HYPERGRAD],
               100 * psum / r.time_s, r.time_s);
        EXPECT(r.phase_device == 1 && !pbad && r.phase_s[ENGINE_PHASE_INNER] > 0 &&
                   r.phase_s[ENGINE_PHASE_VALIDATION] > 0 &&
                   r.phase_s[ENGINE_PHASE_HYPERGRAD] > 0 && psum <= 1.01 * r.time_s + 1e-4,
               "bptt's phases by CUDA events: device %d, %d bad, sum %.6g s of %.6g s",
               r.phase_device, pbad, psum, r.time_s);
        engine_result_free(&r);
    }
    be->mem.free(g);
    be->mem.free(V);
    be->mem.free(HV);
    mem_free(ref);
    mem_free(got);
    setup_free(&s);
}

int main(int argc, char **argv)
{
    HgErr err = {{0}};
    gpu = backend_find("cuda", &err);
    if (!gpu) {
        const char *req = getenv("HG_REQUIRE_GPU");
        if (!(req && !strcmp(req, "1")))
            fake_device_passive_omp(argv); /* before any output */
        printf("cuda: skipped: %s\n", err.msg);
        if (req && !strcmp(req, "1")) {
            fprintf(stderr, "test_gpu: no usable GPU: %s\n", err.msg);
            return 2;
        }
        /* the same tests on the strict fake device (its "cuda" for setup) */
        setenv("HG_FAKE_DEVICE", "strict", 1);
        gpu = backend_find("cuda", &err);
        printf("# no GPU: every test below runs on the strict fake device (%s), not a GPU\n",
               gpu ? gpu->name : err.msg);
    }
    static const TestCase tests[] = {
        TEST(test_engines_agree_on_gpu), TEST(test_reversible_restores_on_gpu),
        TEST(test_gpu_matches_cpu), TEST(test_conv_paths_match_cpu),
        TEST(test_finite_difference_on_gpu), TEST(test_event_times_on_gpu)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
