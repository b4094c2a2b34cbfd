#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An owned, 64-byte aligned, immutable-after-fill byte buffer: the storage of packed weight panels.
///
/// Buffers of 2 MiB or more are 2 MiB aligned and marked for transparent huge pages: a decoding step streams
/// every weight once, and with 4 KiB pages a 7B model's weights cost millions of TLB misses per token.
final class PanelBytes: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    private static let hugePage = 2 << 20

    /// Bytes readable past `count` (zero): the int8 dot-product kernel reads whole four-step groups, up to
    /// 48 bytes past a panel's last step.
    static let slack = 64

    /// Allocates `count` zeroed bytes (plus `slack`).
    init(zeroedCount count: Int) {
        let size = count + Self.slack
        if size >= Self.hugePage {
            let rounded = (size + Self.hugePage - 1) / Self.hugePage * Self.hugePage
            pointer = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: Self.hugePage)
            #if os(Linux)
            _ = madvise(pointer, rounded, MADV_HUGEPAGE)
            #endif
        } else {
            pointer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: TensorStorage.alignment)
        }
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        self.count = count
    }

    deinit { pointer.deallocate() }

    /// True when both buffers hold the same bytes.
    func hasSameBytes(as other: PanelBytes) -> Bool {
        count == other.count && memcmp(pointer, other.pointer, count) == 0
    }
}
