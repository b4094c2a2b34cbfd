extension Tensor {
    /// Rows `range` of a tensor viewed as `[rowCount, last]`, copied, keeping the trailing shape.
    /// - Throws: `TensorError.indexOutOfRange` when the range leaves the first dimension.
    public func rows(_ range: Range<Int>) throws -> Tensor {
        let n = shape.rank == 0 ? 1 : shape[0]
        guard range.lowerBound >= 0, range.upperBound <= n else {
            throw TensorError.indexOutOfRange(operation: "rows", index: range.upperBound, bound: n)
        }
        let width = count / max(n, 1)
        return Tensor(shape: Shape([range.count] + shape.dims.dropFirst())) { out in
            withUnsafeBufferPointer { src in
                out.baseAddress!.update(from: src.baseAddress! + range.lowerBound * width, count: range.count * width)
            }
        }
    }

    /// The rows (first-dimension entries) at `indices`, in that order.
    /// - Throws: `TensorError.indexOutOfRange` for an index outside the first dimension.
    public func gatherRows(_ indices: [Int]) throws -> Tensor {
        let n = shape.rank == 0 ? 1 : shape[0]
        if let bad = indices.first(where: { $0 < 0 || $0 >= n }) {
            throw TensorError.indexOutOfRange(operation: "gatherRows", index: bad, bound: n)
        }
        let width = count / max(n, 1)
        return Tensor(shape: Shape([indices.count] + shape.dims.dropFirst())) { out in
            withUnsafeBufferPointer { src in
                for (r, i) in indices.enumerated() {
                    (out.baseAddress! + r * width).update(from: src.baseAddress! + i * width, count: width)
                }
            }
        }
    }

    /// Writes row r of `source` over row `indices[r]` of this tensor.
    /// - Throws: `TensorError` when row widths differ, counts differ or an index is out of range.
    public mutating func scatterRows(_ source: Tensor, at indices: [Int]) throws {
        let n = shape.rank == 0 ? 1 : shape[0]
        let width = count / max(n, 1)
        guard source.shape.rank >= 1, source.shape[0] == indices.count, source.count == indices.count * width else {
            throw TensorError.shapeMismatch(
                operation: "scatterRows", expected: Shape([indices.count] + shape.dims.dropFirst()), actual: source.shape)
        }
        if let bad = indices.first(where: { $0 < 0 || $0 >= n }) {
            throw TensorError.indexOutOfRange(operation: "scatterRows", index: bad, bound: n)
        }
        withUnsafeMutableBufferPointer { dst in
            source.withUnsafeBufferPointer { src in
                for (r, i) in indices.enumerated() {
                    (dst.baseAddress! + i * width).update(from: src.baseAddress! + r * width, count: width)
                }
            }
        }
    }

    /// Tensors stacked along the first dimension; all must share the trailing shape.
    /// - Throws: `TensorError.shapeMismatch` when trailing shapes differ, `.invalidArgument` when empty.
    public static func concatenateRows(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first, first.shape.rank >= 1 else {
            throw TensorError.invalidArgument(operation: "concatenateRows", reason: "need at least one tensor of rank >= 1")
        }
        let trailing = Array(first.shape.dims.dropFirst())
        for p in parts where p.shape.rank < 1 || Array(p.shape.dims.dropFirst()) != trailing {
            throw TensorError.shapeMismatch(
                operation: "concatenateRows", expected: Shape([p.shape.dims.first ?? 0] + trailing), actual: p.shape)
        }
        let total = parts.reduce(0) { $0 + $1.shape[0] }
        return Tensor(shape: Shape([total] + trailing)) { out in
            var offset = 0
            for p in parts {
                p.withUnsafeBufferPointer { src in
                    (out.baseAddress! + offset).update(from: src.baseAddress!, count: p.count)
                }
                offset += p.count
            }
        }
    }
}

extension Tensor {
    /// Columns `range` of a 2-D tensor, copied into a `[rows, range.count]` tensor.
    /// - Throws: `TensorError` when the tensor is not 2-D or the range leaves its columns.
    public func columns(_ range: Range<Int>) throws -> Tensor {
        guard shape.rank == 2 else {
            throw TensorError.invalidArgument(operation: "columns", reason: "needs a 2-D tensor, got \(shape)")
        }
        let rows = shape[0], width = shape[1]
        guard range.lowerBound >= 0, range.upperBound <= width else {
            throw TensorError.indexOutOfRange(operation: "columns", index: range.upperBound, bound: width)
        }
        return Tensor(shape: [rows, range.count]) { out in
            withUnsafeBufferPointer { src in
                for r in 0..<rows {
                    (out.baseAddress! + r * range.count).update(
                        from: src.baseAddress! + r * width + range.lowerBound, count: range.count)
                }
            }
        }
    }
}
