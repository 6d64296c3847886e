/* blas_core.h — which OpenBLAS kernel set (its "core") this process runs,
 * and who chose it.
 *
 * Debian's OpenBLAS (DYNAMIC_ARCH) picks its kernels from the CPU's family
 * and model number. A CPU newer than the library (0.3.21 does not know
 * family 6 model 207, which this VM reports) falls back to "Prescott", the
 * SSE3 kernels, although the CPU has AVX-512: GEMM then runs at a quarter
 * to a fifth of the machine (measured: sgemm 1024^3 on one thread 28 vs
 * 117 GFLOP/s, dgemm 12 vs 59). OpenBLAS reads OPENBLAS_CORETYPE once, in
 * its own constructor, before any of ours runs; so when it has fallen back
 * to Prescott, the user has not set OPENBLAS_CORETYPE, and the CPU (and its
 * OS) supports the kernels, a constructor here sets OPENBLAS_CORETYPE to
 * SkylakeX (AVX-512 F, CD, BW, DQ, VL) or Haswell (AVX2 + FMA) and re-execs
 * the program (/proc/self/exe, same argv and pid) once. A user's
 * OPENBLAS_CORETYPE, even an empty one, is never changed; set
 * OPENBLAS_CORETYPE=Prescott to keep the fallback.
 *
 * Linked into every program that links the CPU backend (cpu_backend.c keeps
 * a reference), so tests, benches and the hgbench command run one core.
 */
#ifndef HG_CPU_BLAS_CORE_H
#define HG_CPU_BLAS_CORE_H

#define BLAS_CORE_ENV "OPENBLAS_CORETYPE"
/* set beside OPENBLAS_CORETYPE by the re-exec, to the same value: it marks
 * the value as ours (a child that inherits both reports hgbench as the
 * chooser; one whose OPENBLAS_CORETYPE differs from it, the user), and stops
 * a second re-exec if OpenBLAS ignored the variable */
#define BLAS_CORE_MARK_ENV "HGBENCH_BLAS_CORE_SET"

/* The core OpenBLAS runs ("SkylakeX"), from openblas_get_corename. */
const char *blas_core_name(void);

/* Who chose it: "openblas" (its own detection), "user" (OPENBLAS_CORETYPE
 * given), or "hgbench (OpenBLAS fell back to Prescott on a CPU with ...)". */
const char *blas_core_source(void);

/* What the CPU supports, for a core that OpenBLAS fell back from: "SkylakeX",
 * "Haswell", or NULL (nothing better than Prescott). Exposed for the test. */
const char *blas_core_supported(void);

#endif
