import TensorCore
import VLMModels

/// DART (EMNLP 2025, "Stop Looking for Important Tokens…"): duplication-aware pruning inside the language model,
/// with no attention map and no [CLS], so it runs on every family. At the input of decoder layer K (2):
///
/// 1. pivots: the `imagePivots` (4) visual tokens and the `textPivots` (4) tokens after the image with the largest
///    L1 norm of their layer K − 1 keys (every head, after RoPE);
/// 2. for each pivot in turn (image pivots, then text pivots, each by descending norm), the not yet chosen visual
///    tokens least similar to it: lowest cosine of the layer-K input through the final RMSNorm;
/// 3. kept: the image pivots and every pick, at their original positions (as the official code).
///
/// The official code picks ⌊budget / pivots⌋ per pivot and so keeps a few more than the budget (132 for 128); here
/// the budget left after the image pivots is shared over the pivots, the first ones taking one more, so exactly
/// the budget is kept. Newline tokens are always kept, as for every method.
public struct DARTScorer: TokenScorer {
    /// The layer at whose input tokens are dropped (K = 2; keys come from layer K − 1).
    public var pruningLayer: Int
    /// Image pivots (4).
    public var imagePivots: Int
    /// Text pivots (4).
    public var textPivots: Int

    public var name: String { "dart" }

    /// DART with the official defaults unless overridden.
    public init(pruningLayer: Int = 2, imagePivots: Int = 4, textPivots: Int = 4) {
        self.pruningLayer = pruningLayer
        self.imagePivots = imagePivots
        self.textPivots = textPivots
    }

    /// Inside the language model: reads layer K − 1's keys and layer K's normed input, drops tokens at layer K.
    /// - Throws: `PruningError.invalidConfiguration` unless 1 <= K < the decoder's layers and there is a pivot.
    public func stage(for model: any ModelDescription) throws -> ScoringStage {
        guard pruningLayer >= 1, pruningLayer < model.textLayerCount else {
            throw PruningError.invalidConfiguration("DART pruning layer \(pruningLayer) must be in 1..<\(model.textLayerCount)")
        }
        guard imagePivots >= 0, textPivots >= 0, imagePivots + textPivots >= 1 else {
            throw PruningError.invalidConfiguration("DART needs at least one pivot, got \(imagePivots) image and \(textPivots) text pivots")
        }
        return .insideLanguageModel(attentionLayer: pruningLayer - 1, queries: .lastToken)
    }

    /// The scored layer's keys and the pruning layer's normed input.
    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        var r = ScoringRequirements()
        r.languageKeysAndHidden = true
        return r
    }

    /// Each visual token's key L1 norm (the pivot criterion; for display).
    public func scores(_ context: ScoringContext) throws -> [Float] {
        let norms = try keyNorms(context)
        return context.layout.imageSpan.map { norms[$0] }
    }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        let tokens = context.tokens, layout = context.layout
        let budget = try TokenSelection.contentBudget(k, tokens: tokens)
        guard let hidden = context.languageHidden else {
            throw PruningError.missingInput(scorer: name, input: "the normed input of decoder layer \(pruningLayer)")
        }
        let norms = try keyNorms(context), content = tokens.contentIndices
        let pivotImages = try TopK.indices(of: content.map { norms[layout.imageStart + $0] }, k: min(imagePivots, budget))
            .map { content[$0] }
        let after = Array(layout.textAfterImage)
        let pivotTexts = try TopK.indices(of: after.map { norms[$0] }, k: min(textPivots, after.count)).map { after[$0] }
        // Pivots as rows of the expanded prompt, in the order they choose.
        let pivots = pivotImages.map { layout.imageStart + $0 } + pivotTexts
        guard !pivots.isEmpty else {
            throw PruningError.emptyTextSpan("DART has no pivot: no image pivot and no text after the image")
        }
        var candidates = content.filter { !pivotImages.contains($0) }
        var kept = pivotImages
        let remaining = budget - pivotImages.count
        let unit = Similarity.normalizedRows(hidden)
        for (p, pivot) in pivots.enumerated() where !candidates.isEmpty {
            let share = remaining / pivots.count + (p < remaining % pivots.count ? 1 : 0)
            guard share > 0 else { continue }
            let similarity = try unit.gatherRows(candidates.map { layout.imageStart + $0 })
                .matmul(try unit.rows(pivot..<(pivot + 1)), transposeOther: true).scalars
            let picked = try TopK.indices(of: similarity.map { -$0 }, k: min(share, candidates.count)).map { candidates[$0] }
            kept += picked
            let taken = Set(picked)
            candidates.removeAll { taken.contains($0) }
        }
        return (kept + tokens.newlineIndices).sorted()
    }

    /// Σ |key| over every head of each row of the expanded prompt.
    private func keyNorms(_ context: ScoringContext) throws -> [Float] {
        guard let keys = context.languageKeys, keys.shape.rank == 2, keys.shape[0] == context.layout.expandedLength else {
            throw PruningError.missingInput(scorer: name, input: "the keys of decoder layer \(pruningLayer - 1) for every prompt row")
        }
        let width = keys.shape[1]
        return keys.withUnsafeBufferPointer { p in
            (0..<keys.shape[0]).map { r in (0..<width).reduce(Float(0)) { $0 + abs(p[r * width + $1]) } }
        }
    }
}
