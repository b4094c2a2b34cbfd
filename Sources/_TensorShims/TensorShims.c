// Out-of-line kernels that need CPU features chosen at run time (per-function target attributes, no
// build flags), and a compilation unit for the header's inline shims.
#include "TensorShims.h"

#if defined(__x86_64__)
#include <immintrin.h>

/// The lanes of a 16-column half tile that hold one of the `live` columns.
static inline __mmask16 vtp_column_mask(int live) {
    return (__mmask16)(live >= 16 ? 0xFFFFu : (1u << live) - 1u);
}

/// Stores the live lanes of `v` at `out`, added to what is there when `accumulate`.
__attribute__((target("avx512f")))
static inline void vtp_store_lanes(float *out, __m512 v, __mmask16 mask, int accumulate) {
    if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, out));
    _mm512_mask_storeu_ps(out, mask, v);
}

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
    for (int half = 0; half < 2 && columns > half * 16; half++) {
        __mmask16 mask = vtp_column_mask(columns - half * 16);
        for (int r = 0; r < rows; r++) vtp_store_lanes(c + r * ldc + half * 16, tile[r][half], mask, accumulate);
    }
}

int vtp_cpu_has_int8_dot(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f");
}

/// The byte permutation that regroups four steps of an int8 panel (`[4][16]` bytes) as vpdpbusd wants them:
/// byte 4j + i of the result is byte 16i + j of the panel.
__attribute__((target("avx512f")))
static inline __m512i vtp_i8_quad_order(void) {
    char order[64];
    for (int j = 0; j < 16; j++)
        for (int i = 0; i < 4; i++) order[4 * j + i] = (char)(16 * i + j);
    return _mm512_loadu_si512((const void *)order);
}

/// Four steps of an int8 panel at `p`, regrouped with `order` (`vtp_i8_quad_order`): lane j = steps 0-3 of
/// column j.
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static inline __m512i vtp_i8_quad(const char *p, __m512i order) {
    return _mm512_permutexvar_epi8(order, _mm512_loadu_si512((const void *)p));
}

