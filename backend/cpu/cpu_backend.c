/* cpu_backend.c — BACKEND_CPU: host memory from the tagged allocator,
 * OpenBLAS (its OpenMP build, so one threading runtime) and OpenMP loops. */
#include <omp.h>
#include <string.h>

#include "cpu.h"

void openblas_set_num_threads(int n); /* cblas.h declares it only in some versions */

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
    .alloc = mem_try_alloc, /* NULL when out of memory: the engines report it */
    .free = mem_free,
    .peak = mem_peak,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .set_threads = cpu_set_threads,
    .scratch_new = cpu_scratch_new,
    .scratch_free = cpu_scratch_free,
    .gather = cpu_gather,

    .linear_forward = linear_forward,
    .linear_backward_data = linear_backward_data,
    .linear_backward_params = linear_backward_params,
    .linear_rforward = linear_rforward,
    .linear_rbackward = linear_rbackward,
    .conv_forward = conv_forward,
    .conv_backward = conv_backward,
    .conv_backward_data = conv_backward_data,
    .conv_rforward = conv_rforward,
    .conv_rbackward = conv_rbackward,
    .conv_direct_forward = conv_direct_forward,
    .conv_direct_backward_params = conv_direct_backward_params,
    .conv_direct_backward_params_pooled = conv_direct_backward_params_pooled,
    .maxpool_forward = maxpool_forward,
    .maxpool_gather = maxpool_gather,
    .maxpool_backward = maxpool_backward,
    .maxpool_relu_backward = maxpool_relu_backward,
    .maxpool_relu_forward = maxpool_relu_forward,
    .maxpool_relu_gather = maxpool_relu_gather,
    .maxpool_relu_kink = cpu_maxpool_relu_kink,
    .relu_forward = relu_forward,
    .relu_mask = relu_mask,
    .tanh_forward = tanh_forward,
    .tanh_scale = tanh_scale,
    .tanh_rop_correction = tanh_rop_correction,
    .flatten_forward = flatten_forward,
    .flatten_backward = flatten_backward,
    .xent_forward = xent_forward,
    .xent_backward = xent_backward,
    .xent_rop = xent_rop,
    .xent_correct = xent_correct,
    .relu_kink = cpu_relu_kink,
    .maxpool_kink = cpu_maxpool_kink,

    .dot = cpu_dot,
    .all_finite = cpu_all_finite,
    .axpy = cpu_axpy,
    .mul = cpu_mul,
    .clamp = cpu_clamp,
    .mask_pack = cpu_mask_pack,
    .mask_select = cpu_mask_select,
    .sgd_step = cpu_sgd_step,
    .sgd_adjoint = cpu_sgd_adjoint,
    .tangent_fold = cpu_tangent_fold,
    .grad_accumulate = cpu_grad_accumulate,
    .grad_average = cpu_grad_average,

    .fix_streams_new = cpu_fix_streams_new,
    .fix_streams_free = cpu_fix_streams_free,
    .fix_streams_peak_bytes = cpu_fix_streams_peak_bytes,
    .fix_streams_open = cpu_fix_streams_open,
    .fix_streams_count = cpu_fix_streams_count,
    .fix_load = cpu_fix_load,
    .fix_to_real = cpu_fix_to_real,
    .fix_step = cpu_fix_step,
    .fix_unstep_w = cpu_fix_unstep_w,
    .fix_unstep_v = cpu_fix_unstep_v,
    .fix_adjoint = cpu_fix_adjoint,
    .fix_mismatch = cpu_fix_mismatch,
};
