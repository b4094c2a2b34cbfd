import TensorCore

/// One pre-norm transformer encoder layer as CLIP's and SigLIP's towers (vision and text) have it:
/// `x += out(attention(layer_norm1(x)))`, `x += fc2(act(fc1(layer_norm2(x))))`, biased linears throughout;
/// DINOv2's adds LayerScale, `x += λ1 ⊙ out(…)` and `x += λ2 ⊙ fc2(…)`.
struct EncoderLayer: Sendable {
    var norm1: LayerNorm
    var qkv: Linear
    var out: Linear
    var norm2: LayerNorm
    var fc1: Linear
    var fc2: Linear
    /// LayerScale's per-channel factors of the attention and MLP branches, `[hidden]` each (DINOv2).
    var layerScale: (attention: Tensor, mlp: Tensor)?

    /// Loads the layer under `prefix` (`….encoder.layers.i`): `layer_norm1`, `self_attn.{q,k,v,out}_proj`,
    /// `layer_norm2`, `mlp.fc1`, `mlp.fc2`, and with `layerScale` `layer_scale1.lambda1`, `layer_scale2.lambda1`.
    init(weights: inout some WeightSource, prefix p: String, hidden h: Int, intermediate: Int, eps: Float,
         layerScale scaled: Bool = false) throws {
        norm1 = try weights.layerNorm("\(p).layer_norm1", width: h, eps: eps)
        qkv = try weights.linear(stacking: ["q_proj", "k_proj", "v_proj"].map { "\(p).self_attn.\($0)" },
                                 inputs: h, outputs: [h, h, h], bias: true)
        out = try weights.linear("\(p).self_attn.out_proj", inputs: h, outputs: h, bias: true)
        norm2 = try weights.layerNorm("\(p).layer_norm2", width: h, eps: eps)
        fc1 = try weights.linear("\(p).mlp.fc1", inputs: h, outputs: intermediate, bias: true)
        fc2 = try weights.linear("\(p).mlp.fc2", inputs: intermediate, outputs: h, bias: true)
        layerScale = scaled ? (try weights.tensor("\(p).layer_scale1.lambda1", shape: [h]),
                                   try weights.tensor("\(p).layer_scale2.lambda1", shape: [h])) : nil
    }

    /// Runs the layer in place on `x [tokens, hidden]` with `heads` heads (causal for a text tower); returns the
    /// requested attention probabilities and, when `wantsKeys`, the keys averaged over the heads `[tokens, headDim]`.
    func callAsFunction(
        _ x: inout Tensor, heads: Int, activation: Activation, causal: Bool = false,
        probabilities: AttentionProbabilityRequest = .none, wantsKeys: Bool = false
    ) throws -> (probabilities: Tensor?, headMeanKeys: Tensor?) {
        let h = x.shape[1]
        let qkv = try self.qkv(try norm1(x))
        let keys = wantsKeys ? try wrapTensorErrors { try Self.headMean(qkv.columns(h..<(2 * h)), heads: heads) } : nil
        let attention = try wrapTensorErrors {
            try Attention.scaledDotProduct(
                query: qkv.columns(0..<h), key: qkv.columns(h..<(2 * h)), value: qkv.columns((2 * h)..<(3 * h)),
                heads: heads, kvHeads: heads, causal: causal, probabilities: probabilities)
        }
        let attended = try out(attention.output)
        try wrapTensorErrors { try x.add(try layerScale.map { try attended.scalingColumns(by: $0.attention) } ?? attended) }
        let hidden = try fc1(try norm2(x)).applying(activation)
        let transformed = try fc2(hidden)
        try wrapTensorErrors { try x.add(try layerScale.map { try transformed.scalingColumns(by: $0.mlp) } ?? transformed) }
        return (attention.probabilities, keys)
    }

    /// `[tokens, heads · headDim]` averaged over the heads: `[tokens, headDim]`.
    static func headMean(_ x: Tensor, heads: Int) throws -> Tensor {
        let tokens = x.shape[0], d = x.shape[1] / heads
        return Tensor(shape: [tokens, d]) { out in
            x.withUnsafeBufferPointer { v in
                for t in 0..<tokens {
                    for j in 0..<d {
                        var sum: Float = 0
                        for head in 0..<heads { sum += v[t * heads * d + head * d + j] }
                        out[t * d + j] = sum / Float(heads)
                    }
                }
            }
        }
    }
}
