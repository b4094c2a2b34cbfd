#pragma once

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

/// 1 when the build may use the F16C half-to-float conversion instructions (x86) or the target converts
/// halves natively (ARM), 0 otherwise (conversion then uses integer bit manipulation).
static inline int vtp_shim_has_f16c(void) {
#if defined(__F16C__) || defined(__aarch64__)
    return 1;
#else
    return 0;
#endif
}
