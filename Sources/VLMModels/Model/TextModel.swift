import Foundation

/// A text-only language model: the LLaMA-architecture decoder with its tokenizer and chat template, generating
/// greedily with a KV cache (the same decoder the vision-language models use, without an image).
public struct TextModel: Sendable {
    /// The decoder.
    public let decoder: LlamaDecoder
    /// The tokenizer.
    public let tokenizer: Tokenizer
    /// The chat template, nil when the model has none (then only raw prompts can be given).
    public let template: ChatTemplate?

    /// What `answer` returns.
    public struct Answer: Sendable {
        /// The answer text, special tokens and the end-of-sequence token left out.
        public var text: String
        /// Every generated token, the end-of-sequence token included when one was generated.
        public var tokens: [Int]
        /// The prompt the template rendered, as token ids.
        public var promptIds: [Int]
    }

    /// A model from its parts.
    /// - Throws: `ModelError.invalidConfiguration` when the tokenizer has ids beyond the decoder's vocabulary.
    public init(decoder: LlamaDecoder, tokenizer: Tokenizer, template: ChatTemplate?) throws {
        guard tokenizer.vocabularySize <= decoder.configuration.vocabularySize else {
            throw ModelError.invalidConfiguration(
                path: "tokenizer", reason: "the tokenizer has \(tokenizer.vocabularySize) ids, the decoder's vocabulary \(decoder.configuration.vocabularySize)")
        }
        self.decoder = decoder
        self.tokenizer = tokenizer
        self.template = template
    }

    /// Ids that end an answer (`eos_token_id`).
    public var endOfSequenceIds: Set<Int> { Set(decoder.configuration.eosTokenIds) }

    /// The prompt ids for `messages`: the chat template's rendering with the assistant's turn opened, each
    /// message's content given as one string (text-only templates concatenate it), encoded with the tokenizer's
    /// own special tokens.
    /// - Throws: `ModelError.invalidInput` when the model has no chat template, `ChatTemplateError`, `TokenizerError`
    ///   (`.tooManyTokens` as soon as the text exceeds the model's context).
    public func promptIds(messages: [ChatMessage]) throws -> [Int] {
        guard let template else { throw ModelError.invalidInput("this model has no chat template; give the prompt ids directly") }
        return try tokenizer.encode(try template.render(messages: messages, addGenerationPrompt: true, textContent: true),
                                    maximumTokens: decoder.configuration.maxPositionEmbeddings)
    }

    /// Greedy continuation of `promptIds`: up to `maxNewTokens` tokens, stopping after an end-of-sequence token
    /// when `stopAtEndOfSequence`; `onToken` receives each token as it is chosen.
    /// - Throws: `ModelError.invalidInput` for an empty prompt, ids outside the vocabulary or a prompt plus
    ///   answer longer than the model's context.
    public func generate(promptIds: [Int], maxNewTokens: Int, stopAtEndOfSequence: Bool = true,
                         onToken: (Int) throws -> Void = { _ in }) throws -> [Int] {
        guard !promptIds.isEmpty, maxNewTokens >= 1 else {
            throw ModelError.invalidInput("generation needs a prompt and at least one new token (got \(promptIds.count) ids, \(maxNewTokens) new)")
        }
        let context = decoder.configuration.maxPositionEmbeddings
        guard promptIds.count + maxNewTokens - 1 <= context else {
            throw ModelError.invalidInput(
                "\(promptIds.count) prompt tokens + \(maxNewTokens) new tokens exceed the model's context of \(context) positions")
        }
        var cache = decoder.makeCache()
        var state = try decoder.beginPrefill(embeddings: try decoder.embed(promptIds), positions: Array(promptIds.indices))
        try decoder.advance(&state, to: decoder.configuration.layerCount, cache: &cache)
        let logits = try decoder.logits(state.hidden, rows: [promptIds.count - 1]).scalars
        return try decoder.continuation(
            from: logits, nextPosition: promptIds.count,
            choosing: .greedy(maxCount: maxNewTokens, stopAt: stopAtEndOfSequence ? endOfSequenceIds : []),
            cache: &cache, onToken: onToken).tokens
    }

    /// Answers `question` as the user's one message (the template adds its default system turn, if any);
    /// `onText` receives the answer in complete pieces as it is generated.
    /// - Throws: as `promptIds(messages:)` and `generate`.
    public func answer(_ question: String, maxNewTokens: Int = 256, onText: (String) -> Void = { _ in }) throws -> Answer {
        let ids = try promptIds(messages: [.userQuestion(question, withImage: false)])
        var stream = TextStream(tokenizer: tokenizer)
        let tokens = try generate(promptIds: ids, maxNewTokens: maxNewTokens) { token in
            guard !endOfSequenceIds.contains(token) else { return }
            let piece = try stream.append(token)
            if !piece.isEmpty { onText(piece) }
        }
        let tail = try stream.finish()
        if !tail.isEmpty { onText(tail) }
        let text = try tokenizer.decode(tokens.filter { !endOfSequenceIds.contains($0) }, skipSpecialTokens: true)
        return Answer(text: text, tokens: tokens, promptIds: ids)
    }
}
