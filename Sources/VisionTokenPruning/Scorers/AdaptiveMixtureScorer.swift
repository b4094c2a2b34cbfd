import TensorCore
import VLMModels

/// The adaptive mixture of AdaFV/AdaV (arXiv 2501.09532): for a budget K, at least ⌊K/4⌋ tokens come from
/// each source (text similarity and [CLS] attention); the remaining R = K − 2⌊K/4⌋ are split as
/// k₁ = argmax over 0...R of S_T(k₁)·S_C(R − k₁), S being prefix sums of each source's next-ranked scores,
/// so a flatter source gets more tokens. Unlike the published code, the union is de-duplicated and refilled
/// to exactly K (walking further down both rankings, the larger share first).
/// The saliency is [CLS] attention, or attention received on a tower without [CLS] (`SaliencyScorer`); if the
/// context lacks it, the mixture falls back to text similarity alone.
/// On multi-view (LLaVA-NeXT) images the text ranking runs over every content token and the [CLS] ranking is
/// the saliency scorer's own choice (per view by default, as AdaV takes its [CLS] top per crop) ranked by
/// score; newline tokens are always kept and count toward K.
public struct AdaptiveMixtureScorer: TokenScorer {
    /// The saliency source (default: FasterVLM's feature-layer [CLS] attention, attention received without [CLS]).
    public var saliency: SaliencyScorer
    /// The relevance source (default: AdaV's T2I).
    public var similarity: TextSimilarityScorer
    /// Minimum share of the budget reserved for each source (0.25 in AdaV).
    public var reservedShare: Double

    public var name: String { "mixture" }

    /// AdaV's mixture unless overridden.
    public init(saliency: SaliencyScorer = .init(), similarity: TextSimilarityScorer = .init(),
                reservedShare: Double = 0.25) {
        self.saliency = saliency
        self.similarity = similarity
        self.reservedShare = reservedShare
    }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        try Self.merged(similarity.requirements(for: model), saliency.requirements(for: model))
    }

    /// The text requirements with the saliency's vision attention layers added.
    static func merged(_ text: ScoringRequirements, _ saliency: ScoringRequirements) -> ScoringRequirements {
        var r = text
        r.visionAttentionLayers.formUnion(saliency.visionAttentionLayers)
        r.visionAttentionReceivedLayers.formUnion(saliency.visionAttentionReceivedLayers)
        return r
    }

    /// A budget-free ranking for display: the larger of the two sources' percentile ranks per token.
    public func scores(_ context: ScoringContext) throws -> [Float] {
        let t = try similarity.checkedScores(context)
        guard hasSaliency(context) else { return t }
        let c = try saliency.checkedScores(context)
        let rt = Self.percentileRanks(t), rc = Self.percentileRanks(c)
        return zip(rt, rc).map { Swift.max($0, $1) }
    }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        let t = try similarity.checkedScores(context), tokens = context.tokens
        guard hasSaliency(context) else { return try TokenSelection.select(t, tokens: tokens, k: k, scorer: name) }
        let budget = try TokenSelection.contentBudget(k, tokens: tokens)
        let c = try saliency.checkedScores(context), content = tokens.contentIndices
        let textRanking = try TopK.indices(of: content.map { t[$0] }, k: budget).map { content[$0] }
        let newlines = Set(tokens.newlineIndices)
        let clsRanking = try saliency.select(context, keep: k).filter { !newlines.contains($0) }
            .sorted { c[$0] != c[$1] ? c[$0] > c[$1] : $0 < $1 }
        let (textCount, clsCount) = split(textRanked: textRanking.map { t[$0] }, clsRanked: clsRanking.map { c[$0] }, k: budget)
        let kept = try TokenSelection.union([textRanking, clsRanking], quotas: [textCount, clsCount], k: budget)
        return (kept + tokens.newlineIndices).sorted()
    }

    /// How AdaV shares a budget between its two sources.
    public struct Split: Sendable, Equatable {
        /// Token indices by text similarity, best first (top k).
        public var textRanking: [Int]
        /// Token indices by [CLS] attention, best first (top k).
        public var clsRanking: [Int]
        /// Tokens taken from the text ranking before de-duplication.
        public var textCount: Int
        /// Tokens taken from the [CLS] ranking before de-duplication.
        public var clsCount: Int
    }

    /// The two rankings over all tokens and how many of `k` each contributes before de-duplication.
    public func split(textScores t: [Float], clsScores c: [Float], k: Int) throws -> Split {
        let textRanking = try TopK.indices(of: t, k: k), clsRanking = try TopK.indices(of: c, k: k)
        let (textCount, clsCount) = split(textRanked: textRanking.map { t[$0] }, clsRanked: clsRanking.map { c[$0] }, k: k)
        return Split(textRanking: textRanking, clsRanking: clsRanking, textCount: textCount, clsCount: clsCount)
    }

    /// AdaV's shares of `k` given each source's scores in ranking order (best first): ⌊k·reservedShare⌋ each,
    /// the rest split by maximising the product of the next prefix sums.
    func split(textRanked: [Float], clsRanked: [Float], k: Int) -> (textCount: Int, clsCount: Int) {
        let base = Int(Double(k) * reservedShare)
        let rest = k - 2 * base
        // Prefix sums of the scores ranked after the reserved heads; S(0) = 0.
        func prefix(_ ranked: [Float]) -> [Double] {
            var sums = [0.0]
            for v in ranked.dropFirst(base) { sums.append(sums.last! + Double(v)) }
            return sums
        }
        let st = prefix(textRanked), sc = prefix(clsRanked)
        var best = 0, bestValue = -Double.infinity
        for k1 in 0...Swift.max(0, Swift.min(rest, st.count - 1)) where rest - k1 < sc.count {
            let value = st[k1] * sc[rest - k1]
            if value > bestValue { best = k1; bestValue = value }
        }
        return (base + best, base + rest - best)
    }

    private func hasSaliency(_ context: ScoringContext) -> Bool { saliency.isAvailable(in: context) }

    /// Rank of each value as a fraction in [0, 1] (1 = best; ties share the lower index's order).
    static func percentileRanks(_ s: [Float]) -> [Float] {
        let order = (try? TopK.indices(of: s, k: s.count)) ?? Array(s.indices)
        var ranks = [Float](repeating: 0, count: s.count)
        for (r, i) in order.enumerated() { ranks[i] = s.count > 1 ? 1 - Float(r) / Float(s.count - 1) : 1 }
        return ranks
    }
}

