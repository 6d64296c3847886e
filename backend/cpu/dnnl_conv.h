/* dnnl_conv.h — one oneDNN convolution primitive (DNNL 2.x C API, float32)
 * over tensors the caller owns in its own strided layout. Used by the CPU
 * backend's optional oneDNN conv path (cpu_conv_choice.c) and by
 * hgbench-conv-dnnl (bench/conv_dnnl.c). Compiled only with HG_DNNL (the
 * float32 configs where libdnnl-dev is installed: the Makefile's
 * HAVE_DNNL); this file needs nothing of hgbench but common/check.h.
 *
 * Two ways to meet oneDNN:
 *   DN_STRIDED  the primitive is created on the caller's memory descriptors
 *               (dims and strides as given): no reorders, but only the
 *               implementations that accept those strides can serve it
 *               (for our [C][n][H][W] activations oneDNN 2.6 has only its
 *               reference implementation: see dn_conv_is_ref).
 *   DN_ANY      source, weights and destination descriptors are format
 *               `any`: oneDNN picks its preferred (blocked) layouts, and
 *               reorders copy the caller's inputs in and the outputs back.
 * An output marked `accumulate` is added to what the caller's buffer holds
 * (the primitive writes a buffer of its own, then a reorder with a sum
 * post-op adds it in), so that several primitives can sum into one tensor.
 *
 * Everything (primitives, reorders, their buffers, user-mode scratchpads)
 * is made by dn_conv_init; dn_conv_run only executes, so it can be timed.
 * dn_conv_bind points a tensor at another buffer of the same shape and
 * strides, so one primitive serves every call of a shape. oneDNN's own
 * buffers (blocked copies, scratchpads) come from oneDNN's allocator, not
 * common/mem.h: they are not in the tagged memory accounts.
 * Math mode: oneDNN's default (strict float32: no bf16/tf32 conversion).
 * Leaves out: strides, dilation, groups, other data types.
 */
#ifndef HG_DNNL_CONV_H
#define HG_DNNL_CONV_H

#ifdef HG_F64
#error "oneDNN's CPU convolutions are float32: HG_DNNL is for the float32 configs only"
#endif

#include <dnnl.h>

#include "../../common/check.h"

typedef struct DnCtx {
    dnnl_engine_t engine; /* CPU engine 0 */
    dnnl_stream_t stream;
} DnCtx;

int dn_ctx_init(DnCtx *c, HgErr *err);
void dn_ctx_free(DnCtx *c);

typedef enum DnLayout { DN_STRIDED, DN_ANY } DnLayout;
typedef enum DnProp { DN_FWD, DN_BWD_DATA, DN_BWD_WEIGHTS } DnProp;

/* The tensors of a convolution, named in forward terms: in backward-data
 * DN_SRC is diff_src (written) and DN_DST diff_dst (read); in
 * backward-weights DN_WEI and DN_BIAS are the gradients (written). */
typedef enum DnRole { DN_SRC, DN_WEI, DN_BIAS, DN_DST, DN_NROLES } DnRole;

typedef struct DnTensor {
    float *p;            /* NULL: absent (the bias only) */
    int ndims;
    dnnl_dims_t dims;    /* oneDNN's logical order: N C [D] H W, O I [D] H W, O */
    dnnl_dims_t strides; /* in elements */
    int accumulate;      /* an output: add to *p instead of overwriting */
} DnTensor;

typedef struct DnConv {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[DN_NROLES + 1]; /* its memories and scratchpad */
    int nargs;
    dnnl_memory_t user[DN_NROLES];  /* the caller's buffers */
    dnnl_memory_t inner[DN_NROLES]; /* what the primitive reads/writes: user or its own */
    dnnl_memory_t scratch;
    dnnl_primitive_t reorder[DN_NROLES]; /* NULL: none for that role */
    int output[DN_NROLES];
    char impl[48];   /* oneDNN's implementation name, "jit:avx512_core" */
    char layout[192]; /* "src aBcd16b<- wei ABcd16b16a<- dst aBcd16b->" (<-: reordered in) */
} DnConv;

/* What dn_conv_run executes. */
#define DN_COMPUTE 1u  /* the convolution */
#define DN_REORDERS 2u /* reorders in (before it) and out (after it) */
#define DN_ALL (DN_COMPUTE | DN_REORDERS)

/* Creates the primitive for t (DN_SRC's ndims: 4 for 2-D, 5 for 3-D
 * convolutions) with zero padding pad[i] per spatial dim, stride 1; -1 with
 * oneDNN's reason if it cannot (then *c needs no dn_conv_free). */
int dn_conv_init(DnConv *c, const DnCtx *ctx, DnProp prop, DnLayout lay,
                 const DnTensor t[DN_NROLES], const dnnl_dim_t *pad, HgErr *err);
void dn_conv_run(const DnConv *c, const DnCtx *ctx, unsigned what);
/* Points role r (given at init) at p, a buffer with the same dims and
 * strides as the one it was made with. */
void dn_conv_bind(DnConv *c, DnRole r, const float *p);
/* 1 if oneDNN serves c by its reference implementation ("ref:..."), which
 * runs orders of magnitude slower than its JIT kernels. */
int dn_conv_is_ref(const DnConv *c);
void dn_conv_free(DnConv *c);

/* The suite's layouts as tensors (float32 data, strides in elements):
 * activations [C][n][H][W] as N C H W, or with depth kc > 0 the tangents'
 * [kc][C][n][H][W] as N C D H W; weights [o][i][K][K] as O I K K (depth3:
 * O I 1 K K, for the tangents' 3-D convolution); a vector of n. */
DnTensor dn_cnhw(const float *p, long kc, long c, long n, long h, long w);
DnTensor dn_weights(const float *p, long o, long i, long K, int depth3);
DnTensor dn_vec1(const float *p, long n);

/* A memory descriptor's layout in oneDNN's tag spelling ("aBcd16b"). */
void dn_format(const dnnl_memory_desc_t *md, char *buf, size_t cap);

#endif
