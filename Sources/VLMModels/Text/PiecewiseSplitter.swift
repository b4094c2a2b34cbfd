/// The Qwen2 / LLaMA-3 pre-tokenization regex
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// as a hand-written scanner over Unicode scalars (leftmost match, alternatives in order, each match its own
/// piece), with `\p{L}` = Lu Ll Lt Lm Lo, `\p{N}` = Nd Nl No and `\s` = the White_Space property.
enum PiecewiseSplitter {
    /// The pattern string as tokenizer.json writes it; the only `Split` regex this reader implements.
    static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }
    static func isLineBreak(_ s: Unicode.Scalar) -> Bool { s == "\r" || s == "\n" }
    static func isSymbol(_ s: Unicode.Scalar) -> Bool { !isSpace(s) && !isLetter(s) && !isNumber(s) }

    /// The pieces of `text`, in order; their concatenation is `text`.
    static func split(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var pieces: [ArraySlice<Unicode.Scalar>] = []
        var i = 0
        let n = text.count
        while i < n {
            let end = pieceEnd(text, from: i)
            pieces.append(text[i..<end])
            i = end
        }
        return pieces
    }

    /// Where the piece starting at `i` ends.
    private static func pieceEnd(_ s: [Unicode.Scalar], from i: Int) -> Int {
        let n = s.count
        let c = s[i]
        // 1. Contractions, case-insensitive.
        if c == "'" {
            func folded(_ k: Int) -> String? { k < n ? String(s[k]).lowercased() : nil }
            if let two = folded(i + 1), let three = folded(i + 2), ["re", "ve", "ll"].contains(two + three) { return i + 3 }
            if let one = folded(i + 1), ["s", "t", "m", "d"].contains(one) { return i + 2 }
            // 'ſ (U+017F) folds to s.
            if i + 1 < n, s[i + 1] == "\u{17F}" { return i + 2 }
        }
        // 2. Letters, optionally after one character that is not CR, LF, a letter or a number.
        if isLetter(c) || (!isLineBreak(c) && !isNumber(c) && i + 1 < n && isLetter(s[i + 1])) {
            var j = i + 1
            while j < n, isLetter(s[j]) { j += 1 }
            return j
        }
        // 3. One number.
        if isNumber(c) { return i + 1 }
        // 4. Optional space, symbols, trailing line breaks.
        if isSymbol(c) || (c == " " && i + 1 < n && isSymbol(s[i + 1])) {
            var j = c == " " ? i + 1 : i
            while j < n, isSymbol(s[j]) { j += 1 }
            while j < n, isLineBreak(s[j]) { j += 1 }
            return j
        }
        // 5-7. Whitespace runs.
        var j = i
        while j < n, isSpace(s[j]) { j += 1 }
        if let lastBreak = (i..<j).last(where: { isLineBreak(s[$0]) }) { return lastBreak + 1 }
        if j == n { return j }
        if j - i >= 2 { return j - 1 }
        return i + 1
    }
}
