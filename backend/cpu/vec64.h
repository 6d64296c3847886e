/* vec64.h — the CPU kernels' one vector: 64 bytes of real (a GCC/Clang
 * vector extension the compiler maps to one AVX-512 register, or two AVX2
 * ones), VL lanes, with an unaligned load and a store of its first lanes. */
#ifndef HG_CPU_VEC64_H
#define HG_CPU_VEC64_H

#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "../../common/real.h"

typedef real vec __attribute__((vector_size(64)));
#define VL ((int)(64 / sizeof(real)))

static inline vec load_vec(const real *p)
{
    vec v;
    memcpy(&v, p, sizeof v); /* unaligned load */
    return v;
}

/* Lanes [0, len) of v to dst: a masked store where AVX-512 has one (a
 * variable-length memcpy here compiled to a loop of 8-byte moves that took
 * a quarter of conv2d_direct.c's forward pass). */
static inline void store_first(real *dst, vec v, int len)
{
    if (len == VL) {
        memcpy(dst, &v, sizeof v);
        return;
    }
#ifdef __AVX512F__
#ifdef HG_F64
    _mm512_mask_storeu_pd(dst, (__mmask8)((1u << len) - 1), (__m512d)v);
#else
    _mm512_mask_storeu_ps(dst, (__mmask16)((1u << len) - 1), (__m512)v);
#endif
#else
    for (int l = 0; l < len; l++)
        dst[l] = v[l];
#endif
}

#endif
