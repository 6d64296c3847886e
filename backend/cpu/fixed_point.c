/* fixed_point.c — the CPU backend's fixed-point steps of the reversible
 * engine (backend.h): the information buffer in up to NSTREAMS independent
 * streams, one slice of the parameters each, so the momentum multiply runs in
 * parallel; each stream is a stack, so the reverse pass walks its slice
 * backwards. */
#include <math.h>
#include <string.h>

#include "../../common/mem.h"
#include "../fixed_point.h"
#include "cpu.h"

enum {
    NSTREAMS = 16,     /* independent buffers, one slice of w each, */
    STREAM_MIN = 2048, /* of at least this many parameters */
};

struct FixStreams {
    int ns;
    long lo[NSTREAMS + 1]; /* stream k holds parameters [lo[k], lo[k + 1]) */
    InfoStream st[NSTREAMS];
};

FixStreams *cpu_fix_streams_new(long n, uint64_t sentinel, double floor_bits)
{
    FixStreams *s = mem_alloc(MEM_OTHER, sizeof *s);
    const long slices = n / STREAM_MIN;
    s->ns = slices < 1 ? 1 : slices > NSTREAMS ? NSTREAMS : (int)slices;
    for (int k = 0; k <= s->ns; k++)
        s->lo[k] = n * k / s->ns;
    for (int k = 0; k < s->ns; k++) {
        /* words the floor asks for, at the bits a word holds, plus slack */
        const double bits = floor_bits * (double)(s->lo[k + 1] - s->lo[k]);
        info_stream_init(&s->st[k], sentinel,
                         (long)(bits / (63.0 - log2((double)sentinel)) * 1.01) + 2);
    }
    return s;
}

void cpu_fix_streams_free(FixStreams *s)
{
    if (!s)
        return;
    for (int k = 0; k < s->ns; k++)
        info_stream_free(&s->st[k]);
    mem_free(s);
}

size_t cpu_fix_streams_peak_bytes(const FixStreams *s)
{
    size_t bytes = 0;
    for (int k = 0; k < s->ns; k++)
        bytes += (size_t)info_stream_peak_bytes(&s->st[k]);
    return bytes;
}

int cpu_fix_streams_open(const FixStreams *s)
{
    int open = 0;
    for (int k = 0; k < s->ns; k++)
        open += !info_stream_empty(&s->st[k]);
    return open;
}

int cpu_fix_streams_count(const FixStreams *s) { return s->ns; }

double cpu_fix_load(int64_t *W, const real *w, long n)
{
    double bad = 0;
    for (long i = 0; i < n; i++)
        W[i] = checked(fix((double)w[i], &bad), &bad);
    return bad;
}

void cpu_fix_to_real(real *w, const int64_t *W, long n)
{
    for (long i = 0; i < n; i++)
        w[i] = (real)flt(W[i]);
}

double cpu_fix_step(FixStreams *s, int64_t *W, int64_t *V, const real *g, const InfoRational *q,
                    double a, double l)
{
    double bad = 0;
#pragma omp parallel for schedule(static) reduction(max : bad)
    for (int k = 0; k < s->ns; k++)
        for (long i = s->lo[k]; i < s->lo[k + 1]; i++) {
            const int64_t v = info_mul(&s->st[k], V[i], q);
            hg_fix_step(&W[i], &V[i], v, g[i], a, l, &bad);
        }
    return bad;
}

double cpu_fix_step_w(int64_t *W, const int64_t *V, long n, double a)
{
    double bad = 0;
    for (long i = 0; i < n; i++)
        hg_fix_step_w(&W[i], V[i], a, &bad);
    return bad;
}

double cpu_fix_unstep_w(int64_t *W, const int64_t *V, real *w, const real *wb, real *vb, long n,
                        double a, double *d_lr, double *d_wd)
{
    double bad = 0, lr = 0, wd = 0;
    for (long i = 0; i < n; i++) /* V = v_{t+1}; W -> w_t */
        hg_fix_unstep_w(&W[i], V[i], &w[i], wb[i], &vb[i], a, &lr, &wd, &bad);
    *d_lr = lr;
    *d_wd = wd;
    return bad;
}

double cpu_fix_unstep_v(FixStreams *s, const int64_t *W, int64_t *V, const real *g,
                        const InfoRational *q, double l)
{
    double bad = 0;
#pragma omp parallel for schedule(static) reduction(max : bad)
    for (int k = 0; k < s->ns; k++)
        for (long i = s->lo[k + 1] - 1; i >= s->lo[k]; i--) { /* the buffer is a stack */
            const int64_t v = hg_fix_unstep_v(V[i], W[i], g[i], l, &bad);
            V[i] = info_div(&s->st[k], v, q); /* -> v_t */
        }
    return bad;
}

double cpu_fix_adjoint(real *wb, real *vb, const real *hu, const int64_t *V, long n, double l,
                       double m)
{
    const real rl = (real)l, rm = (real)m;
    double d = 0;
    for (long i = 0; i < n; i++) {
        d += (double)vb[i] * flt(V[i]);
        hg_sgd_adjoint(&wb[i], &vb[i], hu[i], rl, rm);
    }
    return d;
}

long cpu_fix_mismatch(const int64_t *W, const int64_t *V, const real *w0, long n, long *first)
{
    double none = 0;
    long wrong = 0;
    *first = -1;
    for (long i = 0; i < n; i++)
        if (W[i] != fix((double)w0[i], &none) || V[i] != 0)
            wrong++, *first = *first < 0 ? i : *first;
    return wrong;
}
