/// A value inside a chat template: what Jinja's strings, numbers, booleans, lists and dicts become here.
public indirect enum TemplateValue: Sendable, Equatable {
    /// An undefined name or missing key (renders as nothing, false in tests).
    case undefined
    /// `none`.
    case none
    /// A boolean.
    case bool(Bool)
    /// An integer.
    case int(Int)
    /// A string.
    case string(String)
    /// A list.
    case list([TemplateValue])
    /// A mapping with its keys in order.
    case dict([(String, TemplateValue)])

    public static func == (a: TemplateValue, b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.string(x), .string(y)): return Array(x.unicodeScalars) == Array(y.unicodeScalars)
        case let (.list(x), .list(y)): return x == y
        case let (.dict(x), .dict(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Jinja truthiness: empty strings, lists and dicts, 0, false, none and undefined are false.
    var isTrue: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .dict(let d): return !d.isEmpty
        }
    }

    /// The text `{{ value }}` writes.
    var rendered: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .string(let s): return s
        case .list(let l): return "[" + l.map(\.literal).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.map { "'\($0.0)': \($0.1.literal)" }.joined(separator: ", ") + "}"
        }
    }

    private var literal: String { if case .string(let s) = self { "'\(s)'" } else { rendered } }

    /// `value[key]` for dicts (by key) and lists (by index, negative from the end); undefined when absent.
    subscript(key: TemplateValue) -> TemplateValue {
        switch (self, key) {
        case let (.dict(d), .string(k)): return d.first { $0.0 == k }?.1 ?? .undefined
        case let (.list(l), .int(i)):
            let index = i < 0 ? l.count + i : i
            return l.indices.contains(index) ? l[index] : .undefined
        default: return .undefined
        }
    }
}
