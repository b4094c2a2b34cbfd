import TensorCore
import VLMModels

/// CDPruner (NeurIPS 2025, `Theia-4869/CDPruner`): conditional diversity. The kernel L = diag(r)·S·diag(r) joins
/// the cosine similarity S of the projected visual tokens (float32) with each token's relevance r to the
/// question; greedy MAP inference of the determinantal point process on L (`GreedyMAP`) keeps a set that is
/// relevant and diverse at once.
///
/// Relevance comes from one of two sources (`Relevance`), then is min–max normalised over the image,
/// (r − min + 1e-6) / (max − min), a constant relevance becoming 1:
/// - `.languageModelEmbeddings` (default, any model): the language model's own input embeddings of the question
///   (the text after the image, special tokens excluded), as OpenVINO GenAI's port does: rⱼ = mean over text
///   tokens of cos(visualⱼ, text), with the projected visual tokens.
/// - `.clipText` (the official code, CLIP towers): rⱼ = −cos(visual_projection(post_layernorm(xⱼ)), t) for the
///   feature-layer features xⱼ and CLIP's text embedding t of the question (`CLIPTextTower`). The official code
///   negates the cosine, a CLIP quirk its authors describe; `negatesRelevance` is that sign (on by default for
///   CLIP, off for the language model's embeddings). A question longer than CLIP's 77 positions is truncated
///   (the official code splits it into segments and averages, pooling segments that have no end token).
///
/// On multi-view images each view keeps a share of the budget (`allocation: .perView`, the default; the
/// official code keeps T per crop) with the relevance normalised over the whole image, and newline tokens are
/// always kept, as in the official NeXT code. Where the DPP runs out of rank (T close to N, low-rank features)
/// the selection stops early and the rest of the share is filled by relevance.
public struct CDPrunerScorer: TokenScorer {
    /// Where relevance to the question comes from.
    public enum Relevance: Sendable {
        /// The language model's input embeddings of the text after the image, against the projected tokens.
        case languageModelEmbeddings
        /// CLIP's text embedding of the question (`textEmbedding`, `[projectionDim]`), against each token's
        /// features through the tower's image head.
        case clipText(tower: CLIPTextTower, textEmbedding: [Float])
    }

    /// How a multi-view image's budget is shared (default `.perView`).
    public let allocation: ViewAllocation
    /// Where relevance comes from.
    public let relevance: Relevance
    /// Whether relevance is −cos (the official CLIP-text sign) instead of cos.
    public let negatesRelevance: Bool
    public var name: String { "cdpruner" }

    /// CDPruner with relevance from the language model's embeddings of the question.
    public init(allocation: ViewAllocation = .perView, negatesRelevance: Bool = false) {
        self.allocation = allocation
        relevance = .languageModelEmbeddings
        self.negatesRelevance = negatesRelevance
    }

    /// CDPruner as the official code runs it: relevance from `tower`'s embedding of `question` (the raw question,
    /// no chat template), negated by default.
    /// - Throws: `TokenizerError` for a character CLIP's vocabulary cannot represent.
    public init(clipTextTower tower: CLIPTextTower, question: String, allocation: ViewAllocation = .perView,
                negatesRelevance: Bool = true) throws {
        self.allocation = allocation
        relevance = .clipText(tower: tower, textEmbedding: try tower.textEmbedding(question))
        self.negatesRelevance = negatesRelevance
    }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        var r = ScoringRequirements()
        r.projectedTokens = true
        switch relevance {
        case .languageModelEmbeddings:
            r.promptEmbeddings = true
        case .clipText(let tower, _):
            guard let width = tower.configuration.visionHiddenSize else {
                throw PruningError.invalidConfiguration(
                    "CDPruner's CLIP text tower has no visual_projection (a CLIPTextModelWithProjection): give the CLIPModel folder, whose image head projects the vision features")
            }
            guard width == model.visionHiddenSize else {
                throw PruningError.invalidConfiguration(
                    "CDPruner's CLIP visual_projection takes \(width)-wide features, but the \(model.visionTowerName) tower of this \(model.modelType) model gives \(model.visionHiddenSize)-wide ones")
            }
        }
        return r
    }

    /// Each content token's relevance to the question before normalisation.
    private func rawRelevance(_ context: ScoringContext, content: [Int]) throws -> [Float] {
        let visual: Tensor, text: Tensor
        switch relevance {
        case .languageModelEmbeddings:
            guard let projected = context.projectedTokens, let embeddings = context.promptEmbeddings else {
                throw PruningError.missingInput(scorer: name, input: "the projected visual tokens and the prompt's input embeddings")
            }
            visual = try projected.gatherRows(content)
            text = try embeddings.gatherRows(try TextSimilarityScorer(span: .afterImage).textRows(context))
        case let .clipText(tower, embedding):
            visual = try tower.imageEmbeddings(try context.featuresBeforeProjector(of: content, scorer: name))
            text = try Tensor(shape: [1, embedding.count], scalars: embedding)
        }
        let cosine = try Similarity.cosineMatrix(visual, text)  // [content, text]
        let m = text.shape[0]
        return cosine.withUnsafeBufferPointer { c in
            content.indices.map { j in (0..<m).reduce(Float(0)) { $0 + c[j * m + $1] } / Float(m) * (negatesRelevance ? -1 : 1) }
        }
    }

    /// Each visual token's normalised relevance to the question (newlines 0).
    public func scores(_ context: ScoringContext) throws -> [Float] {
        let content = context.tokens.contentIndices
        var raw = try rawRelevance(context, content: content)
        let low = raw.min() ?? 0, high = raw.max() ?? 0
        raw = raw.map { high > low ? ($0 - low + 1e-6) / (high - low) : 1 }
        var scores = [Float](repeating: 0, count: context.visualTokenCount)
        for (j, i) in content.enumerated() { scores[i] = raw[j] }
        return scores
    }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        let relevance = try checkedScores(context)
        guard let projected = context.projectedTokens else {
            throw PruningError.missingInput(scorer: name, input: "the projected visual tokens")
        }
        var kept = context.tokens.newlineIndices
        for group in try TokenSelection.groups(keeping: k, tokens: context.tokens, allocation: allocation) where group.quota > 0 {
            let rows = try projected.gatherRows(group.indices)
            let similarity = try Similarity.cosineMatrix(rows, rows)
            let r = group.indices.map { relevance[$0] }, n = r.count
            let kernel = Tensor(shape: [n, n]) { out in
                similarity.withUnsafeBufferPointer { s in
                    for i in 0..<n { for j in 0..<n { out[i * n + j] = r[i] * s[i * n + j] * r[j] } }
                }
            }
            var picked = try GreedyMAP.select(kernel: kernel, count: group.quota)
            if picked.count < group.quota {
                let taken = Set(picked)
                picked += try TopK.indices(of: r, k: n).filter { !taken.contains($0) }.prefix(group.quota - picked.count)
            }
            kept += picked.map { group.indices[$0] }
        }
        return kept.sorted()
    }
}
