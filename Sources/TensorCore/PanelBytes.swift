#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An owned, 64-byte aligned, immutable-after-fill byte buffer: the storage of packed weight panels.
final class PanelBytes: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    /// Allocates `count` zeroed bytes.
    init(zeroedCount count: Int) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: TensorStorage.alignment)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
        self.count = count
    }

    deinit { pointer.deallocate() }

    /// True when both buffers hold the same bytes.
    func hasSameBytes(as other: PanelBytes) -> Bool {
        count == other.count && memcmp(pointer, other.pointer, count) == 0
    }
}
