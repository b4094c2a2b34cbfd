/// Cosine similarity between two sets of row vectors.
public enum Similarity {
    /// `[n, m]` matrix of cos(a_i, b_j) for `a [n, d]` and `b [m, d]`; each norm is clamped to >= 1e-8
    /// as in PyTorch `cosine_similarity`, so a zero row gives similarity 0.
    /// - Throws: `TensorError.shapeMismatch` when the operands are not 2-D with the same width.
    public static func cosineMatrix(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.shape.rank == 2, b.shape.rank == 2, a.shape[1] == b.shape[1] else {
            throw TensorError.shapeMismatch(operation: "cosineMatrix", expected: [b.shape.rowCount, a.shape.last],
                                            actual: b.shape)
        }
        return try normalizedRows(a).matmul(normalizedRows(b), transposeOther: true)
    }

    /// Each row divided by max(‖row‖₂, 1e-8).
    public static func normalizedRows(_ x: Tensor) -> Tensor {
        let cols = x.shape.last
        var out = x
        out.withUnsafeMutableBufferPointer { p in
            for r in 0..<x.shape.rowCount {
                let row = p.baseAddress! + r * cols
                let inv = 1 / max(Reduction.dot(row, row, count: cols).squareRoot(), 1e-8)
                VectorMath.map(row, row, count: cols) { $0 * inv }
            }
        }
        return out
    }
}
