/* test_conv_paths.c — the CPU's direct conv kernels (conv2d_ocvec*.c: the
 * forward, the weight gradient; conv2d_dgrad.c: the input gradient; and the
 * R-ops assembled from them) against its im2col + GEMM path, on shapes each kernel takes: LeNet's conv2,
 * padding, a channel count that is not a whole vector, rows split into two
 * blocks, evenly and not. Each output is compared as max|a - b| / max|ref|
 * per quantity (weights, bias, activations each against its own scale).
 * The R-op references are sums of im2col-path primal ops:
 *   R{y}_j  = conv(x; V_j) + conv(R{x}_j; W without bias),
 *   R{gW}_j = R{dy}_j * x + dy * R{x}_j,  R{gb}_j = sum R{dy}_j,
 *   R{dx}_j = conv^T(R{dy}_j; W) + conv^T(dy; V_j).
 * Tolerances: sums in another order; measured worst normalised gaps here
 * 1.25e-6 (float32) and 2e-15 (float64), so about 10x: 1.2e-5 and 2e-14.
 * Also conv_index.h's per-entry im2col and col2im bodies (the CUDA
 * backend's im2col + cuBLAS path runs them on the device) against the
 * CPU's row-wise conv_im2col and conv_col2im: equal, entry for entry (the
 * same copies, the same adds in the same order). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../backend/conv_index.h"
#include "../backend/cpu/kernels.h"
#include "../common/mem.h"
#include "../common/rng.h"
#include "test.h"

#ifdef HG_F64
#define TOL 2e-14
#else
#define TOL 1.2e-5
#endif

static real *randoms(Rng *rng, long count, double scale)
{
    real *p = mem_alloc(MEM_OTHER, sizeof(real) * (count > 0 ? count : 1));
    for (long i = 0; i < count; i++)
        p[i] = (real)(scale * rng_normal(rng));
    return p;
}

static double gap(const real *a, const real *ref, long count)
{
    double d = 0, s = 0;
    for (long i = 0; i < count; i++) {
        d = fmax(d, fabs((double)a[i] - ref[i]));
        s = fmax(s, fabs((double)ref[i]));
    }
    return s > 0 ? d / s : d;
}

static double worst;

static void expect_close(const char *what, const char *shape, const real *a, const real *ref,
                         long count)
{
    const double e = gap(a, ref, count);
    worst = fmax(worst, e);
    EXPECT(e <= TOL, "%s %s: normalised gap %.3g > %.3g", shape, what, e, TOL);
}

/* weights and biases of one parameter vector, each against its own scale */
static void expect_params(const char *what, const char *shape, const LayerGeom *L, const real *a,
                          const real *ref)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s weights", what);
    expect_close(buf, shape, a + L->w_off, ref + L->w_off, L->b_off - L->w_off);
    snprintf(buf, sizeof buf, "%s bias", what);
    expect_close(buf, shape, a + L->b_off, ref + L->b_off, L->out.c);
}

/* C, H, W, OC, K, pad, n, kc */
static const int SHAPES[][8] = {
    {6, 14, 14, 16, 5, 0, 5, 3},  /* LeNet's conv2 */
    {3, 9, 9, 16, 3, 1, 3, 2},    /* padding */
    {4, 11, 11, 20, 5, 2, 2, 2},  /* 20 channels: not a whole vector */
    {2, 30, 30, 16, 3, 0, 2, 1},  /* 28-wide rows: two blocks of 14 */
    {2, 29, 29, 16, 3, 0, 2, 17}, /* 27-wide rows: 14 + 13; 17 tangents */
};

