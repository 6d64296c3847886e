// hd_bodies.cu — compile-only: the per-entry bodies every backend shares
// (backend/elementwise.h, fixed_point.h, infobuf.h's stream step) compile
// for the device as well as the host, with warnings as errors. Built by
// `make` wherever nvcc is; it runs nothing (tests/test_backend.c checks the
// arithmetic on the CPU, which runs the same bodies).
#include "../backend/elementwise.h"
#include "../backend/fixed_point.h"

__global__ void hd_bodies(real *w, real *v, real *comp, real *g, real *wb, real *vb,
                          const real *hu, int64_t *W, long n, double *bad_out)
{
    const long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    double bad = 0;
    const int inside = hg_clamp(&g[i], 1.0);
    hg_sgd(&w[i], &v[i], g[i], 0.1f, 0.9f, 1e-3f);
    hg_sgd_kahan(&w[i], &v[i], &comp[i], g[i], 0.1f, 0.9f, 1e-3f);
    hg_sgd_adjoint(&wb[i], &vb[i], hu[i], 1e-3f, 0.9f);
    v[i] = hg_tangent_u(v[i], (real)inside, hu[i], w[i], 0.9f, 1e-3f);
    W[i] = checked(W[i] + fix((double)g[i] + 1e-3 * flt(W[i]), &bad), &bad);
    bad_out[i] = bad;
}
