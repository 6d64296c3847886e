/* dnnl_conv.c — see dnnl_conv.h. Empty unless HG_DNNL. */
#ifdef HG_DNNL
#include "dnnl_conv.h"

#include <dnnl_debug.h>
#include <stdio.h>
#include <string.h>

#define DN_TRY(call, what)                                                           \
    do {                                                                             \
        dnnl_status_t s_ = (call);                                                   \
        if (s_ != dnnl_success) return hg_fail(err, "%s: %s", what, dnnl_status2str(s_)); \
    } while (0)

int dn_ctx_init(DnCtx *c, HgErr *err)
{
    memset(c, 0, sizeof *c);
    DN_TRY(dnnl_engine_create(&c->engine, dnnl_cpu, 0), "oneDNN CPU engine");
    DN_TRY(dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags),
           "oneDNN stream");
    return 0;
}

void dn_ctx_free(DnCtx *c)
{
    if (c->stream) dnnl_stream_destroy(c->stream);
    if (c->engine) dnnl_engine_destroy(c->engine);
    memset(c, 0, sizeof *c);
}

DnTensor dn_cnhw(const float *p, long kc, long c, long n, long h, long w)
{
    if (kc == 0)
        return (DnTensor){.p = (float *)p, .ndims = 4, .dims = {n, c, h, w},
                          .strides = {h * w, n * h * w, w, 1}};
    return (DnTensor){.p = (float *)p, .ndims = 5, .dims = {n, c, kc, h, w},
                      .strides = {h * w, n * h * w, c * n * h * w, w, 1}};
}

DnTensor dn_weights(const float *p, long o, long i, long K, int depth3)
{
    if (depth3)
        return (DnTensor){.p = (float *)p, .ndims = 5, .dims = {o, i, 1, K, K},
                          .strides = {i * K * K, K * K, K * K, K, 1}};
    return (DnTensor){.p = (float *)p, .ndims = 4, .dims = {o, i, K, K},
                      .strides = {i * K * K, K * K, K, 1}};
}

DnTensor dn_vec1(const float *p, long n)
{
    return (DnTensor){.p = (float *)p, .ndims = 1, .dims = {n}, .strides = {1}};
}

