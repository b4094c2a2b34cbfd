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
        // One pass computes exp(x − max) in place and sums it; a second scales by 1/sum.
        let shift = SIMD16<Float>(repeating: m)
        var sums = SIMD16<Float>()
        var i = 0
        let raw = UnsafeMutableRawPointer(x)
        while i + 16 <= count {
            let e = VectorMath.exp(UnsafeRawPointer(raw).loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - shift)
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD16<Float>.self)
            sums += e
            i += 16
        }
        var total = sums.sum()
        while i < count { x[i] = VectorMath.exp(x[i] - m); total += x[i]; i += 1 }
        let inv = 1 / total
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
