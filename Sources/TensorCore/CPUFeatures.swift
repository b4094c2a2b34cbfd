import _TensorShims

/// What the compiler was allowed to use for this build's kernels.
public enum CPUFeatures {
    /// True when the build targets a CPU with fused multiply-add (e.g. built with
    /// `-Xswiftc -target-cpu -Xswiftc native`). Without it the kernels use separate multiply and add,
    /// which is correct but several times slower.
    public static var hasFMA: Bool { vtp_shim_has_fma() != 0 }

    /// True when this CPU executes AVX512-BF16 dot products (checked at run time), which
    /// `ActivationPrecision.bf16` uses for products with bfloat16 weights.
    public static var hasBFloat16DotProduct: Bool { BFloat16DotProduct.isAvailable }

    /// True when this CPU executes AVX512-VNNI byte dot products and VBMI permutes (checked at run time),
    /// which `ActivationPrecision.int8` uses for products with int8 weights.
    public static var hasInt8DotProduct: Bool { Int8DotProduct.isAvailable }

    /// True when this CPU executes AVX2 byte multiply-adds with FMA and F16C (checked at run time), which
    /// `ActivationPrecision.int8` uses for decoding products with int4 weights.
    public static var hasInt4DotProduct: Bool { Int4DotProduct.isAvailable }

    /// Widest vector register the build may use, in bytes (16 SSE/NEON, 32 AVX2, 64 AVX-512).
    public static var vectorBytes: Int { Int(vtp_shim_vector_bytes()) }

    /// One line for benchmark output, e.g. "FMA on, 32-byte vectors, BF16 dot products off, int8 dot products off,
    /// int4 dot products on".
    public static var summary: String {
        "FMA \(hasFMA ? "on" : "OFF (build with -Xswiftc -target-cpu -Xswiftc native)"), \(vectorBytes)-byte vectors, "
            + "BF16 dot products \(hasBFloat16DotProduct ? "on" : "off"), int8 dot products \(hasInt8DotProduct ? "on" : "off"), "
            + "int4 dot products \(hasInt4DotProduct ? "on" : "off")"
    }
}

/// A multiply-add step for SIMD accumulators, chosen once per kernel call so the inner loop has no branch.
protocol MultiplyAddStrategy {
    static func apply(_ acc: inout SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>)
}

/// Fused multiply-add: one rounding, one instruction, only fast when the target CPU has FMA.
enum FusedMultiplyAdd: MultiplyAddStrategy {
    @inline(__always) static func apply(_ acc: inout SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) {
        acc.addProduct(a, b)
    }
}

/// Multiply then add: what a CPU without FMA runs fast (a fused call there becomes a libm call per lane).
enum SeparateMultiplyAdd: MultiplyAddStrategy {
    @inline(__always) static func apply(_ acc: inout SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) {
        acc = acc + a * b
    }
}