void dn_format(const dnnl_memory_desc_t *md, char *buf, size_t cap)
{
    if (md->format_kind != dnnl_blocked) {
        snprintf(buf, cap, "%s", dnnl_fmt_kind2str(md->format_kind));
        return;
    }
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    int order[DNNL_MAX_NDIMS], blocked[DNNL_MAX_NDIMS] = {0};
    for (int i = 0; i < b->inner_nblks; i++) blocked[b->inner_idxs[i]] = 1;
    /* outermost first: decreasing stride, ties in logical order */
    for (int i = 0; i < md->ndims; i++) order[i] = i;
    for (int i = 1; i < md->ndims; i++)
        for (int j = i; j > 0 && b->strides[order[j]] > b->strides[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t len = 0;
    for (int i = 0; i < md->ndims && len + 1 < cap; i++)
        buf[len++] = (char)((blocked[order[i]] ? 'A' : 'a') + order[i]);
    buf[len] = '\0';
    for (int i = 0; i < b->inner_nblks && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%lld%c", (long long)b->inner_blks[i],
                         'a' + (int)b->inner_idxs[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
}

/* The query and execute-argument id of each role under each propagation. */
static dnnl_query_t role_query(DnProp prop, DnRole r, int *index)
{
    *index = r == DN_BIAS;
    switch (r) {
    case DN_SRC: return prop == DN_BWD_DATA ? dnnl_query_diff_src_md : dnnl_query_src_md;
    case DN_WEI:
    case DN_BIAS:
        return prop == DN_BWD_WEIGHTS ? dnnl_query_diff_weights_md : dnnl_query_weights_md;
    case DN_DST: return prop == DN_FWD ? dnnl_query_dst_md : dnnl_query_diff_dst_md;
    default: return dnnl_query_undef;
    }
}

static int role_arg(DnProp prop, DnRole r)
{
    static const int arg[3][DN_NROLES] = {
        {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST},
        {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, 0, DNNL_ARG_DIFF_DST},
        {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS, DNNL_ARG_DIFF_DST},
    };
    return arg[prop][r];
}

static int role_is_output(DnProp prop, DnRole r)
{
    return prop == DN_FWD ? r == DN_DST : prop == DN_BWD_DATA ? r == DN_SRC
                                                              : r == DN_WEI || r == DN_BIAS;
}

/* The descriptors and the primitive descriptor; the forward one is the hint
 * a backward one needs (its layouts are what it was tuned against). */
static int make_pd(dnnl_primitive_desc_t *pd, const DnCtx *ctx, DnProp prop,
                   const dnnl_memory_desc_t md[DN_NROLES], int bias, const dnnl_dim_t *pad,
                   int nsp, HgErr *err)
{
    const dnnl_dims_t one = {1, 1, 1};
    dnnl_dims_t p = {0};
    for (int i = 0; i < nsp; i++) p[i] = pad[i];
    const dnnl_memory_desc_t *b = bias ? &md[DN_BIAS] : NULL;
    dnnl_primitive_attr_t attr;
    DN_TRY(dnnl_primitive_attr_create(&attr), "attribute");
    /* user scratchpad: no allocation inside the timed executions */
    dnnl_status_t s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_convolution_desc_t fd, bd;
    dnnl_primitive_desc_t hint = NULL;
    if (s == dnnl_success)
        s = dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training,
                                               dnnl_convolution_direct, &md[DN_SRC],
                                               &md[DN_WEI], b, &md[DN_DST], one, p, p);
    if (s == dnnl_success && prop == DN_FWD)
        s = dnnl_primitive_desc_create(pd, &fd, attr, ctx->engine, NULL);
    else if (s == dnnl_success) {
        s = dnnl_primitive_desc_create(&hint, &fd, NULL, ctx->engine, NULL);
        if (s == dnnl_success && prop == DN_BWD_DATA)
            s = dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct,
                                                         &md[DN_SRC], &md[DN_WEI],
                                                         &md[DN_DST], one, p, p);
        else if (s == dnnl_success)
            s = dnnl_convolution_backward_weights_desc_init(&bd, dnnl_convolution_direct,
                                                            &md[DN_SRC], &md[DN_WEI], b,
                                                            &md[DN_DST], one, p, p);
        if (s == dnnl_success)
            s = dnnl_primitive_desc_create(pd, &bd, attr, ctx->engine, hint);
    }
    if (hint) dnnl_primitive_desc_destroy(hint);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return hg_fail(err, "convolution (%s) primitive descriptor: %s",
                       prop == DN_FWD ? "forward" : prop == DN_BWD_DATA ? "backward data"
                                                                       : "backward weights",
                       dnnl_status2str(s));
    return 0;
}

/* A reorder from -> to; with sum: to += from. */
static int make_reorder(dnnl_primitive_t *r, const DnCtx *ctx, const dnnl_memory_desc_t *from,
                        const dnnl_memory_desc_t *to, int sum, HgErr *err)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_success;
    if (sum) {
        s = dnnl_primitive_attr_create(&attr);
        if (s == dnnl_success) s = dnnl_post_ops_create(&po);
        if (s == dnnl_success) s = dnnl_post_ops_append_sum(po, 1.0f);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (s == dnnl_success)
        s = dnnl_reorder_primitive_desc_create(&pd, from, ctx->engine, to, ctx->engine, attr);
    if (s == dnnl_success) s = dnnl_primitive_create(r, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return hg_fail(err, "reorder%s: %s", sum ? " with sum" : "", dnnl_status2str(s));
    return 0;
}

static int conv_init(DnConv *c, const DnCtx *ctx, DnProp prop, DnLayout lay,
                     const DnTensor t[DN_NROLES], const dnnl_dim_t *pad, HgErr *err)
{
    static const char *const role_name[DN_NROLES] = {"src", "wei", "bias", "dst"};
    const int bias = t[DN_BIAS].p != NULL;
    dnnl_memory_desc_t umd[DN_NROLES], req[DN_NROLES];
    memset(umd, 0, sizeof umd);
    for (int r = 0; r < DN_NROLES; r++) {
        if (!t[r].p) continue;
        DN_TRY(dnnl_memory_desc_init_by_strides(&umd[r], t[r].ndims, t[r].dims, dnnl_f32,
                                                t[r].strides),
               "memory descriptor");
        req[r] = umd[r];
        if (lay == DN_ANY && r != DN_BIAS)
            DN_TRY(dnnl_memory_desc_init_by_tag(&req[r], t[r].ndims, t[r].dims, dnnl_f32,
                                                dnnl_format_tag_any),
                   "memory descriptor (any)");
    }
    dnnl_primitive_desc_t pd;
    if (make_pd(&pd, ctx, prop, req, bias, pad, t[DN_SRC].ndims - 2, err)) return -1;
    const char *impl = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(c->impl, sizeof c->impl, "%s", impl);

    int rc = 0;
    size_t len = 0;
    for (int r = 0; r < DN_NROLES && !rc; r++) {
        if (!t[r].p) continue;
        int index;
        const dnnl_query_t q = role_query(prop, r, &index);
        const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(pd, q, index);
        c->output[r] = role_is_output(prop, r);
        rc = dnnl_memory_create(&c->user[r], &umd[r], ctx->engine, t[r].p) != dnnl_success;
        if (rc) {
            hg_fail(err, "memory for %s", role_name[r]);
            break;
        }
        const int same = pmd && dnnl_memory_desc_equal(pmd, &umd[r]);
        if (same && !t[r].accumulate) {
            c->inner[r] = c->user[r];
        } else {
            rc = dnnl_memory_create(&c->inner[r], pmd, ctx->engine, DNNL_MEMORY_ALLOCATE) !=
                 dnnl_success;
            if (rc) {
                hg_fail(err, "oneDNN's buffer for %s", role_name[r]);
                break;
            }
            rc = c->output[r] ? make_reorder(&c->reorder[r], ctx, pmd, &umd[r], t[r].accumulate, err)
                              : make_reorder(&c->reorder[r], ctx, &umd[r], pmd, 0, err);
        }
        c->args[c->nargs++] = (dnnl_exec_arg_t){role_arg(prop, r), c->inner[r]};
        char fmt[48];
        dn_format(pmd, fmt, sizeof fmt);
        int w = snprintf(c->layout + len, sizeof c->layout - len, "%s%s %s%s", len ? " " : "",
                         role_name[r], fmt,
                         !c->reorder[r] ? "" : c->output[r] ? (t[r].accumulate ? "+>" : "->")
                                                            : "<-");
        if (w > 0 && (size_t)w < sizeof c->layout - len) len += (size_t)w;
    }
    if (!rc) {
        const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        if (smd && dnnl_memory_desc_get_size(smd) > 0) {
            rc = dnnl_memory_create(&c->scratch, smd, ctx->engine, DNNL_MEMORY_ALLOCATE) !=
                 dnnl_success;
            if (rc) hg_fail(err, "scratchpad");
            else c->args[c->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, c->scratch};
        }
    }
    if (!rc && dnnl_primitive_create(&c->prim, pd) != dnnl_success)
        rc = hg_fail(err, "convolution primitive");
    dnnl_primitive_desc_destroy(pd);
    return rc ? -1 : 0;
}

int dn_conv_init(DnConv *c, const DnCtx *ctx, DnProp prop, DnLayout lay,
                 const DnTensor t[DN_NROLES], const dnnl_dim_t *pad, HgErr *err)
{
    memset(c, 0, sizeof *c);
    if (conv_init(c, ctx, prop, lay, t, pad, err)) {
        dn_conv_free(c);
        return -1;
    }
    return 0;
}

static void exec(dnnl_primitive_t p, const DnCtx *ctx, int nargs, const dnnl_exec_arg_t *args)
{
    dnnl_status_t s = dnnl_primitive_execute(p, ctx->stream, nargs, args);
    HG_CHECK(s == dnnl_success, "oneDNN execute: %s", dnnl_status2str(s));
}

void dn_conv_run(const DnConv *c, const DnCtx *ctx, unsigned what)
{
    for (int pass = 0; pass < 3; pass++) /* reorders in, convolution, reorders out */
        for (int r = 0; r < DN_NROLES; r++) {
            if (pass == 1) {
                if (what & DN_COMPUTE) exec(c->prim, ctx, c->nargs, c->args);
                break;
            }
            if (!c->reorder[r] || !(what & DN_REORDERS) || c->output[r] != (pass == 2)) continue;
            const dnnl_exec_arg_t a[2] = {
                {DNNL_ARG_FROM, c->output[r] ? c->inner[r] : c->user[r]},
                {DNNL_ARG_TO, c->output[r] ? c->user[r] : c->inner[r]}};
            exec(c->reorder[r], ctx, 2, a);
        }
    dnnl_stream_wait(ctx->stream);
}

void dn_conv_free(DnConv *c)
{
    if (c->prim) dnnl_primitive_destroy(c->prim);
    for (int r = 0; r < DN_NROLES; r++) {
        if (c->reorder[r]) dnnl_primitive_destroy(c->reorder[r]);
        if (c->inner[r] && c->inner[r] != c->user[r]) dnnl_memory_destroy(c->inner[r]);
        if (c->user[r]) dnnl_memory_destroy(c->user[r]);
    }
    if (c->scratch) dnnl_memory_destroy(c->scratch);
    memset(c, 0, sizeof *c);
}

void dn_conv_bind(DnConv *c, DnRole r, const float *p)
{
    HG_CHECK(c->user[r], "oneDNN bind: role %d was not given at init", (int)r);
    dnnl_status_t s = dnnl_memory_set_data_handle(c->user[r], (void *)p);
    HG_CHECK(s == dnnl_success, "oneDNN bind: %s", dnnl_status2str(s));
}

int dn_conv_is_ref(const DnConv *c) { return !strncmp(c->impl, "ref", 3); }
#endif /* HG_DNNL */
