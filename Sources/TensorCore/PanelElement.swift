import _TensorShims

/// The storage type of one packed weight panel, and how its values become Float32 lanes, two depth steps at
/// a time. Kernels are generic over it, so each precision gets its own specialised inner loop with no branch;
/// the widening itself is done by always-inline C functions (see `TensorShims.h`).
///
/// A panel holds `depth x 16` values, 16 per step, `32 · byteWidth` bytes per pair of steps; pairs start at
/// even steps. Only bfloat16 interleaves the two steps of a pair (see `BFloat16Panel`).
protocol PanelElement {
    /// Bytes per stored value.
    static var byteWidth: Int { get }
    /// Steps `p` and `p + 1` (p even) from the pair that starts at `pair`.
    static func loadPair(_ pair: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>)
    /// Step `p` alone (p even: the last step of an odd depth).
    static func loadFirst(_ pair: UnsafeRawPointer) -> SIMD16<Float>
}

extension PanelElement {
    @inline(__always) static func loadPair(_ pair: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        (loadFirst(pair), loadFirst(pair + 16 * byteWidth))
    }
}

/// Float32 panels.
enum Float32Panel: PanelElement {
    static var byteWidth: Int { 4 }
    @inline(__always) static func loadFirst(_ p: UnsafeRawPointer) -> SIMD16<Float> {
        p.loadUnaligned(as: SIMD16<Float>.self)
    }
}

/// bfloat16 panels, pair-interleaved: 32-bit word j of a pair holds step p's value in its low half and step
/// p + 1's in its high half, so step p is a 16-bit shift and step p + 1 a mask, and the pair is exactly the
/// operand layout of `vdpbf16ps` (see `BFloat16DotProduct`). A panel's depth is padded to even.
enum BFloat16Panel: PanelElement {
    static var byteWidth: Int { 2 }
    @inline(__always) static func loadPair(_ pair: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        (vtp_bf16_pair_low(pair), vtp_bf16_pair_high(pair))
    }
    @inline(__always) static func loadFirst(_ pair: UnsafeRawPointer) -> SIMD16<Float> { vtp_bf16_pair_low(pair) }
}

/// IEEE half panels: F16C conversion where the build targets it, integer bit manipulation otherwise.
enum Float16Panel: PanelElement {
    static var byteWidth: Int { 2 }
    @inline(__always) static func loadFirst(_ p: UnsafeRawPointer) -> SIMD16<Float> { vtp_widen_f16x16(p) }
}

/// Signed 8-bit panels (the per-channel scale is applied to the finished tile, not per value).
enum Int8Panel: PanelElement {
    static var byteWidth: Int { 1 }
    @inline(__always) static func loadFirst(_ p: UnsafeRawPointer) -> SIMD16<Float> { vtp_widen_i8x16(p) }
}
