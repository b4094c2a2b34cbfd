/// Row-wise normalisation layers (LayerNorm for CLIP, RMSNorm for LLaMA).
public enum Normalization {
    /// LayerNorm of each row: (x − mean) / √(biased variance + eps) · weight + bias, written to `out`
    /// (which may equal `x`). `weight` and `bias` hold `columns` floats.
    public static func layerNorm(
        _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float
    ) {
        for r in 0..<rows {
            let src = x + r * columns, dst = out + r * columns
            let mean = Reduction.sum(src, count: columns) / Float(columns)
            var variance: Float = 0
            var acc = SIMD16<Float>()
            var i = 0
            let meanV = SIMD16<Float>(repeating: mean)
            while i + 16 <= columns {
                let d = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self) - meanV
                acc += d * d
                i += 16
            }
            variance = acc.sum()
            while i < columns { let d = src[i] - mean; variance += d * d; i += 1 }
            let inv = 1 / (variance / Float(columns) + eps).squareRoot()
            let invV = SIMD16<Float>(repeating: inv)
            i = 0
            while i + 16 <= columns {
                let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self)
                let w = UnsafeRawPointer(weight + i).loadUnaligned(as: SIMD16<Float>.self)
                let b = UnsafeRawPointer(bias + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(dst + i).storeBytes(of: (v - meanV) * invV * w + b, as: SIMD16<Float>.self)
                i += 16
            }
            while i < columns {
                dst[i] = (src[i] - mean) * inv * weight[i] + bias[i]
                i += 1
            }
        }
    }

    /// RMSNorm of each row: x / √(mean(x²) + eps) · weight, written to `out` (which may equal `x`).
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
        weight: UnsafePointer<Float>, eps: Float
    ) {
        for r in 0..<rows {
            let src = x + r * columns, dst = out + r * columns
            let meanSquare = Reduction.dot(src, src, count: columns) / Float(columns)
            let inv = 1 / (meanSquare + eps).squareRoot()
            let invV = SIMD16<Float>(repeating: inv)
            var i = 0
            while i + 16 <= columns {
                let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self)
                let w = UnsafeRawPointer(weight + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(dst + i).storeBytes(of: v * invV * w, as: SIMD16<Float>.self)
                i += 16
            }
            while i < columns { dst[i] = src[i] * inv * weight[i]; i += 1 }
        }
    }
}

extension Tensor {
    /// LayerNorm over the last dimension with `weight` and `bias` of that length.
    /// - Throws: `TensorError.shapeMismatch` when `weight` or `bias` has the wrong shape.
    public func layerNorm(weight: Tensor, bias: Tensor, eps: Float) throws -> Tensor {
        let cols = shape.last
        for (name, t) in [("weight", weight), ("bias", bias)] where t.shape != [cols] {
            throw TensorError.shapeMismatch(operation: "layerNorm \(name)", expected: [cols], actual: t.shape)
        }
        return Tensor(shape: shape) { out in
            withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        Normalization.layerNorm(x.baseAddress!, out.baseAddress!, rows: shape.rowCount, columns: cols,
                                                weight: w.baseAddress!, bias: b.baseAddress!, eps: eps)
                    }
                }
            }
        }
    }

    /// RMSNorm over the last dimension with `weight` of that length.
    /// - Throws: `TensorError.shapeMismatch` when `weight` has the wrong shape.
    public func rmsNorm(weight: Tensor, eps: Float) throws -> Tensor {
        let cols = shape.last
        guard weight.shape == [cols] else {
            throw TensorError.shapeMismatch(operation: "rmsNorm weight", expected: [cols], actual: weight.shape)
        }
        return Tensor(shape: shape) { out in
            withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { w in
                    Normalization.rmsNorm(x.baseAddress!, out.baseAddress!, rows: shape.rowCount, columns: cols,
                                          weight: w.baseAddress!, eps: eps)
                }
            }
        }
    }
}