static void test_direct_kernels_equal_im2col(void)
{
    Rng rng = rng_seed(7);
    Scratch *sc = mem_alloc(MEM_OTHER, sizeof *sc);
    memset(sc, 0, sizeof *sc);
    for (int s = 0; s < (int)(sizeof SHAPES / sizeof SHAPES[0]); s++) {
        const int *p = SHAPES[s];
        const int C = p[0], H = p[1], W = p[2], OC = p[3], K = p[4], pad = p[5], n = p[6],
                  kc = p[7];
        const Shape out = {OC, H + 2 * pad - K + 1, W + 2 * pad - K + 1};
        const LayerGeom L = {{C, H, W}, out, K, pad, 2, 2 + (long)OC * C * K * K};
        char shape[96];
        snprintf(shape, sizeof shape, "conv %dx%dx%d -> %d @%dx%d p%d, n %d, kc %d", C, H, W,
                 OC, K, K, pad, n, kc);
        EXPECT(conv_ocvec_suits(&L) && conv_ocvec_wgrad_suits(&L), "%s: not a direct shape",
               shape);
        const long P = L.b_off + OC + 1, isz = (long)C * n * H * W;
        const long osz = (long)OC * n * out.h * out.w;
        real *w = randoms(&rng, P, 0.3), *V = randoms(&rng, kc * P, 0.3);
        real *x = randoms(&rng, isz, 1), *rx = randoms(&rng, kc * isz, 1);
        real *dy = randoms(&rng, osz, 1), *rdy = randoms(&rng, kc * osz, 1);
        const long big = kc * (osz + isz + P); /* room for any output here */
        real *a = randoms(&rng, big, 0), *b = randoms(&rng, big, 0), *t = randoms(&rng, big, 0);

        /* primal forward and backward */
        conv_forward(&L, w, x, n, a, sc);
        conv_forward_im2col(&L, w, x, n, b, sc);
        expect_close("forward y", shape, a, b, osz);
        conv_backward(&L, w, x, dy, n, a, a + P, sc);
        conv_backward_im2col(&L, w, x, dy, n, b, b + P, sc);
        expect_params("backward g", shape, &L, a, b);
        expect_close("backward dx", shape, a + P, b + P, isz);

        /* R-forward against im2col sums */
        real *w0 = randoms(&rng, P, 0); /* W without its bias */
        memcpy(w0, w, sizeof(real) * P);
        for (int o = 0; o < OC; o++)
            w0[L.b_off + o] = 0;
        conv_rforward(&L, w, V, P, kc, x, rx, n, a, sc);
        for (int j = 0; j < kc; j++) {
            conv_forward_im2col(&L, V + j * P, x, n, b + j * osz, sc);
            conv_forward_im2col(&L, w0, rx + j * isz, n, t, sc);
            for (long i = 0; i < osz; i++)
                b[j * osz + i] += t[i];
        }
        expect_close("R-forward ry", shape, a, b, kc * osz);

        /* R-backward against im2col sums: HV into a, rdx into ra */
        real *ra = randoms(&rng, kc * isz, 0), *rb = randoms(&rng, kc * isz, 0);
        conv_rbackward(&L, w, V, P, kc, x, rx, dy, rdy, n, a, ra, sc);
        for (int j = 0; j < kc; j++) {
            real *hb = b + j * P;
            conv_backward_im2col(&L, w, x, rdy + j * osz, n, hb, rb + j * isz, sc);
            conv_backward_im2col(&L, w, rx + j * isz, dy, n, t, NULL, sc);
            for (long i = L.w_off; i < L.b_off; i++)
                hb[i] += t[i];
            conv_backward_data_im2col(&L, V + j * P, dy, n, t, sc);
            for (long i = 0; i < isz; i++)
                rb[j * isz + i] += t[i];
            char what[32];
            snprintf(what, sizeof what, "R-backward HV_%d", j);
            expect_params(what, shape, &L, a + j * P, hb);
        }
        expect_close("R-backward rdx", shape, ra, rb, kc * isz);
        mem_free(w);
        mem_free(V);
        mem_free(x);
        mem_free(rx);
        mem_free(dy);
        mem_free(rdy);
        mem_free(a);
        mem_free(b);
        mem_free(t);
        mem_free(w0);
        mem_free(ra);
        mem_free(rb);
    }
    printf("# worst normalised gap, direct against im2col: %.3g (tolerance %.3g)\n", worst, TOL);
    scratch_release(sc);
    mem_free(sc);
}

/* C, H, W, OC, K, pad, n: the input gradient's shapes (conv2d_dgrad.c):
 * LeNet's conv2, padding, rows of two vectors (W = VL + 4: 20 in float32,
 * 12 in float64), K = 7 with channels in blocks, 17 channels (blocks of 6,
 * 6, 5), K = 1 */
#define VL_REALS ((int)(64 / sizeof(real)))
static const int DGRAD_SHAPES[][7] = {
    {6, 14, 14, 16, 5, 0, 5}, {3, 9, 9, 16, 3, 1, 3},  {2, VL_REALS + 4, VL_REALS + 4, 4, 3, 0, 2},
    {10, 14, 14, 16, 7, 3, 2}, {17, 8, 8, 5, 5, 2, 3}, {4, 12, 12, 6, 1, 0, 2},
};

/* conv_dgrad (alone and as the pairs the R-backward sums) against dcol =
 * W^T dy and col2im; a row too long for it is refused (im2col takes it). */
