/// Splits a Jinja template into text, `{{ }}` and `{% %}` tokens, applying `{#…#}` comments, `-` trimming,
/// `trim_blocks` (the newline after a block tag goes) and `lstrip_blocks` (spaces before a block tag on its
/// own line go), as transformers configures Jinja for chat templates.
enum TemplateLexer {
    enum Token {
        case text(String)
        case output(String, offset: Int)
        case statement(String, offset: Int)
    }

    static func tokens(_ source: String) throws -> [Token] {
        let s = Array(source.unicodeScalars)
        var tokens: [Token] = []
        var text: [Unicode.Scalar] = []
        var i = 0
        var trimNextLeading = false, removeNextNewline = false
        func flushText() {
            if !text.isEmpty { tokens.append(.text(String(String.UnicodeScalarView(text)))) }
            text = []
        }
        while i < s.count {
            if s[i] == "{", i + 1 < s.count, ["{", "%", "#"].contains(s[i + 1]) {
                let kind = s[i + 1]
                let close: Unicode.Scalar = kind == "{" ? "}" : kind == "%" ? "%" : "#"
                var j = i + 2
                let trimBefore = j < s.count && s[j] == "-"
                if trimBefore { j += 1 }
                // Find the closing delimiter, skipping quoted strings inside tags.
                var k = j, quote: Unicode.Scalar?
                while k + 1 < s.count {
                    if let q = quote { if s[k] == "\\" { k += 2; continue }; if s[k] == q { quote = nil } }
                    else if kind != "#" && (s[k] == "'" || s[k] == "\"") { quote = s[k] }
                    else if s[k] == close && s[k + 1] == "}" { break }
                    k += 1
                }
                guard k + 1 < s.count else { throw ChatTemplateError.syntax("unclosed tag", offset: i) }
                let trimAfter = k > j && s[k - 1] == "-"
                let inner = String(String.UnicodeScalarView(s[j..<(trimAfter ? k - 1 : k)]))
                if trimBefore {
                    while let last = text.last, last.properties.isWhitespace { text.removeLast() }
                } else if kind != "{" {
                    // lstrip_blocks: spaces and tabs between the line start and a block tag go.
                    var p = i
                    while p > 0, s[p - 1] == " " || s[p - 1] == "\t" { p -= 1 }
                    if p == 0 || s[p - 1] == "\n" {
                        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
                    }
                }
                flushText()
                switch kind {
                case "{": tokens.append(.output(inner, offset: i))
                case "%": tokens.append(.statement(inner.trimmingWhitespace, offset: i))
                default: break
                }
                i = k + 2
                trimNextLeading = trimAfter
                removeNextNewline = kind != "{"
                continue
            }
            if trimNextLeading, s[i].properties.isWhitespace { i += 1; continue }
            trimNextLeading = false
            if removeNextNewline {
                removeNextNewline = false
                if s[i] == "\n" { i += 1; continue }
                if s[i] == "\r", i + 1 < s.count, s[i + 1] == "\n" { i += 2; continue }
            }
            text.append(s[i])
            i += 1
        }
        flushText()
        return tokens
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = Array(unicodeScalars)
        guard let a = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let b = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[a...b]))
    }
}
