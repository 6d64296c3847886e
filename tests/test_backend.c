/* test_backend.c — the device seam: the registry, and every vector and
 * fixed-point op of every backend held to its definition in backend.h
 * (computed here in double). A backend that is not built or not usable here
 * is skipped, loudly. The layer kernels are held to PyTorch and to finite
 * differences through the models (test_models, test_gradients).
 *
 * Tolerances: elementwise results are within TOL_ELEM (a few units of
 * rounding of `real`: fused and unfused forms differ by one); dots, which
 * accumulate in double, within TOL_DOT.
 */
#include <math.h>
#include <string.h>

#include "../backend/backend.h"
#include "../backend/fixed_point.h"
#include "../common/rng.h"
#include "test.h"

#ifdef HG_F64
#define TOL_ELEM 1e-15
#else
#define TOL_ELEM 4e-7
#endif
#define TOL_DOT 1e-13

static const char *const DEVICES[] = {"cpu", "cuda"};

/* The backends to hold to the definitions: every one built and usable here. */
static int usable(const char *name, const Backend **be)
{
    HgErr err = {{0}};
    *be = backend_find(name, &err);
    if (!*be)
        test_skip_part("%s; its ops are not checked here", err.msg);
    return *be != NULL;
}

static void fill(Rng *r, real *x, long n, double scale)
{
    for (long i = 0; i < n; i++)
        x[i] = (real)(scale * rng_normal(r));
}

static void test_registry(void)
{
    HgErr err = {{0}};
    EXPECT(backend_find("cpu", &err) == &BACKEND_CPU, "cpu is the CPU backend");
    EXPECT(backend_find("auto", &err) == &BACKEND_CPU, "auto picks the CPU (nothing else is built)");
    EXPECT(!strcmp(BACKEND_CPU.name, "cpu"), "the CPU backend's name");
    err.msg[0] = 0;
    EXPECT(backend_find("cuda", &err) == NULL && strstr(err.msg, "--device cuda"),
           "cuda is refused naming the flag: '%s'", err.msg);
    err.msg[0] = 0;
    EXPECT(backend_find("tpu", &err) == NULL && strstr(err.msg, "tpu") &&
               strstr(err.msg, backend_names()),
           "an unknown device is refused naming it and the choices: '%s'", err.msg);
}

static void check_vector_ops(const Backend *be)
{
    enum { N = 1000 };
    Rng r = rng_seed(42);
    real *a = be->mem.alloc(MEM_OTHER, sizeof(real) * N), *b = be->mem.alloc(MEM_OTHER, sizeof(real) * N);
    real *y = be->mem.alloc(MEM_OTHER, sizeof(real) * N), *y0 = be->mem.alloc(MEM_OTHER, sizeof(real) * N);
    fill(&r, a, N, 1);
    fill(&r, b, N, 2);
    fill(&r, y0, N, 1);

    double d = 0, scale = 0;
    for (long i = 0; i < N; i++)
        d += (double)a[i] * b[i], scale += fabs((double)a[i] * b[i]);
    EXPECT(fabs(be->vec.dot(a, b, N) - d) <= TOL_DOT * scale, "%s dot: %.17g vs %.17g", be->name,
           be->vec.dot(a, b, N), d);

    EXPECT(be->vec.all_finite(a, N), "%s all_finite of finite values", be->name);
    y[N - 1] = NAN;
    EXPECT(!be->vec.all_finite(y, N), "%s all_finite finds a NaN in the last entry", be->name);
    y[N - 1] = 0;
    y[0] = -INFINITY;
    EXPECT(!be->vec.all_finite(y, N), "%s all_finite finds -inf in the first entry", be->name);

    be->mem.copy(y, y0, sizeof(real) * N);
    be->vec.axpy(y, -0.3, a, N);
    double worst = 0;
    for (long i = 0; i < N; i++)
        worst = fmax(worst, rel_err(y[i], (double)y0[i] - 0.3 * a[i], 1));
    EXPECT(worst <= TOL_ELEM, "%s axpy: rel err %.3g", be->name, worst);

    be->vec.mul(y, a, b, N);
    worst = 0;
    for (long i = 0; i < N; i++)
        worst = fmax(worst, rel_err(y[i], (double)a[i] * b[i], 1e-30));
    EXPECT(worst <= TOL_ELEM, "%s mul: rel err %.3g", be->name, worst);

    /* clamp: an entry exactly at c counts as clamped */
    const real g_in[7] = {-2, -1, -0.5, 0, 0.5, 1, 3};
    const real g_want[7] = {-1, -1, -0.5, 0, 0.5, 1, 1}, m_want[7] = {0, 0, 1, 1, 1, 0, 0};
    real g[7], mask[7];
    memcpy(g, g_in, sizeof g);
    be->vec.clamp(g, 7, 1.0, mask);
    EXPECT(!memcmp(g, g_want, sizeof g) && !memcmp(mask, m_want, sizeof mask),
           "%s clamp at 1: values or mask wrong", be->name);
    memcpy(g, g_in, sizeof g);
    be->vec.clamp(g, 7, 0, mask);
    int all_one = 1;
    for (int i = 0; i < 7; i++)
        all_one &= mask[i] == 1;
    EXPECT(!memcmp(g, g_in, sizeof g) && all_one, "%s clamp 0 is no clamp, mask all 1", be->name);

    /* mask bits across a word boundary */
    enum { NM = 130 };
    real mk[NM], x[NM], out[NM];
    uint64_t bits[3] = {0};
    for (int i = 0; i < NM; i++)
        mk[i] = (real)(rng_next(&r) % 3 != 0), x[i] = (real)(i + 1);
    be->vec.mask_pack(mk, NM, bits);
    be->vec.mask_select(bits, x, NM, out);
    int bad = 0;
    for (int i = 0; i < NM; i++)
        bad += ((bits[i / 64] >> (i % 64) & 1) != (mk[i] != 0)) || out[i] != (mk[i] ? x[i] : 0);
    EXPECT(bad == 0, "%s mask_pack/mask_select: %d entries wrong", be->name, bad);
    EXPECT(bits[2] >> 2 == 0, "%s mask_pack sets no bit past entry %d", be->name, NM);

    be->mem.free(a);
    be->mem.free(b);
    be->mem.free(y);
    be->mem.free(y0);
}

