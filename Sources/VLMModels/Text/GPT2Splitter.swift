/// GPT-2's pre-tokenization regex, which `ByteLevel` with `use_regex` applies:
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, as a scanner over Unicode
/// scalars (leftmost match, alternatives in order; contractions are case-sensitive). With `isolatingNumbers`,
/// every number character is first made a piece of its own, as `Digits(individual_digits: true)` before
/// `ByteLevel` does (SmolLM's pre-tokenizer, llama.cpp's `smollm`).
enum GPT2Splitter {
    typealias Classes = PiecewiseSplitter

    /// The pieces of `text`, in order; their concatenation is `text`.
    static func split(_ text: [Unicode.Scalar], isolatingNumbers: Bool) -> [ArraySlice<Unicode.Scalar>] {
        var pieces: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        func scan(_ end: Int) {
            var i = start
            while i < end {
                let next = pieceEnd(text, from: i, end: end)
                pieces.append(text[i..<next])
                i = next
            }
        }
        if isolatingNumbers {
            for (i, scalar) in text.enumerated() where Classes.isNumber(scalar) {
                scan(i)
                pieces.append(text[i..<(i + 1)])
                start = i + 1
            }
        }
        scan(text.count)
        return pieces
    }

    /// Where the piece starting at `i` ends, matching inside `..<n`.
    private static func pieceEnd(_ s: [Unicode.Scalar], from i: Int, end n: Int) -> Int {
        let c = s[i]
        if c == "'", i + 1 < n {
            if i + 2 < n, ["re", "ve", "ll"].contains(String(String.UnicodeScalarView([s[i + 1], s[i + 2]]))) { return i + 3 }
            if ["s", "t", "m", "d"].contains(s[i + 1]) { return i + 2 }
        }
        let afterSpace = c == " " && i + 1 < n ? i + 1 : i
        for isClass in [Classes.isLetter, Classes.isNumber, Classes.isSymbol] where isClass(s[afterSpace]) {
            var j = afterSpace + 1
            while j < n, isClass(s[j]) { j += 1 }
            return j
        }
        var j = i
        while j < n, Classes.isSpace(s[j]) { j += 1 }
        if j == n { return j }
        return j - i >= 2 ? j - 1 : i + 1
    }
}
