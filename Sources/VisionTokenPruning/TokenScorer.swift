import TensorCore
import VLMModels

/// A method that ranks visual tokens. Implement `scores` (higher = keep), declare `stage` and `requirements`;
/// override `select` only when the method chooses a set directly (e.g. a mixture of rankings), and `reduce` only
/// when it merges tokens (VisionZip).
public protocol TokenScorer: Sendable {
    /// Short name used in reports (`cls`, `text-sim`, …).
    var name: String { get }
    /// Where this scorer acts on `model`: before the language model, or inside it.
    /// - Throws: `PruningError` when the scorer cannot run on this model (a layer out of range, no [CLS] token).
    func stage(for model: any ModelDescription) throws -> ScoringStage
    /// The inputs the pipeline must compute for this scorer on `model`.
    /// - Throws: `PruningError` when the scorer cannot run on this model (a layer out of range, no [CLS] token).
    func requirements(for model: any ModelDescription) throws -> ScoringRequirements
    /// One score per visual token, in sequence order; higher means more worth keeping.
    func scores(_ context: ScoringContext) throws -> [Float]
    /// Ascending indices of the `k` visual tokens to keep (newline tokens included and always kept, see
    /// `TokenSelection`).
    func select(_ context: ScoringContext, keep k: Int) throws -> [Int]
    /// The `k` rows that replace the visual tokens before the language model: kept tokens and merged tokens, in
    /// sequence order. Only pre-LLM scorers are asked; in-LLM scorers `select`.
    func reduce(_ context: ScoringContext, keep k: Int) throws -> TokenReduction
}

extension TokenScorer {
    /// Default selection: every newline token, then the best content tokens by `scores` over all views, ties to
    /// the lower index; ascending.
    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        try TokenSelection.select(try checkedScores(context), tokens: context.tokens, k: k, scorer: name)
    }

    /// Default reduction: the selection, unchanged tokens in ascending order.
    /// - Throws: `PruningError.invalidScores` when `select` breaks its contract (indices not ascending or outside
    ///   the visual tokens).
    public func reduce(_ context: ScoringContext, keep k: Int) throws -> TokenReduction {
        let kept = try select(context, keep: k)
        try PipelineRun.checkSelection(kept, count: context.visualTokenCount, scorer: self)
        return TokenReduction(kept: kept)
    }

    /// `scores`, checked for count and NaN.
    public func checkedScores(_ context: ScoringContext) throws -> [Float] {
        let s = try scores(context)
        guard s.count == context.visualTokenCount else {
            throw PruningError.invalidScores(scorer: name, reason: "\(s.count) scores for \(context.visualTokenCount) visual tokens")
        }
        if let bad = s.firstIndex(where: { $0.isNaN }) { throw PruningError.nonFiniteScore(scorer: name, index: bad) }
        return s
    }
}
