import TensorCore
import VLMModels

/// VisPruner (ICCV 2025, `Theia-4869/VisPruner`, FasterVLM's successor): important tokens by visual saliency,
/// then diverse tokens by removing duplicates among the rest.
///
/// Of a share T, ⌊T·ρ⌋ tokens (ρ = `importantRatio`, 0.5 by default) are the most salient ([CLS] attention of the
/// feature layer, head mean; attention received on a tower without [CLS], as the official SigLIP code). The
/// others, in descending saliency, shrink to T − ⌊T·ρ⌋ by `BipartiteDeduplication` on the cosine of the vision
/// features before the projector. Each view keeps its own share (`allocation: .perView`; the official code keeps
/// T per crop); newline tokens are always kept.
public struct VisPrunerScorer: TokenScorer {
    /// Share of the budget taken by saliency alone, in [0, 1].
    public let importantRatio: Double
    /// The saliency source.
    public let saliency: SaliencyScorer
    /// How a multi-view image's budget is shared (default `.perView`).
    public let allocation: ViewAllocation
    public var name: String { "vispruner" }

    /// VisPruner with its defaults unless overridden.
    public init(importantRatio: Double = 0.5, saliency: SaliencyScorer = .init(), allocation: ViewAllocation = .perView) {
        self.importantRatio = importantRatio
        self.saliency = saliency
        self.allocation = allocation
    }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        guard (0...1).contains(importantRatio) else {
            throw PruningError.invalidConfiguration("VisPruner's important ratio \(importantRatio) is outside [0, 1]")
        }
        return try saliency.requirements(for: model)
    }

    /// The saliency scores (for display; the selection also removes duplicates).
    public func scores(_ context: ScoringContext) throws -> [Float] { try saliency.scores(context) }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        let salience = try checkedScores(context)
        var kept = context.tokens.newlineIndices
        for group in try TokenSelection.groups(keeping: k, tokens: context.tokens, allocation: allocation) where group.quota > 0 {
            let important = Int(Double(group.quota) * importantRatio)
            let order = try TopK.indices(of: group.indices.map { salience[$0] }, k: group.indices.count)
            let features = Similarity.normalizedRows(try context.featuresBeforeProjector(of: group.indices, scorer: name))
            let similarity = try features.matmul(features, transposeOther: true).scalars, n = group.indices.count
            let diverse = BipartiteDeduplication.reduce(Array(order.dropFirst(important)), to: group.quota - important) {
                similarity[$0 * n + $1]
            }
            kept += (order.prefix(important) + diverse).map { group.indices[$0] }
        }
        return kept.sorted()
    }
}
