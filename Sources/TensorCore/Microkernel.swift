/// The register-blocked inner kernel of `SIMDGemm`.
enum Microkernel {
    /// `C[rows x columns] (+)= Apanel · Bpanel` for one 6x16 tile over `depth` packed steps.
    /// `a` holds `[depth][6]`, `b` holds `[depth][16]` Float32 values (zero-padded; low-precision weights are
    /// widened into such panels once per block, see `SIMDGemm`). Only `rows x columns` of C are written.
    @inline(__always)
    static func tile6x16<F: MultiplyAddStrategy>(
        _ strategy: F.Type, depth: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, accumulate: Bool
    ) {
        typealias E = Float32Panel
        var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>()
        var c3 = SIMD16<Float>(), c4 = SIMD16<Float>(), c5 = SIMD16<Float>()
        var pa = a
        var pb = b
        let pairBytes = 2 * E.stepBytes
        for _ in 0..<(depth / 2) {
            let (b0, b1) = E.loadPair(pb)
            F.apply(&c0, SIMD16(repeating: pa[0]), b0)
            F.apply(&c1, SIMD16(repeating: pa[1]), b0)
            F.apply(&c2, SIMD16(repeating: pa[2]), b0)
            F.apply(&c3, SIMD16(repeating: pa[3]), b0)
            F.apply(&c4, SIMD16(repeating: pa[4]), b0)
            F.apply(&c5, SIMD16(repeating: pa[5]), b0)
            F.apply(&c0, SIMD16(repeating: pa[6]), b1)
            F.apply(&c1, SIMD16(repeating: pa[7]), b1)
            F.apply(&c2, SIMD16(repeating: pa[8]), b1)
            F.apply(&c3, SIMD16(repeating: pa[9]), b1)
            F.apply(&c4, SIMD16(repeating: pa[10]), b1)
            F.apply(&c5, SIMD16(repeating: pa[11]), b1)
            pa += 12
            pb += pairBytes
        }
        if depth % 2 == 1 {
            let bv = E.loadFirst(pb)
            F.apply(&c0, SIMD16(repeating: pa[0]), bv)
            F.apply(&c1, SIMD16(repeating: pa[1]), bv)
            F.apply(&c2, SIMD16(repeating: pa[2]), bv)
            F.apply(&c3, SIMD16(repeating: pa[3]), bv)
            F.apply(&c4, SIMD16(repeating: pa[4]), bv)
            F.apply(&c5, SIMD16(repeating: pa[5]), bv)
        }
        if rows == 6 && columns == 16 {
            store(c0, c, accumulate); store(c1, c + ldc, accumulate); store(c2, c + 2 * ldc, accumulate)
            store(c3, c + 3 * ldc, accumulate); store(c4, c + 4 * ldc, accumulate); store(c5, c + 5 * ldc, accumulate)
            return
        }
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 6) { tile in
            tile[0] = c0; tile[1] = c1; tile[2] = c2; tile[3] = c3; tile[4] = c4; tile[5] = c5
            for r in 0..<rows {
                let row = c + r * ldc
                for j in 0..<columns { row[j] = accumulate ? row[j] + tile[r][j] : tile[r][j] }
            }
        }
    }

    @inline(__always)
    private static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
        let raw = UnsafeMutableRawPointer(p)
        if accumulate {
            raw.storeBytes(of: UnsafeRawPointer(raw).loadUnaligned(as: SIMD16<Float>.self) + v, as: SIMD16<Float>.self)
        } else {
            raw.storeBytes(of: v, as: SIMD16<Float>.self)
        }
    }
}
