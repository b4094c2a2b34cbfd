/// Vectorised reductions over contiguous `Float` runs (four SIMD16 accumulators, scalar tail).
enum Reduction {
    /// Σ x[i]·y[i] over `count` elements.
    @inline(__always)
    static func dot<F: MultiplyAddStrategy>(
        _ strategy: F.Type, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int
    ) -> Float {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        var i = 0
        while i + 32 <= count {
            F.apply(&s0, rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                    ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            F.apply(&s1, rx.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self),
                    ry.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self))
            i += 32
        }
        while i + 16 <= count {
            F.apply(&s0, rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                    ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            i += 16
        }
        var total = (s0 + s1).sum()
        while i < count { total += x[i] * y[i]; i += 1 }
        return total
    }

    /// Σ x[i]·y[i], picking the multiply-add form this build compiles fast.
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        CPUFeatures.hasFMA ? dot(FusedMultiplyAdd.self, x, y, count: count)
                           : dot(SeparateMultiplyAdd.self, x, y, count: count)
    }

    /// Σ x[i].
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
        let rx = UnsafeRawPointer(x)
        var i = 0
        while i + 32 <= count {
            s0 += rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            s1 += rx.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self)
            i += 32
        }
        while i + 16 <= count { s0 += rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self); i += 16 }
        var total = (s0 + s1).sum()
        while i < count { total += x[i]; i += 1 }
        return total
    }

    /// max x[i] (−infinity for an empty run).
    static func max(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = SIMD16<Float>(repeating: -.infinity)
        let rx = UnsafeRawPointer(x)
        var i = 0
        while i + 16 <= count {
            let v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            m.replace(with: v, where: v .> m)  // pointwiseMax compiles to lane-by-lane code
            i += 16
        }
        var result = m.max()
        while i < count { result = Swift.max(result, x[i]); i += 1 }
        return result
    }
}
