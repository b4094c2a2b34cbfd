/// Variables visible while rendering: a stack of frames, innermost last.
struct TemplateScope {
    var frames: [[String: TemplateValue]]
    /// Statements, outputs and loop iterations run so far.
    private(set) var steps = 0

    init(variables: [String: TemplateValue]) { frames = [variables] }

    /// Counts one step. - Throws: `ChatTemplateError.render` past `ChatTemplate.maximumSteps`.
    mutating func step() throws {
        steps += 1
        guard steps <= ChatTemplate.maximumSteps else {
            throw ChatTemplateError.render("rendering took more than \(ChatTemplate.maximumSteps) steps")
        }
    }

    func lookup(_ name: String) -> TemplateValue {
        for frame in frames.reversed() { if let v = frame[name] { return v } }
        return .undefined
    }

    mutating func assign(_ name: String, _ value: TemplateValue) { frames[frames.count - 1][name] = value }

    /// Sets `attribute` of the namespace `name` where it was defined, so the change outlives the loop body
    /// that makes it (Jinja's `namespace` semantics).
    /// - Throws: `ChatTemplateError.render` when `name` is not a namespace.
    mutating func assignAttribute(_ name: String, _ attribute: String, _ value: TemplateValue) throws {
        guard let f = frames.indices.last(where: { frames[$0][name] != nil }), case .dict(var pairs) = frames[f][name]! else {
            throw ChatTemplateError.render("cannot set \(name).\(attribute): \(name) is not a namespace")
        }
        if let i = pairs.firstIndex(where: { $0.0 == attribute }) { pairs[i].1 = value } else { pairs.append((attribute, value)) }
        frames[f][name] = .dict(pairs)
    }
}

/// Evaluates template nodes and expressions.
enum TemplateRenderer {
    enum Flow { case normal, breakLoop, continueLoop }

    static func run(_ nodes: [TemplateNode], _ scope: inout TemplateScope, _ out: inout String) throws -> Flow {
        for node in nodes {
            try scope.step()
            switch node {
            case .text(let t): try append(t, to: &out)
            case .output(let e): try append(try evaluate(e, scope).rendered, to: &out)
            case .set(let name, let e): scope.assign(name, try evaluate(e, scope))
            case let .setAttribute(name, attribute, e): try scope.assignAttribute(name, attribute, try evaluate(e, scope))
            case .generation(let body):
                let flow = try run(body, &scope, &out)
                if flow != .normal { return flow }
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            case let .conditional(branches, otherwise):
                let chosen = try branches.first { try evaluate($0.0, scope).isTrue }?.1 ?? otherwise
                let flow = try run(chosen, &scope, &out)
                if flow != .normal { return flow }
            case let .forLoop(names, sequence, filter, body, otherwise):
                var items: [TemplateValue]
                switch try evaluate(sequence, scope) {
                case .list(let l): items = l
                case .dict(let d): items = d.map { .string($0.0) }
                case .string(let s): items = s.unicodeScalars.map { .string(String($0)) }
                case .undefined, .none: items = []
                case let other: throw ChatTemplateError.render("cannot iterate over \(other.rendered)")
                }
                if let filter {
                    items = try items.filter { item in
                        scope.frames.append(bind(names, item))
                        defer { scope.frames.removeLast() }
                        return try evaluate(filter, scope).isTrue
                    }
                }
                if items.isEmpty { _ = try run(otherwise, &scope, &out); continue }
                for (index, item) in items.enumerated() {
                    try scope.step()
                    var frame = bind(names, item)
                    frame["loop"] = .dict([("index", .int(index + 1)), ("index0", .int(index)), ("first", .bool(index == 0)),
                                           ("last", .bool(index == items.count - 1)), ("length", .int(items.count)),
                                           ("revindex", .int(items.count - index)), ("revindex0", .int(items.count - index - 1))])
                    scope.frames.append(frame)
                    let flow = try run(body, &scope, &out)
                    // Jinja scoping: assignments inside a loop body do not leak out of it.
                    scope.frames.removeLast()
                    if flow == .breakLoop { break }
                }
            }
        }
        return .normal
    }

