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
        let source = bytes.base + dataStart + info.dataRange.lowerBound
        let count = info.elementCount
        let shape = Shape(info.shape)
        switch info.dtype {
        case .f32:
            return Tensor(shape: shape) { out in
                UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: source, byteCount: count * 4)
            }
        case .f16:
            return Tensor(shape: shape) { HalfPrecision.widenF16(source, into: $0.baseAddress!, count: count) }
        case .bf16:
            return Tensor(shape: shape) { HalfPrecision.widenBF16(source, into: $0.baseAddress!, count: count) }
        case .f64:
            return Tensor(shape: shape) { out in
                for i in 0..<count { out[i] = Float(source.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
            }
        default:
            throw ModelError.unsupportedDType(name: name, dtype: info.dtype.rawValue)
        }
    }

    /// Tensor `name` as integers with its shape (I64, I32, I16, I8, U8, U16, U32, BOOL).
    /// - Throws: `ModelError.missingTensor`, or `.unsupportedDType` for floating-point data or a U64 value above Int.max.
    public func integerTensor(_ name: String) throws -> (values: [Int], shape: [Int]) {
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
        return (values, info.shape)
    }
}
