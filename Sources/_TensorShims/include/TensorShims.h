#pragma once

#include <stdint.h>

/// 1 when the compiler may emit fused multiply-add instructions for this build (the target CPU has FMA),
/// 0 otherwise. Swift follows the same target CPU, so this reports what the Swift kernels get.
static inline int vtp_shim_has_fma(void) {
#if defined(__FMA__) || defined(__AVX512F__) || defined(__ARM_FEATURE_FMA) || defined(__aarch64__)
    return 1;
#else
    return 0;
#endif
}

/// Widest SIMD register width in bytes this build may use (16 for SSE/NEON, 32 for AVX, 64 for AVX-512).
static inline int vtp_shim_vector_bytes(void) {
#if defined(__AVX512F__)
    return 64;
#elif defined(__AVX__)
    return 32;
#else
    return 16;
#endif
}

// Widening of 16 stored weights to 16 float lanes, for the GEMM's inner loops. Swift imports the 16-lane
// float vector as SIMD16<Float>; these always-inline functions compile to one or two vector instructions
// (vpslld or vpandd, vcvtph2ps, vpmovsxbd + vcvtdq2ps), which Swift's generic SIMD conversions do not
// reliably give (they are outlined as calls).
typedef float vtp_f32x16 __attribute__((ext_vector_type(16)));
typedef uint32_t vtp_u32x16 __attribute__((ext_vector_type(16)));
typedef uint16_t vtp_u16x16_unaligned __attribute__((ext_vector_type(16), aligned(1)));
typedef uint32_t vtp_u32x16_unaligned __attribute__((ext_vector_type(16), aligned(1)));
typedef int8_t vtp_i8x16_unaligned __attribute__((ext_vector_type(16), aligned(1)));

/// Two steps of a pair-interleaved bfloat16 panel (16 32-bit words, word j = step p in its low half and
/// step p + 1 in its high half) as floats: step p is a 16-bit shift, step p + 1 a mask.
static inline __attribute__((always_inline)) vtp_f32x16 vtp_bf16_pair_low(const void *p) {
    return (vtp_f32x16)(*(const vtp_u32x16_unaligned *)p << 16);
}
static inline __attribute__((always_inline)) vtp_f32x16 vtp_bf16_pair_high(const void *p) {
    return (vtp_f32x16)(*(const vtp_u32x16_unaligned *)p & 0xFFFF0000u);
}

/// 16 little-endian IEEE half values at `p` (any alignment) as floats: F16C's vcvtph2ps where the build
/// targets it, else integer bit manipulation (normal, subnormal, zero, infinity and NaN all exact).
static inline __attribute__((always_inline)) vtp_f32x16 vtp_widen_f16x16(const void *p) {
#if defined(__F16C__) || defined(__aarch64__)
    typedef _Float16 vtp_f16x16_unaligned __attribute__((ext_vector_type(16), aligned(1)));
    return __builtin_convertvector(*(const vtp_f16x16_unaligned *)p, vtp_f32x16);
#else
    vtp_u32x16 h = __builtin_convertvector(*(const vtp_u16x16_unaligned *)p, vtp_u32x16);
    vtp_u32x16 o = (h & 0x7FFFu) << 13;
    vtp_u32x16 exponent = o & (0x7C00u << 13);
    o += (127u - 15u) << 23;
    vtp_u32x16 special = (vtp_u32x16)(exponent == (0x7C00u << 13));
    o += special & ((128u - 16u) << 23);
    vtp_u32x16 subnormal = (vtp_u32x16)(exponent == 0u);
    vtp_f32x16 renormalised = (vtp_f32x16)(o + (1u << 23)) - 6.103515625e-05f;
    o = (o & ~subnormal) | ((vtp_u32x16)renormalised & subnormal);
    o |= (h & 0x8000u) << 16;
    return (vtp_f32x16)o;
#endif
}

/// 16 signed bytes at `p` (any alignment) as floats.
static inline __attribute__((always_inline)) vtp_f32x16 vtp_widen_i8x16(const void *p) {
    return __builtin_convertvector(*(const vtp_i8x16_unaligned *)p, vtp_f32x16);
}

/// Two steps of an int4 panel (16 bytes at `p`, any alignment: lane j of the first step is the low nibble
/// of byte j, of the second step its high nibble) as floats 0 ... 15, the stored values before their offset
/// of -8: one mask (or shift) and one widening per step, no lane shuffle.
typedef uint8_t vtp_u8x16_unaligned __attribute__((ext_vector_type(16), aligned(1)));
static inline __attribute__((always_inline)) vtp_f32x16 vtp_i4_pair_low(const void *p) {
    return __builtin_convertvector(*(const vtp_u8x16_unaligned *)p & (uint8_t)15, vtp_f32x16);
}
static inline __attribute__((always_inline)) vtp_f32x16 vtp_i4_pair_high(const void *p) {
    return __builtin_convertvector(*(const vtp_u8x16_unaligned *)p >> 4, vtp_f32x16);
}

/// 1 when this CPU executes AVX512-BF16 dot products (`vdpbf16ps`), checked at run time.
int vtp_cpu_has_bf16_dot(void);

/// `C[rows x columns] (+)= A · B` for one 6x32 tile (columns <= 32) with bfloat16 inputs and float
/// accumulation (`vdpbf16ps`, 12 accumulators): `a` holds `[pairs][6]` 32-bit words (bfloat16 activations of
/// steps 2i, 2i+1 of each row); `b0`, `b1` each hold `[pairs][16]` words of a pair-interleaved bfloat16 panel
/// (`b1` may be null when columns <= 16). Only `rows x columns` of C are written. Call only when
/// `vtp_cpu_has_bf16_dot()` is 1.
void vtp_bf16_dot_tile6x32(long pairs, const uint32_t *a, const void *b0, const void *b1, float *c, long ldc,
                           int rows, int columns, int accumulate);

