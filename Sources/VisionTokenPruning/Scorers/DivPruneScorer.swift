import TensorCore
import VLMModels

/// DivPrune (CVPR 2025, `vbdi/divprune`): the most diverse set of projected visual tokens by max-min diversity on
/// the distance 1 − cos (`MaxMinDiversity`). Text-agnostic, reads no attention, so it runs on every family.
///
/// The official code selects over every visual token of the sequence at once (`allocation: .global`, the
/// default); here newline tokens are always kept, as for every method, and the set is chosen among the content
/// tokens. `allocation: .perView` runs it per view with proportional shares.
public struct DivPruneScorer: TokenScorer {
    /// How a multi-view image's budget is shared (default `.global`, as the official code).
    public let allocation: ViewAllocation
    public var name: String { "divprune" }

    /// DivPrune over all views unless `allocation` says otherwise.
    public init(allocation: ViewAllocation = .global) { self.allocation = allocation }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        var r = ScoringRequirements()
        r.projectedTokens = true
        return r
    }

    /// For display: each token's distance to its nearest other content token (the first pick is the largest).
    public func scores(_ context: ScoringContext) throws -> [Float] {
        let content = context.tokens.contentIndices
        let distance = try distances(context, content)
        var scores = [Float](repeating: 0, count: context.visualTokenCount)
        distance.withUnsafeBufferPointer { d in
            for (a, i) in content.enumerated() {
                scores[i] = content.indices.filter { $0 != a }.map { d[$0 * content.count + a] }.min() ?? 0
            }
        }
        return scores
    }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        var kept = context.tokens.newlineIndices
        for group in try TokenSelection.groups(keeping: k, tokens: context.tokens, allocation: allocation) where group.quota > 0 {
            kept += try MaxMinDiversity.select(distance: try distances(context, group.indices), count: group.quota)
                .map { group.indices[$0] }
        }
        return kept.sorted()
    }

    /// 1 − cos between the projected tokens at `indices`, `[n, n]`.
    private func distances(_ context: ScoringContext, _ indices: [Int]) throws -> Tensor {
        guard let projected = context.projectedTokens else {
            throw PruningError.missingInput(scorer: name, input: "the projected visual tokens")
        }
        let rows = try projected.gatherRows(indices)
        let cosine = try Similarity.cosineMatrix(rows, rows)
        return Tensor(shape: cosine.shape) { out in
            cosine.withUnsafeBufferPointer { c in for i in 0..<c.count { out[i] = 1 - c[i] } }
        }
    }
}
