/* cpu_backend.c — BACKEND_CPU: host memory from the tagged allocator,
 * OpenBLAS (its OpenMP build, so one threading runtime) and OpenMP loops.
 * With oneDNN (HG_DNNL, float32 only) conv_forward and conv_rforward go
 * through cpu_conv_choice.c's paths (ours by default, HG_CPU_CONV) and the
 * table has conv_path and conv_picks; without it they are conv2d.c's. */
#include <omp.h>
#include <string.h>

#include "blas_core.h"
#include "cpu.h"

void openblas_set_num_threads(int n); /* cblas.h declares it only in some versions */

/* pulls blas_core.o (its constructor picks OpenBLAS's core) into every
 * program that links this backend */
__attribute__((used)) static const char *(*const keep_blas_core)(void) = blas_core_name;

static void cpu_copy(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }

static void cpu_set_threads(int n)
{
    omp_set_num_threads(n);
    openblas_set_num_threads(n); /* the OpenMP build also follows omp_set */
}

static void cpu_gather(const real *xs, const int32_t *ys, int n, long dim, const int *idx, int b,
                       real *x, int32_t *y)
{
    for (int k = 0; k < b; k++) {
        HG_CHECK(idx[k] >= 0 && idx[k] < n, "index %d of %d examples", idx[k], n);
        memcpy(x + (size_t)k * dim, xs + (size_t)idx[k] * dim, dim * sizeof(real));
        y[k] = ys[idx[k]];
    }
}

static Scratch *cpu_scratch_new(void) { return mem_alloc(MEM_ACTIVATIONS, sizeof(Scratch)); }

static void cpu_scratch_free(Scratch *s)
{
    if (!s)
        return;
    scratch_release(s);
    mem_free(s);
}

const Backend BACKEND_CPU = {
    .name = "cpu",
    .mem.alloc = mem_try_alloc, /* NULL when out of memory: the engines report it */
    .mem.free = mem_free,
    .mem.peak = mem_peak,
    .mem.upload = cpu_copy,
    .mem.download = cpu_copy,
    .mem.copy = cpu_copy,
    .mem.set_threads = cpu_set_threads,
    .mem.scratch_new = cpu_scratch_new,
    .mem.scratch_free = cpu_scratch_free,
    .mem.gather = cpu_gather,

    .layer.linear_forward = linear_forward,
    .layer.linear_backward_data = linear_backward_data,
    .layer.linear_backward_params = linear_backward_params,
    .layer.linear_rforward = linear_rforward,
    .layer.linear_rbackward = linear_rbackward,
#ifdef HG_DNNL
    .layer.conv_forward = cpu_conv_forward,
    .layer.conv_rforward = cpu_conv_rforward,
    .layer.conv_path = cpu_conv_path,
    .layer.conv_picks = cpu_conv_picks,
#else
    .layer.conv_forward = conv_forward,
    .layer.conv_rforward = conv_rforward,
#endif
    .layer.conv_backward = conv_backward,
    .layer.conv_backward_data = conv_backward_data,
    .layer.conv_rbackward = conv_rbackward,
    .layer.conv_direct_forward = conv_direct_forward,
    .layer.conv_direct_backward_params = conv_direct_backward_params,
    .layer.conv_direct_backward_params_pooled = conv_direct_backward_params_pooled,
    .layer.maxpool_forward = maxpool_forward,
    .layer.maxpool_gather = maxpool_gather,
    .layer.maxpool_backward = maxpool_backward,
    .layer.maxpool_relu_backward = maxpool_relu_backward,
    .layer.maxpool_relu_forward = maxpool_relu_forward,
    .layer.maxpool_relu_gather = maxpool_relu_gather,
    .layer.maxpool_relu_kink = cpu_maxpool_relu_kink,
    .layer.relu_forward = relu_forward,
    .layer.relu_mask = relu_mask,
    .layer.tanh_forward = tanh_forward,
    .layer.tanh_scale = tanh_scale,
    .layer.tanh_rop_correction = tanh_rop_correction,
    .layer.flatten_forward = flatten_forward,
    .layer.flatten_backward = flatten_backward,
    .layer.xent_forward = xent_forward,
    .layer.xent_backward = xent_backward,
    .layer.xent_rop = xent_rop,
    .layer.xent_correct = xent_correct,
    .layer.xent_weigh_rows = xent_weigh_rows,
    .layer.xent_rdot = xent_rdot,
    .layer.relu_kink = cpu_relu_kink,
    .layer.maxpool_kink = cpu_maxpool_kink,

    .vec.dot = cpu_dot,
    .vec.all_finite = cpu_all_finite,
    .vec.axpy = cpu_axpy,
    .vec.mul = cpu_mul,
    .vec.clamp = cpu_clamp,
    .vec.mask_pack = cpu_mask_pack,
    .vec.mask_select = cpu_mask_select,
    .vec.sgd_step = cpu_sgd_step,
    .vec.sgd_adjoint = cpu_sgd_adjoint,
    .vec.tangent_fold = cpu_tangent_fold,
    .vec.grad_accumulate = cpu_grad_accumulate,
    .vec.grad_average = cpu_grad_average,

    .fix.fix_streams_new = cpu_fix_streams_new,
    .fix.fix_streams_free = cpu_fix_streams_free,
    .fix.fix_streams_peak_bytes = cpu_fix_streams_peak_bytes,
    .fix.fix_streams_open = cpu_fix_streams_open,
    .fix.fix_streams_count = cpu_fix_streams_count,
    .fix.fix_load = cpu_fix_load,
    .fix.fix_to_real = cpu_fix_to_real,
    .fix.fix_step = cpu_fix_step,
    .fix.fix_step_w = cpu_fix_step_w,
    .fix.fix_unstep_w = cpu_fix_unstep_w,
    .fix.fix_unstep_v = cpu_fix_unstep_v,
    .fix.fix_adjoint = cpu_fix_adjoint,
    .fix.fix_mismatch = cpu_fix_mismatch,
};
