import Foundation
import TensorCore

/// Builds a safetensors file in memory: tensors in F32, F16 or BF16 (rounded to nearest even), integers
/// in I64 or U8, and string metadata. The header is padded with spaces to a multiple of 8 bytes and
/// tensors are ordered by descending element size, as the reference writer does, so data stays aligned.
public struct SafetensorsWriter: Sendable {
    private struct Entry: Sendable {
        var name: String
        var dtype: SafetensorsDType
        var shape: [Int]
        var payload: Data
    }

    private var entries: [Entry] = []
    /// Header `__metadata__`.
    public var metadata: [String: String]

    /// An empty file with optional metadata.
    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    /// Adds a floating-point tensor stored as `dtype` (`.f32`, `.f16` or `.bf16`).
    /// - Throws: `ModelError.invalidInput` for another dtype or a name used twice.
    public mutating func add(_ name: String, _ tensor: Tensor, as dtype: SafetensorsDType = .f32) throws {
        try append(Entry(name: name, dtype: dtype, shape: tensor.shape.dims, payload: try Self.payload(tensor, as: dtype)))
    }

    /// The little-endian data bytes of `tensor` stored as `dtype` (`.f32`, `.f16` or `.bf16`).
    /// - Throws: `ModelError.invalidInput` for another dtype.
    public static func payload(_ tensor: Tensor, as dtype: SafetensorsDType) throws -> Data {
        let values = tensor.scalars
        switch dtype {
        case .f32: return values.withUnsafeBytes { Data($0) }
        case .f16: return values.map { HalfPrecision.f16Bits($0).littleEndian }.withUnsafeBytes { Data($0) }
        case .bf16: return values.map { HalfPrecision.bf16Bits($0).littleEndian }.withUnsafeBytes { Data($0) }
        default: throw ModelError.invalidInput("cannot store a float tensor as \(dtype.rawValue)")
        }
    }

    /// The 8-byte length and the JSON header (padded with spaces to a multiple of 8) for tensors whose data
    /// follows in the order given, each `shape.product · dtype.byteSize` bytes.
    public static func header(
        for tensors: [(name: String, dtype: SafetensorsDType, shape: [Int])], metadata: [String: String]
    ) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            let size = t.shape.reduce(1, *) * t.dtype.byteSize
            header[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + size]]
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        return out
    }

    /// Adds an integer tensor stored as `.i64` or `.u8` (values must fit).
    /// - Throws: `ModelError.invalidInput` for a count/shape mismatch, values out of range or a duplicate name.
    public mutating func add(_ name: String, integers: [Int], shape: [Int], as dtype: SafetensorsDType = .i64) throws {
        guard shape.reduce(1, *) == integers.count else {
            throw ModelError.invalidInput("tensor '\(name)': \(integers.count) values for shape \(shape)")
        }
        let payload: Data
        switch dtype {
        case .i64: payload = integers.map { Int64($0).littleEndian }.withUnsafeBytes { Data($0) }
        case .u8:
            guard integers.allSatisfy({ (0...255).contains($0) }) else {
                throw ModelError.invalidInput("tensor '\(name)': U8 values must be in 0...255")
            }
            payload = Data(integers.map { UInt8($0) })
        default: throw ModelError.invalidInput("cannot store integers as \(dtype.rawValue)")
        }
        try append(Entry(name: name, dtype: dtype, shape: shape, payload: payload))
    }

    private mutating func append(_ entry: Entry) throws {
        guard entry.name != "__metadata__", !entries.contains(where: { $0.name == entry.name }) else {
            throw ModelError.invalidInput("tensor name '\(entry.name)' is reserved or already used")
        }
        entries.append(entry)
    }

    /// The complete file.
    public func data() throws -> Data {
        let ordered = entries.sorted { ($0.dtype.byteSize, $1.name) > ($1.dtype.byteSize, $0.name) }
        var out = try Self.header(for: ordered.map { ($0.name, $0.dtype, $0.shape) }, metadata: metadata)
        for e in ordered { out.append(e.payload) }
        return out
    }

    /// Writes the file to `url` atomically (whole or not at all).
    /// - Throws: `ModelError.fileUnwritable` naming the path and the reason.
    public func write(to url: URL) throws { try RegularFile.write(data(), to: url) }
}
