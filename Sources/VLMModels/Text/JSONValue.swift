import Foundation

/// A parsed JSON document that keeps every string as its exact UTF-8 bytes and every object as its ordered
/// list of members. Foundation's parsers key objects by `String`, whose equality is canonical equivalence, so
/// `{"\u00e9": 1, "e\u0301": 2}` silently becomes one entry; tokenizer vocabularies hold such pairs.
public indirect enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, as a Double and as written (integers beyond Double's precision keep their text).
    case number(Double, text: String)
    /// A string's UTF-8 bytes, escapes resolved.
    case string([UInt8])
    /// An array.
    case array([JSONValue])
    /// An object's members in file order (duplicates kept as written).
    case object([Member])

    /// One member of an object.
    public struct Member: Sendable, Equatable {
        /// The key's UTF-8 bytes, escapes resolved.
        public var key: [UInt8]
        /// The value.
        public var value: JSONValue
    }

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x, _), .number(y, _)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x == y
        default: return false
        }
    }

    /// The string value as Swift text, nil for other kinds.
    public var string: String? { if case .string(let b) = self { String(decoding: b, as: UTF8.self) } else { nil } }
    /// The value as an exact integer, nil for other kinds, fractions and numbers beyond `Int`.
    public var integer: Int? {
        guard case let .number(value, text) = self, !text.contains(where: { ".eE".contains($0) }) else { return nil }
        return Int(text) ?? (value.rounded() == value && abs(value) < 9e15 ? Int(value) : nil)
    }
    /// The value as a Bool, nil for other kinds.
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// The array's elements, nil for other kinds.
    public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    /// The object's members, nil for other kinds.
    public var members: [Member]? { if case .object(let m) = self { m } else { nil } }
    /// The first member called `key` (compared byte for byte), nil when absent or not an object.
    public subscript(key: String) -> JSONValue? {
        let bytes = Array(key.utf8)
        return members?.first { $0.key == bytes }?.value
    }
    /// Whether this is `null`.
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The dotted path of the first object member whose key repeats an earlier key of the same object, nil
    /// when every object's keys are distinct (Foundation's parsers keep the last of them silently).
    public var firstDuplicateKey: String? {
        switch self {
        case .object(let members):
            var seen = Set<[UInt8]>()
            for member in members {
                let key = member.key, value = member.value
                let name = String(decoding: key, as: UTF8.self)
                if !seen.insert(key).inserted { return name }
                if let inner = value.firstDuplicateKey { return name + "." + inner }
            }
            return nil
        case .array(let elements):
            for (i, element) in elements.enumerated() {
                if let inner = element.firstDuplicateKey { return "\(i)." + inner }
            }
            return nil
        default:
            return nil
        }
    }

    /// Parses `data` and refuses a document with a repeated key, so a file cannot say two things at once.
    /// - Throws: `ModelError.invalidConfiguration` naming `path` and the key, or the parse error.
    public static func parseStrict(_ data: Data, path: String) throws -> JSONValue {
        let value: JSONValue
        do { value = try parse(data) } catch ModelError.invalidInput(let reason) {
            throw ModelError.invalidConfiguration(path: path, reason: reason)
        }
        if let key = value.firstDuplicateKey {
            throw ModelError.invalidConfiguration(path: path, reason: "key '\(key)' appears more than once")
        }
        return value
    }

    /// Reads the regular file at `url` (at most `limit` bytes, checked before reading) and parses it as
    /// `parseStrict` does, naming the file.
    /// - Throws: `ModelError.fileUnreadable`, or `.invalidConfiguration` naming the path.
    public static func readStrict(_ url: URL, limit: Int = RegularFile.configurationByteLimit) throws -> JSONValue {
        try parseStrict(try RegularFile.read(url, limit: limit), path: url.path)
    }

    /// Most nesting a document may have, so hostile input cannot exhaust the stack.
    public static let maximumDepth = 256

    /// Parses `data` as one JSON document (RFC 8259; surrounding whitespace allowed).
    /// - Throws: `ModelError.invalidInput` naming the byte offset of the first error.
    public static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var parser = JSONParser(bytes: raw.bindMemory(to: UInt8.self))
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.index == parser.bytes.count else { throw parser.fail("trailing characters") }
            return value
        }
    }
}

/// The recursive-descent reader behind `JSONValue.parse`.
private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func fail(_ reason: String) -> ModelError { .invalidInput("JSON: \(reason) at byte \(index)") }

    mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func expect(_ literal: String, _ value: JSONValue) throws -> JSONValue {
        for byte in literal.utf8 {
            guard index < bytes.count, bytes[index] == byte else { throw fail("expected '\(literal)'") }
            index += 1
        }
        return value
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < JSONValue.maximumDepth else { throw fail("nesting deeper than \(JSONValue.maximumDepth)") }
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members: [JSONValue.Member] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let key = try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                members.append(JSONValue.Member(key: key, value: try value(depth: depth + 1)))
                skipWhitespace()
                guard index < bytes.count else { throw fail("unterminated object") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                index += 1
                return .object(members)
            }
        case UInt8(ascii: "["):
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            while true {
                elements.append(try value(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw fail("unterminated array") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                index += 1
                return .array(elements)
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        default: return try number()
        }
    }

    mutating func number() throws -> JSONValue {
        let start = index
        func digits() -> Int {
            let from = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            return index - from
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard digits() > 0 else { throw fail("invalid value") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw fail("digits expected after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw fail("digits expected in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else { throw fail("invalid number") }
        return .number(value, text: text)
    }

    /// A string starting at the opening quote; returns its UTF-8 bytes.
    /// - Throws: for an unterminated string, a bad escape, a control character or bytes that are not UTF-8.
    mutating func string() throws -> [UInt8] {
        let start = index
        index += 1
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard out.allSatisfy({ $0 < 0x80 }) || String(validating: out, as: UTF8.self) != nil else {
                    index = start
                    throw fail("string is not valid UTF-8")
                }
                return out
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw fail("unterminated escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw fail("lone high surrogate")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw fail("lone low surrogate")
                    }
                    out.append(contentsOf: Array(String(Unicode.Scalar(scalar)!).utf8))
                default: throw fail("invalid escape")
                }
            case 0..<0x20: throw fail("control character in a string")
            default: out.append(byte)
            }
        }
    }

    mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case 0x30...0x39: digit = UInt32(b - 0x30)
            case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
            default: throw fail("invalid hex digit")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }
}
