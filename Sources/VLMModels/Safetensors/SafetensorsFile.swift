import Foundation
import TensorCore

/// A safetensors file opened for reading: validated header, memory-mapped data.
///
/// Floating-point tensors (F32, F16, BF16, F64) are returned as Float32 `Tensor`s (half types widened once);
/// integer tensors (I64, I32, U8, ...) as `[Int]`.
public final class SafetensorsFile: Sendable {
    /// Where the file came from (a path, or a label for in-memory data).
    public let path: String
    /// Header `__metadata__` (string to string).
    public let metadata: [String: String]
    /// Tensor entries by name.
    public let tensors: [String: SafetensorsTensorInfo]
    /// Tensor names in the order their data is stored.
    public let tensorNames: [String]
    private let bytes: MappedBytes
    private let dataStart: Int

    /// Opens and validates the file at `url` (memory-mapped, nothing is copied yet).
    /// - Throws: `ModelError.fileUnreadable` or `ModelError.malformedSafetensors`.
    public convenience init(url: URL) throws {
        try self.init(bytes: MappedBytes(mapping: url.path), path: url.path)
    }

    /// Parses a safetensors file held in memory (copied); `label` names it in errors.
    /// - Throws: `ModelError.malformedSafetensors`.
    public convenience init(data: Data, label: String = "<memory>") throws {
        try self.init(bytes: MappedBytes(copying: data), path: label)
    }

    private init(bytes: MappedBytes, path: String) throws {
        let header = try SafetensorsHeader.parse(bytes.base, fileSize: bytes.count, path: path)
        self.bytes = bytes
        self.path = path
        metadata = header.metadata
        tensors = header.tensors
        tensorNames = header.orderedNames
        dataStart = header.dataStart
    }

    /// The entry for `name`.
    /// - Throws: `ModelError.missingTensor`.
    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = tensors[name] else { throw ModelError.missingTensor(name: name) }
        return info
    }

    /// Tensor `name` as Float32 (F32 copied, F16/BF16/F64 converted).
    /// - Throws: `ModelError.missingTensor` or `.unsupportedDType` for integer or FP8 data.
    public func floatTensor(_ name: String) throws -> Tensor {
        let info = try self.info(name)
        return try Tensor(shape: Shape(info.shape)) { out in
            try readFloats(name, info, from: 0, count: info.elementCount, into: out.baseAddress!)
        }
    }

    /// Writes rows `rows` of tensor `name` (rows = first dimension) as Float32, `[rows.count, rest]`
    /// contiguous, into `destination`, converting only those rows.
    /// - Throws: `ModelError.missingTensor`, `.unsupportedDType`, or `.invalidInput` for rows out of range.
    public func readRows(_ name: String, _ rows: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let info = try self.info(name)
        let rowCount = info.shape.first ?? 1
        guard rows.lowerBound >= 0, rows.upperBound <= rowCount else {
            throw ModelError.invalidInput("rows \(rows) of '\(name)' are outside 0..<\(rowCount)")
        }
        let width = rowCount == 0 ? 0 : info.elementCount / rowCount
        try readFloats(name, info, from: rows.lowerBound * width, count: rows.count * width, into: destination)
    }

    /// Returns the memory pages that hold only tensor `name`'s data to the system (they are read again from
    /// the file if touched later), so that loading a checkpoint does not keep every page it read resident.
    public func releasePages(of name: String) {
        guard let info = tensors[name] else { return }
        bytes.release((dataStart + info.dataRange.lowerBound)..<(dataStart + info.dataRange.upperBound))
    }

    /// Converts `count` elements of a floating-point tensor, from element `start`, to Float32.
    private func readFloats(
        _ name: String, _ info: SafetensorsTensorInfo, from start: Int, count: Int, into out: UnsafeMutablePointer<Float>
    ) throws {
        let source = bytes.base + dataStart + info.dataRange.lowerBound
        switch info.dtype {
        case .f32: UnsafeMutableRawPointer(out).copyMemory(from: source + start * 4, byteCount: count * 4)
        case .f16: HalfPrecision.widenF16(source + start * 2, into: out, count: count)
        case .bf16: HalfPrecision.widenBF16(source + start * 2, into: out, count: count)
        case .f64:
            for i in 0..<count { out[i] = Float(source.loadUnaligned(fromByteOffset: (start + i) * 8, as: Double.self)) }
        default:
            throw ModelError.unsupportedDType(name: name, dtype: info.dtype.rawValue)
        }
    }

    /// An integer tensor read whole.
    public struct IntegerTensor: Sendable, Equatable {
        /// The values in row-major order.
        public var values: [Int]
        /// The dimensions.
        public var shape: [Int]
    }

    /// Tensor `name` as integers with its shape (I64, I32, I16, I8, U8, U16, U32, BOOL).
    /// - Throws: `ModelError.missingTensor`, or `.unsupportedDType` for floating-point data or a U64 value above Int.max.
    public func integerTensor(_ name: String) throws -> IntegerTensor {
        let info = try self.info(name)
        let source = bytes.base + dataStart + info.dataRange.lowerBound
        let n = info.elementCount
        let values: [Int]
        switch info.dtype {
        case .i64: values = (0..<n).map { Int(Int64(littleEndian: source.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
        case .i32: values = (0..<n).map { Int(Int32(littleEndian: source.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
        case .u32: values = (0..<n).map { Int(UInt32(littleEndian: source.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        case .i16: values = (0..<n).map { Int(Int16(littleEndian: source.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) }
        case .u16: values = (0..<n).map { Int(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .i8: values = (0..<n).map { Int(source.load(fromByteOffset: $0, as: Int8.self)) }
        case .u8, .bool: values = (0..<n).map { Int(source.load(fromByteOffset: $0, as: UInt8.self)) }
        case .u64:
            var out: [Int] = []
            for i in 0..<n {
                let v = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
                guard let value = Int(exactly: v) else { throw ModelError.unsupportedDType(name: name, dtype: "U64 > Int.max") }
                out.append(value)
            }
            values = out
        default:
            throw ModelError.unsupportedDType(name: name, dtype: info.dtype.rawValue)
        }
        return IntegerTensor(values: values, shape: info.shape)
    }
}
