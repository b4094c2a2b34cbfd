import TensorCore
import VLMModels

/// FastV (arXiv 2403.06764): at the input of decoder layer K the visual tokens are ranked by the attention
/// they receive in layer K − 1, averaged over heads and over the query rows (the last prompt token by default);
/// the dropped tokens leave the sequence from layer K on, while layers < K keep them in their KV cache.
public struct FastVScorer: TokenScorer {
    /// The layer at whose input tokens are dropped (the paper's K = 2; scores come from layer K − 1).
    public var pruningLayer: Int
    /// Which prompt rows are the queries.
    public var queries: LanguageQueryRows

    public var name: String { "fastv" }

    /// FastV with the paper's defaults unless overridden.
    public init(pruningLayer: Int = 2, queries: LanguageQueryRows = .lastToken) {
        self.pruningLayer = pruningLayer
        self.queries = queries
    }

    /// Inside the language model: reads layer K − 1's attention, drops tokens at the input of layer K.
    /// - Throws: `PruningError.invalidConfiguration` unless 1 <= K < the decoder's layers.
    public func stage(for model: any ModelDescription) throws -> ScoringStage {
        guard pruningLayer >= 1, pruningLayer < model.textLayerCount else {
            throw PruningError.invalidConfiguration(
                "FastV pruning layer \(pruningLayer) must be in 1..<\(model.textLayerCount)")
        }
        return .insideLanguageModel(attentionLayer: pruningLayer - 1, queries: queries)
    }

    /// Nothing beyond the attention its stage names.
    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements { ScoringRequirements() }

    public func scores(_ context: ScoringContext) throws -> [Float] {
        guard let attention = context.languageAttention else {
            throw PruningError.missingInput(scorer: name, input: "attention of decoder layer \(pruningLayer - 1)")
        }
        let heads = attention.shape[0], rows = attention.shape[1], keys = attention.shape[2]
        let span = context.layout.imageSpan
        guard attention.shape.rank == 3, keys >= span.upperBound, rows >= 1 else {
            throw PruningError.invalidScores(scorer: name, reason: "attention shape \(attention.shape)")
        }
        return attention.withUnsafeBufferPointer { p in
            span.map { column in
                var sum: Float = 0
                for h in 0..<heads { for r in 0..<rows { sum += p[(h * rows + r) * keys + column] } }
                return sum / Float(heads * rows)
            }
        }
    }
}
