/// Seconds or FLOPs per pipeline stage.
public struct StageFigures: Sendable, Equatable, Codable {
    /// Vision encoder.
    public var encoder: Double = 0
    /// Token scoring and selection (pre-LLM or in-LLM).
    public var scoring: Double = 0
    /// Projector.
    public var projector: Double = 0
    /// Language-model prefill (includes in-LLM scoring time in `scoring`, not here).
    public var prefill: Double = 0
    /// Token-by-token decoding after the first token.
    public var decode: Double = 0

    /// Sum over stages.
    public var total: Double { encoder + scoring + projector + prefill + decode }

    /// All zero.
    public init() {}
}

/// What one pipeline run did and cost.
public struct PipelineReport: Sendable, Equatable, Codable {
    /// Visual tokens produced by the vision side (LLaVA-NeXT's newlines included).
    public var visualTokens: Int
    /// Visual tokens the scorer kept (merged tokens included: rows the language model reads in place of the
    /// image), all when unpruned. Pre-LLM scorers keep them from the first layer, in-LLM
    /// scorers from the layer after theirs; withdrawal later removes every one.
    public var keptVisualTokens: Int
    /// Sequence length processed by each decoder layer during prefill (drops at pruning/withdrawal layers).
    public var tokensPerLayer: [Int]
    /// Wall-clock seconds per stage.
    public var seconds: StageFigures
    /// FLOPs per stage, 2 per multiply-add as computed (see `FlopsModel`); the prefill includes the first
    /// token's output head, each decoding step its own. Scoring is not counted.
    public var flops: StageFigures
    /// Bytes of keys and values held in the KV cache at the end of the run (Float32).
    public var kvCacheBytes: Int
}
