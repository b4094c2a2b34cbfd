extension LlamaDecoder {
    /// How `continuation` picks the tokens it feeds.
    public enum TokenChoice: Sendable, Equatable {
        /// Up to `maxCount` tokens, each the argmax of the current logits, ending after the first token in
        /// `stopAt` (which is returned); the last token is chosen but not fed. An empty `stopAt` gives exactly
        /// `maxCount` tokens.
        case greedy(maxCount: Int, stopAt: Set<Int>)
        /// These tokens, every one fed (teacher forcing), to compare distributions step by step.
        case forced([Int])
    }

    /// What `continuation` returns.
    public struct Continuation: Sendable {
        /// The chosen tokens, in order.
        public var tokens: [Int]
        /// The logits (`[vocab]` each) after each fed token.
        public var logits: [[Float]]

        /// A continuation from its parts.
        public init(tokens: [Int], logits: [[Float]]) {
            self.tokens = tokens
            self.logits = logits
        }
    }

    /// Decoding after a prefill: chooses tokens as `choosing` says, feeds them at consecutive positions from
    /// `nextPosition`, calls `onToken` with each token as soon as it is chosen (to stream it), and `afterStep`
    /// with the cache after each fed token (one entry longer per layer), e.g. to count costs or evict entries.
    /// - Returns: the chosen tokens and the logits after each fed token.
    public func continuation(
        from logits: [Float], nextPosition: Int, choosing: TokenChoice, cache: inout KVCache,
        onToken: (Int) throws -> Void = { _ in }, afterStep: (inout KVCache) throws -> Void = { _ in }
    ) throws -> Continuation {
        var tokens: [Int] = [], fedLogits: [[Float]] = []
        var current = logits, position = nextPosition
        let steps: Int, forced: [Int]?, stop: Set<Int>
        switch choosing {
        case let .greedy(count, stopAt): (steps, forced, stop) = (count, nil, stopAt)
        case .forced(let list): (steps, forced, stop) = (list.count, list, [])
        }
        for step in 0..<steps {
            let token = forced?[step] ?? Self.argmax(current)
            tokens.append(token)
            try onToken(token)
            if (step == steps - 1 && forced == nil) || stop.contains(token) { break }
            current = try decode(token: token, position: position, cache: &cache)
            fedLogits.append(current)
            position += 1
            try afterStep(&cache)
        }
        return Continuation(tokens: tokens, logits: fedLogits)
    }

    /// Index of the largest value (the lowest index among ties).
    public static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }
}
