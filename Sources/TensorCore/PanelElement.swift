import _TensorShims

/// The storage type of one packed weight panel, and how 16 of its consecutive values become Float32 lanes.
/// Kernels are generic over it, so each precision gets its own specialised inner loop with no branch; the
/// widening itself is done by always-inline C functions (see `TensorShims.h`).
protocol PanelElement {
    /// Bytes per stored value.
    static var byteWidth: Int { get }
    /// Widens 16 consecutive stored values at `p` (any alignment).
    static func load16(_ p: UnsafeRawPointer) -> SIMD16<Float>
}

/// Float32 panels.
enum Float32Panel: PanelElement {
    static var byteWidth: Int { 4 }
    @inline(__always) static func load16(_ p: UnsafeRawPointer) -> SIMD16<Float> {
        p.loadUnaligned(as: SIMD16<Float>.self)
    }
}

/// bfloat16 panels: a 16-bit left shift into the Float32 bit pattern.
enum BFloat16Panel: PanelElement {
    static var byteWidth: Int { 2 }
    @inline(__always) static func load16(_ p: UnsafeRawPointer) -> SIMD16<Float> { vtp_widen_bf16x16(p) }
}

/// IEEE half panels: F16C conversion where the build targets it, integer bit manipulation otherwise.
enum Float16Panel: PanelElement {
    static var byteWidth: Int { 2 }
    @inline(__always) static func load16(_ p: UnsafeRawPointer) -> SIMD16<Float> { vtp_widen_f16x16(p) }
}

/// Signed 8-bit panels (the per-channel scale is applied to the finished tile, not per value).
enum Int8Panel: PanelElement {
    static var byteWidth: Int { 1 }
    @inline(__always) static func load16(_ p: UnsafeRawPointer) -> SIMD16<Float> { vtp_widen_i8x16(p) }
}
