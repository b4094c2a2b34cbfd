import _TensorShims

/// The storage type of one packed weight panel, and how its values become Float32 lanes, two depth steps at
/// a time. Kernels are generic over it, so each precision gets its own specialised inner loop with no branch;
/// the widening itself is done by always-inline C functions (see `TensorShims.h`).
///
/// A panel holds `depth x 16` values, 16 per step, `stepBytes` bytes per step; pairs start at even steps.
/// Only bfloat16 interleaves the two steps of a pair (see `BFloat16Panel`). Grouped elements (int4) also
/// have one scale per `groupSteps` steps and 16 outputs, which kernels multiply into the widened values.
protocol PanelElement {
    /// Bytes of one step (16 values).
    static var stepBytes: Int { get }
    /// Steps that share one scale vector, or 0 for elements without group scales.
    static var groupSteps: Int { get }
    /// Grouped elements: the offset added to every loaded value before it is scaled.
    static var offset: Float { get }
    /// Steps `p` and `p + 1` (p even) from the pair that starts at `pair`.
    static func loadPair(_ pair: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>)
    /// Step `p` alone (p even: the last step of an odd depth).
    static func loadFirst(_ pair: UnsafeRawPointer) -> SIMD16<Float>
}

extension PanelElement {
    static var groupSteps: Int { 0 }
    static var offset: Float { 0 }
    @inline(__always) static func loadPair(_ pair: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        (loadFirst(pair), loadFirst(pair + stepBytes))
    }
}

/// Float32 panels.
enum Float32Panel: PanelElement {
    static var stepBytes: Int { 64 }
    @inline(__always) static func loadFirst(_ p: UnsafeRawPointer) -> SIMD16<Float> {
        p.loadUnaligned(as: SIMD16<Float>.self)
    }
}

/// bfloat16 panels, pair-interleaved: 32-bit word j of a pair holds step p's value in its low half and step
/// p + 1's in its high half, so step p is a 16-bit shift and step p + 1 a mask, and the pair is exactly the
/// operand layout of `vdpbf16ps` (see `BFloat16DotProduct`). A panel's depth is padded to even.
enum BFloat16Panel: PanelElement {
    static var stepBytes: Int { 32 }
    @inline(__always) static func loadPair(_ pair: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        (vtp_bf16_pair_low(pair), vtp_bf16_pair_high(pair))
    }
    @inline(__always) static func loadFirst(_ pair: UnsafeRawPointer) -> SIMD16<Float> { vtp_bf16_pair_low(pair) }
}

/// IEEE half panels: F16C conversion where the build targets it, integer bit manipulation otherwise.
enum Float16Panel: PanelElement {
    static var stepBytes: Int { 32 }
    @inline(__always) static func loadFirst(_ p: UnsafeRawPointer) -> SIMD16<Float> { vtp_widen_f16x16(p) }
}

/// Signed 8-bit panels (the per-channel scale is applied to the finished tile, not per value).
enum Int8Panel: PanelElement {
    static var stepBytes: Int { 16 }
    @inline(__always) static func loadFirst(_ p: UnsafeRawPointer) -> SIMD16<Float> { vtp_widen_i8x16(p) }
}

/// 4-bit panels, pair-interleaved (byte j of a pair holds output j of step p in its low nibble and of step
/// p + 1 in its high nibble), with one IEEE half scale per 32 steps and output (`WeightPrecision.int4`).
/// Loads give the stored nibbles 0 ... 15; the value is `(nibble - 8) · scale`, and kernels fold the -8 into
/// the group: `b = nibble · s - 8 · s`, or `s · (Σ x·nibble - 8 · Σ x)`.
enum Int4Panel: PanelElement {
    static var stepBytes: Int { 8 }
    static var groupSteps: Int { WeightPrecision.int4GroupSize }
    /// What every stored nibble is offset by.
    static var offset: Float { -8 }
    @inline(__always) static func loadPair(_ pair: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        (vtp_i4_pair_low(pair), vtp_i4_pair_high(pair))
    }
    @inline(__always) static func loadFirst(_ pair: UnsafeRawPointer) -> SIMD16<Float> { vtp_i4_pair_low(pair) }
}
