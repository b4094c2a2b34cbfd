// Out-of-line kernels that need CPU features chosen at run time (per-function target attributes, no
// build flags), and a compilation unit for the header's inline shims.
#include "TensorShims.h"

#if defined(__x86_64__)
#include <immintrin.h>

int vtp_cpu_has_bf16_dot(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512f");
}

__attribute__((target("avx512f,avx512bf16")))
void vtp_bf16_dot_tile6x32(long pairs, const uint32_t *a, const void *b0, const void *b1, float *c, long ldc,
                           int rows, int columns, int accumulate) {
    __m512 c00 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c20 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c40 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps();
    __m512 c01 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c31 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    const char *p0 = (const char *)b0, *p1 = (const char *)(b1 ? b1 : b0);
    for (long i = 0; i < pairs; i++) {
        __m512bh v0 = (__m512bh)_mm512_loadu_si512((const void *)(p0 + i * 64));
        __m512bh v1 = (__m512bh)_mm512_loadu_si512((const void *)(p1 + i * 64));
        const uint32_t *pa = a + i * 6;
        __m512bh a0 = (__m512bh)_mm512_set1_epi32((int)pa[0]), a1 = (__m512bh)_mm512_set1_epi32((int)pa[1]);
        __m512bh a2 = (__m512bh)_mm512_set1_epi32((int)pa[2]), a3 = (__m512bh)_mm512_set1_epi32((int)pa[3]);
        __m512bh a4 = (__m512bh)_mm512_set1_epi32((int)pa[4]), a5 = (__m512bh)_mm512_set1_epi32((int)pa[5]);
        c00 = _mm512_dpbf16_ps(c00, a0, v0); c01 = _mm512_dpbf16_ps(c01, a0, v1);
        c10 = _mm512_dpbf16_ps(c10, a1, v0); c11 = _mm512_dpbf16_ps(c11, a1, v1);
        c20 = _mm512_dpbf16_ps(c20, a2, v0); c21 = _mm512_dpbf16_ps(c21, a2, v1);
        c30 = _mm512_dpbf16_ps(c30, a3, v0); c31 = _mm512_dpbf16_ps(c31, a3, v1);
        c40 = _mm512_dpbf16_ps(c40, a4, v0); c41 = _mm512_dpbf16_ps(c41, a4, v1);
        c50 = _mm512_dpbf16_ps(c50, a5, v0); c51 = _mm512_dpbf16_ps(c51, a5, v1);
    }
    __m512 tile[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int half = 0; half < 2; half++) {
        int live = columns - half * 16;
        if (live <= 0) break;
        __mmask16 mask = (__mmask16)(live >= 16 ? 0xFFFFu : (1u << live) - 1u);
        for (int r = 0; r < rows; r++) {
            float *out = c + r * ldc + half * 16;
            __m512 v = tile[r][half];
            if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, out));
            _mm512_mask_storeu_ps(out, mask, v);
        }
    }
}
#else
int vtp_cpu_has_bf16_dot(void) { return 0; }

void vtp_bf16_dot_tile6x32(long pairs, const uint32_t *a, const void *b0, const void *b1, float *c, long ldc,
                           int rows, int columns, int accumulate) {
    (void)pairs; (void)a; (void)b0; (void)b1; (void)c; (void)ldc; (void)rows; (void)columns; (void)accumulate;
}
#endif