/// A fixed-weight mixture for comparison: α·z(saliency) + (1 − α)·z(T2I), z = standardised scores, saliency
/// being [CLS] attention (attention received without [CLS]).
public struct WeightedMixtureScorer: TokenScorer {
    /// Saliency source.
    public var saliency: SaliencyScorer
    /// Relevance source.
    public var similarity: TextSimilarityScorer
    /// Weight of the saliency scores, in [0, 1].
    public var alpha: Float

    public var name: String { "weighted-mixture" }

    /// A mixture with weight `alpha` on the saliency (default 0.5).
    public init(alpha: Float = 0.5, saliency: SaliencyScorer = .init(), similarity: TextSimilarityScorer = .init()) {
        self.alpha = alpha
        self.saliency = saliency
        self.similarity = similarity
    }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        guard (0...1).contains(alpha) else { throw PruningError.invalidConfiguration("alpha \(alpha) is outside [0, 1]") }
        return AdaptiveMixtureScorer.merged(try similarity.requirements(for: model), try saliency.requirements(for: model))
    }

    public func scores(_ context: ScoringContext) throws -> [Float] {
        let c = Self.standardised(try saliency.checkedScores(context))
        let t = Self.standardised(try similarity.checkedScores(context))
        return zip(c, t).map { alpha * $0 + (1 - alpha) * $1 }
    }

    /// (x − mean) / std; all zeros when the scores are constant.
    static func standardised(_ s: [Float]) -> [Float] {
        let n = Double(s.count)
        let mean = s.reduce(0.0) { $0 + Double($1) } / n
        let std = (s.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n).squareRoot()
        return s.map { std > 0 ? Float((Double($0) - mean) / std) : 0 }
    }
}