static void test_dgrad_equals_im2col(void)
{
    Rng rng = rng_seed(11);
    Scratch *sc = mem_alloc(MEM_OTHER, sizeof *sc);
    memset(sc, 0, sizeof *sc);
    for (int s = 0; s < (int)(sizeof DGRAD_SHAPES / sizeof DGRAD_SHAPES[0]); s++) {
        const int *p = DGRAD_SHAPES[s];
        const int C = p[0], H = p[1], W = p[2], OC = p[3], K = p[4], pad = p[5], n = p[6];
        const Shape out = {OC, H + 2 * pad - K + 1, W + 2 * pad - K + 1};
        const LayerGeom L = {{C, H, W}, out, K, pad, 3, 3 + (long)OC * C * K * K};
        char shape[96];
        snprintf(shape, sizeof shape, "dgrad %dx%dx%d -> %d @%dx%d p%d, n %d", C, H, W, OC, K, K,
                 pad, n);
        EXPECT(conv_dgrad_suits(&L), "%s: conv_dgrad_suits says no", shape);
        if (!conv_dgrad_suits(&L))
            continue;
        const long P = L.b_off + OC, isz = (long)C * n * H * W, osz = (long)OC * n * out.h * out.w;
        real *w = randoms(&rng, P, 0.3), *V = randoms(&rng, P, 0.3);
        real *dy = randoms(&rng, osz, 1), *rdy = randoms(&rng, osz, 1);
        real *a = randoms(&rng, isz, 0), *b = randoms(&rng, isz, 0), *t = randoms(&rng, isz, 0);
        conv_dgrad(&L, w, dy, n, a, sc);
        conv_backward_data_im2col(&L, w, dy, n, b, sc);
        expect_close("dx", shape, a, b, isz);
        const real *const ws[2] = {w, V}, *const dys[2] = {rdy, dy};
        conv_dgrad_pairs(&L, 2, ws, dys, n, a, sc);
        conv_backward_data_im2col(&L, w, rdy, n, b, sc);
        conv_backward_data_im2col(&L, V, dy, n, t, sc);
        for (long i = 0; i < isz; i++)
            b[i] += t[i];
        expect_close("R{dx} pairs", shape, a, b, isz);
        real *const bufs[] = {w, V, dy, rdy, a, b, t};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
            mem_free(bufs[i]);
    }
    const LayerGeom wide = {{2, 40, 40}, {4, 38, 38}, 3, 0, 0, 72};
    EXPECT(!conv_dgrad_suits(&wide), "40-wide rows (three vectors): conv_dgrad_suits says no");
    printf("# worst normalised gap, direct against im2col (dgrad included): %.3g\n", worst);
    scratch_release(sc);
    mem_free(sc);
}

/* C, H, W, OC, K, pad, n, i0, nb: LeNet's conv1 (rows over one vector:
 * col2im_long) and conv2 (col2im_short), padding wider than a tap's reach
 * on one side, a chunk that does not start at image 0 */
static const int INDEX_SHAPES[][9] = {
    {1, 28, 28, 6, 5, 2, 3, 0, 3},
    {6, 14, 14, 16, 5, 0, 4, 1, 2},
    {3, 9, 9, 4, 3, 1, 5, 2, 3},
    {2, 7, 12, 3, 5, 2, 2, 0, 2},
};

static void test_index_bodies_equal_cpu_im2col(void)
{
    Rng rng = rng_seed(11);
    long entries = 0;
    for (int s = 0; s < (int)(sizeof INDEX_SHAPES / sizeof INDEX_SHAPES[0]); s++) {
        const int *p = INDEX_SHAPES[s];
        const int C = p[0], H = p[1], W = p[2], K = p[4], pad = p[5], n = p[6], i0 = p[7],
                  nb = p[8];
        const Shape out = {p[3], H + 2 * pad - K + 1, W + 2 * pad - K + 1};
        const LayerGeom L = {{C, H, W}, out, K, pad, 0, (long)p[3] * C * K * K};
        const long rows = (long)C * K * K, cols = (long)nb * out.h * out.w;
        const long isz = (long)C * n * H * W, plane = (long)H * W;
        real *x = randoms(&rng, isz, 1), *dcol = randoms(&rng, rows * cols + 64, 1);
        real *col = randoms(&rng, rows * cols + 64, 0), *dx = randoms(&rng, isz, 0);
        real *buf = randoms(&rng, conv_col2im_buf(&L), 0);
        conv_im2col(&L, x, n, i0, nb, col);
        long bad = 0;
        for (long r = 0; r < rows; r++)
            for (long q = 0; q < cols; q++) {
                const long src = hg_im2col_src(&L, n, i0, r, q);
                bad += col[r * cols + q] != (src < 0 ? 0 : x[src]);
            }
        EXPECT(bad == 0, "shape %d: %ld im2col entries differ from hg_im2col_src's", s, bad);
        conv_col2im(&L, dcol, n, i0, nb, dx, buf);
        bad = 0;
        for (int c = 0; c < C; c++)
            for (int i = i0; i < i0 + nb; i++)
                for (int ih = 0; ih < H; ih++)
                    for (int iw = 0; iw < W; iw++)
                        bad += dx[((long)c * n + i) * plane + (long)ih * W + iw] !=
                               hg_col2im_at(&L, dcol, nb, i0, c, i, ih, iw);
        EXPECT(bad == 0, "shape %d: %ld col2im entries differ from hg_col2im_at's", s, bad);
        entries += rows * cols + (long)C * nb * plane;
        real *const bufs[] = {x, dcol, col, dx, buf};
        for (int k = 0; k < 5; k++)
            mem_free(bufs[k]);
    }
    printf("# conv_index.h bodies: %ld entries equal to conv_im2col's and conv_col2im's\n",
           entries);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {TEST(test_direct_kernels_equal_im2col),
                                     TEST(test_dgrad_equals_im2col),
                                     TEST(test_index_bodies_equal_cpu_im2col)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