/* The SGD step, its adjoint, the tangent fold and a set's mean gradient. */
static void check_update_ops(const Backend *be)
{
    enum { N = 777, COLS = 5 };
    const double a = 0.07, m = 0.9, l = 1e-3;
    Rng r = rng_seed(7);
    real w[N], v[N], g[N], w1[N], v1[N], comp[N] = {0};
    fill(&r, w, N, 1);
    fill(&r, v, N, 0.1);
    fill(&r, g, N, 0.5);
    memcpy(w1, w, sizeof w);
    memcpy(v1, v, sizeof v);
    be->vec.sgd_step(w1, v1, NULL, g, N, a, m, l);
    double ew = 0, ev = 0;
    for (long i = 0; i < N; i++) {
        const double vn = m * v[i] + g[i] + l * w[i], wn = w[i] - a * vn;
        ev = fmax(ev, rel_err(v1[i], vn, 1)), ew = fmax(ew, rel_err(w1[i], wn, 1));
    }
    EXPECT(ev <= 4 * TOL_ELEM && ew <= 4 * TOL_ELEM, "%s sgd_step: v err %.3g, w err %.3g",
           be->name, ev, ew);
    memcpy(w1, w, sizeof w);
    memcpy(v1, v, sizeof v);
    be->vec.sgd_step(w1, v1, comp, g, N, a, m, l);
    /* w - comp is w - a v with only the product's rounding: far closer than
     * the plain step's rounding of |w| */
    double ek = 0, ec = 0, av = 0;
    for (long i = 0; i < N; i++) {
        const double vn = m * v[i] + g[i] + l * w[i], wn = w[i] - a * vn;
        const double exact = (double)w[i] - (double)(real)a * v1[i];
        ek = fmax(ek, rel_err(w1[i], wn, 1));
        ec = fmax(ec, fabs((double)w1[i] - comp[i] - exact));
        av = fmax(av, fabs((double)(real)a * v1[i]));
    }
    EXPECT(ek <= 4 * TOL_ELEM, "%s sgd_step (Kahan): w err %.3g", be->name, ek);
    EXPECT(ec <= 2 * TOL_ELEM * av + 1e-15, "%s sgd_step (Kahan): w - comp misses w - a v by "
           "%.3g, more than the rounding of a v (%.3g)", be->name, ec, TOL_ELEM * av);

    real wb[N], vb[N], hu[N];
    fill(&r, wb, N, 1);
    fill(&r, vb, N, 1);
    fill(&r, hu, N, 1);
    memcpy(w1, wb, sizeof wb);
    memcpy(v1, vb, sizeof vb);
    be->vec.sgd_adjoint(w1, v1, hu, N, l, m);
    ew = ev = 0;
    for (long i = 0; i < N; i++) {
        ew = fmax(ew, rel_err(w1[i], (double)wb[i] + hu[i] + l * vb[i], 1));
        ev = fmax(ev, rel_err(v1[i], m * vb[i], 1));
    }
    EXPECT(ew <= 4 * TOL_ELEM && ev <= TOL_ELEM, "%s sgd_adjoint: wb err %.3g, vb err %.3g",
           be->name, ew, ev);

    /* the fold of columns [1, 4) with v in column 2 and w in column 3 */
    static real Z[COLS][N], U[COLS][N], Z0[COLS][N], U0[COLS][N], HZ[3][N], mask[N];
    fill(&r, &Z0[0][0], COLS * N, 1);
    fill(&r, &U0[0][0], COLS * N, 1);
    fill(&r, &HZ[0][0], 3 * N, 1);
    for (long i = 0; i < N; i++)
        mask[i] = (real)(i % 4 != 0);
    memcpy(Z, Z0, sizeof Z);
    memcpy(U, U0, sizeof U);
    be->vec.tangent_fold(&Z[0][0], &U[0][0], &HZ[0][0], mask, v, w, N, 1, 3, 2, 3, a, m, l);
    double eu = 0, ez = 0, untouched = 0;
    for (int c = 0; c < COLS; c++)
        for (long i = 0; i < N; i++) {
            if (c < 1 || c >= 4) {
                untouched += Z[c][i] != Z0[c][i] || U[c][i] != U0[c][i];
                continue;
            }
            const double u = m * U0[c][i] + mask[i] * HZ[c - 1][i] + l * Z0[c][i] +
                             (c == 2 ? v[i] : 0) + (c == 3 ? w[i] : 0);
            eu = fmax(eu, rel_err(U[c][i], u, 1));
            ez = fmax(ez, rel_err(Z[c][i], Z0[c][i] - a * u, 1));
        }
    EXPECT(eu <= 8 * TOL_ELEM && ez <= 8 * TOL_ELEM, "%s tangent_fold: U err %.3g, Z err %.3g",
           be->name, eu, ez);
    EXPECT(untouched == 0, "%s tangent_fold wrote %g entries outside its columns", be->name,
           untouched);

    double sum[N] = {0};
    be->vec.grad_accumulate(sum, g, 3, N);
    be->vec.grad_accumulate(sum, w, 5, N);
    be->vec.grad_average(w1, sum, 8, N);
    ew = 0;
    for (long i = 0; i < N; i++)
        ew = fmax(ew, rel_err(w1[i], (3.0 * g[i] + 5.0 * w[i]) / 8, 1));
    EXPECT(ew <= TOL_ELEM, "%s grad_accumulate/average: err %.3g", be->name, ew);

    const real x[3] = {1, -3, (real)0.5}, rx[3] = {(real)0.5, 1, 0};
    EXPECT(be->layer.relu_kink(x, rx, 3) == 2, "%s relu_kink: %g, want 2 (|1| / 0.5)", be->name,
           be->layer.relu_kink(x, rx, 3));
    EXPECT(isinf(be->layer.relu_kink(x, rx + 2, 1)), "%s relu_kink with a still tangent is +inf",
           be->name);
}

