import TensorCore
import VLMModels

/// Random selection (a floor for every table): scores drawn uniformly from a generator seeded with `seed`,
/// so a run is reproducible.
public struct RandomScorer: TokenScorer {
    /// Generator seed.
    public var seed: UInt64
    public var name: String { "random" }

    /// Random scores from `seed`.
    public init(seed: UInt64 = 0) { self.seed = seed }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements { ScoringRequirements() }

    public func scores(_ context: ScoringContext) throws -> [Float] {
        var random = SplitMix64(seed: seed)
        return (0..<context.visualTokenCount).map { _ in random.nextUnit() }
    }
}

/// Spatially uniform selection: the k content tokens evenly spaced in sequence order, `⌊(i + ½)·N/k⌋` for
/// i < k over the N content tokens, which spreads them over the patch grid (and, on LLaVA-NeXT, over the
/// views), plus the always-kept newlines. Its scores are flat (it carries no preference between tokens).
public struct UniformScorer: TokenScorer {
    public var name: String { "uniform" }

    /// The uniform baseline.
    public init() {}

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements { ScoringRequirements() }

    public func scores(_ context: ScoringContext) throws -> [Float] {
        [Float](repeating: 0, count: context.visualTokenCount)
    }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        let budget = try TokenSelection.contentBudget(k, tokens: context.tokens)
        let content = context.tokens.contentIndices, n = content.count
        return ((0..<budget).map { content[(2 * $0 + 1) * n / (2 * budget)] } + context.tokens.newlineIndices).sorted()
    }
}
