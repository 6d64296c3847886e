/* fake_device.c — the strict fake device (fake_device.h): BACKEND_CPU's
 * kernels behind a table that opens device memory only while an op runs. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, backtrace */
#include "fake_device.h"

#include <execinfo.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { SLOTS = 8192 };

/* One live allocation. Slots are claimed and read without a lock: the
 * SIGSEGV handler scans them, and allocations may come from OpenMP
 * threads inside an op (kernel scratch). */
typedef struct Slot {
    _Atomic(char *) base; /* NULL: free */
    size_t bytes, mapped;
    MemTag tag;
    atomic_int open;      /* 1: all of it readable and writable until the op returns */
} Slot;

static Slot slots[SLOTS];
static atomic_int used;   /* slots[0..used) may be live */
static atomic_int depth;  /* backend ops running (nested calls count) */
static atomic_int opened; /* pieces and slots opened by the op that runs */
static atomic_size_t up, down;
static atomic_size_t live_bytes, peak_bytes; /* device_peak: the most held at once */
static struct sigaction old_segv;
static Backend dev;

static Slot *slot_of(const void *p)
{
    const char *c = p;
    const int n = atomic_load(&used);
    for (int i = 0; i < n; i++) {
        char *b = atomic_load(&slots[i].base);
        if (b > (char *)1 && c >= b && c < b + slots[i].mapped) /* 1: being claimed */
            return &slots[i];
    }
    return NULL;
}

/* An op opens what it touches: a whole allocation up to CHUNK bytes (one
 * fault each), a larger one in CHUNK-sized pieces, since mprotect's cost
 * grows with the pages it changes and an op that reads a batch out of a
 * 300 MB data set would otherwise open and close all of it. Past MAX_OPEN
 * pieces in one op, whole allocations. */
enum { CHUNK = 4 << 20, MAX_OPEN = 4096 };
static char *open_at[MAX_OPEN];
static size_t open_len[MAX_OPEN];
static atomic_int nopen;

static void open_slot(Slot *s, const char *addr)
{
    char *b = atomic_load(&s->base);
    const size_t off = (size_t)(addr - b) / CHUNK * CHUNK;
    const size_t len = s->mapped - off < CHUNK ? s->mapped - off : CHUNK;
    const int i = atomic_fetch_add(&nopen, 1);
    atomic_fetch_add(&opened, 1);
    if (i < MAX_OPEN) {
        open_at[i] = b + off;
        open_len[i] = len;
        mprotect(b + off, len, PROT_READ | PROT_WRITE);
    } else if (!atomic_exchange(&s->open, 1)) {
        mprotect(b, s->mapped, PROT_READ | PROT_WRITE);
    }
}

/* async-signal-safe output */
static void say(const char *s) { (void)!write(2, s, strlen(s)); }

static void say_hex(unsigned long long v)
{
    char b[19] = "0x";
    for (int i = 0; i < 16; i++)
        b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
    b[18] = 0;
    say(b);
}

