import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing files that users name: only regular files are read or replaced. A FIFO, device,
/// directory or dangling symbolic link is a clear error, never a block (the file is opened non-blocking and
/// checked before any read), and a size bound is checked before anything is allocated.
public enum RegularFile {
    /// Largest image or data file read whole by default: 256 MiB.
    public static let defaultByteLimit = 256 << 20
    /// Largest JSON configuration file (`config.json`, preprocessor, generation and tokenizer configs, chat
    /// templates, checkpoint indexes, KV profiles): 16 MiB, far above any real one.
    public static let configurationByteLimit = 16 << 20
    /// Largest `tokenizer.json` (and tokenizer case file): 64 MiB, about twice the largest real vocabulary file.
    public static let tokenizerByteLimit = 64 << 20

    /// The whole contents of the regular file at `url`.
    /// - Throws: `ModelError.fileUnreadable` naming the path: absent, not a regular file, larger than
    ///   `limit` bytes, or unreadable.
    public static func read(_ url: URL, limit: Int = defaultByteLimit) throws -> Data {
        let path = url.path
        let (fd, size) = try openRegular(path)
        defer { close(fd) }
        guard size <= limit else { throw error(path, "\(size) bytes is more than the \(limit)-byte limit for this file") }
        var data = Data(count: size)
        var done = 0
        try data.withUnsafeMutableBytes { buffer in
            while done < size {
                let n = readBytes(fd, buffer.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw error(path, n == 0 ? "file shrank while being read" : String(cString: strerror(errno))) }
                done += n
            }
        }
        return data
    }

    /// Writes `data` to `url` whole or not at all: into a new temporary file beside it, then renamed over it,
    /// so a failed write leaves an existing file untouched. Only a regular file is ever replaced.
    /// - Throws: `ModelError.fileUnwritable` naming the path and the system's reason (a missing folder, no
    ///   permission, a full disk, or something other than a regular file at `url`).
    public static func write(_ data: Data, to url: URL) throws {
        let path = url.path
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            throw ModelError.fileUnwritable(path: path, reason: "something other than a regular file is there (a folder, link, FIFO, socket or device)")
        }
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).partial").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ModelError.fileUnwritable(path: path, reason: String(cString: strerror(errno))) }
        var failure: String?
        data.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = writeBytes(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { failure = String(cString: strerror(errno)); return }
                done += n
            }
        }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw ModelError.fileUnwritable(path: path, reason: failure)
        }
    }

    /// The system's reason for a Foundation file error (`strerror` of its POSIX code, e.g. "No space left on
    /// device"), rather than Foundation's sentence about the operation; the error's own text otherwise.
    static func systemReason(_ error: any Error) -> String {
        let ns = error as NSError
        let posix = ns.domain == NSPOSIXErrorDomain ? ns : ns.userInfo[NSUnderlyingErrorKey] as? NSError
        if let posix, posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
        return ns.localizedDescription
    }

    /// True when something is at `url` (a file, folder or link, even a dangling one), for optional files:
    /// whatever is there is then read with `read`, which says what is wrong with it.
    public static func isPresent(_ url: URL) -> Bool {
        var info = stat()
        return lstat(url.path, &info) == 0
    }

    /// Opens `path` read-only and non-blocking, and checks that it is a regular file.
    /// - Returns: the open descriptor (the caller closes it) and the file's size in bytes.
    static func openRegular(_ path: String) throws -> (descriptor: Int32, byteCount: Int) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw error(path, String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw error(path, String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw error(path, "not a regular file (a folder, FIFO, socket or device)")
        }
        return (fd, Int(info.st_size))
    }

    private static func error(_ path: String, _ reason: String) -> ModelError {
        ModelError.fileUnreadable(path: path, reason: reason)
    }
}

/// The system `read` (inside `RegularFile`, `read` names the type's own method).
private func readBytes(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// The system `write` (inside `RegularFile`, `write` names the type's own method).
private func writeBytes(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
