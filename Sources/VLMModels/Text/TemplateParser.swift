/// A chat-template expression.
indirect enum TemplateExpression: Sendable {
    case literal(TemplateValue)
    case name(String)
    case list([TemplateExpression])
    case subscriptOf(TemplateExpression, TemplateExpression)
    case attribute(TemplateExpression, String)
    case call(TemplateExpression, [TemplateExpression])
    case filter(TemplateExpression, String, [TemplateExpression])
    case binary(String, TemplateExpression, TemplateExpression)
    case not(TemplateExpression)
    case test(TemplateExpression, String, negated: Bool)
    case conditional(TemplateExpression, condition: TemplateExpression, otherwise: TemplateExpression?)
    /// `namespace(name=value, …)`: a mapping whose attributes `{% set ns.name = … %}` may change from inside loops.
    case namespace([(String, TemplateExpression)])
}

/// A chat-template statement or text run.
indirect enum TemplateNode: Sendable {
    case text(String)
    case output(TemplateExpression)
    case forLoop(names: [String], sequence: TemplateExpression, filter: TemplateExpression?, body: [TemplateNode], otherwise: [TemplateNode])
    case conditional([(TemplateExpression, [TemplateNode])], otherwise: [TemplateNode])
    case set(String, TemplateExpression)
    /// `{% set ns.attribute = … %}` on a namespace.
    case setAttribute(String, String, TemplateExpression)
    case generation([TemplateNode])
    case breakLoop, continueLoop
}

/// Builds the node tree from lexer tokens.
struct TemplateParser {
    let tokens: [TemplateLexer.Token]
    var position = 0
    /// Blocks open around the one being parsed.
    private var depth = 0

    init(tokens: [TemplateLexer.Token]) { self.tokens = tokens }

    /// Nodes up to one of the `until` tags (which is left unconsumed), or to the end when `until` is empty.
    /// `opener` is the offset of the tag that opened the block, named when the block never closes.
    /// - Throws: `ChatTemplateError.syntax` for blocks nested deeper than `ChatTemplate.maximumNesting` or left open.
    mutating func parseBlock(until: Set<String>, openedAt opener: Int = 0) throws -> [TemplateNode] {
        depth += 1
        defer { depth -= 1 }
        guard depth <= ChatTemplate.maximumNesting else {
            throw ChatTemplateError.syntax("blocks nested deeper than \(ChatTemplate.maximumNesting)", offset: Self.offset(of: tokens, at: position))
        }
        var nodes: [TemplateNode] = []
        while position < tokens.count {
            switch tokens[position] {
            case .text(let t):
                nodes.append(.text(t))
                position += 1
            case let .output(source, offset):
                var e = ExpressionParser(source: source, offset: offset)
                nodes.append(.output(try e.parseComplete()))
                position += 1
            case let .statement(source, offset):
                let keyword = source.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
                if until.contains(keyword) { return nodes }
                position += 1
                nodes.append(try statement(keyword, source, offset))
            }
        }
        guard until.isEmpty else {
            throw ChatTemplateError.syntax("block never closed (missing {% \(until.sorted().joined(separator: " / ")) %})", offset: opener)
        }
        return nodes
    }

    /// The template offset of token `i` (the last statement's for a text run), for error messages.
    private static func offset(of tokens: [TemplateLexer.Token], at i: Int) -> Int {
        for token in tokens[..<min(i + 1, tokens.count)].reversed() {
            switch token {
            case let .output(_, offset), let .statement(_, offset): return offset
            case .text: continue
            }
        }
        return 0
    }

    private mutating func expect(_ keyword: String) throws -> (source: String, offset: Int) {
        guard position < tokens.count, case let .statement(source, offset) = tokens[position],
              source.split(separator: " ", maxSplits: 1).first.map(String.init) == keyword else {
            throw ChatTemplateError.syntax("expected {% \(keyword) %}", offset: Self.offset(of: tokens, at: position))
        }
        position += 1
        return (source, offset)
    }

