import TensorCore

/// An image after the vision tower: every view's feature-layer hidden states and the map of the visual tokens
/// they become. Projection happens later, only for the tokens that are kept.
public struct EncodedImage: Sendable {
    /// Feature-layer hidden states of every view, [CLS] included: `[views · encoderTokensPerView, visionHidden]`,
    /// row `view · encoderTokensPerView + token`.
    public let features: Tensor
    /// The visual tokens in sequence order and where each comes from.
    public let tokens: VisualTokenMap
    /// Per requested vision layer, each view's [CLS] query row of the attention probabilities:
    /// `[views, heads, encoderTokensPerView]`, column 0 = [CLS] itself.
    public let classAttention: [Int: Tensor]

    /// An encoded image from its parts (the model builds these; tests may build them by hand).
    public init(features: Tensor, tokens: VisualTokenMap, classAttention: [Int: Tensor]) {
        self.features = features
        self.tokens = tokens
        self.classAttention = classAttention
    }

    /// Rows of `features` behind the content tokens among `indices` (newlines skipped), in order.
    public func featureRows(of indices: [Int]) -> [Int] {
        indices.compactMap { i in
            tokens.encoderToken(tokens.origins[i]).map { $0.view * tokens.encoderTokensPerView + $0.token }
        }
    }
}
