extension JSONValue {
    /// The kinds of JSON value, for checking a document's members against the kinds a reader expects.
    public enum Kind: String, Sendable {
        case null, boolean, number, string, array, object
    }

    /// This value's kind.
    public var kind: Kind {
        switch self {
        case .null: .null
        case .bool: .boolean
        case .number: .number
        case .string: .string
        case .array: .array
        case .object: .object
        }
    }

    /// The first member, anywhere in the document, whose key is in `expected` but whose value is of none of
    /// the kinds listed for it: its dotted path and what was found, e.g. `model.byte_fallback: expected
    /// boolean, got string`. Nil when every such member has a listed kind. The members of an object held under
    /// a key in `namedBy` are names chosen by the file (a vocabulary's tokens), not schema keys: their keys are
    /// not looked up, their values are still checked. Readers that look values up with optional accessors
    /// (`bool`, `string`, …) run this first, so a value of the wrong type is an error instead of silently
    /// becoming the default.
    public func firstKindMismatch(_ expected: [String: Set<Kind>], namedBy: Set<String> = []) -> String? {
        firstKindMismatch(expected, namedBy: namedBy, keysAreNames: false)
    }

    private func firstKindMismatch(_ expected: [String: Set<Kind>], namedBy: Set<String>, keysAreNames: Bool) -> String? {
        switch self {
        case .object(let members):
            for member in members {
                // A named member's scalar value has nothing to check (a vocabulary's ids).
                if keysAreNames, member.value.kind != .object, member.value.kind != .array { continue }
                let name = String(decoding: member.key, as: UTF8.self)
                if !keysAreNames, let kinds = expected[name], !kinds.contains(member.value.kind) {
                    let listed = kinds.map(\.rawValue).sorted().joined(separator: " or ")
                    return "\(name): expected \(listed), got \(member.value.kind.rawValue)"
                }
                let named = !keysAreNames && namedBy.contains(name)
                if let inner = member.value.firstKindMismatch(expected, namedBy: namedBy, keysAreNames: named) {
                    return name + "." + inner
                }
            }
            return nil
        case .array(let elements):
            for (i, element) in elements.enumerated() {
                if let inner = element.firstKindMismatch(expected, namedBy: namedBy, keysAreNames: false) { return "\(i)." + inner }
            }
            return nil
        default:
            return nil
        }
    }
}