    /// Whether `s` is a plain variable name: a letter or `_`, then letters, digits or `_`.
    static func isName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }

    private mutating func statement(_ keyword: String, _ source: String, _ offset: Int) throws -> TemplateNode {
        let rest = String(source.dropFirst(keyword.count))
        switch keyword {
        case "for":
            guard let range = rest.range(of: " in ") else { throw ChatTemplateError.syntax("for without 'in'", offset: offset) }
            let names = rest[..<range.lowerBound].split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace }
            guard names.allSatisfy(Self.isName), Set(names).count == names.count else {
                throw ChatTemplateError.syntax("for loop variables must be distinct names", offset: offset)
            }
            var e = ExpressionParser(source: String(rest[range.upperBound...]), offset: offset)
            let sequence = try e.parseExpression(allowConditional: false)
            var filter: TemplateExpression?
            if e.accept(keyword: "if") { filter = try e.parseExpression(allowConditional: false) }
            try e.finish()
            let body = try parseBlock(until: ["endfor", "else"], openedAt: offset)
            var otherwise: [TemplateNode] = []
            if case .statement(let s, _) = tokens[position], s == "else" {
                position += 1
                otherwise = try parseBlock(until: ["endfor"], openedAt: offset)
            }
            _ = try expect("endfor")
            return .forLoop(names: names, sequence: sequence, filter: filter, body: body, otherwise: otherwise)
        case "if":
            var branches: [(TemplateExpression, [TemplateNode])] = []
            var condition = try ExpressionParser.parse(rest, offset: offset)
            var otherwise: [TemplateNode] = []
            while true {
                let body = try parseBlock(until: ["elif", "else", "endif"], openedAt: offset)
                branches.append((condition, body))
                guard case let .statement(s, o) = tokens[position] else { break }
                position += 1
                if s.hasPrefix("elif") { condition = try ExpressionParser.parse(String(s.dropFirst(4)), offset: o); continue }
                if s == "else" { otherwise = try parseBlock(until: ["endif"], openedAt: offset); _ = try expect("endif") }
                break
            }
            return .conditional(branches, otherwise: otherwise)
        case "set":
            guard let eq = rest.firstIndex(of: "=") else { throw ChatTemplateError.syntax("set without '='", offset: offset) }
            let name = String(rest[..<eq]).trimmingWhitespace
            let value = try ExpressionParser.parse(String(rest[rest.index(after: eq)...]), offset: offset)
            let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 2, parts.allSatisfy(Self.isName) { return .setAttribute(parts[0], parts[1], value) }
            guard Self.isName(name) else {
                throw ChatTemplateError.unknownTag("set \(name) (only plain names and namespace attributes can be set)")
            }
            return .set(name, value)
        case "generation":
            let body = try parseBlock(until: ["endgeneration"], openedAt: offset)
            _ = try expect("endgeneration")
            return .generation(body)
        case "break": return .breakLoop
        case "continue": return .continueLoop
        default: throw ChatTemplateError.unknownTag(keyword)
        }
    }
}

/// Parses one expression (Jinja precedence: conditional, or, and, not, comparisons, `~`, `+ -`, filters and
/// tests, postfix subscripts/attributes/calls, primaries).
struct ExpressionParser {
    enum Token: Equatable { case name(String), string(String), int(Int), op(String), end }
    var tokens: [Token] = []
    var position = 0
    let offset: Int

    static func parse(_ source: String, offset: Int) throws -> TemplateExpression {
        var p = ExpressionParser(source: source, offset: offset)
        return try p.parseComplete()
    }

    /// Tokens the lexer stopped at: past `ChatTemplate.maximumExpressionTokens` the expression is refused.
    private var truncated = false
    /// Sub-expressions (parentheses, brackets, arguments, `not`) open around the one being parsed.
    private var nesting = 0

