/// Finds added tokens in text, leftmost-longest, as the `tokenizers` library splits them out: a trie over the
/// tokens' Unicode scalars, so matching costs the length of the longest token per position, whatever the number
/// of added tokens.
struct AddedTokenMatcher: Sendable {
    /// Trie nodes: children by scalar, and the index (into the token list) of a token ending here.
    private var children: [[Unicode.Scalar: Int]] = [[:]]
    private var ending: [Int?] = [nil]
    private let tokens: [Tokenizer.AddedToken]

    init(_ tokens: [Tokenizer.AddedToken]) {
        self.tokens = tokens
        for (index, token) in tokens.enumerated() {
            var node = 0
            for scalar in token.scalars {
                if let next = children[node][scalar] {
                    node = next
                } else {
                    children.append([:])
                    ending.append(nil)
                    children[node][scalar] = children.count - 1
                    node = children.count - 1
                }
            }
            if ending[node] == nil { ending[node] = index }
        }
    }

    /// The longest added token starting at `i` in `text`, nil when none does.
    func longestMatch(in text: [Unicode.Scalar], at i: Int) -> Tokenizer.AddedToken? {
        var node = 0, best: Int?
        var j = i
        while j < text.count, let next = children[node][text[j]] {
            node = next
            if let index = ending[node] { best = index }
            j += 1
        }
        return best.map { tokens[$0] }
    }
}
