/// Vectorised transcendental functions on SIMD16 lanes (Cephes-style polynomials, ~1 ulp in float).
enum VectorMath {
    /// e^x per lane, saturating: inputs are clamped to [−87.34, 88.72] (results ~1.2e−38 ... ~3.4e38);
    /// NaN stays NaN. (`pointwiseMin`/`Max` are avoided: they compile to lane-by-lane code.)
    @inline(__always)
    static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        var clamped = x
        clamped.replace(with: SIMD16(repeating: -87.336_54), where: x .< -87.336_54)
        clamped.replace(with: SIMD16(repeating: 88.722_83), where: x .> 88.722_83)
        // Round x·log2(e) to an integer with the 1.5·2^23 trick: the sum's low mantissa bits hold n.
        let magic = SIMD16<Float>(repeating: 12_582_912)
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        var r = clamped - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        // Polynomial in fused multiply-adds where the build has FMA (the branch folds at compile time).
        let y: SIMD16<Float>
        if CPUFeatures.hasFMA {
            var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
            p = SIMD16(repeating: 1.398_199_95e-3).addingProduct(p, r)
            p = SIMD16(repeating: 8.333_451_9e-3).addingProduct(p, r)
            p = SIMD16(repeating: 4.166_579_6e-2).addingProduct(p, r)
            p = SIMD16(repeating: 1.666_666_55e-1).addingProduct(p, r)
            p = SIMD16(repeating: 5.000_000_1e-1).addingProduct(p, r)
            y = (r + 1).addingProduct(p, r * r)
        } else {
            var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
            p = p * r + 1.398_199_95e-3
            p = p * r + 8.333_451_9e-3
            p = p * r + 4.166_579_6e-2
            p = p * r + 1.666_666_55e-1
            p = p * r + 5.000_000_1e-1
            y = p * (r * r) + r + 1
        }
        let integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        return y * unsafeBitCast((integer &+ 127) &<< 23, to: SIMD16<Float>.self)
    }

    /// e^x for one value, through the same polynomial as the vector form.
    @inline(__always)
    static func exp(_ x: Float) -> Float { exp(SIMD16(repeating: x))[0] }

    /// Applies `f` to `count` floats from `x` into `y` (which may equal `x`), 16 lanes at a time.
    @inline(__always)
    static func map(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
        _ f: (SIMD16<Float>) -> SIMD16<Float>
    ) {
        var i = 0
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        while i + 16 <= count {
            ry.storeBytes(of: f(rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)),
                          toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        if i < count {
            var tail = SIMD16<Float>()
            for j in 0..<(count - i) { tail[j] = x[i + j] }
            let out = f(tail)
            for j in 0..<(count - i) { y[i + j] = out[j] }
        }
    }
}
