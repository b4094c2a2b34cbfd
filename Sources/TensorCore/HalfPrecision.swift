/// Conversions between 16-bit float encodings (IEEE half F16, bfloat16 BF16) and Float32.
///
/// Widening uses integer SIMD bit manipulation, so it is fast on every CPU without special build flags.
public enum HalfPrecision {
    /// Widens `count` little-endian IEEE half values at `source` (any alignment) into `destination`.
    public static func widenF16(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let dst = UnsafeMutableRawPointer(destination)
        while i + 16 <= count {
            let h = SIMD16<UInt32>(truncatingIfNeeded: source.loadUnaligned(fromByteOffset: i * 2, as: SIMD16<UInt16>.self))
            dst.storeBytes(of: widenF16Lanes(h), toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let h = UInt32(source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
            destination[i] = widenF16Lanes(SIMD16(repeating: h))[0]
            i += 1
        }
    }

    /// Half-to-float on 16 lanes of raw half bits (normal, subnormal, zero, infinity, NaN).
    @inline(__always)
    static func widenF16Lanes(_ h: SIMD16<UInt32>) -> SIMD16<Float> {
        let shiftedExponent = SIMD16<UInt32>(repeating: 0x7C00 << 13)
        var o = (h & 0x7FFF) &<< 13
        let exponent = o & shiftedExponent
        o &+= (127 - 15) << 23
        // Infinity / NaN: move to the float's maximum exponent.
        o.replace(with: o &+ ((128 - 16) << 23), where: exponent .== shiftedExponent)
        // Zero / subnormal: renormalise through a float subtraction.
        let subnormal = exponent .== 0
        let magic = Float(bitPattern: 113 << 23)
        let renormalised = unsafeBitCast(o &+ (1 << 23), to: SIMD16<Float>.self) - SIMD16(repeating: magic)
        o.replace(with: unsafeBitCast(renormalised, to: SIMD16<UInt32>.self), where: subnormal)
        o |= (h & 0x8000) &<< 16
        return unsafeBitCast(o, to: SIMD16<Float>.self)
    }

    /// Widens `count` little-endian bfloat16 values at `source` (any alignment) into `destination`.
    public static func widenBF16(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let dst = UnsafeMutableRawPointer(destination)
        while i + 16 <= count {
            let h = SIMD16<UInt32>(truncatingIfNeeded: source.loadUnaligned(fromByteOffset: i * 2, as: SIMD16<UInt16>.self))
            dst.storeBytes(of: unsafeBitCast(h &<< 16, to: SIMD16<Float>.self), toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            destination[i] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16)
            i += 1
        }
    }

    /// IEEE half bits of `value`, rounded to nearest even; overflow gives ±infinity, NaN stays NaN.
    public static func f16Bits(_ value: Float) -> UInt16 {
        let x = value.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xFF)
        var mantissa = x & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
        let e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - e)
            var half = mantissa >> shift
            let rest = mantissa & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(e) << 10 | (mantissa >> 13)
        let rest = mantissa & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && half & 1 == 1) { half += 1 }
        return sign | UInt16(half)
    }

    /// bfloat16 bits of `value`, rounded to nearest even; NaN stays NaN.
    public static func bf16Bits(_ value: Float) -> UInt16 {
        let x = value.bitPattern
        if value.isNaN { return UInt16(x >> 16) | 0x40 }
        return UInt16((x &+ 0x7FFF &+ ((x >> 16) & 1)) >> 16)
    }
}
