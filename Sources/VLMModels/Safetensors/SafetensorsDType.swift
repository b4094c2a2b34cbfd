/// Element types of the safetensors format (the names used in the JSON header).
public enum SafetensorsDType: String, Sendable, CaseIterable, Codable {
    /// One-byte types: boolean, unsigned and signed integers, and the two FP8 formats (not readable as floats here).
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    /// Two-byte types: integers, IEEE half and bfloat16.
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    /// Four-byte types.
    case i32 = "I32", u32 = "U32", f32 = "F32"
    /// Eight-byte types.
    case f64 = "F64", i64 = "I64", u64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }
}

/// One tensor's entry in a safetensors header.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// Tensor name as stored.
    public let name: String
    /// Stored element type.
    public let dtype: SafetensorsDType
    /// Dimensions, outermost first (empty for a scalar).
    public let shape: [Int]
    /// Byte range within the data section (after the 8-byte length and the header).
    public let dataRange: Range<Int>

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}
