import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading files that users name: only regular files are read. A FIFO, device, directory or dangling
/// symbolic link is a clear error, never a block (the file is opened non-blocking and checked before any
/// read), and a size bound is checked before anything is allocated.
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
