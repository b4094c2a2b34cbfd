/// A 64-byte aligned heap buffer of `Float`, owned by one or more `Tensor` values (copy-on-write).
///
/// Mutation happens only through `Tensor`, which copies the buffer first unless it is uniquely referenced,
/// so sharing a storage across threads is safe.
final class TensorStorage: @unchecked Sendable {
    /// Alignment of every buffer in bytes: a cache line, and the widest vector register.
    static let alignment = 64

    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    /// Allocates `count` floats, uninitialised (callers fill them).
    init(uninitializedCount count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: Self.alignment)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    /// Allocates `count` floats set to `value`.
    convenience init(count: Int, repeating value: Float) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    /// A new storage holding a copy of this one's elements.
    func copy() -> TensorStorage {
        let other = TensorStorage(uninitializedCount: count)
        other.pointer.initialize(from: pointer, count: count)
        return other
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}
