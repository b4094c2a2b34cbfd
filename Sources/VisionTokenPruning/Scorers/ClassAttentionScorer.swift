import TensorCore
import VLMModels

/// [CLS]-attention scoring: how much the vision encoder's [CLS] token attends to each patch,
/// averaged over heads (no renormalisation after dropping the [CLS] column) and summed over layers.
///
/// `.featureLayer` is FasterVLM (the layer whose output feeds the projector, `attentions[-2]` for
/// LLaVA-1.5); `.ensemble(start:)` is VTC-CLS (layers `start ... featureLayer`, summed).
///
/// On multi-view (LLaVA-NeXT) images each view's patches are scored by that view's own [CLS]; the budget is
/// shared per view by default (FasterVLM's NeXT code), or globally (`allocation: .global`). Newline tokens
/// score 0 and are always kept.
public struct ClassAttentionScorer: TokenScorer {
    /// Which encoder layers' attention to use.
    public enum Layers: Sendable, Equatable {
        /// The layer that produces the projector's input (FasterVLM).
        case featureLayer
        /// Every encoder layer from `start` up to the feature layer, summed (VTC-CLS; its CLI default start is 16).
        case ensemble(start: Int)
        /// Explicit 0-based encoder layers, summed.
        case explicit([Int])
    }

    /// The layers used.
    public let layers: Layers
    /// How a multi-view image's budget is shared between views (default `.perView`).
    public let allocation: ViewAllocation
    public var name: String {
        (layers == .featureLayer ? "cls" : "cls-ensemble") + (allocation == .global ? "-global" : "")
    }

    /// A scorer over `layers` (default: FasterVLM's single feature layer) sharing multi-view budgets by `allocation`.
    public init(layers: Layers = .featureLayer, allocation: ViewAllocation = .perView) {
        self.layers = layers
        self.allocation = allocation
    }

    /// The 0-based encoder layers this scorer reads on `model`.
    /// - Throws: `PruningError.unsupportedModel` for a tower without [CLS], `.invalidConfiguration` for layers
    ///   outside the encoder or an empty set.
    public func encoderLayers(for model: any ModelDescription) throws -> [Int] {
        guard model.visionHasClassToken else {
            throw PruningError.unsupportedModel(
                scorer: name,
                reason: "it reads the vision tower's [CLS] attention, and the \(model.visionTowerName) tower of this \(model.modelType) model has no [CLS] token; use 'received' (attention received, the no-[CLS] substitute) or 'mixture'")
        }
        func featureLayer() throws -> Int {
            guard let feature = model.visionFeatureEncoderLayer else {
                throw PruningError.invalidConfiguration("the projector reads the embeddings (vision_feature_layer 0): no attention layer precedes it")
            }
            return feature
        }
        let chosen: [Int]
        switch layers {
        case .explicit(let list):
            chosen = list
        case .featureLayer:
            chosen = [try featureLayer()]
        case .ensemble(let start):
            let feature = try featureLayer()
            chosen = start <= feature ? Array(max(0, start)...feature) : []
        }
        guard !chosen.isEmpty, chosen.allSatisfy({ (0..<model.visionLayerCount).contains($0) }) else {
            throw PruningError.invalidConfiguration(
                "[CLS] attention layers \(chosen) must be a non-empty subset of 0..<\(model.visionLayerCount)")
        }
        return chosen
    }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        var r = ScoringRequirements()
        r.visionAttentionLayers = Set(try encoderLayers(for: model))
        return r
    }

    public func scores(_ context: ScoringContext) throws -> [Float] {
        let tokens = context.tokens, perView = tokens.encoderTokensPerView
        var total = [Float](repeating: 0, count: tokens.count)
        for layer in try encoderLayers(for: context.configuration) {
            guard let rows = context.visionClassAttention[layer] else {
                throw PruningError.missingInput(scorer: name, input: "[CLS] attention of vision layer \(layer)")
            }
            guard rows.shape.rank == 3, rows.shape[0] == tokens.viewCount, rows.shape[1] >= 1, rows.shape[2] == perView else {
                throw PruningError.invalidScores(
                    scorer: name, reason: "[CLS] attention of layer \(layer) has shape \(rows.shape), expected [\(tokens.viewCount), heads, \(perView)]")
            }
            let heads = rows.shape[1]
            rows.withUnsafeBufferPointer { p in
                for (i, origin) in tokens.origins.enumerated() {
                    guard let source = tokens.encoderToken(origin) else { continue }
                    var sum: Float = 0
                    for h in 0..<heads { sum += p[(source.view * heads + h) * perView + source.token] }
                    total[i] += sum / Float(heads)
                }
            }
        }
        return total
    }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        try TokenSelection.select(try checkedScores(context), tokens: context.tokens, k: k, allocation: allocation, scorer: name)
    }
}
