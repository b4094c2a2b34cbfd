/// A GGUF metadata value, with the GGUF value type it was stored as.
public indirect enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    /// UINT8, UINT16, UINT32 or UINT64 (type codes 0, 2, 4, 10), widened.
    case unsigned(UInt64, bits: Int)
    /// INT8, INT16, INT32 or INT64 (type codes 1, 3, 5, 11), widened.
    case signed(Int64, bits: Int)
    /// FLOAT32 (6) or FLOAT64 (12), widened; `bits` says which.
    case float(Double, bits: Int)
    /// BOOL (7): one byte, 0 or 1.
    case bool(Bool)
    /// STRING (8): UTF-8, u64 length-prefixed.
    case string(String)
    /// ARRAY (9): elements of one type (`elementType`, a GGUF type code), possibly arrays themselves.
    case array(elementType: UInt32, [GGUFValue])

    /// The value as an `Int` when it is an integer that fits (signed or unsigned), else nil.
    public var integer: Int? {
        switch self {
        case let .unsigned(v, _): return Int(exactly: v)
        case let .signed(v, _): return Int(exactly: v)
        default: return nil
        }
    }

    /// The value as a `Double` when it is a number (integer or float), else nil.
    public var number: Double? {
        switch self {
        case let .float(v, _): return v
        case let .unsigned(v, _): return Double(v)
        case let .signed(v, _): return Double(v)
        default: return nil
        }
    }

    /// The string, else nil.
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }

    /// The Boolean, else nil.
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    /// The elements of an array, else nil.
    public var array: [GGUFValue]? { if case .array(_, let elements) = self { return elements } else { return nil } }

    /// The GGUF name of the stored type (`UINT32`, `ARRAY[STRING]`, …), for error messages.
    public var typeName: String {
        switch self {
        case let .unsigned(_, bits): return "UINT\(bits)"
        case let .signed(_, bits): return "INT\(bits)"
        case let .float(_, bits): return "FLOAT\(bits)"
        case .bool: return "BOOL"
        case .string: return "STRING"
        case let .array(type, _): return "ARRAY[\(GGUFValue.typeName(code: type))]"
        }
    }

    /// The GGUF name of value type `code`.
    static func typeName(code: UInt32) -> String {
        let names = ["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY",
                     "UINT64", "INT64", "FLOAT64"]
        return code < names.count ? names[Int(code)] : "type \(code)"
    }

    public var description: String {
        switch self {
        case let .unsigned(v, _): return "\(v)"
        case let .signed(v, _): return "\(v)"
        case let .float(v, _): return "\(v)"
        case let .bool(b): return "\(b)"
        case let .string(s): return s.count > 80 ? "\"\(s.prefix(80))…\"" : "\"\(s)\""
        case let .array(type, elements): return "[\(elements.count) × \(GGUFValue.typeName(code: type))]"
        }
    }
}
