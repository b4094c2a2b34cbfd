import Foundation
import TensorCore

/// A GGUF file (llama.cpp's model format, versions 2 and 3) opened for reading: validated header, metadata and
/// tensor infos, memory-mapped data. Tensors are converted to Float32 row by row on request.
///
/// Checked at open, each a `ModelError.malformedGGUF` naming the file and the position: the magic and version,
/// counts that could not fit in the file, strings and arrays that run past the end or are not UTF-8, array
/// nesting deeper than `maximumArrayDepth`, repeated metadata keys or tensor names, an alignment that is not a
/// power of two, more than four dimensions, sizes that overflow, rows that do not fill whole blocks, tensor
/// types this reader does not convert, offsets that are unaligned, out of bounds or overlapping.
public final class GGUFFile: Sendable {
    /// Deepest nesting of metadata arrays accepted (llama.cpp writes one level).
    public static let maximumArrayDepth = 4

    /// Where the file came from (a path, or a label for in-memory data).
    public let path: String
    /// The format version (2 or 3).
    public let version: Int
    /// Metadata by key.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensor infos by name.
    public let tensors: [String: GGUFTensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]
    /// Data alignment in bytes (`general.alignment`, default 32).
    public let alignment: Int
    private let bytes: MappedBytes
    private let dataStart: Int

    /// Opens and validates the file at `url` (memory-mapped; tensor data is not touched).
    /// - Throws: `ModelError.fileUnreadable` or `.malformedGGUF`.
    public convenience init(url: URL) throws {
        try self.init(bytes: MappedBytes(mapping: url.path), path: url.path)
    }

    /// Parses a GGUF file held in memory (copied); `label` names it in errors.
    /// - Throws: `ModelError.malformedGGUF`.
    public convenience init(data: Data, label: String = "<memory>") throws {
        try self.init(bytes: MappedBytes(copying: data), path: label)
    }

    private init(bytes: MappedBytes, path: String) throws {
        var reader = GGUFReader(base: bytes.base, count: bytes.count, path: path)
        let header = try reader.header()
        self.bytes = bytes
        self.path = path
        version = header.version
        metadata = header.metadata
        metadataKeys = header.metadataKeys
        tensors = header.tensors
        tensorNames = header.tensorNames
        alignment = header.alignment
        dataStart = header.dataStart
    }

    /// The info of tensor `name`. - Throws: `ModelError.missingTensor`.
    public func info(_ name: String) throws -> GGUFTensorInfo {
        guard let info = tensors[name] else { throw ModelError.missingTensor(name: name) }
        return info
    }

    /// Tensor `name` as Float32 in its row-major `shape`.
    /// - Throws: `ModelError.missingTensor`.
    public func floatTensor(_ name: String) throws -> Tensor {
        let info = try self.info(name)
        return try Tensor(shape: Shape(info.shape)) { out in
            try readRows(name, 0..<info.rowCount, into: out.baseAddress!)
        }
    }

    /// Writes rows `rows` of tensor `name` (a row is `ne0` weights) as Float32 into `destination`, dequantising
    /// only those rows.
    /// - Throws: `ModelError.missingTensor`, or `.invalidInput` for rows out of range.
    public func readRows(_ name: String, _ rows: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let info = try self.info(name)
        guard rows.lowerBound >= 0, rows.upperBound <= info.rowCount else {
            throw ModelError.invalidInput("rows \(rows) of '\(name)' are outside 0..<\(info.rowCount)")
        }
        info.type.dequantize(bytes.base + dataStart + info.offset + rows.lowerBound * info.rowBytes,
                             count: rows.count * info.rowWidth, into: destination)
    }

    /// Returns the memory pages that hold only tensor `name`'s data to the system (read again if touched).
    public func releasePages(of name: String) {
        guard let info = tensors[name] else { return }
        bytes.release((dataStart + info.offset)..<(dataStart + info.offset + info.byteCount))
    }

    /// The integer metadata value of `key`, `fallback` when it is absent.
    /// - Throws: `ModelError.invalidConfiguration` naming the file and key when it is absent without a fallback or is
    ///   not an integer that fits an `Int`.
    public func integer(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let stored = metadata[key] else {
            if let fallback { return fallback }
            throw ModelError.invalidConfiguration(path: path, reason: "no metadata key '\(key)'")
        }
        guard let number = stored.integer else {
            throw ModelError.invalidConfiguration(path: path, reason: "\(key) is \(stored.typeName) \(stored), expected an integer")
        }
        return number
    }

    /// The metadata value of `key`. - Throws: `ModelError.invalidConfiguration` naming the file when absent.
    public func value(_ key: String) throws -> GGUFValue {
        guard let value = metadata[key] else { throw ModelError.invalidConfiguration(path: path, reason: "no metadata key '\(key)'") }
        return value
    }
}