__attribute__((target("avx512f,avx512bw,avx512vnni,avx512vbmi")))
void vtp_i8_dot_tile6x32(long quads, const uint32_t *a, const void *b0, const void *b1, const float *rowScales,
                         const float *columnScales, float *c, long ldc, int rows, int columns, int accumulate) {
    const __m512i order = vtp_i8_quad_order();
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i c00 = _mm512_setzero_si512(), c10 = _mm512_setzero_si512(), c20 = _mm512_setzero_si512();
    __m512i c30 = _mm512_setzero_si512(), c40 = _mm512_setzero_si512(), c50 = _mm512_setzero_si512();
    __m512i c01 = _mm512_setzero_si512(), c11 = _mm512_setzero_si512(), c21 = _mm512_setzero_si512();
    __m512i c31 = _mm512_setzero_si512(), c41 = _mm512_setzero_si512(), c51 = _mm512_setzero_si512();
    __m512i sum0 = _mm512_setzero_si512(), sum1 = _mm512_setzero_si512();
    const char *p0 = (const char *)b0, *p1 = (const char *)(b1 ? b1 : b0);
    for (long i = 0; i < quads; i++) {
        __m512i v0 = vtp_i8_quad(p0 + i * 64, order), v1 = vtp_i8_quad(p1 + i * 64, order);
        const uint32_t *pa = a + i * 6;
        __m512i a0 = _mm512_set1_epi32((int)pa[0]), a1 = _mm512_set1_epi32((int)pa[1]);
        __m512i a2 = _mm512_set1_epi32((int)pa[2]), a3 = _mm512_set1_epi32((int)pa[3]);
        __m512i a4 = _mm512_set1_epi32((int)pa[4]), a5 = _mm512_set1_epi32((int)pa[5]);
        c00 = _mm512_dpbusd_epi32(c00, a0, v0); c01 = _mm512_dpbusd_epi32(c01, a0, v1);
        c10 = _mm512_dpbusd_epi32(c10, a1, v0); c11 = _mm512_dpbusd_epi32(c11, a1, v1);
        c20 = _mm512_dpbusd_epi32(c20, a2, v0); c21 = _mm512_dpbusd_epi32(c21, a2, v1);
        c30 = _mm512_dpbusd_epi32(c30, a3, v0); c31 = _mm512_dpbusd_epi32(c31, a3, v1);
        c40 = _mm512_dpbusd_epi32(c40, a4, v0); c41 = _mm512_dpbusd_epi32(c41, a4, v1);
        c50 = _mm512_dpbusd_epi32(c50, a5, v0); c51 = _mm512_dpbusd_epi32(c51, a5, v1);
        sum0 = _mm512_dpbusd_epi32(sum0, ones, v0); sum1 = _mm512_dpbusd_epi32(sum1, ones, v1);
    }
    // The activations carry +128: subtract 128 times each column's weight sum.
    sum0 = _mm512_slli_epi32(sum0, 7);
    sum1 = _mm512_slli_epi32(sum1, 7);
    __m512i tile[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    __m512i sums[2] = {sum0, sum1};
    for (int half = 0; half < 2 && columns > half * 16; half++) {
        __mmask16 mask = vtp_column_mask(columns - half * 16);
        __m512 columnScale = _mm512_maskz_loadu_ps(mask, columnScales + half * 16);
        for (int r = 0; r < rows; r++) {
            __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(tile[r][half], sums[half]));
            v = _mm512_mul_ps(v, _mm512_mul_ps(columnScale, _mm512_set1_ps(rowScales[r])));
            vtp_store_lanes(c + r * ldc + half * 16, v, mask, accumulate);
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni,avx512vbmi")))
void vtp_i8_dot_row16(long quads, const uint32_t *a, const void *b, float rowScale, const float *columnScales,
                      float *out, int columns, int accumulate) {
    const __m512i order = vtp_i8_quad_order();
    const __m512i ones = _mm512_set1_epi8(1);
    // Two independent accumulator pairs hide the dot products' latency.
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    __m512i sum0 = _mm512_setzero_si512(), sum1 = _mm512_setzero_si512();
    const char *p = (const char *)b;
    long i = 0;
    for (; i + 2 <= quads; i += 2) {
        __m512i v0 = vtp_i8_quad(p + i * 64, order), v1 = vtp_i8_quad(p + (i + 1) * 64, order);
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_set1_epi32((int)a[i]), v0);
        acc1 = _mm512_dpbusd_epi32(acc1, _mm512_set1_epi32((int)a[i + 1]), v1);
        sum0 = _mm512_dpbusd_epi32(sum0, ones, v0);
        sum1 = _mm512_dpbusd_epi32(sum1, ones, v1);
    }
    if (i < quads) {
        __m512i v0 = vtp_i8_quad(p + i * 64, order);
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_set1_epi32((int)a[i]), v0);
        sum0 = _mm512_dpbusd_epi32(sum0, ones, v0);
    }
    __m512i total = _mm512_sub_epi32(_mm512_add_epi32(acc0, acc1), _mm512_slli_epi32(_mm512_add_epi32(sum0, sum1), 7));
    __mmask16 mask = vtp_column_mask(columns);
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(total),
                             _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, columnScales), _mm512_set1_ps(rowScale)));
    vtp_store_lanes(out, v, mask, accumulate);
}

int vtp_cpu_has_int4_dot(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

__attribute__((target("avx2,fma")))
void vtp_i8_quantize_groups(const float *x, long groups, int8_t *q, float *scales, int32_t *sums) {
    const __m256 signBit = _mm256_set1_ps(-0.0f);
    for (long g = 0; g < groups; g++) {
        const float *p = x + 32 * g;
        __m256 v[4] = {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), _mm256_loadu_ps(p + 16), _mm256_loadu_ps(p + 24)};
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(signBit, v[0]), _mm256_andnot_ps(signBit, v[1])),
                                 _mm256_max_ps(_mm256_andnot_ps(signBit, v[2]), _mm256_andnot_ps(signBit, v[3])));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
        float scale = _mm_cvtss_f32(h) / 127.0f;
        scales[g] = scale;
        __m256i words[4];
        for (int i = 0; i < 4; i++) {
            __m256 r = scale > 0 ? _mm256_round_ps(_mm256_div_ps(v[i], _mm256_set1_ps(scale)),
                                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
                                 : _mm256_setzero_ps();
            words[i] = _mm256_cvtps_epi32(r);
        }
        __m256i total = _mm256_add_epi32(_mm256_add_epi32(words[0], words[1]), _mm256_add_epi32(words[2], words[3]));
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
        t = _mm_hadd_epi32(t, t);
        t = _mm_hadd_epi32(t, t);
        sums[g] = _mm_cvtsi128_si32(t);
        // packs work within 128-bit lanes: restore step order with one cross-lane permute.
        __m256i shorts = _mm256_packs_epi32(words[0], words[1]), shorts2 = _mm256_packs_epi32(words[2], words[3]);
        __m256i bytes = _mm256_packs_epi16(shorts, shorts2);
        bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(q + 32 * g), bytes);
    }
}