/// Stores 16 floats, already scaled to -127...127, as signed bytes at `p` (any alignment): rounded half to
/// even, clamped to ±127, converted. (Swift's lane-wise rounding and narrowing are outlined per lane.)
static inline __attribute__((always_inline)) void vtp_store_rounded_i8x16(vtp_f32x16 q, void *p) {
    const float shift = 12582912.0f;  // 1.5 · 2^23: adding and subtracting it rounds to nearest even
    q = (q + shift) - shift;
    q = __builtin_elementwise_min(__builtin_elementwise_max(q, (vtp_f32x16)(-127.0f)), (vtp_f32x16)(127.0f));
    *(vtp_i8x16_unaligned *)p = __builtin_convertvector(q, vtp_i8x16_unaligned);
}

/// Stores two steps of 16 floats, already divided by their scales, as one int4 pair (16 bytes at `p`, any
/// alignment): each rounded half to even, clamped to ±7, plus 8; the first step in the low nibbles, the second
/// in the high ones (see `Int4Panel`).
static inline __attribute__((always_inline)) void vtp_store_i4_pair(vtp_f32x16 first, vtp_f32x16 second, void *p) {
    typedef int32_t vtp_i32x16_lanes __attribute__((ext_vector_type(16)));
    typedef uint8_t vtp_u8x16_store __attribute__((ext_vector_type(16), aligned(1)));
    const float shift = 12582912.0f;  // 1.5 · 2^23: adding and subtracting it rounds to nearest even
    first = __builtin_elementwise_min(__builtin_elementwise_max((first + shift) - shift, (vtp_f32x16)(-7.0f)), (vtp_f32x16)(7.0f));
    second = __builtin_elementwise_min(__builtin_elementwise_max((second + shift) - shift, (vtp_f32x16)(-7.0f)), (vtp_f32x16)(7.0f));
    vtp_i32x16_lanes nibbles = (__builtin_convertvector(first, vtp_i32x16_lanes) + 8)
        | ((__builtin_convertvector(second, vtp_i32x16_lanes) + 8) << 4);
    *(vtp_u8x16_store *)p = __builtin_convertvector(nibbles, vtp_u8x16_store);
}

/// 1 when this CPU executes AVX512-VNNI byte dot products (`vpdpbusd`) and VBMI byte permutes, checked at
/// run time.
int vtp_cpu_has_int8_dot(void);

/// `C[rows x columns] (+)= rowScale · columnScale · (A · B)` for one 6x32 tile of int8 products
/// (`vpdpbusd`, 12 int32 accumulators): `a` holds `[quads][6]` 32-bit words, four activations of steps
/// 4i ... 4i+3 of each row quantised to -127...127 and stored plus 128 (unsigned); `b0`, `b1` are int8 panels
/// (`[steps][16]` signed bytes, read 64 bytes at a time, so up to 48 bytes past a panel's last step are read
/// and must be readable; their products cancel when the activations there are 128); `b1` may be null when
/// columns <= 16. `rowScales` holds 6 and `columnScales` 32 floats. Call only when `vtp_cpu_has_int8_dot()`
/// is 1.
void vtp_i8_dot_tile6x32(long quads, const uint32_t *a, const void *b0, const void *b1, const float *rowScales,
                         const float *columnScales, float *c, long ldc, int rows, int columns, int accumulate);

/// `out[0..<columns] (+)= rowScale · columnScales · (a · B)` for one activation row and one 16-column int8
/// panel (`vpdpbusd`): `a` holds `quads` words of four quantised activations plus 128, as for
/// `vtp_i8_dot_tile6x32`; the same readability rule applies to `b`. Call only when
/// `vtp_cpu_has_int8_dot()` is 1.
void vtp_i8_dot_row16(long quads, const uint32_t *a, const void *b, float rowScale, const float *columnScales,
                      float *out, int columns, int accumulate);

/// 1 when this CPU executes AVX2 byte multiply-adds (`vpmaddubsw`), FMA and F16C, checked at run time.
int vtp_cpu_has_int4_dot(void);

/// Quantises `groups` groups of 32 floats at `x` to int8 per group (`scale = max|x| / 127`, `q = x / scale`
/// rounded half to even; a zero group has scale 0 and quantises to 0): `q` receives 32 bytes a group,
/// `scales` a float and `sums` the int32 sum of the group's `q`. Call only when `vtp_cpu_has_int4_dot()` is 1.
void vtp_i8_quantize_groups(const float *x, long groups, int8_t *q, float *scales, int32_t *sums);

/// `out[0..<columns] (+)= Σ_g xScales[g] · s[g] · (Σ_p nibble·q − 8 · sums[g])` for one activation row and one
/// 16-column int4 panel (`Int4Panel`: 16-byte nibble pairs, 256 bytes a group) with its IEEE half group scales
/// `s` (`[groups][16]`): `q`, `xScales`, `sums` as `vtp_i8_quantize_groups` writes them (`vpmaddubsw` into
/// int16 over a group, exact for |q| <= 127). Call only when `vtp_cpu_has_int4_dot()` is 1.
void vtp_i4_dot_row16(long groups, const int8_t *q, const float *xScales, const int32_t *sums, const void *b,
                      const void *groupScales, float *out, int columns, int accumulate);
