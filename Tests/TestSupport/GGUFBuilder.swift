import Foundation

/// Writes GGUF files byte by byte for tests: metadata of any value type, tensor infos and raw data, with every
/// field overridable so that malformed files can be made on purpose.
public struct GGUFBuilder {
    /// A metadata value as written: a GGUF value type code and its encoded bytes (after the type code).
    public struct Value {
        public var type: UInt32
        public var bytes: [UInt8]
        public init(type: UInt32, bytes: [UInt8]) {
            self.type = type
            self.bytes = bytes
        }
        public static func u8(_ v: UInt8) -> Value { Value(type: 0, bytes: [v]) }
        public static func i8(_ v: Int8) -> Value { Value(type: 1, bytes: [UInt8(bitPattern: v)]) }
        public static func u16(_ v: UInt16) -> Value { Value(type: 2, bytes: le(v)) }
        public static func i16(_ v: Int16) -> Value { Value(type: 3, bytes: le(v)) }
        public static func u32(_ v: UInt32) -> Value { Value(type: 4, bytes: le(v)) }
        public static func i32(_ v: Int32) -> Value { Value(type: 5, bytes: le(v)) }
        public static func f32(_ v: Float) -> Value { Value(type: 6, bytes: le(v.bitPattern)) }
        public static func bool(_ v: Bool) -> Value { Value(type: 7, bytes: [v ? 1 : 0]) }
        public static func string(_ s: String) -> Value { Value(type: 8, bytes: GGUFBuilder.string(s)) }
        public static func u64(_ v: UInt64) -> Value { Value(type: 10, bytes: le(v)) }
        public static func i64(_ v: Int64) -> Value { Value(type: 11, bytes: le(v)) }
        public static func f64(_ v: Double) -> Value { Value(type: 12, bytes: le(v.bitPattern)) }
        /// An array of `elements`, all of value type `type`; `count` overrides the declared length.
        public static func array(_ type: UInt32, _ elements: [Value], count: UInt64? = nil) -> Value {
            Value(type: 9, bytes: le(type) + le(count ?? UInt64(elements.count)) + elements.flatMap(\.bytes))
        }
        public static func strings(_ items: [String]) -> Value { array(8, items.map(string)) }
    }

    /// A tensor info plus its data.
    public struct TensorEntry {
        public var name: String
        /// Dimensions contiguous first (`ne0, ne1, …`).
        public var dimensions: [UInt64]
        public var type: UInt32
        /// Data offset; nil places it after the previous tensor, aligned.
        public var offset: UInt64?
        public var data: [UInt8]
    }

    public var magic: [UInt8] = Array("GGUF".utf8)
    public var version: UInt32 = 3
    public var metadata: [(String, Value)] = []
    public var tensors: [TensorEntry] = []
    /// The alignment the data is laid out with (write `general.alignment` yourself to change the file's).
    public var alignment = 32
    /// Overrides the declared counts.
    public var declaredTensorCount: UInt64?
    public var declaredKeyCount: UInt64?

    public init() {}

    /// Adds a tensor whose data is `data` (its byte count is not checked here).
    public mutating func addTensor(_ name: String, dimensions: [Int], type: UInt32, data: [UInt8], offset: UInt64? = nil) {
        tensors.append(TensorEntry(name: name, dimensions: dimensions.map(UInt64.init), type: type, offset: offset, data: data))
    }

    /// Adds an F32 tensor of `values` (dimensions contiguous first).
    public mutating func addF32(_ name: String, dimensions: [Int], values: [Float]) {
        addTensor(name, dimensions: dimensions, type: 0, data: values.flatMap { le($0.bitPattern) })
    }

    /// The file's bytes.
    public func bytes() -> [UInt8] {
        var out = magic + le(version) + le(declaredTensorCount ?? UInt64(tensors.count)) + le(declaredKeyCount ?? UInt64(metadata.count))
        for (key, value) in metadata { out += Self.string(key) + le(value.type) + value.bytes }
        var offsets: [UInt64] = [], next: UInt64 = 0
        for t in tensors {
            let offset = t.offset ?? next
            offsets.append(offset)
            next = (offset + UInt64(t.data.count) + UInt64(alignment) - 1) / UInt64(alignment) * UInt64(alignment)
        }
        for (t, offset) in zip(tensors, offsets) {
            out += Self.string(t.name) + le(UInt32(t.dimensions.count)) + t.dimensions.flatMap { le($0) } + le(t.type) + le(offset)
        }
        while out.count % alignment != 0 { out.append(0) }
        let dataStart = out.count
        for (t, offset) in zip(tensors, offsets) {
            let end = dataStart + Int(offset) + t.data.count
            if out.count < end { out += [UInt8](repeating: 0, count: end - out.count) }
            out.replaceSubrange((dataStart + Int(offset))..<end, with: t.data)
        }
        return out
    }

    /// The file's bytes as `Data`.
    public var data: Data { Data(bytes()) }

    static func string(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }
}

/// Little-endian bytes of a fixed-width integer.
public func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.littleEndian) { Array($0) }
}