static void say_dec(unsigned long long v)
{
    char b[24];
    int i = 23;
    b[i] = 0;
    do
        b[--i] = (char)('0' + v % 10);
    while ((v /= 10) && i > 0);
    say(b + i);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    Slot *s = slot_of(si->si_addr);
    if (s && atomic_load(&depth) > 0) { /* an op's first touch: open it */
        open_slot(s, si->si_addr);
        return;
    }
    if (s) {
        say("fake device: the host touched device memory at ");
        say_hex((unsigned long long)(size_t)si->si_addr);
        say(" (an allocation of ");
        say_dec(s->bytes);
        say(" bytes, tag ");
        say(mem_tag_name(s->tag));
        say(") outside a backend op: on a GPU this is a crash or garbage; use upload/download "
            "or an op. Backtrace (addr2line -e <binary> <offset>):\n");
        void *frames[64];
        backtrace_symbols_fd(frames, backtrace(frames, 64), 2);
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    /* not ours: the previous handler (ASan's, or the default) takes the re-fault */
    sigaction(SIGSEGV, &old_segv, NULL);
    (void)sig;
    (void)uc;
}

static void enter(void) { atomic_fetch_add(&depth, 1); }

static void leave(void)
{
    if (atomic_fetch_sub(&depth, 1) != 1 || !atomic_load(&opened))
        return;
    const int k = atomic_exchange(&nopen, 0);
    for (int i = 0; i < k && i < MAX_OPEN; i++)
        if (fake_device_owns(open_at[i])) /* not freed inside the op */
            mprotect(open_at[i], open_len[i], PROT_NONE);
    const int n = atomic_load(&used);
    for (int i = 0; i < n; i++) {
        Slot *s = &slots[i];
        char *b = atomic_load(&s->base);
        if (b > (char *)1 && atomic_exchange(&s->open, 0))
            mprotect(b, s->mapped, PROT_NONE);
    }
    atomic_store(&opened, 0);
}

static void *dev_alloc(MemTag tag, size_t bytes)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t mapped = bytes ? (bytes + page - 1) / page * page : page;
    const int in_op = atomic_load(&depth) > 0;
    char *p = mmap(NULL, mapped, in_op ? PROT_READ | PROT_WRITE : PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    for (int i = 0; i < SLOTS; i++) {
        char *none = NULL;
        Slot *s = &slots[i];
        if (atomic_load(&s->base) || !atomic_compare_exchange_strong(&s->base, &none, (char *)1))
            continue;
        s->bytes = bytes;
        s->mapped = mapped;
        s->tag = tag;
        atomic_store(&s->open, in_op);
        if (in_op)
            atomic_fetch_add(&opened, 1);
        atomic_store(&s->base, p);
        for (int u = atomic_load(&used); u <= i;)
            if (atomic_compare_exchange_weak(&used, &u, i + 1))
                break;
        mem_account(tag, (long long)bytes);
        const size_t now = atomic_fetch_add(&live_bytes, bytes) + bytes;
        for (size_t pk = atomic_load(&peak_bytes); pk < now;)
            if (atomic_compare_exchange_weak(&peak_bytes, &pk, now))
                break;
        return p;
    }
    hg_die("fake device: more than %d live allocations", SLOTS);
}

static void dev_free(void *p)
{
    if (!p)
        return;
    Slot *s = slot_of(p);
    HG_CHECK(s && atomic_load(&s->base) == p, "fake device: free of %p, not an allocation", p);
    mem_account(s->tag, -(long long)s->bytes);
    atomic_fetch_sub(&live_bytes, s->bytes);
    munmap(p, s->mapped);
    atomic_store(&s->base, NULL);
}

static void dev_upload(void *dst, const void *host, size_t bytes)
{
    HG_CHECK(fake_device_owns(dst) && !fake_device_owns(host),
             "fake device: upload from device memory or to host memory");
    enter();
    memcpy(dst, host, bytes);
    leave();
    atomic_fetch_add(&up, bytes);
}

static void dev_download(void *host, const void *src, size_t bytes)
{
    HG_CHECK(fake_device_owns(src) && !fake_device_owns(host),
             "fake device: download from host memory or to device memory");
    enter();
    memcpy(host, src, bytes);
    leave();
    atomic_fetch_add(&down, bytes);
}

static size_t dev_peak(void) { return atomic_load(&peak_bytes); }

/* Every kernel of BACKEND_CPU, called between enter() and leave(). */
#define FAKE_OPS \
    OPV(mem, copy, (void *dst, const void *src, size_t bytes), (dst, src, bytes)) \
    OPR(mem, Scratch *, scratch_new, (void), ()) \
    OPV(mem, scratch_free, (Scratch *s), (s)) \
    OPV(mem, gather, (const real *xs, const int32_t *ys, int n, long dim, const int *idx, int b, real *x, int32_t *y), (xs, ys, n, dim, idx, b, x, y)) \
    OPV(layer, linear_forward, (const LayerGeom *L, const real *w, const real *x, int n, real *y, int acc, int add_bias), (L, w, x, n, y, acc, add_bias)) \
    OPV(layer, linear_backward_data, (const LayerGeom *L, const real *w, const real *dy, int n, real *dx, int acc), (L, w, dy, n, dx, acc)) \
    OPV(layer, linear_backward_params, (const LayerGeom *L, const real *x, const real *dy, int n, real *g, int acc, int with_bias), (L, x, dy, n, g, acc, with_bias)) \
    OPV(layer, linear_rforward, (const LayerGeom *L, const real *w, const real *V, long P, int kc, const real *x, const real *rx, int n, real *ry), (L, w, V, P, kc, x, rx, n, ry)) \
    OPV(layer, linear_rbackward, (const LayerGeom *L, const real *w, const real *V, long P, int kc, const real *x, const real *rx, const real *dy, const real *rdy, int n, real *HV, real *rdx), (L, w, V, P, kc, x, rx, dy, rdy, n, HV, rdx)) \
    OPV(layer, conv_forward, (const LayerGeom *L, const real *w, const real *x, int n, real *y, Scratch *sc), (L, w, x, n, y, sc)) \
    OPV(layer, conv_backward, (const LayerGeom *L, const real *w, const real *x, const real *dy, int n, real *g, real *dx, Scratch *sc), (L, w, x, dy, n, g, dx, sc)) \
    OPV(layer, conv_backward_data, (const LayerGeom *L, const real *w, const real *dy, int n, real *dx, Scratch *sc), (L, w, dy, n, dx, sc)) \
    OPV(layer, conv_rforward, (const LayerGeom *L, const real *w, const real *V, long P, int kc, const real *x, const real *rx, int n, real *ry, Scratch *sc), (L, w, V, P, kc, x, rx, n, ry, sc)) \
    OPV(layer, conv_rbackward, (const LayerGeom *L, const real *w, const real *V, long P, int kc, const real *x, const real *rx, const real *dy, const real *rdy, int n, real *HV, real *rdx, Scratch *sc), (L, w, V, P, kc, x, rx, dy, rdy, n, HV, rdx, sc)) \
    OPV(layer, conv_direct_forward, (const LayerGeom *L, const real *w, const real *x, int n, real *y, Scratch *sc), (L, w, x, n, y, sc)) \
    OPV(layer, conv_direct_backward_params, (const LayerGeom *L, const real *x, const real *dy, int n, real *g, Scratch *sc), (L, x, dy, n, g, sc)) \
    OPV(layer, conv_direct_backward_params_pooled, (const LayerGeom *L, const LayerGeom *pool, const int32_t *arg, const real *xr, const real *x, const real *dyp, int n, real *g, Scratch *sc), (L, pool, arg, xr, x, dyp, n, g, sc)) \
    OPV(layer, maxpool_forward, (const LayerGeom *L, const real *x, int n, real *y, int32_t *arg), (L, x, n, y, arg)) \
    OPV(layer, maxpool_gather, (const LayerGeom *L, const int32_t *arg, const real *x, int n, real *y), (L, arg, x, n, y)) \
    OPV(layer, maxpool_backward, (const LayerGeom *L, const int32_t *arg, const real *dy, int n, real *dx), (L, arg, dy, n, dx)) \
    OPV(layer, maxpool_relu_backward, (const LayerGeom *L, const int32_t *arg, const real *x, const real *dy, int n, real *dx), (L, arg, x, dy, n, dx)) \
    OPV(layer, maxpool_relu_forward, (const LayerGeom *L, const real *x, int n, real *y, int32_t *arg), (L, x, n, y, arg)) \
    OPV(layer, maxpool_relu_gather, (const LayerGeom *L, const int32_t *arg, const real *x, const real *rx, int n, real *ry), (L, arg, x, rx, n, ry)) \
    OPR(layer, double, maxpool_relu_kink, (const LayerGeom *L, const int32_t *arg, const real *x, const real *rx, int n), (L, arg, x, rx, n)) \
    OPV(layer, relu_forward, (const real *x, long count, real *y), (x, count, y)) \
    OPV(layer, relu_mask, (const real *x, const real *d, long count, real *out), (x, d, count, out)) \
    OPV(layer, tanh_forward, (const real *x, long count, real *y), (x, count, y)) \
    OPV(layer, tanh_scale, (const real *y, const real *d, long count, real *out), (y, d, count, out)) \
    OPV(layer, tanh_rop_correction, (const real *y, const real *dy, const real *ry, long count, real *out), (y, dy, ry, count, out)) \
    OPV(layer, flatten_forward, (Shape in, const real *x, int n, real *y), (in, x, n, y)) \
    OPV(layer, flatten_backward, (Shape in, const real *dy, int n, real *dx), (in, dy, n, dx)) \
    OPR(layer, double, xent_forward, (const real *z, const int32_t *y, int n, int K, real *p), (z, y, n, K, p)) \
    OPV(layer, xent_backward, (const real *p, const int32_t *y, int n, int K, real *dz), (p, y, n, K, dz)) \
    OPV(layer, xent_rop, (const real *p, const real *rz, int n, int K, real *rdz), (p, rz, n, K, rdz)) \
    OPR(layer, int, xent_correct, (const real *z, const int32_t *y, int n, int K), (z, y, n, K)) \
    OPV(layer, xent_weigh_rows, (real *z, const real *c, int n, int K), (z, c, n, K)) \
    OPV(layer, xent_rdot, (const real *p, const int32_t *y, const real *rz, int n, int K, real *out), (p, y, rz, n, K, out)) \
    OPR(layer, double, relu_kink, (const real *x, const real *rx, long count), (x, rx, count)) \
    OPR(layer, double, maxpool_kink, (const LayerGeom *L, const int32_t *arg, const real *x, const real *rx, int n), (L, arg, x, rx, n)) \
    OPR(vec, double, dot, (const real *a, const real *b, long n), (a, b, n)) \
    OPR(vec, int, all_finite, (const real *x, long n), (x, n)) \
    OPV(vec, axpy, (real *y, double a, const real *x, long n), (y, a, x, n)) \
    OPV(vec, mul, (real *out, const real *a, const real *b, long n), (out, a, b, n)) \
    OPV(vec, clamp, (real *g, long n, double c, real *mask), (g, n, c, mask)) \
    OPV(vec, mask_pack, (const real *mask, long n, uint64_t *bits), (mask, n, bits)) \
    OPV(vec, mask_select, (const uint64_t *bits, const real *x, long n, real *out), (bits, x, n, out)) \
    OPV(vec, sgd_step, (real *w, real *v, real *comp, const real *g, long n, double a, double m, double l), (w, v, comp, g, n, a, m, l)) \
    OPV(vec, sgd_adjoint, (real *wb, real *vb, const real *hu, long n, double l, double m), (wb, vb, hu, n, l, m)) \
    OPV(vec, tangent_fold, (real *Z, real *U, const real *HZ, const real *mask, const real *v, const real *w, long n, int j0, int kc, int cv, int cw, double a, double m, double l), (Z, U, HZ, mask, v, w, n, j0, kc, cv, cw, a, m, l)) \
    OPV(vec, grad_accumulate, (double *sum, const real *g, double b, long n), (sum, g, b, n)) \
    OPV(vec, grad_average, (real *grad, const double *sum, double total, long n), (grad, sum, total, n)) \
    OPR(fix, FixStreams *, fix_streams_new, (long n, uint64_t sentinel, double floor_bits), (n, sentinel, floor_bits)) \
    OPV(fix, fix_streams_free, (FixStreams *s), (s)) \
    OPR(fix, size_t, fix_streams_peak_bytes, (const FixStreams *s), (s)) \
    OPR(fix, int, fix_streams_open, (const FixStreams *s), (s)) \
    OPR(fix, int, fix_streams_count, (const FixStreams *s), (s)) \
    OPR(fix, double, fix_load, (int64_t *W, const real *w, long n), (W, w, n)) \
    OPV(fix, fix_to_real, (real *w, const int64_t *W, long n), (w, W, n)) \
    OPR(fix, double, fix_step, (FixStreams *s, int64_t *W, int64_t *V, const real *g, const InfoRational *q, double a, double l), (s, W, V, g, q, a, l)) \
    OPR(fix, double, fix_step_w, (int64_t *W, const int64_t *V, long n, double a), (W, V, n, a)) \
    OPR(fix, double, fix_unstep_w, (int64_t *W, const int64_t *V, real *w, const real *wb, real *vb, long n, double a, double *d_lr, double *d_wd), (W, V, w, wb, vb, n, a, d_lr, d_wd)) \
    OPR(fix, double, fix_unstep_v, (FixStreams *s, const int64_t *W, int64_t *V, const real *g, const InfoRational *q, double l), (s, W, V, g, q, l)) \
    OPR(fix, double, fix_adjoint, (real *wb, real *vb, const real *hu, const int64_t *V, long n, double l, double m), (wb, vb, hu, V, n, l, m)) \
    OPR(fix, long, fix_mismatch, (const int64_t *W, const int64_t *V, const real *w0, long n, long *first), (W, V, w0, n, first))

#define OPV(group, name, params, args) \
    static void w_##name params { enter(); BACKEND_CPU.group.name args; leave(); }
#define OPR(group, ret, name, params, args) \
    static ret w_##name params { enter(); ret r_ = BACKEND_CPU.group.name args; leave(); return r_; }
FAKE_OPS
#undef OPV
#undef OPR

const Backend *fake_device_strict(void)
{
    if (dev.name)
        return &dev;
    void *warm[1];
    backtrace(warm, 1); /* loads libgcc now, not first inside the handler */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    HG_CHECK(sigaction(SIGSEGV, &sa, &old_segv) == 0, "fake device: sigaction failed");
    Backend b = BACKEND_CPU;
    b.name = "fake-device";
    b.device_memory = 1;
    b.mem.alloc = dev_alloc;
    b.mem.free = dev_free;
    b.mem.upload = dev_upload;
    b.mem.download = dev_download;
    b.mem.device_peak = dev_peak;
#define OPV(group, name, params, args) b.group.name = BACKEND_CPU.group.name ? w_##name : NULL;
#define OPR(group, ret, name, params, args) OPV(group, name, params, args)
    FAKE_OPS
#undef OPV
#undef OPR
    dev = b;
    return &dev;
}

int fake_device_owns(const void *p) { return slot_of(p) != NULL; }
size_t fake_device_uploaded(void) { return atomic_load(&up); }
size_t fake_device_downloaded(void) { return atomic_load(&down); }

int fake_device_requested(HgErr *err)
{
    const char *v = getenv("HG_FAKE_DEVICE");
    if (!v || !*v)
        return 0;
    if (!strcmp(v, "strict"))
        return 1;
    return hg_fail(err, "HG_FAKE_DEVICE='%s': the one fake device is 'strict' (unset it for a "
                   "real device)", v);
}
