/// An owned, contiguous, row-major tensor of `Float` with value semantics (copy-on-write).
///
/// Copies are cheap until one of them is mutated. Element access goes through
/// `withUnsafeBufferPointer` / `withUnsafeMutableBufferPointer` in kernels, or `scalars` for convenience.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// Dimensions, outermost first.
    public private(set) var shape: Shape
    var storage: TensorStorage

    /// A tensor of `shape` with every element set to `value` (default 0).
    public init(zeros shape: Shape, repeating value: Float = 0) {
        self.shape = shape
        storage = TensorStorage(count: shape.count, repeating: value)
    }

    /// A tensor of `shape`, zero-initialised, then written by `body` (usually with a trailing closure).
    public init(shape: Shape, filledBy body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        self.shape = shape
        storage = TensorStorage(uninitializedCount: shape.count)
        storage.pointer.initialize(repeating: 0, count: shape.count)
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: shape.count))
    }

    /// A tensor of `shape` holding `scalars` in row-major order.
    /// - Throws: `TensorError.countMismatch` when `scalars.count != shape.count`.
    public init(shape: Shape, scalars: [Float]) throws {
        guard scalars.count == shape.count else {
            throw TensorError.countMismatch(operation: "Tensor.init", expected: shape.count, actual: scalars.count)
        }
        self.shape = shape
        storage = TensorStorage(uninitializedCount: shape.count)
        scalars.withUnsafeBufferPointer { storage.pointer.initialize(from: $0.baseAddress!, count: shape.count) }
    }

    /// Number of elements.
    public var count: Int { shape.count }

    /// The elements in row-major order, copied into an array.
    public var scalars: [Float] { withUnsafeBufferPointer { Array($0) } }

    /// Reads or writes one element by its flat row-major index.
    /// - Precondition: `0 <= index < count`, as for `Array` (use `scalars` or the buffer views in loops).
    public subscript(flat index: Int) -> Float {
        get { precondition(index >= 0 && index < count); return storage.pointer[index] }
        set { precondition(index >= 0 && index < count); makeUnique(); storage.pointer[index] = newValue }
    }

    /// Reads or writes one element by its multi-dimensional index (one entry per dimension).
    /// - Precondition: one in-range index per dimension, as for `Array`.
    public subscript(_ index: Int...) -> Float {
        get { self[flat: flatIndex(index)] }
        set { self[flat: flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.rank, "index rank \(index.count) for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape.dims) {
            precondition(i >= 0 && i < d, "index \(index) out of range for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    /// Calls `body` with a read-only view of the elements.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Calls `body` with a writable view of the elements (copies the storage first if it is shared).
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// The same elements under another shape with the same element count.
    /// - Throws: `TensorError.countMismatch` when the counts differ.
    public func reshaped(_ newShape: Shape) throws -> Tensor {
        guard newShape.count == count else {
            throw TensorError.countMismatch(operation: "reshaped", expected: count, actual: newShape.count)
        }
        var copy = self
        copy.shape = newShape
        return copy
    }

    /// True when every element is finite (no NaN, no infinity).
    public var isFinite: Bool { firstNonFiniteIndex == nil }

    /// Flat index of the first NaN or infinite element, if any.
    public var firstNonFiniteIndex: Int? {
        withUnsafeBufferPointer { $0.firstIndex { !$0.isFinite } }
    }

    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && lhs.withUnsafeBufferPointer { a in rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) } }
    }

    public var description: String {
        let preview = withUnsafeBufferPointer { $0.prefix(8).map { String($0) }.joined(separator: ", ") }
        return "Tensor\(shape)(\(preview)\(count > 8 ? ", …" : ""))"
    }
}
