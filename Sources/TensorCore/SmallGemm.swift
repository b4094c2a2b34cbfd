/// GEMM for very few rows of A (token-by-token decoding): no packing, streams B once.
enum SmallGemm {
    /// `C[0..<m, columns] (+)= A · op(B)[:, columns]` for small `m`.
    static func multiply<F: MultiplyAddStrategy>(
        _ strategy: F.Type, m: Int, columns: Range<Int>, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        if columns.isEmpty { return }
        if transposeB {
            for i in 0..<m {
                let row = a + i * lda
                for j in columns {
                    let d = Reduction.dot(strategy, row, b + j * ldb, count: k)
                    c[i * ldc + j] = accumulate ? c[i * ldc + j] + d : d
                }
            }
        } else {
            for i in 0..<m {
                let out = c + i * ldc
                if !accumulate { (out + columns.lowerBound).update(repeating: 0, count: columns.count) }
                for p in 0..<k {
                    Elementwise.axpy(strategy, a[i * lda + p], b + p * ldb + columns.lowerBound,
                                     out + columns.lowerBound, count: columns.count)
                }
            }
        }
    }

    /// `C[0..<m, columns] (+)= A · Wᵀ[:, columns]` with W as prepacked panels (`columns` starts on a panel).
    static func multiplyPanels<F: MultiplyAddStrategy>(
        _ strategy: F.Type, m: Int, columns: Range<Int>, k: Int, a: UnsafePointer<Float>, lda: Int,
        panels: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        var column = columns.lowerBound
        while column < columns.upperBound {
            let panel = UnsafeRawPointer(panels + (column / 16) * k * 16)
            let width = min(16, columns.upperBound - column)
            for i in 0..<m {
                let row = a + i * lda
                var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
                var p = 0
                while p + 2 <= k {
                    F.apply(&acc0, SIMD16(repeating: row[p]), panel.load(fromByteOffset: p * 64, as: SIMD16<Float>.self))
                    F.apply(&acc1, SIMD16(repeating: row[p + 1]), panel.load(fromByteOffset: (p + 1) * 64, as: SIMD16<Float>.self))
                    p += 2
                }
                if p < k { F.apply(&acc0, SIMD16(repeating: row[p]), panel.load(fromByteOffset: p * 64, as: SIMD16<Float>.self)) }
                let sum = acc0 + acc1
                let out = c + i * ldc + column
                for j in 0..<width { out[j] = accumulate ? out[j] + sum[j] : sum[j] }
            }
            column += 16
        }
    }
}
