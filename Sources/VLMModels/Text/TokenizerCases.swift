import Foundation

/// A `vtp-tokenizer-cases-1` file (encode and decode cases computed by the `tokenizers` library) checked
/// against a `Tokenizer`.
public struct TokenizerCases: Sendable {
    /// One mismatch: the case, which output, expected and actual values.
    public struct Mismatch: Sendable, CustomStringConvertible {
        /// The case name.
        public let name: String
        /// Which output differs (`ids`, `decoded_skip_special`, …).
        public let field: String
        /// The expected value, as text.
        public let expected: String
        /// The tokenizer's value, as text (or the error it threw).
        public let actual: String
        public var description: String { "\(name).\(field): expected \(expected), got \(actual)" }
    }

    /// The parsed file.
    public let json: JSONValue
    /// Encode cases (`cases`) and decode cases (`decode_cases`) in the file.
    public var caseCount: Int { (json["cases"]?.array?.count ?? 0) + (json["decode_cases"]?.array?.count ?? 0) }

    /// Reads a cases file.
    /// - Throws: `ModelError` for an unreadable file, `TokenizerError.malformed` for another schema.
    public init(url: URL) throws {
        json = try JSONValue.readStrict(url, limit: RegularFile.tokenizerByteLimit)
        guard json["schema"]?.string == "vtp-tokenizer-cases-1" else {
            throw TokenizerError.malformed(path: url.path, reason: "schema is not vtp-tokenizer-cases-1")
        }
    }

    /// Every mismatch between the file and `tokenizer` (empty when all agree). Texts are compared byte for byte.
    public func check(_ tokenizer: Tokenizer) -> [Mismatch] {
        var mismatches: [Mismatch] = []
        func ids(_ v: JSONValue?) -> [Int]? { v?.array?.compactMap(\.integer) }
        func compare(_ name: String, _ field: String, _ expected: JSONValue?, _ actual: () throws -> JSONValue) {
            guard let expected else { return }
            let value: JSONValue
            do { value = try actual() } catch {
                mismatches.append(Mismatch(name: name, field: field, expected: Self.show(expected), actual: "error: \(error)"))
                return
            }
            if value != expected { mismatches.append(Mismatch(name: name, field: field, expected: Self.show(expected), actual: Self.show(value))) }
        }
        func text(_ s: String) -> JSONValue { .string(Array(s.utf8)) }
        func list(_ l: [Int]) -> JSONValue { .array(l.map { .number(Double($0), text: String($0)) }) }
        for c in json["cases"]?.array ?? [] {
            let name = c["name"]?.string ?? "?"
            guard case .string(let bytes)? = c["text"] else { continue }
            let input = String(decoding: bytes, as: UTF8.self)
            compare(name, "ids", c["ids"]) { list(try tokenizer.encode(input, addSpecialTokens: true)) }
            compare(name, "ids_no_special", c["ids_no_special"]) { list(try tokenizer.encode(input, addSpecialTokens: false)) }
            for (field, source, skip) in [("decoded", "ids", false), ("decoded_skip_special", "ids", true),
                                          ("decoded_no_special", "ids_no_special", false),
                                          ("decoded_no_special_skip_special", "ids_no_special", true)] {
                guard let given = ids(c[source]) else { continue }
                compare(name, field, c[field]) { text(try tokenizer.decode(given, skipSpecialTokens: skip)) }
            }
        }
        for c in json["decode_cases"]?.array ?? [] {
            let name = c["name"]?.string ?? "?"
            guard let given = ids(c["ids"]) else { continue }
            compare(name, "decoded", c["decoded"]) { text(try tokenizer.decode(given)) }
            compare(name, "decoded_skip_special", c["decoded_skip_special"]) { text(try tokenizer.decode(given, skipSpecialTokens: true)) }
        }
        return mismatches
    }

    private static func show(_ v: JSONValue) -> String {
        switch v {
        case .string(let b): return String(reflecting: String(decoding: b, as: UTF8.self))
        case .array(let a): return "[" + a.map(show).joined(separator: ", ") + "]"
        case .number(_, let t): return t
        default: return "\(v)"
        }
    }
}