    init(source: String, offset: Int) {
        self.offset = offset
        let s = Array(source.unicodeScalars)
        var i = 0
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
        while i < s.count {
            guard tokens.count < ChatTemplate.maximumExpressionTokens else { truncated = true; break }
            let c = s[i]
            if c.properties.isWhitespace { i += 1; continue }
            if isNameStart(c) {
                var j = i
                while j < s.count, isNameStart(s[j]) || ("0"..."9").contains(s[j]) { j += 1 }
                tokens.append(.name(String(String.UnicodeScalarView(s[i..<j]))))
                i = j
            } else if ("0"..."9").contains(c) {
                var j = i
                while j < s.count, ("0"..."9").contains(s[j]) { j += 1 }
                tokens.append(.int(Int(String(String.UnicodeScalarView(s[i..<j]))) ?? Int.max))
                i = j
            } else if c == "'" || c == "\"" {
                var j = i + 1
                var value = String.UnicodeScalarView()
                while j < s.count, s[j] != c {
                    if s[j] == "\\", j + 1 < s.count {
                        j += 1
                        switch s[j] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(s[j])
                        }
                    } else {
                        value.append(s[j])
                    }
                    j += 1
                }
                tokens.append(j < s.count ? .string(String(value)) : .op("unterminated string"))
                i = j + 1
            } else {
                let two = i + 1 < s.count ? String(String.UnicodeScalarView([c, s[i + 1]])) : ""
                if ["==", "!=", "<=", ">="].contains(two) {
                    tokens.append(.op(two))
                    i += 2
                } else {
                    tokens.append(.op(String(c)))
                    i += 1
                }
            }
        }
        tokens.append(.end)
    }

    private var current: Token { tokens[position] }
    private func fail(_ m: String) -> ChatTemplateError { .syntax(m, offset: offset) }

    mutating func accept(_ op: String) -> Bool {
        if current == .op(op) { position += 1; return true }
        return false
    }

    mutating func accept(keyword: String) -> Bool {
        if current == .name(keyword) { position += 1; return true }
        return false
    }

    mutating func finish() throws {
        guard current == .end else { throw fail("unexpected \(current) in expression") }
    }

    mutating func parseComplete() throws -> TemplateExpression {
        try checkSize()
        let e = try parseExpression(allowConditional: true)
        try finish()
        return e
    }

    /// - Throws: `ChatTemplateError.syntax` for an expression of more than `ChatTemplate.maximumExpressionTokens`
    ///   tokens, which bounds the depth of every expression tree (and of its evaluation).
    mutating func checkSize() throws {
        guard !truncated else { throw fail("expression longer than \(ChatTemplate.maximumExpressionTokens) tokens") }
    }

    mutating func parseExpression(allowConditional: Bool) throws -> TemplateExpression {
        try checkSize()
        try enter()
        defer { nesting -= 1 }
        let value = try parseOr()
        guard allowConditional, accept(keyword: "if") else { return value }
        let condition = try parseOr()
        return .conditional(value, condition: condition, otherwise: accept(keyword: "else") ? try parseExpression(allowConditional: true) : nil)
    }

    private mutating func parseOr() throws -> TemplateExpression {
        var left = try parseAnd()
        while accept(keyword: "or") { left = .binary("or", left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> TemplateExpression {
        var left = try parseNot()
        while accept(keyword: "and") { left = .binary("and", left, try parseNot()) }
        return left
    }

    /// Opens one level of sub-expression. - Throws: `ChatTemplateError.syntax` past `ChatTemplate.maximumNesting`.
    private mutating func enter() throws {
        nesting += 1
        guard nesting <= ChatTemplate.maximumNesting else { throw fail("expression nested deeper than \(ChatTemplate.maximumNesting)") }
    }

    private mutating func parseNot() throws -> TemplateExpression {
        guard accept(keyword: "not") else { return try parseComparison() }
        try enter()
        defer { nesting -= 1 }
        return .not(try parseNot())
    }

    private mutating func parseComparison() throws -> TemplateExpression {
        var left = try parseConcatenation()
        while true {
            if case .op(let op) = current, ["==", "!=", "<", ">", "<=", ">="].contains(op) {
                position += 1
                left = .binary(op, left, try parseConcatenation())
            } else if accept(keyword: "in") {
                left = .binary("in", left, try parseConcatenation())
            } else if current == .name("not"), tokens[position + 1] == .name("in") {
                position += 2
                left = .not(.binary("in", left, try parseConcatenation()))
            } else {
                return left
            }
        }
    }

    private mutating func parseConcatenation() throws -> TemplateExpression {
        var left = try parseSum()
        while accept("~") { left = .binary("~", left, try parseSum()) }
        return left
    }

    private mutating func parseSum() throws -> TemplateExpression {
        var left = try parseFiltered()
        while true {
            if accept("+") { left = .binary("+", left, try parseFiltered()) }
            else if accept("-") { left = .binary("-", left, try parseFiltered()) }
            else { return left }
        }
    }

    private mutating func parseFiltered() throws -> TemplateExpression {
        var value = try parsePostfix()
        while accept("|") {
            guard case .name(let name) = current else { throw fail("expected a filter name") }
            position += 1
            var arguments: [TemplateExpression] = []
            if accept("(") { arguments = try parseArguments(closing: ")") }
            value = .filter(value, name, arguments)
        }
        // Tests bind like filters, tighter than any operator: `'n' ~ x is none` is `'n' ~ (x is none)`.
        while accept(keyword: "is") {
            let negated = accept(keyword: "not")
            guard case .name(let test) = current else { throw fail("expected a test name after 'is'") }
            position += 1
            value = .test(value, test, negated: negated)
        }
        return value
    }

    private mutating func parseArguments(closing: String) throws -> [TemplateExpression] {
        var arguments: [TemplateExpression] = []
        if accept(closing) { return arguments }
        repeat { arguments.append(try parseExpression(allowConditional: true)) } while accept(",")
        guard accept(closing) else { throw fail("expected '\(closing)'") }
        return arguments
    }

    private mutating func parsePostfix() throws -> TemplateExpression {
        var value = try parsePrimary()
        while true {
            if accept("[") {
                let key = try parseExpression(allowConditional: true)
                guard accept("]") else { throw fail("expected ']'") }
                value = .subscriptOf(value, key)
            } else if accept(".") {
                guard case .name(let name) = current else { throw fail("expected an attribute name") }
                position += 1
                value = .attribute(value, name)
            } else if accept("(") {
                value = .call(value, try parseArguments(closing: ")"))
            } else {
                return value
            }
        }
    }

    private mutating func parsePrimary() throws -> TemplateExpression {
        let token = current
        position += 1
        switch token {
        case .string(let s):
            var text = s
            while case .string(let more) = current { text += more; position += 1 }  // adjacent literals concatenate
            return .literal(.string(text))
        case .int(let i): return .literal(.int(i))
        case .name("true"), .name("True"): return .literal(.bool(true))
        case .name("false"), .name("False"): return .literal(.bool(false))
        case .name("none"), .name("None"): return .literal(.none)
        case .name("namespace") where current == .op("("):
            position += 1
            var attributes: [(String, TemplateExpression)] = []
            if accept(")") { return .namespace(attributes) }
            repeat {
                guard case .name(let key) = current, tokens[position + 1] == .op("=") else { throw fail("namespace() takes name=value arguments") }
                position += 2
                attributes.append((key, try parseExpression(allowConditional: true)))
            } while accept(",")
            guard accept(")") else { throw fail("expected ')'") }
            return .namespace(attributes)
        case .name(let n): return .name(n)
        case .op("("):
            let e = try parseExpression(allowConditional: true)
            guard accept(")") else { throw fail("expected ')'") }
            return e
        case .op("["): return .list(try parseArguments(closing: "]"))
        case .op("-"):
            if case .int(let i) = current { position += 1; return .literal(.int(-i)) }
            throw fail("unexpected '-'")
        default: throw fail("unexpected \(token)")
        }
    }
}
