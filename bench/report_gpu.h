/* report_gpu.h — the gpu section's parts rendered from their own JSON
 * (bench/report_gpu_<part>.c), called by bench/report_gpu.c with gpu.json
 * (bench-gpu.sh's record: the parts' settings and outcomes) open in r.
 * Each returns 1 when it wrote its part, 0 when the part left nothing (it
 * did not run), -1 with the error in r (gpu.json) or c->err (its files).
 */
#ifndef HG_REPORT_GPU_H
#define HG_REPORT_GPU_H

#include "report.h"
#include "report_json.h"

/* "### PyTorch on the same GPU": hgbench's runs and PyTorch's on the
 * exported problem, gpu-pytorch-hgbench-<engine>-f<p>[.r<k>].json and
 * gpu-pytorch-f<p>.json. */
int report_gpu_pytorch(ReportCtx *c, Rj *r, json_t *gpu, int rerun);

/* "### Engines on the device: vs T and vs N": gpu-engines-<label>.json. */
int report_gpu_engines(ReportCtx *c, Rj *r, json_t *gpu, int rerun);

/* "### Model ops on the device": gpu-models-f<p>-b<batch>.json. */
int report_gpu_models(ReportCtx *c, Rj *r, json_t *gpu, int rerun);

/* "### Convolutions: cuDNN against im2col + cuBLAS": gpu-conv-f<p>.json. */
int report_gpu_conv(ReportCtx *c, Rj *r, json_t *gpu, int rerun);

/* "### Per-phase times (CUDA events)": the models runs' per-layer profiles
 * and the engines runs' phases, from their JSON. */
int report_gpu_phases(ReportCtx *c, Rj *r, json_t *gpu, int rerun);

#endif
