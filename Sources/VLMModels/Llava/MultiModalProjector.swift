import TensorCore

/// LLaVA's 2-layer MLP projector: linear_2(act(linear_1(x))), act = exact-erf GELU for LLaVA-1.5.
public struct MultiModalProjector: Sendable {
    let linear1: Linear
    let linear2: Linear
    /// Activation between the linears (`projector_hidden_act`).
    public let activation: Activation

    /// Builds the projector from `multi_modal_projector.linear_{1,2}`.
    public init(configuration c: LlavaConfiguration, weights: inout some WeightSource) throws {
        let textWidth = c.text.hiddenSize
        linear1 = try weights.linear("multi_modal_projector.linear_1", inputs: c.vision.hiddenSize, outputs: textWidth,
                                     bias: c.projectorBias)
        linear2 = try weights.linear("multi_modal_projector.linear_2", inputs: textWidth, outputs: textWidth,
                                     bias: c.projectorBias)
        activation = c.projectorActivation
    }

    /// Vision features `[tokens, visionHidden]` → language-model embeddings `[tokens, textHidden]`.
    public func callAsFunction(_ features: Tensor) throws -> Tensor {
        try linear2(try linear1(features).applying(activation))
    }
}
