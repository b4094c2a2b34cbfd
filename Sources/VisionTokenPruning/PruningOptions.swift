/// How to prune one request: a scorer and its budget, and optionally layer withdrawal, positions and a KV
/// budget; `.none` runs the unpruned model.
public struct PruningOptions: Sendable {
    /// The token scorer, nil for no pre-LLM or in-LLM pruning.
    public var scorer: (any TokenScorer)?
    /// Visual tokens to keep (with a scorer).
    public var budget: TokenBudget?
    /// Positions after pre-LLM pruning.
    public var positions: PositionPolicy
    /// Decoder layer at whose input visual tokens are withdrawn (VTW), if any.
    public var withdrawalLayer: Int?
    /// Share of the KV cache kept (PrefixKV, calibrated on the request itself), in (0, 1], if any; the same
    /// quantity as `PrefixKVProfile.retainedFraction`.
    public var kvRetainedFraction: Double?

    /// Options from their parts.
    public init(scorer: (any TokenScorer)? = nil, budget: TokenBudget? = nil, positions: PositionPolicy = .keepOriginal,
                withdrawalLayer: Int? = nil, kvRetainedFraction: Double? = nil) {
        self.scorer = scorer
        self.budget = budget
        self.positions = positions
        self.withdrawalLayer = withdrawalLayer
        self.kvRetainedFraction = kvRetainedFraction
    }

    /// The unpruned model.
    public static let none = PruningOptions()
}
