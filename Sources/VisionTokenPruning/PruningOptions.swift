/// How a `PruningPipeline` prunes: a scorer with its budget, positions after pruning, layer withdrawal and a KV
/// budget, each optional; `.none` runs the unpruned model. Change one field of a pipeline's options with
/// `PruningPipeline.with(_:)`.
public struct PruningOptions: Sendable {
    /// The token scorer and its budget, nil for no pre-LLM or in-LLM pruning.
    public var pruning: TokenPruning?
    /// Positions of the tokens left after pre-LLM pruning (in-LLM removal always keeps positions, as its
    /// earlier layers' caches already hold them).
    public var positions: PositionPolicy
    /// Decoder layer at whose input every visual token is withdrawn (VTW), if any.
    public var withdrawalLayer: Int?
    /// The KV-cache budget (PrefixKV) applied after prefill and during decoding, if any.
    public var kvBudget: KVCacheBudget?

    /// Options from their parts.
    public init(pruning: TokenPruning? = nil, positions: PositionPolicy = .keepOriginal, withdrawalLayer: Int? = nil,
                kvBudget: KVCacheBudget? = nil) {
        self.pruning = pruning
        self.positions = positions
        self.withdrawalLayer = withdrawalLayer
        self.kvBudget = kvBudget
    }

    /// The unpruned model.
    public static let none = PruningOptions()
}