/* A forward step of the fixed-point update and its reversal restore W and
 * V bit for bit and empty the buffer; the adjoint's dots match their
 * definitions; a changed entry is found; out of range is reported. */
static void check_fixed_point(const Backend *be)
{
    enum { N = 5000, STEPS = 3 }; /* two streams of 2500 */
    Rng r = rng_seed(3);
    real *w = be->mem.alloc(MEM_OTHER, sizeof(real) * N), *g = be->mem.alloc(MEM_OTHER, sizeof(real) * N);
    real *w0 = be->mem.alloc(MEM_OTHER, sizeof(real) * N), *wb = be->mem.alloc(MEM_OTHER, sizeof(real) * N);
    real *vb = be->mem.alloc(MEM_OTHER, sizeof(real) * N), *vb0 = be->mem.alloc(MEM_OTHER, sizeof(real) * N);
    real *hu = be->mem.alloc(MEM_OTHER, sizeof(real) * N);
    int64_t *W = be->mem.alloc(MEM_OTHER, sizeof(int64_t) * N), *V = be->mem.alloc(MEM_OTHER, sizeof(int64_t) * N);
    int64_t *W0 = be->mem.alloc(MEM_OTHER, sizeof(int64_t) * N);
    fill(&r, w0, N, 1);
    InfoRational q;
    EXPECT(info_rational(0.9, &q) == 0, "0.9 has a rational");
    FixStreams *st = be->fix.fix_streams_new(N, q.need > 1 ? q.need : 1, log2(1 / 0.9));
    EXPECT(be->fix.fix_streams_count(st) == 2, "%s: %d streams for %d parameters, want 2", be->name,
           be->fix.fix_streams_count(st), N);
    EXPECT(be->fix.fix_load(W, w0, N) == 0, "%s fix_load of values in range reports none", be->name);
    memcpy(W0, W, sizeof(int64_t) * N);
    be->fix.fix_to_real(w, W, N);
    double e = 0;
    for (long i = 0; i < N; i++)
        e = fmax(e, fabs((double)w[i] - w0[i]));
    EXPECT(e <= ldexp(1, -FIX_BITS) + TOL_ELEM * 4, "%s fix_to_real(fix_load(w)): err %.3g",
           be->name, e);

    const double a = 0.05, l = 1e-3;
    for (int t = 0; t < STEPS; t++) {
        fill(&r, g, N, 0.5);
        EXPECT(be->fix.fix_step(st, W, V, g, &q, a, l) == 0, "%s fix_step %d in range", be->name, t);
    }
    EXPECT(be->fix.fix_streams_open(st) > 0, "%s: the steps put bits in the buffer", be->name);
    /* undo the steps in reverse, regenerating each step's gradient */
    for (int t = STEPS - 1; t >= 0; t--) {
        Rng rt = rng_seed(3);
        real *tmp = be->mem.alloc(MEM_OTHER, sizeof(real) * N);
        fill(&rt, tmp, N, 1); /* w0's draws */
        for (int u = 0; u <= t; u++)
            fill(&rt, g, N, 0.5);
        be->mem.free(tmp);
        fill(&r, wb, N, 1);
        fill(&r, vb0, N, 1);
        fill(&r, hu, N, 1);
        memcpy(vb, vb0, sizeof(real) * N);
        int64_t *Vt1 = be->mem.alloc(MEM_OTHER, sizeof(int64_t) * N);
        memcpy(Vt1, V, sizeof(int64_t) * N);
        double d_lr, d_wd;
        be->fix.fix_unstep_w(W, V, w, wb, vb, N, a, &d_lr, &d_wd);
        double want_lr = 0, want_wd = 0, scale_lr = 0, scale_wd = 0;
        for (long i = 0; i < N; i++) {
            const double vbi = vb0[i] - a * wb[i];
            want_lr -= wb[i] * flt(Vt1[i]), scale_lr += fabs(wb[i] * flt(Vt1[i]));
            want_wd += vbi * flt(W[i]), scale_wd += fabs(vbi * flt(W[i]));
        }
        EXPECT(fabs(d_lr - want_lr) <= TOL_DOT * scale_lr + TOL_ELEM * scale_lr &&
                   fabs(d_wd - want_wd) <= TOL_DOT * scale_wd + TOL_ELEM * scale_wd,
               "%s fix_unstep_w step %d: d_lr %.17g vs %.17g, d_wd %.17g vs %.17g", be->name, t,
               d_lr, want_lr, d_wd, want_wd);
        be->fix.fix_unstep_v(st, W, V, g, &q, l);
        memcpy(vb0, vb, sizeof(real) * N);
        const double m = (double)q.n / q.d;
        const double d_mom = be->fix.fix_adjoint(wb, vb, hu, V, N, l, m);
        double want_mom = 0, scale_mom = 0;
        for (long i = 0; i < N; i++)
            want_mom += vb0[i] * flt(V[i]), scale_mom += fabs(vb0[i] * flt(V[i]));
        EXPECT(fabs(d_mom - want_mom) <= TOL_DOT * scale_mom + 1e-300,
               "%s fix_adjoint step %d: d_mom %.17g vs %.17g", be->name, t, d_mom, want_mom);
        be->mem.free(Vt1);
    }
    long first = 0;
    EXPECT(be->fix.fix_mismatch(W, V, w0, N, &first) == 0 && first == -1,
           "%s: the reversal restores fix(w0) and v = 0 bit for bit", be->name);
    EXPECT(be->fix.fix_streams_open(st) == 0, "%s: the reversal empties the buffer", be->name);
    W[1234] += 1;
    EXPECT(be->fix.fix_mismatch(W, V, w0, N, &first) == 1 && first == 1234,
           "%s fix_mismatch finds one changed entry at 1234 (found first %ld)", be->name, first);
    w0[7] = (real)1e6; /* beyond +-2^18 */
    EXPECT(be->fix.fix_load(W, w0, N) == 1e6, "%s fix_load reports |1e6| out of range", be->name);
    EXPECT(be->fix.fix_streams_peak_bytes(st) >= 2 * sizeof(uint64_t), "%s: peak bytes counted",
           be->name);

    be->fix.fix_streams_free(st);
    real *const bufs[] = {w, g, w0, wb, vb, vb0, hu};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        be->mem.free(bufs[i]);
    be->mem.free(W);
    be->mem.free(V);
    be->mem.free(W0);
}

