/// Numerically stable softmax over the rows of a row-major matrix.
public enum Softmax {
    /// In place: each of `rows` rows (stride `stride`) of the first `columns` entries becomes
    /// exp(x − max) / Σ exp(x − max). An all −infinity row (fully masked) becomes all zeros.
    public static func rows(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, stride: Int) {
        for r in 0..<rows { row(x + r * stride, count: columns) }
    }

    /// In place softmax of one contiguous run of `count` floats.
    public static func row(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if count == 0 { return }
        let m = Reduction.max(x, count: count)
        if m == -.infinity {
            x.update(repeating: 0, count: count)
            return
        }
        let shift = SIMD16<Float>(repeating: m)
        VectorMath.map(x, x, count: count) { VectorMath.exp($0 - shift) }
        let inv = 1 / Reduction.sum(x, count: count)
        VectorMath.map(x, x, count: count) { $0 * inv }
    }
}

extension Tensor {
    /// Softmax along the last dimension.
    public func softmaxLastDimension() -> Tensor {
        var out = self
        let cols = shape.last, rows = shape.rowCount
        out.withUnsafeMutableBufferPointer { Softmax.rows($0.baseAddress!, rows: rows, columns: cols, stride: cols) }
        return out
    }
}
