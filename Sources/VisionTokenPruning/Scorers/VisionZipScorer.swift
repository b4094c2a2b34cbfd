import TensorCore
import VLMModels

/// VisionZip (CVPR 2025, `dvlab-research/VisionZip`): dominant tokens by saliency, and contextual tokens that
/// merge the rest, before the projector.
///
/// Of a share of T rows, C = round(T · `contextualRatio`) are contextual (the official 64 = 54 + 10 split; 10/64 of
/// any other budget, as 192 = 162 + 30 and 128 = 108 + 20) and D = T − C dominant. On a tower with [CLS] the
/// dominant rows are the view's [CLS] token itself and the D − 1 patches with the most [CLS] attention in the
/// feature layer (summed over heads); without [CLS] the D patches with the most attention received there (the
/// SigLIP port's mean over heads and queries). The remaining patches, in sequence order, are compared by the
/// cosine of the feature layer's keys averaged over the heads; every ⌊remaining / C⌋-th is a target (the first
/// C), each other patch joins its most similar target (ties to the earlier target), and a contextual token is its
/// target's features plus the mean of its members' (`MergedToken`, anchored at the target).
///
/// Rows follow the official order: the first group's [CLS], dominant patches and contextual tokens; then the
/// other groups' dominant patches with the newlines, in sequence order; then their [CLS] tokens; then their
/// contextual tokens (LLaVA-NeXT's per-crop layout). Each view keeps its own share by default (the official code
/// runs per crop). Newline tokens are always kept (the official NeXT code drops them; the library keeps them for
/// every method). `select` alone is the dominant choice over the whole budget, without merging.
public struct VisionZipScorer: TokenScorer {
    /// Share of a budget given to contextual (merged) tokens, in [0, 1) (default 10/64).
    public let contextualRatio: Double
    /// The saliency source of the dominant tokens (feature-layer [CLS] attention, or attention received).
    public let saliency: SaliencyScorer
    /// How a multi-view image's budget is shared (default `.perView`).
    public let allocation: ViewAllocation
    public var name: String { "visionzip" }

    /// VisionZip with its defaults unless overridden.
    public init(contextualRatio: Double = 10.0 / 64, saliency: SaliencyScorer = .init(), allocation: ViewAllocation = .perView) {
        self.contextualRatio = contextualRatio
        self.saliency = saliency
        self.allocation = allocation
    }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        guard (0..<1).contains(contextualRatio) else {
            throw PruningError.invalidConfiguration("VisionZip's contextual ratio \(contextualRatio) is outside [0, 1)")
        }
        guard let layer = model.visionFeatureEncoderLayer else {
            throw PruningError.invalidConfiguration("the projector reads the embeddings (vision_feature_layer 0): VisionZip has no layer to read")
        }
        var r = try saliency.requirements(for: model)
        r.visionKeyLayers = [layer]
        return r
    }

    /// The saliency of each visual token (what the dominant tokens are chosen by).
    public func scores(_ context: ScoringContext) throws -> [Float] { try saliency.scores(context) }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        try TokenSelection.select(try checkedScores(context), tokens: context.tokens, k: k, allocation: allocation, scorer: name)
    }

    public func reduce(_ context: ScoringContext, keep k: Int) throws -> TokenReduction {
        let tokens = context.tokens, salience = try checkedScores(context)
        guard let layer = context.configuration.visionFeatureEncoderLayer, let keys = context.visionKeys[layer] else {
            throw PruningError.missingInput(scorer: name, input: "the feature layer's vision keys")
        }
        var first: [TokenReduction.Row] = [], later: [Int] = tokens.newlineIndices
        var laterClass: [TokenReduction.Row] = [], laterContext: [TokenReduction.Row] = []
        for (g, group) in try TokenSelection.groups(keeping: k, tokens: tokens, allocation: allocation).enumerated() where group.quota > 0 {
            let classRow = classToken(of: group, tokens: tokens)
            let contextual = Int((Double(group.quota) * contextualRatio).rounded())
            let dominantPatches = group.quota - contextual - (classRow == nil ? 0 : 1)
            guard dominantPatches >= 0 else { continue }
            let dominant = try TopK.indices(of: group.indices.map { salience[$0] }, k: dominantPatches).map { group.indices[$0] }.sorted()
            let chosen = Set(dominant), rest = group.indices.filter { !chosen.contains($0) }
            let merged = try contextualTokens(of: rest, count: contextual, keys: keys, tokens: tokens).map(TokenReduction.Row.merged)
            if g == 0 {
                first = (classRow.map { [$0] } ?? []) + dominant.map(TokenReduction.Row.kept) + merged
            } else {
                later += dominant
                laterClass += classRow.map { [$0] } ?? []
                laterContext += merged
            }
        }
        return TokenReduction(rows: first + later.sorted().map(TokenReduction.Row.kept) + laterClass + laterContext)
    }

    /// The [CLS] row a group adds: its view's [CLS] as a one-source merged token at the group's first token,
    /// when the tower has [CLS], the group starts in one view (not OneVision's resampled grid) and [CLS] is not
    /// itself a visual token.
    private func classToken(of group: TokenSelection.Group, tokens: VisualTokenMap) -> TokenReduction.Row? {
        guard tokens.encoderHasClassToken, let view = tokens.encoderToken(tokens.origins[group.indices[0]])?.view,
              !tokens.origins.contains(.classToken(view: view)) else { return nil }
        return .merged(MergedToken(sources: [.classToken(view: view)], weights: [1], anchor: group.indices[0]))
    }

    /// `count` contextual tokens over the visual tokens `rest` (ascending): targets every ⌊n / count⌋-th, the
    /// others assigned by key cosine, each target plus the mean of its members.
    private func contextualTokens(of rest: [Int], count: Int, keys: Tensor, tokens: VisualTokenMap) throws -> [MergedToken] {
        guard count > 0, !rest.isEmpty else { return [] }
        let step = max(1, rest.count / count)
        let targets = Array(stride(from: 0, to: rest.count, by: step).prefix(count))
        let isTarget = Set(targets), members = rest.indices.filter { !isTarget.contains($0) }
        let metric = Similarity.normalizedRows(try tokens.values(keys, at: rest))
        let similarity = try metric.gatherRows(members).matmul(try metric.gatherRows(targets), transposeOther: true).scalars
        var assigned = [[Int]](repeating: [], count: targets.count)
        for (m, member) in members.enumerated() {
            var best = 0
            for t in 1..<targets.count where similarity[m * targets.count + t] > similarity[m * targets.count + best] { best = t }
            assigned[best].append(rest[member])
        }
        return zip(targets, assigned).map { target, group in
            let share = 1 / Float(max(1, group.count))
            return MergedToken(sources: ([rest[target]] + group).map { tokens.origins[$0] },
                               weights: [1] + Array(repeating: share, count: group.count), anchor: rest[target])
        }
    }
}
