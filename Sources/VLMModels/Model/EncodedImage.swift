import TensorCore

/// An image after the vision tower: every view's feature-layer hidden states and the map of the visual tokens
/// they become. Projection happens later, only for the tokens that are kept (all of the grid when OneVision
/// downsamples it).
public struct EncodedImage: Sendable {
    /// Feature-layer hidden states of every view, [CLS] included where the tower has one:
    /// `[views · encoderTokensPerView, visionHidden]`, row `view · encoderTokensPerView + token`.
    public let features: Tensor
    /// The visual tokens in sequence order and where each comes from.
    public let tokens: VisualTokenMap
    /// Per requested vision layer, each view's [CLS] query row of the attention probabilities:
    /// `[views, heads, encoderTokensPerView]`, column 0 = [CLS] itself.
    public let classAttention: [Int: Tensor]
    /// Per requested vision layer, the attention each encoder token receives in each view, averaged over the
    /// view's query tokens and the heads: `[views, encoderTokensPerView]` (every row sums to one).
    public let attentionReceived: [Int: Tensor]
    /// Per requested vision layer, every view's keys averaged over the heads:
    /// `[views · encoderTokensPerView, headDim]`, rows as `features`.
    public let headMeanKeys: [Int: Tensor]

    /// An encoded image from its parts (the model builds these; tests may build them by hand).
    public init(features: Tensor, tokens: VisualTokenMap, classAttention: [Int: Tensor], attentionReceived: [Int: Tensor] = [:],
                headMeanKeys: [Int: Tensor] = [:]) {
        self.features = features
        self.tokens = tokens
        self.classAttention = classAttention
        self.attentionReceived = attentionReceived
        self.headMeanKeys = headMeanKeys
    }

    /// Rows of `features` behind the content tokens among `indices` (newlines and resampled positions skipped),
    /// in order.
    public func featureRows(of indices: [Int]) -> [Int] {
        indices.compactMap { i in
            tokens.encoderToken(tokens.origins[i]).map { $0.view * tokens.encoderTokensPerView + $0.token }
        }
    }

    /// Rows the projector runs on to embed the visual tokens at `indices`: their own encoder rows, or every row
    /// when one of them is a resampled position (the whole crop map is projected, then downsampled).
    public func projectedRowCount(of indices: [Int]) -> Int {
        indices.contains(where: tokens.isResampled) ? features.shape[0] : featureRows(of: indices).count
    }
}
