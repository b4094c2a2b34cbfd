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
}
