// cuda_fixed_point.cu — the reversible engine's int64 fixed-point steps on
// the device, with the information buffer on the device too: one stream per
// slice of the parameters, as on the CPU (backend/cpu/fixed_point.c), each
// walked in order by one GPU thread (forward up, reverse down: a stack),
// on the bodies of fixed_point.h and infobuf.h. Slices are shorter than the
// CPU's (at least STREAM_MIN parameters, up to NSTREAMS streams), so more
// threads share the work; each stream costs one open word and a sentinel.
//
// A stream's word stack has a fixed capacity on the device. Before each
// forward step the host makes sure every stream has room for the most words
// that step can fill (a bound from the rational), growing stacks as the CPU
// does; the kernel still refuses to write past the end (an error, never a
// lost word). The stream states come back after each step with the range
// check's result, the one read the step needs anyway.
#include <stdio.h>
#include <string.h>

#include "cuda_util.cuh"

enum {
    NSTREAMS = 4096,
    STREAM_MIN = 256,
};

struct DevStream {
    uint64_t acc, sentinel;
    uint64_t *words;  // device, tagged MEM_INFOBUF
    long count, cap, peak;
    long lo, hi;      // its parameters [lo, hi)
    int overflow;     // the stack was full when a word had to go on it
    double bad;       // the step's largest out-of-range |value|
};

struct FixStreams {
    int ns;
    DevStream *host;  // [ns], the states as last read back
    DevStream *dev;   // [ns] on the device
};

static void pull(FixStreams *s)
{
    cuda_download(s->host, s->dev, sizeof(DevStream) * s->ns);
}

static void push(FixStreams *s)
{
    cuda_upload(s->dev, s->host, sizeof(DevStream) * s->ns);
}

// Stream k's stack to at least `need` free words (contents kept).
static void ensure_room(FixStreams *s, int k, long need)
{
    DevStream *d = &s->host[k];
    if (d->cap - d->count >= need)
        return;
    const long cap = d->count + need + d->cap / 4 + 8;
    uint64_t *w = (uint64_t *)cuda_alloc(MEM_INFOBUF, sizeof(uint64_t) * cap);
    cuda_copy(w, d->words, sizeof(uint64_t) * d->count);
    cuda_free(d->words);
    d->words = w;
    d->cap = cap;
}

extern "C" FixStreams *cuda_fix_streams_new(long n, uint64_t sentinel, double floor_bits)
{
    FixStreams *s = (FixStreams *)mem_alloc(MEM_OTHER, sizeof *s);
    const long slices = n / STREAM_MIN;
    s->ns = slices < 1 ? 1 : slices > NSTREAMS ? NSTREAMS : (int)slices;
    s->host = (DevStream *)mem_alloc(MEM_OTHER, sizeof(DevStream) * s->ns);
    s->dev = (DevStream *)cuda_alloc(MEM_OTHER, sizeof(DevStream) * s->ns);
    for (int k = 0; k < s->ns; k++) {
        DevStream *d = &s->host[k];
        d->lo = n * k / s->ns;
        d->hi = n * (k + 1) / s->ns;
        // words the floor asks for, at the bits a word holds, plus slack (as the CPU)
        const double bits = floor_bits * (double)(d->hi - d->lo);
        d->cap = (long)(bits / (63.0 - log2((double)sentinel)) * 1.01) + 2;
        d->words = (uint64_t *)cuda_alloc(MEM_INFOBUF, sizeof(uint64_t) * d->cap);
        d->acc = d->sentinel = sentinel;
    }
    push(s);
    return s;
}

extern "C" void cuda_fix_streams_free(FixStreams *s)
{
    if (!s)
        return;
    for (int k = 0; k < s->ns; k++)
        cuda_free(s->host[k].words);
    cuda_free(s->dev);
    mem_free(s->host);
    mem_free(s);
}

extern "C" size_t cuda_fix_streams_peak_bytes(const FixStreams *s)
{
    size_t bytes = 0;
    for (int k = 0; k < s->ns; k++)
        bytes += sizeof(uint64_t) * (size_t)(s->host[k].peak + 1);
    return bytes;
}