    /// Appends `text` to the output. - Throws: `ChatTemplateError.render` past `ChatTemplate.maximumOutputBytes`.
    private static func append(_ text: String, to out: inout String) throws {
        guard out.utf8.count + text.utf8.count <= ChatTemplate.maximumOutputBytes else {
            throw ChatTemplateError.render("the rendered prompt would exceed \(ChatTemplate.maximumOutputBytes) bytes")
        }
        out += text
    }

    /// `value` if its string or list fits `ChatTemplate.maximumOutputBytes`. - Throws: `ChatTemplateError.render`.
    private static func bounded(_ value: TemplateValue) throws -> TemplateValue {
        let size: Int
        switch value {
        case .string(let s): size = s.utf8.count
        case .list(let l): size = l.count
        default: size = 0
        }
        guard size <= ChatTemplate.maximumOutputBytes else {
            throw ChatTemplateError.render("a template value would exceed \(ChatTemplate.maximumOutputBytes) bytes or elements")
        }
        return value
    }

    private static func bind(_ names: [String], _ item: TemplateValue) -> [String: TemplateValue] {
        guard names.count > 1 else { return [names[0]: item] }
        guard case .list(let parts) = item else { return Dictionary(uniqueKeysWithValues: names.map { ($0, TemplateValue.undefined) }) }
        return Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, parts.indices.contains($0) ? parts[$0] : .undefined) })
    }

    static func evaluate(_ e: TemplateExpression, _ scope: TemplateScope) throws -> TemplateValue {
        switch e {
        case .literal(let v): return v
        case .name(let n): return scope.lookup(n)
        case .list(let items): return .list(try items.map { try evaluate($0, scope) })
        case let .subscriptOf(base, key): return try evaluate(base, scope)[try evaluate(key, scope)]
        case let .attribute(base, name):
            let value = try evaluate(base, scope)
            return value[.string(name)]
        case let .call(callee, arguments):
            let args = try arguments.map { try evaluate($0, scope) }
            if case .name("raise_exception") = callee {
                throw ChatTemplateError.render("the template raised: \(args.first?.rendered ?? "")")
            }
            guard case let .attribute(base, method) = callee else { throw ChatTemplateError.render("only methods and raise_exception can be called") }
            return try call(method, on: try evaluate(base, scope), args)
        case let .filter(base, name, arguments):
            return try filter(name, try evaluate(base, scope), try arguments.map { try evaluate($0, scope) })
        case .binary:
            // Operator chains (`a ~ b ~ c …`) parse into left-deep trees: walk the left spine with a loop, so
            // evaluation depth follows the expression's nesting, not its length.
            var spine: [(op: String, right: TemplateExpression)] = [], leftmost = e
            while case let .binary(op, l, r) = leftmost {
                spine.append((op, r))
                leftmost = l
            }
            var value = try evaluate(leftmost, scope)
            for (op, right) in spine.reversed() {
                switch op {
                case "and": value = value.isTrue ? try evaluate(right, scope) : value
                case "or": value = value.isTrue ? value : try evaluate(right, scope)
                default: value = try bounded(try binary(op, value, try evaluate(right, scope)))
                }
            }
            return value
        case .not(let inner): return .bool(!(try evaluate(inner, scope).isTrue))
        case let .test(inner, name, negated):
            let value = try evaluate(inner, scope)
            let result: Bool
            switch name {
            case "defined": result = value != .undefined
            case "undefined": result = value == .undefined
            case "none": result = value == .none
            case "string": if case .string = value { result = true } else { result = false }
            case "mapping": if case .dict = value { result = true } else { result = false }
            case "iterable", "sequence": if case .list = value { result = true } else if case .string = value { result = true } else { result = false }
            default: throw ChatTemplateError.render("unknown test 'is \(name)'")
            }
            return .bool(result != negated)
        case let .conditional(value, condition, otherwise):
            return try evaluate(condition, scope).isTrue ? try evaluate(value, scope) : try otherwise.map { try evaluate($0, scope) } ?? .undefined
        case .namespace(let attributes):
            return .dict(try attributes.map { ($0.0, try evaluate($0.1, scope)) })
        }
    }

    private static func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws -> TemplateValue {
        switch (op, a, b) {
        case ("==", _, _): return .bool(a == b)
        case ("!=", _, _): return .bool(a != b)
        case ("~", _, _): return .string(a.rendered + b.rendered)
        case let ("+", .string(x), .string(y)): return .string(x + y)
        case let ("+", .int(x), .int(y)): return .int(x &+ y)
        case let ("+", .list(x), .list(y)): return .list(x + y)
        case let ("-", .int(x), .int(y)): return .int(x &- y)
        case let ("<", .int(x), .int(y)): return .bool(x < y)
        case let (">", .int(x), .int(y)): return .bool(x > y)
        case let ("<=", .int(x), .int(y)): return .bool(x <= y)
        case let (">=", .int(x), .int(y)): return .bool(x >= y)
        case let ("in", _, .list(l)): return .bool(l.contains(a))
        case let ("in", .string(x), .string(y)): return .bool(x.isEmpty || y.contains(x))
        case let ("in", .string(x), .dict(d)): return .bool(d.contains { $0.0 == x })
        default: throw ChatTemplateError.render("cannot apply '\(op)' to \(a.rendered) and \(b.rendered)")
        }
    }

    private static func call(_ method: String, on value: TemplateValue, _ args: [TemplateValue]) throws -> TemplateValue {
        guard case .string(let s) = value else { throw ChatTemplateError.render("method '\(method)' on a non-string") }
        switch method {
        case "upper": return .string(s.uppercased())
        case "lower": return .string(s.lowercased())
        case "strip": return .string(s.trimmingWhitespace)
        case "startswith": return .bool(args.first.map { s.hasPrefix($0.rendered) } ?? false)
        case "endswith": return .bool(args.first.map { s.hasSuffix($0.rendered) } ?? false)
        default: throw ChatTemplateError.render("unknown method '\(method)'")
        }
    }

    private static func filter(_ name: String, _ value: TemplateValue, _ args: [TemplateValue]) throws -> TemplateValue {
        switch (name, value) {
        case ("selectattr", .list(let l)), ("rejectattr", .list(let l)):
            guard let attribute = args.first else { throw ChatTemplateError.render("\(name) needs an attribute") }
            let keep = name == "selectattr"
            return .list(try l.filter { item in
                let field = item[attribute]
                let passes: Bool
                switch args.count {
                case 1: passes = field.isTrue
                case 3 where ["equalto", "eq", "=="].contains(args[1].rendered): passes = field == args[2]
                case 3 where ["ne", "!="].contains(args[1].rendered): passes = field != args[2]
                default: throw ChatTemplateError.render("\(name) test '\(args.count > 1 ? args[1].rendered : "")' is not supported")
                }
                return passes == keep
            })
        case ("selectattr", .undefined), ("rejectattr", .undefined): return .list([])
        case ("length", .list(let l)), ("count", .list(let l)): return .int(l.count)
        case ("length", .string(let s)): return .int(s.count)
        case ("upper", .string(let s)): return .string(s.uppercased())
        case ("lower", .string(let s)): return .string(s.lowercased())
        case ("trim", .string(let s)): return .string(s.trimmingWhitespace)
        case ("first", .list(let l)): return l.first ?? .undefined
        case ("last", .list(let l)): return l.last ?? .undefined
        case ("string", _): return .string(value.rendered)
        default: throw ChatTemplateError.render("unknown filter '\(name)' for \(value.rendered)")
        }
    }
}
