/// CLIP's pre-tokenization: the `Split` regex
/// `'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+` with `behavior: Removed, invert: true` (the matches
/// are the pieces, the whitespace between them is dropped), optionally after literal alternatives (transformers 5
/// puts `<|startoftext|>|<|endoftext|>` first), as a scanner over Unicode scalars. The `ByteLevel` step after it
/// (GPT-2's regex) splits none of these pieces further.
enum CLIPSplitter {
    /// The pattern as openai/clip-* tokenizer.json files write it.
    static let pattern = #"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#

    /// The literal alternatives before `pattern` in `regex` (each `|`-separated, regex-escaped), or nil when
    /// `regex` is not CLIP's pattern.
    static func literals(in regex: String) -> [[Unicode.Scalar]]? {
        guard regex.hasSuffix(pattern) else { return nil }
        let head = regex.dropLast(pattern.count)
        guard !head.isEmpty else { return [] }
        var literals: [[Unicode.Scalar]] = [], current: [Unicode.Scalar] = [], escaped = false
        for s in head.unicodeScalars {
            if escaped {
                current.append(s)
                escaped = false
            } else if s == "\\" {
                escaped = true
            } else if s == "|" {
                guard !current.isEmpty else { return nil }
                literals.append(current)
                current = []
            } else {
                // Only plain literals: any other regex syntax is not this pattern.
                guard !"()[]{}.*+?^$".unicodeScalars.contains(s) else { return nil }
                current.append(s)
            }
        }
        // `head` ends with the `|` before the pattern, so nothing is left over.
        guard current.isEmpty, !escaped else { return nil }
        return literals
    }

    /// The pieces of `text` in order; whitespace between them is dropped.
    static func split(_ text: [Unicode.Scalar], literals: [[Unicode.Scalar]]) -> [ArraySlice<Unicode.Scalar>] {
        var pieces: [ArraySlice<Unicode.Scalar>] = []
        let n = text.count
        var i = 0
        while i < n {
            if let literal = literals.first(where: { i + $0.count <= n && text[i..<(i + $0.count)].elementsEqual($0) }) {
                pieces.append(text[i..<(i + literal.count)])
                i += literal.count
                continue
            }
            let c = text[i]
            var end = i + 1
            if c == "'", i + 1 < n, let length = contraction(text, after: i) {
                end = i + 1 + length
            } else if PiecewiseSplitter.isLetter(c) {
                while end < n, PiecewiseSplitter.isLetter(text[end]) { end += 1 }
            } else if PiecewiseSplitter.isNumber(c) {
                end = i + 1
            } else if PiecewiseSplitter.isSpace(c) {
                i += 1
                continue
            } else {
                while end < n, PiecewiseSplitter.isSymbol(text[end]) { end += 1 }
            }
            pieces.append(text[i..<end])
            i = end
        }
        return pieces
    }

    /// The length of the contraction suffix (s, t, re, ve, m, ll, d; case-sensitive) after the apostrophe at `i`.
    private static func contraction(_ s: [Unicode.Scalar], after i: Int) -> Int? {
        for suffix in ["s", "t", "re", "ve", "m", "ll", "d"] {
            let scalars = Array(suffix.unicodeScalars)
            if i + 1 + scalars.count <= s.count, s[(i + 1)..<(i + 1 + scalars.count)].elementsEqual(scalars) { return scalars.count }
        }
        return nil
    }
}
