/// The storage type of one packed weight panel, and how 16 of its consecutive values become Float32 lanes.
/// Kernels are generic over it, so each precision gets its own specialised inner loop with no branch.
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
    @inline(__always) static func load16(_ p: UnsafeRawPointer) -> SIMD16<Float> {
        let h = SIMD16<UInt32>(truncatingIfNeeded: p.loadUnaligned(as: SIMD16<UInt16>.self))
        return unsafeBitCast(h &<< 16, to: SIMD16<Float>.self)
    }
}

/// IEEE half panels converted by the CPU (F16C `vcvtph2ps`); used only when the build targets such a CPU.
enum Float16HardwarePanel: PanelElement {
    static var byteWidth: Int { 2 }
    @inline(__always) static func load16(_ p: UnsafeRawPointer) -> SIMD16<Float> {
        #if arch(x86_64) || arch(arm64)
        return SIMD16<Float>(p.loadUnaligned(as: SIMD16<Float16>.self))
        #else
        return Float16BitsPanel.load16(p)
        #endif
    }
}

/// IEEE half panels converted with integer bit manipulation (CPUs or builds without F16C).
enum Float16BitsPanel: PanelElement {
    static var byteWidth: Int { 2 }
    @inline(__always) static func load16(_ p: UnsafeRawPointer) -> SIMD16<Float> {
        HalfPrecision.widenF16Lanes(SIMD16<UInt32>(truncatingIfNeeded: p.loadUnaligned(as: SIMD16<UInt16>.self)))
    }
}

/// Signed 8-bit panels (the per-channel scale is applied to the finished tile, not per value).
enum Int8Panel: PanelElement {
    static var byteWidth: Int { 1 }
    @inline(__always) static func load16(_ p: UnsafeRawPointer) -> SIMD16<Float> {
        SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: p.loadUnaligned(as: SIMD16<Int8>.self)))
    }
}
