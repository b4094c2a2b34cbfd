import TensorCore
import VLMModels

/// What a scorer needs computed before it can score, so the pipeline computes only that. An in-LLM scorer's
/// attention rows follow from its `ScoringStage`.
public struct ScoringRequirements: Sendable, Equatable {
    /// 0-based vision encoder layers whose [CLS] attention row is needed (see `visionFeatureEncoderLayer`).
    public var visionAttentionLayers: Set<Int> = []
    /// 0-based vision encoder layers whose attention received per token is needed (column means per view).
    public var visionAttentionReceivedLayers: Set<Int> = []
    /// 0-based vision encoder layers whose keys, averaged over the heads, are needed.
    public var visionKeyLayers: Set<Int> = []
    /// The projected visual tokens (all of them, before pruning).
    public var projectedTokens = false
    /// The language model's input embeddings of the prompt.
    public var promptEmbeddings = false
    /// In-LLM: the scored layer's cached keys and the pruning layer's input through the final norm (DART).
    public var languageKeysAndHidden = false

    /// Nothing needed (e.g. random or uniform selection).
    public init() {}

    /// What the vision tower must record for these requirements.
    public var visionRequest: VisionRequest {
        VisionRequest(classAttentionLayers: visionAttentionLayers, attentionReceivedLayers: visionAttentionReceivedLayers,
                      headMeanKeyLayers: visionKeyLayers)
    }
}

/// Which prompt rows act as queries when a scorer reads in-LLM attention.
public enum LanguageQueryRows: Sendable, Equatable {
    /// The last prompt token (FastV).
    case lastToken
    /// Every text token after the image.
    case textAfterImage

    /// Row indices in the expanded sequence.
    public func rows(in layout: PromptLayout) -> [Int] {
        switch self {
        case .lastToken: return [layout.expandedLength - 1]
        case .textAfterImage: return Array(layout.textAfterImage)
        }
    }
}

/// Everything a scorer may read for one image + prompt. Fields a scorer did not request may be nil/empty.
public struct ScoringContext: Sendable {
    /// The model being pruned (its configuration, e.g. a `LlavaConfiguration`).
    public let configuration: any ModelDescription
    /// Where text and image sit in the prompt.
    public let layout: PromptLayout
    /// Number of visual tokens to score (`layout.imageTokenCount`).
    public var visualTokenCount: Int { layout.imageTokenCount }
    /// Where each visual token comes from (view, row, column; newline), in sequence order.
    public let tokens: VisualTokenMap
    /// Per requested vision layer: each view's [CLS] query row of the attention probabilities,
    /// `[views, heads, encoderTokensPerView]`, column 0 = [CLS] itself.
    public let visionClassAttention: [Int: Tensor]
    /// Per requested vision layer: the attention each encoder token receives in its view, averaged over the
    /// view's queries and the heads, `[views, encoderTokensPerView]`.
    public let visionAttentionReceived: [Int: Tensor]
    /// Per requested vision layer: every view's keys averaged over the heads, `[views · encoderTokensPerView,
    /// headDim]`, rows as `visionFeatures`.
    public let visionKeys: [Int: Tensor]
    /// The vision tower's feature-layer output for every view, before the projector:
    /// `[views · encoderTokensPerView, visionHidden]` (`EncodedImage.features`), when the pipeline has it.
    public let visionFeatures: Tensor?
    /// Projected visual tokens `[visual, textHidden]`, if requested.
    public let projectedTokens: Tensor?
    /// LM input embeddings of the expanded prompt `[expandedLength, textHidden]` (visual rows are the
    /// projected tokens), if requested.
    public let promptEmbeddings: Tensor?
    /// In-LLM attention probabilities `[heads, queries, expandedLength]` for the requested query rows.
    public let languageAttention: Tensor?
    /// In-LLM, if requested: the keys the scored decoder layer cached for every row of the expanded prompt,
    /// after RoPE, `[expandedLength, kvHeads · headDim]`.
    public let languageKeys: Tensor?
    /// In-LLM, if requested: the input of the pruning layer (the scored layer's output) through the final
    /// RMSNorm, `[expandedLength, textHidden]`.
    public let languageHidden: Tensor?
    /// Token ids that never count as text for similarity (padding, BOS, EOS, the image placeholder).
    public let specialTokenIds: Set<Int>

    /// A context; the pipeline builds these, tests may build them by hand. `tokens` defaults to the model's
    /// fixed visual tokens (one view), else one square view of the layout's image tokens.
    public init(configuration: any ModelDescription, layout: PromptLayout, tokens: VisualTokenMap? = nil,
                visionClassAttention: [Int: Tensor] = [:], visionAttentionReceived: [Int: Tensor] = [:],
                visionKeys: [Int: Tensor] = [:], visionFeatures: Tensor? = nil, projectedTokens: Tensor? = nil, promptEmbeddings: Tensor? = nil, languageAttention: Tensor? = nil,
                languageKeys: Tensor? = nil, languageHidden: Tensor? = nil,
                specialTokenIds: Set<Int>? = nil) {
        self.configuration = configuration
        self.layout = layout
        self.tokens = tokens ?? configuration.fixedVisualTokens ?? VisualTokenMap(
            singleViewWithPatchesPerSide: Int(Double(layout.imageTokenCount).squareRoot()), includesClassToken: false,
            encoderHasClassToken: configuration.visionHasClassToken)
        self.visionClassAttention = visionClassAttention
        self.visionAttentionReceived = visionAttentionReceived
        self.visionKeys = visionKeys
        self.visionFeatures = visionFeatures
        self.projectedTokens = projectedTokens
        self.promptEmbeddings = promptEmbeddings
        self.languageAttention = languageAttention
        self.languageKeys = languageKeys
        self.languageHidden = languageHidden
        self.specialTokenIds = specialTokenIds ?? configuration.specialTokenIds
    }

    /// The pre-projector vision features of the visual tokens at `indices`, `[indices.count, visionHidden]`:
    /// each token's encoder row, OneVision's resampled positions the same bilinear mix of crop rows (a newline
    /// has none and is refused).
    /// - Throws: `PruningError.missingInput` without vision features, `.invalidScores` for a newline index.
    public func featuresBeforeProjector(of indices: [Int], scorer: String) throws -> Tensor {
        guard let features = visionFeatures else { throw PruningError.missingInput(scorer: scorer, input: "the vision features") }
        if let newline = indices.first(where: { if case .newline = tokens.origins[$0] { true } else { false } }) {
            throw PruningError.invalidScores(scorer: scorer, reason: "visual token \(newline) is a newline and has no vision features")
        }
        return try tokens.values(features, at: indices)
    }
}