/* fix_step with a = 0 and then fix_step_w with a, on two blocks, is
 * fix_step with a bit for bit (the reversible engine's lr per layer with
 * equal layers); fix_step_w reports a value out of range. */
static void check_fix_step_split(const Backend *be)
{
    enum { N = 3000, STEPS = 3 };
    Rng r = rng_seed(5);
    real *w0 = be->mem.alloc(MEM_OTHER, sizeof(real) * N), *g = be->mem.alloc(MEM_OTHER, sizeof(real) * N);
    int64_t *W[2], *V[2];
    FixStreams *st[2];
    InfoRational q;
    HG_CHECK(info_rational(0.9, &q) == 0, "0.9 has a rational");
    fill(&r, w0, N, 1);
    for (int k = 0; k < 2; k++) {
        W[k] = be->mem.alloc(MEM_OTHER, sizeof(int64_t) * N);
        V[k] = be->mem.alloc(MEM_OTHER, sizeof(int64_t) * N);
        st[k] = be->fix.fix_streams_new(N, q.need > 1 ? q.need : 1, log2(1 / 0.9));
        be->fix.fix_load(W[k], w0, N);
        memset(V[k], 0, sizeof(int64_t) * N);
    }
    const double a = 0.05, l = 1e-3;
    const long cut = N / 3;
    for (int t = 0; t < STEPS; t++) {
        fill(&r, g, N, 0.5);
        be->fix.fix_step(st[0], W[0], V[0], g, &q, a, l);
        be->fix.fix_step(st[1], W[1], V[1], g, &q, 0, l);
        be->fix.fix_step_w(W[1], V[1], cut, a);
        be->fix.fix_step_w(W[1] + cut, V[1] + cut, N - cut, a);
    }
    EXPECT(!memcmp(W[0], W[1], sizeof(int64_t) * N) && !memcmp(V[0], V[1], sizeof(int64_t) * N),
           "%s: fix_step(a = 0) + fix_step_w(a) per block == fix_step(a), bit for bit", be->name);
    V[1][9] = INT64_C(1) << 61; /* flt = 2^17: a = 8 moves W by 2^20, out of range */
    EXPECT(be->fix.fix_step_w(W[1], V[1], N, 8) == ldexp(1, 20), "%s fix_step_w reports 2^20 "
           "out of range", be->name);
    for (int k = 0; k < 2; k++) {
        be->fix.fix_streams_free(st[k]);
        be->mem.free(W[k]);
        be->mem.free(V[k]);
    }
    be->mem.free(w0);
    be->mem.free(g);
}

static void test_backend_ops(void)
{
    for (int d = 0; d < ARRAY_LEN(DEVICES); d++) {
        const Backend *be;
        if (!usable(DEVICES[d], &be))
            continue;
        check_vector_ops(be);
        check_update_ops(be);
        check_fixed_point(be);
        check_fix_step_split(be);
    }
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_registry), TEST(test_backend_ops)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
