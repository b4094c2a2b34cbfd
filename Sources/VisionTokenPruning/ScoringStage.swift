/// Where a token scorer acts, as it declares it (`TokenScorer.stage(for:)`).
public enum ScoringStage: Sendable, Equatable {
    /// Before the language model: the scorer chooses the visual tokens that enter its first layer.
    case beforeLanguageModel
    /// Inside the language model: the scorer reads the attention of decoder layer `attentionLayer` from the
    /// `queries` rows. The visual tokens it does not keep leave the sequence at the input of layer
    /// `attentionLayer + 1`; layers up to `attentionLayer` keep them in their KV caches.
    case insideLanguageModel(attentionLayer: Int, queries: LanguageQueryRows)

    /// The decoder layer whose attention the scorer reads, nil before the language model.
    public var attentionLayer: Int? {
        if case .insideLanguageModel(let layer, _) = self { return layer }
        return nil
    }
}
