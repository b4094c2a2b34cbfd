import TensorCore
import VLMModels

/// Attention-received scoring, the saliency of towers without [CLS] (SigLIP): how much attention each token
/// receives in a full-attention vision layer, averaged over the heads and over every query token of its view
/// (the substitute HiPrune, VisPruner and VisionZip's SigLIP ports use). The column sums are accumulated while
/// the layer runs, so no attention map is stored.
///
/// Each visual token scores its encoder token's value; OneVision's downsampled grid positions score the same
/// bilinear mix of the crops' values that forms their features. Newline tokens score 0 and are always kept. The
/// budget is shared per view by default (`allocation: .global`: one top-K over all views).
public struct AttentionReceivedScorer: TokenScorer {
    /// Which vision layer's attention to read.
    public enum Layer: Sendable, Equatable {
        /// The layer whose output feeds the projector.
        case featureLayer
        /// An explicit 0-based encoder layer.
        case explicit(Int)
    }

    /// The layer read.
    public let layer: Layer
    /// How a multi-view image's budget is shared between views (default `.perView`).
    public let allocation: ViewAllocation
    public var name: String { "received" + (allocation == .global ? "-global" : "") }

    /// A scorer over `layer` (default: the feature layer) sharing multi-view budgets by `allocation`.
    public init(layer: Layer = .featureLayer, allocation: ViewAllocation = .perView) {
        self.layer = layer
        self.allocation = allocation
    }

    /// The 0-based encoder layer this scorer reads on `model`.
    /// - Throws: `PruningError.invalidConfiguration` for a layer outside the encoder, or the feature layer when
    ///   the projector reads the embeddings.
    public func encoderLayer(for model: any ModelDescription) throws -> Int {
        let chosen: Int
        switch layer {
        case .explicit(let l): chosen = l
        case .featureLayer:
            guard let feature = model.visionFeatureEncoderLayer else {
                throw PruningError.invalidConfiguration("the projector reads the embeddings (vision_feature_layer 0): no attention layer precedes it")
            }
            chosen = feature
        }
        guard (0..<model.visionLayerCount).contains(chosen) else {
            throw PruningError.invalidConfiguration("attention-received layer \(chosen) is outside 0..<\(model.visionLayerCount)")
        }
        return chosen
    }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        var r = ScoringRequirements()
        r.visionAttentionReceivedLayers = [try encoderLayer(for: model)]
        return r
    }

    public func scores(_ context: ScoringContext) throws -> [Float] {
        let l = try encoderLayer(for: context.configuration), tokens = context.tokens, perView = tokens.encoderTokensPerView
        guard let received = context.visionAttentionReceived[l] else {
            throw PruningError.missingInput(scorer: name, input: "attention received in vision layer \(l)")
        }
        guard received.shape == [tokens.viewCount, perView] else {
            throw PruningError.invalidScores(
                scorer: name, reason: "attention received in layer \(l) has shape \(received.shape), expected [\(tokens.viewCount), \(perView)]")
        }
        // One channel per encoder token; newlines come out as 0.
        return try tokens.values(try received.reshaped([tokens.viewCount * perView, 1]), at: Array(0..<tokens.count)).scalars
    }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        try TokenSelection.select(try checkedScores(context), tokens: context.tokens, k: k, allocation: allocation, scorer: name)
    }
}