__attribute__((target("avx2,fma,f16c")))
void vtp_i4_dot_row16(long groups, const int8_t *q, const float *xScales, const int32_t *sums, const void *b,
                      const void *groupScales, float *out, int columns, int accumulate) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    // Lane 0 repeats activation bytes 0, 1 (the pair's steps in the low lane), lane 1 bytes 2, 3.
    const __m256i pairOrder = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
                                               2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const uint8_t *w = (const uint8_t *)b;
    const uint16_t *s = (const uint16_t *)groupScales;
    for (long g = 0; g < groups; g++) {
        // int16 sums over the group: at most 8 · 2 · 15 · 127 = 30480 in magnitude.
        __m256i part0 = _mm256_setzero_si256(), part1 = _mm256_setzero_si256();
        for (int t = 0; t < 8; t++) {
            __m256i packed = _mm256_loadu_si256((const __m256i *)(w + 32 * t));
            __m256i lo = _mm256_and_si256(packed, low), hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low);
            int32_t four;
            __builtin_memcpy(&four, q + 32 * g + 4 * t, 4);
            __m256i x = _mm256_shuffle_epi8(_mm256_set1_epi32(four), pairOrder);
            part0 = _mm256_add_epi16(part0, _mm256_maddubs_epi16(_mm256_unpacklo_epi8(lo, hi), x));
            part1 = _mm256_add_epi16(part1, _mm256_maddubs_epi16(_mm256_unpackhi_epi8(lo, hi), x));
        }
        // Lane 0 of part0 holds columns 0-7 over steps 4t, 4t+1, lane 1 the same columns over 4t+2, 4t+3.
        __m256i offset = _mm256_set1_epi32(8 * sums[g]);
        __m256i sum0 = _mm256_sub_epi32(_mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(part0)),
                                                         _mm256_cvtepi16_epi32(_mm256_extracti128_si256(part0, 1))), offset);
        __m256i sum1 = _mm256_sub_epi32(_mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(part1)),
                                                         _mm256_cvtepi16_epi32(_mm256_extracti128_si256(part1, 1))), offset);
        __m256 xs = _mm256_set1_ps(xScales[g]);
        __m256 s0 = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + 16 * g))), xs);
        __m256 s1 = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + 16 * g + 8))), xs);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum0), s0, acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum1), s1, acc1);
        w += 256;
    }
    float lanes[16];
    _mm256_storeu_ps(lanes, acc0);
    _mm256_storeu_ps(lanes + 8, acc1);
    for (int j = 0; j < columns; j++) out[j] = accumulate ? out[j] + lanes[j] : lanes[j];
}
#else
int vtp_cpu_has_bf16_dot(void) { return 0; }

int vtp_cpu_has_int8_dot(void) { return 0; }

void vtp_i8_dot_tile6x32(long quads, const uint32_t *a, const void *b0, const void *b1, const float *rowScales,
                         const float *columnScales, float *c, long ldc, int rows, int columns, int accumulate) {
    (void)quads; (void)a; (void)b0; (void)b1; (void)rowScales; (void)columnScales; (void)c; (void)ldc;
    (void)rows; (void)columns; (void)accumulate;
}

void vtp_bf16_dot_tile6x32(long pairs, const uint32_t *a, const void *b0, const void *b1, float *c, long ldc,
                           int rows, int columns, int accumulate) {
    (void)pairs; (void)a; (void)b0; (void)b1; (void)c; (void)ldc; (void)rows; (void)columns; (void)accumulate;
}

void vtp_i8_dot_row16(long quads, const uint32_t *a, const void *b, float rowScale, const float *columnScales,
                      float *out, int columns, int accumulate) {
    (void)quads; (void)a; (void)b; (void)rowScale; (void)columnScales; (void)out; (void)columns; (void)accumulate;
}

int vtp_cpu_has_int4_dot(void) { return 0; }

void vtp_i8_quantize_groups(const float *x, long groups, int8_t *q, float *scales, int32_t *sums) {
    (void)x; (void)groups; (void)q; (void)scales; (void)sums;
}

void vtp_i4_dot_row16(long groups, const int8_t *q, const float *xScales, const int32_t *sums, const void *b,
                      const void *groupScales, float *out, int columns, int accumulate) {
    (void)groups; (void)q; (void)xScales; (void)sums; (void)b; (void)groupScales; (void)out; (void)columns;
    (void)accumulate;
}
#endif
