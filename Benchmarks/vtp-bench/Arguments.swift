import VisionTokenPruning

/// A small command-line reader: `--flag`, `--option value`, with errors for unknown or missing values.
struct Arguments {
    private var remaining: [String]

    init(_ arguments: [String]) { remaining = arguments }

    /// True (and consumed) when `--name` is present.
    /// - Throws: `BenchError.usage` when it is given more than once.
    mutating func flag(_ name: String) throws -> Bool {
        try requireAtMostOnce(name)
        guard let i = remaining.firstIndex(of: name) else { return false }
        remaining.remove(at: i)
        return true
    }

    /// The value after `--name` (consumed), or nil when absent.
    /// - Throws: `BenchError.usage` when the value is missing or the option is given more than once.
    mutating func value(_ name: String) throws -> String? {
        try requireAtMostOnce(name)
        guard let i = remaining.firstIndex(of: name) else { return nil }
        guard i + 1 < remaining.count, !remaining[i + 1].hasPrefix("--") else { throw BenchError.usage("\(name) needs a value") }
        let v = remaining[i + 1]
        remaining.removeSubrange(i...(i + 1))
        return v
    }

    /// The value after `--name` parsed as an integer.
    mutating func integer(_ name: String) throws -> Int? {
        guard let text = try value(name) else { return nil }
        guard let v = Int(text) else { throw BenchError.usage("\(name) needs an integer, got '\(text)'") }
        return v
    }

    /// The value after `--name` parsed as a number.
    mutating func number(_ name: String) throws -> Double? {
        guard let text = try value(name) else { return nil }
        guard let v = Double(text) else { throw BenchError.usage("\(name) needs a number, got '\(text)'") }
        return v
    }

    private func requireAtMostOnce(_ name: String) throws {
        if remaining.filter({ $0 == name }).count > 1 { throw BenchError.usage("\(name) is given more than once") }
    }

    /// The one argument left that is not an option (call after every option is read), or nil when none is.
    /// - Throws: `BenchError.usage` when more than one is left or one looks like an unknown option.
    mutating func optionalPositional() throws -> String? {
        guard !remaining.isEmpty else { return nil }
        guard remaining.count == 1, !remaining[0].hasPrefix("--") else {
            throw BenchError.usage("unknown arguments: \(remaining.joined(separator: " "))")
        }
        return remaining.removeFirst()
    }

    /// The one argument left that is not an option, named `what` in the error when it is missing.
    mutating func positional(_ what: String) throws -> String {
        guard let value = try optionalPositional() else { throw BenchError.usage("missing the \(what)") }
        return value
    }

    /// `--positions keep|renumber` (default keep), for the commands that prune.
    mutating func positionPolicy() throws -> PositionPolicy {
        guard let text = try value("--positions") else { return .keepOriginal }
        guard let policy = PositionPolicy(rawValue: text) else { throw BenchError.usage("--positions is keep or renumber") }
        return policy
    }

    /// Throws unless a `--kv-budget` value (the share of the KV cache kept) lies in (0, 1].
    static func checkKVBudget(_ share: Double?) throws {
        if let share, !(share > 0 && share <= 1) {
            throw BenchError.usage("--kv-budget is the share of the KV cache kept, in (0, 1]; got \(share)")
        }
    }

    /// Throws when anything was not consumed.
    func finish() throws {
        guard remaining.isEmpty else { throw BenchError.usage("unknown arguments: \(remaining.joined(separator: " "))") }
    }
}
