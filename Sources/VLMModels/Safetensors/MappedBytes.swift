import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only bytes of a whole file, memory-mapped (zero-copy; pages load as they are touched) or held in memory.
/// The base pointer is stable for the object's lifetime.
final class MappedBytes: @unchecked Sendable {
    let base: UnsafeRawPointer
    let count: Int
    private let isMapped: Bool

    /// Maps the file at `path` read-only.
    /// - Throws: `ModelError.fileUnreadable` when it is not a regular file (never blocking on a FIFO or
    ///   device) or cannot be opened, examined or mapped.
    init(mapping path: String) throws {
        let (fd, size) = try RegularFile.openRegular(path)
        defer { close(fd) }
        count = size
        if count == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            isMapped = false
            return
        }
        guard let pointer = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), pointer != MAP_FAILED else {
            throw ModelError.fileUnreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(pointer)
        isMapped = true
    }

    /// Copies `data` into an owned, 64-byte aligned buffer.
    init(copying data: Data) {
        count = data.count
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, data.count), alignment: 64)
        data.copyBytes(to: buffer.assumingMemoryBound(to: UInt8.self), count: data.count)
        base = UnsafeRawPointer(buffer)
        isMapped = false
    }

    /// Drops the resident pages lying wholly inside `range` (mapped files only; a no-op for owned memory).
    /// Their contents stay readable: the kernel reads them from the file again when touched.
    func release(_ range: Range<Int>) {
        guard isMapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page, end = range.upperBound / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base) + start, end - start, Int32(MADV_DONTNEED))
    }

    deinit {
        if isMapped { munmap(UnsafeMutableRawPointer(mutating: base), count) }
        else { UnsafeMutableRawPointer(mutating: base).deallocate() }
    }
}