extern "C" int cuda_fix_streams_open(const FixStreams *s)
{
    pull((FixStreams *)s);
    int open = 0;
    for (int k = 0; k < s->ns; k++)
        open += !(s->host[k].count == 0 && s->host[k].acc == s->host[k].sentinel);
    return open;
}

extern "C" int cuda_fix_streams_count(const FixStreams *s) { return s->ns; }

struct LoadF {
    int64_t *W;
    const real *w;
    __device__ double operator()(long i) const
    {
        double bad = 0;
        W[i] = checked(fix((double)w[i], &bad), &bad);
        return bad;
    }
};
extern "C" double cuda_fix_load(int64_t *W, const real *w, long n)
{
    return cuda_reduce<double, BadOp>(LoadF{W, w}, n);
}

static __global__ void k_fix_to_real(real *w, const int64_t *W, long n)
{
    FOR_EACH(i, n) w[i] = (real)flt(W[i]);
}
extern "C" void cuda_fix_to_real(real *w, const int64_t *W, long n)
{
    LAUNCH(k_fix_to_real, n, w, W, n);
}

static __global__ void k_fix_step(DevStream *st, int ns, int64_t *W, int64_t *V, const real *g,
                                  InfoRational q, double a, double l)
{
    const int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= ns)
        return;
    DevStream s = st[k];
    double bad = 0;
    for (long i = s.lo; i < s.hi; i++) {
        if (s.acc > q.spill) { // a full word goes on the stack
            if (s.count == s.cap) {
                s.overflow = 1;
                break;
            }
            s.words[s.count++] = s.acc;
            s.peak = s.count > s.peak ? s.count : s.peak;
            s.acc = s.sentinel;
        }
        const int64_t v = info_mul_word(&s.acc, V[i], &q);
        hg_fix_step(&W[i], &V[i], v, g[i], a, l, &bad);
    }
    s.bad = bad;
    st[k] = s;
}

static __global__ void k_fix_unstep_v(DevStream *st, int ns, const int64_t *W, int64_t *V,
                                      const real *g, InfoRational q, double l)
{
    const int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= ns)
        return;
    DevStream s = st[k];
    double bad = 0;
    for (long i = s.hi - 1; i >= s.lo; i--) { // the buffer is a stack
        const int64_t v = hg_fix_unstep_v(V[i], W[i], g[i], l, &bad);
        V[i] = info_div_word(&s.acc, v, &q); // -> v_t
        if (s.acc == s.sentinel && s.count > 0)
            s.acc = s.words[--s.count];
    }
    s.bad = bad;
    st[k] = s;
}

// The largest |value| the streams' step saw (a NaN sticks), after pulling.
static double streams_bad(const FixStreams *s)
{
    double bad = 0;
    for (int k = 0; k < s->ns; k++) {
        const double b = s->host[k].bad;
        bad = isnan(bad) ? bad : isnan(b) ? b : fmax(bad, b);
    }
    return bad;
}

static int stream_blocks(int ns) { return (ns + 63) / 64; }

extern "C" double cuda_fix_step(FixStreams *s, int64_t *W, int64_t *V, const real *g,
                                const InfoRational *q, double a, double l)
{
    // Words one step can fill: a pair grows acc by at least d/n - 1/acc, so
    // from the sentinel a word takes more than (64 - log2(S + 2) - log2(d/n))
    // / log2(d/n) entries to fill; +2 for rounding and the word in progress.
    const double grow = log2((double)q->d / (double)q->n);
    for (int k = 0; k < s->ns; k++) {
        const DevStream *d = &s->host[k];
        const double per_word = (62.0 - log2((double)d->sentinel + 2) - grow) / grow;
        ensure_room(s, k, (long)((double)(d->hi - d->lo) / per_word) + 2);
    }
    push(s);
    k_fix_step<<<stream_blocks(s->ns), 64, 0, cuda_ctx()->stream>>>(s->dev, s->ns, W, V, g, *q,
                                                                      a, l);
    CU(cudaGetLastError());
    pull(s);
    for (int k = 0; k < s->ns; k++)
        if (s->host[k].overflow) {
            fprintf(stderr, "hgbench: the information buffer's stream %d on the device is full "
                    "(%ld words): a bug in the room estimate\n", k, s->host[k].cap);
            abort();
        }
    return streams_bad(s);
}

