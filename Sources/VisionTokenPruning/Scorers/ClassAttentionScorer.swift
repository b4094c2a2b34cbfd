import TensorCore
import VLMModels

/// [CLS]-attention scoring: how much the vision encoder's [CLS] token attends to each patch,
/// averaged over heads (no renormalisation after dropping the [CLS] column) and summed over layers.
///
/// `.featureLayer` is FasterVLM (the layer whose output feeds the projector, `attentions[-2]` for
/// LLaVA-1.5); `.ensemble(start:)` is VTC-CLS (layers `start ... featureLayer`, summed).
public struct ClassAttentionScorer: TokenScorer {
    /// Which encoder layers' attention to use.
    public enum Layers: Sendable, Equatable {
        /// The layer that produces the projector's input (FasterVLM).
        case featureLayer
        /// Every layer from `start` up to the feature layer, summed (VTC-CLS; its CLI default start is 16).
        case ensemble(start: Int)
        /// Explicit 0-based encoder layer indices, summed.
        case explicit([Int])
    }

    /// The layers used.
    public let layers: Layers
    public var name: String { layers == .featureLayer ? "cls" : "cls-ensemble" }

    /// A scorer over `layers` (default: FasterVLM's single feature layer).
    public init(layers: Layers = .featureLayer) { self.layers = layers }

    /// The 0-based encoder layers this scorer reads on a model with `configuration`.
    /// - Throws: `PruningError.invalidConfiguration` for layers outside the encoder or an empty set.
    public func encoderLayers(for configuration: LlavaConfiguration) throws -> [Int] {
        let feature = configuration.resolvedVisionFeatureLayer - 1
        guard feature >= 0 else {
            throw PruningError.invalidConfiguration("the projector reads the embeddings (vision_feature_layer 0): no attention layer precedes it")
        }
        let chosen: [Int]
        switch layers {
        case .featureLayer: chosen = [feature]
        case .ensemble(let start): chosen = start <= feature ? Array(max(0, start)...feature) : []
        case .explicit(let list): chosen = list
        }
        guard !chosen.isEmpty, chosen.allSatisfy({ (0..<configuration.vision.layerCount).contains($0) }) else {
            throw PruningError.invalidConfiguration(
                "[CLS] attention layers \(chosen) must be a non-empty subset of 0..<\(configuration.vision.layerCount)")
        }
        return chosen
    }

    public func requirements(for configuration: LlavaConfiguration) throws -> ScoringRequirements {
        var r = ScoringRequirements()
        r.visionAttentionLayers = Set(try encoderLayers(for: configuration))
        return r
    }

    public func scores(_ context: ScoringContext) throws -> [Float] {
        let n = context.visualTokenCount
        // Under `.patchesOnly` visual token j is encoder token j + 1; under `.all` it is token j.
        let offset = context.configuration.visionFeatureSelection == .patchesOnly ? 1 : 0
        var total = [Float](repeating: 0, count: n)
        for layer in try encoderLayers(for: context.configuration) {
            guard let row = context.visionClassAttention[layer] else {
                throw PruningError.missingInput(scorer: name, input: "[CLS] attention of vision layer \(layer)")
            }
            let heads = row.shape[0], tokens = row.shape.last
            guard row.shape.rank == 3, row.shape[1] >= 1, tokens == n + offset else {
                throw PruningError.invalidScores(scorer: name, reason: "[CLS] attention of layer \(layer) has shape \(row.shape)")
            }
            row.withUnsafeBufferPointer { p in
                for h in 0..<heads {
                    let base = h * row.shape[1] * tokens + offset
                    for j in 0..<n { total[j] += p[base + j] / Float(heads) }
                }
            }
        }
        return total
    }
}
