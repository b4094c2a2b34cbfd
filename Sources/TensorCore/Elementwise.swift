/// Elementwise arithmetic on tensors of equal shape, and the vector helpers other kernels use.
enum Elementwise {
    /// y[i] += alpha · x[i].
    @inline(__always)
    static func axpy<F: MultiplyAddStrategy>(
        _ strategy: F.Type, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int
    ) {
        let av = SIMD16<Float>(repeating: alpha)
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        var i = 0
        while i + 16 <= count {
            var acc = UnsafeRawPointer(ry).loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            F.apply(&acc, av, rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            ry.storeBytes(of: acc, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { y[i] += alpha * x[i]; i += 1 }
    }

    /// y[i] += alpha · x[i], picking the multiply-add form this build compiles fast.
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        if CPUFeatures.hasFMA { axpy(FusedMultiplyAdd.self, alpha, x, y, count: count) }
        else { axpy(SeparateMultiplyAdd.self, alpha, x, y, count: count) }
    }

    /// out[i] = op(x[i], y[i]) over `count` elements, 16 lanes at a time.
    @inline(__always)
    static func zip(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int,
        _ op: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>
    ) {
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y), ro = UnsafeMutableRawPointer(out)
        var i = 0
        while i + 16 <= count {
            ro.storeBytes(
                of: op(rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                       ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)),
                toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            out[i] = op(SIMD16(repeating: x[i]), SIMD16(repeating: y[i]))[0]
            i += 1
        }
    }
}

extension Tensor {
    private func combined(
        _ other: Tensor, _ name: String, _ op: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>
    ) throws -> Tensor {
        guard other.shape == shape else {
            throw TensorError.shapeMismatch(operation: name, expected: shape, actual: other.shape)
        }
        return Tensor(shape: shape) { out in
            withUnsafeBufferPointer { a in
                other.withUnsafeBufferPointer { b in
                    Elementwise.zip(a.baseAddress!, b.baseAddress!, out.baseAddress!, count: count, op)
                }
            }
        }
    }

    /// Elementwise sum with a tensor of the same shape.
    /// - Throws: `TensorError.shapeMismatch` when the shapes differ.
    public func adding(_ other: Tensor) throws -> Tensor { try combined(other, "adding") { $0 + $1 } }

    /// Elementwise product with a tensor of the same shape.
    /// - Throws: `TensorError.shapeMismatch` when the shapes differ.
    public func multiplying(_ other: Tensor) throws -> Tensor { try combined(other, "multiplying") { $0 * $1 } }

    /// Adds `other` (same shape) into this tensor in place.
    /// - Throws: `TensorError.shapeMismatch` when the shapes differ.
    public mutating func add(_ other: Tensor) throws {
        guard other.shape == shape else {
            throw TensorError.shapeMismatch(operation: "add", expected: shape, actual: other.shape)
        }
        let n = count
        withUnsafeMutableBufferPointer { a in
            other.withUnsafeBufferPointer { b in
                Elementwise.zip(a.baseAddress!, b.baseAddress!, a.baseAddress!, count: n) { $0 + $1 }
            }
        }
    }

    /// Every element multiplied by `factor`.
    public func scaled(by factor: Float) -> Tensor {
        Tensor(shape: shape) { out in
            withUnsafeBufferPointer { a in
                VectorMath.map(a.baseAddress!, out.baseAddress!, count: count) { $0 * factor }
            }
        }
    }
}

extension Tensor {
    /// Every row of this `[rows, columns]` tensor multiplied elementwise by `scale [columns]` (a per-channel
    /// scale such as DINOv2's LayerScale).
    /// - Throws: `TensorError.shapeMismatch` unless `scale` has one entry per column.
    public func scalingColumns(by scale: Tensor) throws -> Tensor {
        let columns = shape.last
        guard scale.shape == [columns] else {
            throw TensorError.shapeMismatch(operation: "scalingColumns", expected: [columns], actual: scale.shape)
        }
        return Tensor(shape: shape) { out in
            withUnsafeBufferPointer { a in
                scale.withUnsafeBufferPointer { s in
                    for row in 0..<shape.rowCount {
                        Elementwise.zip(a.baseAddress! + row * columns, s.baseAddress!, out.baseAddress! + row * columns, count: columns) { $0 * $1 }
                    }
                }
            }
        }
    }
}