extern "C" double cuda_fix_unstep_v(FixStreams *s, const int64_t *W, int64_t *V, const real *g,
                                    const InfoRational *q, double l)
{
    k_fix_unstep_v<<<stream_blocks(s->ns), 64, 0, cuda_ctx()->stream>>>(s->dev, s->ns, W, V, g,
                                                                        *q, l);
    CU(cudaGetLastError());
    pull(s);
    return streams_bad(s);
}

struct StepWF {
    int64_t *W;
    const int64_t *V;
    double a;
    __device__ double operator()(long i) const
    {
        double bad = 0;
        hg_fix_step_w(&W[i], V[i], a, &bad);
        return bad;
    }
};
extern "C" double cuda_fix_step_w(int64_t *W, const int64_t *V, long n, double a)
{
    return cuda_reduce<double, BadOp>(StepWF{W, V, a}, n);
}

// a: the lr sum, b: the wd sum; the range check rides in a third slot
struct Triple {
    double lr, wd, bad;
};
struct TripleOp {
    static __device__ Triple identity() { return Triple{0, 0, 0}; }
    static __device__ Triple join(Triple x, Triple y)
    {
        return Triple{x.lr + y.lr, x.wd + y.wd, BadOp::join(x.bad, y.bad)};
    }
};
struct UnstepWF {
    int64_t *W;
    const int64_t *V;
    real *w, *vb;
    const real *wb;
    double a;
    __device__ Triple operator()(long i) const
    {
        Triple t{0, 0, 0};
        hg_fix_unstep_w(&W[i], V[i], &w[i], wb[i], &vb[i], a, &t.lr, &t.wd, &t.bad);
        return t;
    }
};
extern "C" double cuda_fix_unstep_w(int64_t *W, const int64_t *V, real *w, const real *wb,
                                    real *vb, long n, double a, double *d_lr, double *d_wd)
{
    const Triple t = cuda_reduce<Triple, TripleOp>(UnstepWF{W, V, w, vb, wb, a}, n);
    *d_lr = t.lr;
    *d_wd = t.wd;
    return t.bad;
}

struct AdjointF {
    real *wb, *vb;
    const real *hu;
    const int64_t *V;
    real l, m;
    __device__ double operator()(long i) const
    {
        const double d = (double)vb[i] * flt(V[i]);
        hg_sgd_adjoint(&wb[i], &vb[i], hu[i], l, m);
        return d;
    }
};
extern "C" double cuda_fix_adjoint(real *wb, real *vb, const real *hu, const int64_t *V, long n,
                                   double l, double m)
{
    return cuda_reduce<double, SumOp>(AdjointF{wb, vb, hu, V, (real)l, (real)m}, n);
}

struct MismatchOp {
    static __device__ Pair identity() { return Pair{0, INFINITY}; }
    static __device__ Pair join(Pair x, Pair y) { return Pair{x.a + y.a, fmin(x.b, y.b)}; }
};
struct MismatchF {
    const int64_t *W, *V;
    const real *w0;
    __device__ Pair operator()(long i) const
    {
        double none = 0;
        const int wrong = W[i] != fix((double)w0[i], &none) || V[i] != 0;
        return Pair{(double)wrong, wrong ? (double)i : INFINITY};
    }
};
extern "C" long cuda_fix_mismatch(const int64_t *W, const int64_t *V, const real *w0, long n,
                                  long *first)
{
    const Pair p = cuda_reduce<Pair, MismatchOp>(MismatchF{W, V, w0}, n);
    *first = p.a > 0 ? (long)p.b : -1;
    return (long)p.a;
}
