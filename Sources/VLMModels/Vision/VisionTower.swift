import TensorCore

// A port of transformers' CLIPVisionModel (modeling_clip.py) and SiglipVisionModel (modeling_siglip.py) as
// LLaVA-style models use them, and of Dinov2Model (modeling_dinov2.py).

/// What `VisionTower.encode` returns.
public struct VisionTowerOutput: Sendable {
    /// Patch embeddings (+ [CLS] for CLIP) + position embeddings, before any pre-norm: `[tokens, hidden]`.
    public var embeddings: Tensor
    /// Requested hidden states by transformers' index (0 = the embeddings, after `pre_layrnorm` for CLIP;
    /// i = output of layer i−1), each `[tokens, hidden]`; token 0 is [CLS] when the tower has one.
    public var hiddenStates: [Int: Tensor]
    /// Requested attention probabilities by layer, `[heads, rows, tokens]` (rows as requested), or `[tokens]`
    /// for `.columnSums`.
    public var attentions: [Int: Tensor]
    /// Requested layers' keys (bias included, before attention) averaged over the heads, `[tokens, headDim]`
    /// (VisionZip's merge metric).
    public var headMeanKeys: [Int: Tensor] = [:]
}

/// A ViT vision tower, CLIP, SigLIP or DINOv2 (`VisionTowerFamily`): patch embedding, [CLS] (CLIP, DINOv2),
/// learned position embeddings (resized to the input grid for DINOv2), `pre_layrnorm` (CLIP), pre-norm layers with
/// biased attention and a two-linear MLP (with LayerScale for DINOv2).
/// Immutable and `Sendable`: one instance serves any number of concurrent callers.
public struct VisionTower: Sendable {
    /// The tower's configuration.
    public let configuration: VisionTowerConfiguration
    let patchWeight: Tensor  // [hidden, channels·patch·patch]
    let patchBias: Tensor?  // [hidden], SigLIP
    let classEmbedding: Tensor?  // [hidden], CLIP
    let positionEmbedding: Tensor  // [tokens, hidden]
    let preLayerNorm: LayerNorm?  // CLIP
    let layers: [EncoderLayer]
    /// The final LayerNorm (`post_layernorm`; DINOv2's `layernorm`), nil where the checkpoint leaves it out
    /// (llama.cpp's mmproj files). LLaVA-style models never apply it; DINOv2's `last_hidden_state` is it applied to
    /// every token of the last layer's output (`finalNorm`).
    let postLayerNorm: LayerNorm?

    /// Builds the tower from `weights` under `prefix` (e.g. `vision_tower.vision_model`).
    public init(configuration c: VisionTowerConfiguration, weights: inout some WeightSource, prefix: String) throws {
        configuration = c
        let h = c.hiddenSize
        patchWeight = try wrapTensorErrors {
            try weights.tensor("\(prefix).embeddings.patch_embedding.weight",
                               shape: [h, c.channelCount, c.patchSize, c.patchSize])
                .reshaped([h, c.channelCount * c.patchSize * c.patchSize])
        }
        let family = c.family
        patchBias = family.hasPatchBias ? try weights.tensor("\(prefix).embeddings.patch_embedding.bias", shape: [h]) : nil
        if let native = c.nativeImageSize {
            // DINOv2: [CLS] and the position table as [1, 1, h] and [1, 1 + g², h] at the native grid g, resized to
            // the input grid once here; its [CLS] row stays as stored. The mask token serves training only.
            classEmbedding = try wrapTensorErrors { try weights.tensor("\(prefix).embeddings.class_embedding", shape: [1, 1, h]).reshaped([h]) }
            _ = try weights.tensor("\(prefix).embeddings.mask_token", shape: [1, h])
            let g = native / c.patchSize, side = c.patchesPerSide
            let table = try weights.tensor("\(prefix).embeddings.position_embedding.weight", shape: [1, 1 + g * g, h])
            positionEmbedding = try wrapTensorErrors {
                let rows = try table.reshaped([1 + g * g, h])
                let grid = g == side ? try rows.rows(1..<(1 + g * g))
                    : PositionGridInterpolation.bicubic(try rows.rows(1..<(1 + g * g)), from: (g, g), to: (side, side))
                return try Tensor.concatenateRows([try rows.rows(0..<1), grid])
            }
        } else {
            classEmbedding = family.hasClassToken ? try weights.tensor("\(prefix).embeddings.class_embedding", shape: [h]) : nil
            positionEmbedding = try weights.tensor("\(prefix).embeddings.position_embedding.weight", shape: [c.tokenCount, h])
        }
        preLayerNorm = family.hasPreLayerNorm ? try weights.layerNorm("\(prefix).pre_layrnorm", width: h, eps: c.layerNormEps) : nil
        layers = try (0..<c.layerCount).map { i in
            try EncoderLayer(weights: &weights, prefix: "\(prefix).encoder.layers.\(i)", hidden: h, intermediate: c.intermediateSize,
                             eps: c.layerNormEps, layerScale: family.hasLayerScale)
        }
        postLayerNorm = try weights.optionalLayerNorm("\(prefix).post_layernorm", width: h, eps: c.layerNormEps)
    }

    /// Runs the tower on one image only as deep as the requests need.
    ///
    /// - Parameters:
    ///   - pixels: normalised image `[channels, imageSize, imageSize]`.
    ///   - hiddenStates: transformers hidden-state indices to return (0 ... layerCount).
    ///   - attentions: per layer index, which attention probabilities to return (`.rows([0])` = the [CLS]
    ///     query row only; `.columnSums` = the attention each token receives, summed over queries).
    ///   - headMeanKeys: layers whose keys, averaged over the heads, to return.
    /// - Throws: `ModelError.invalidInput` for a wrong pixel shape, NaN/infinite pixels or indices out of range.
    public func encode(
        pixels: Tensor, hiddenStates: Set<Int>, attentions: [Int: AttentionProbabilityRequest] = [:],
        headMeanKeys: Set<Int> = []
    ) throws -> VisionTowerOutput {
        let c = configuration
        guard pixels.shape == [c.channelCount, c.imageSize, c.imageSize] else {
            throw ModelError.invalidInput("pixel values have shape \(pixels.shape), expected [\(c.channelCount), \(c.imageSize), \(c.imageSize)]")
        }
        if let bad = pixels.firstNonFiniteIndex {
            let side = c.imageSize * c.imageSize
            throw ModelError.invalidInput(
                "pixel value at channel \(bad / side), row \(bad % side / c.imageSize), column \(bad % c.imageSize) is NaN or infinite")
        }
        if let bad = hiddenStates.first(where: { !(0...c.layerCount).contains($0) }) {
            throw ModelError.invalidInput("vision hidden state \(bad) is outside 0...\(c.layerCount)")
        }
        if let bad = attentions.keys.first(where: { !(0..<c.layerCount).contains($0) }) {
            throw ModelError.invalidInput("vision attention layer \(bad) is outside 0..<\(c.layerCount)")
        }
        if let bad = headMeanKeys.first(where: { !(0..<c.layerCount).contains($0) }) {
            throw ModelError.invalidInput("vision key layer \(bad) is outside 0..<\(c.layerCount)")
        }
        let embeddings = try embed(pixels)
        var x = try preLayerNorm.map { try $0(embeddings) } ?? embeddings
        var output = VisionTowerOutput(embeddings: embeddings, hiddenStates: [:], attentions: [:])
        if hiddenStates.contains(0) { output.hiddenStates[0] = x }
        let depth = max(hiddenStates.max() ?? 0, (attentions.keys.max() ?? -1) + 1, (headMeanKeys.max() ?? -1) + 1)
        for i in 0..<depth {
            let (probabilities, keys) = try layers[i](&x, heads: c.headCount, activation: c.activation,
                                                      probabilities: attentions[i] ?? .none, wantsKeys: headMeanKeys.contains(i))
            output.headMeanKeys[i] = keys
            if let bad = x.firstNonFiniteIndex {
                throw ModelError.invalidInput(
                    "vision layer \(i) produced a NaN or infinite value (token \(bad / c.hiddenSize), hidden unit \(bad % c.hiddenSize))")
            }
            if let probabilities { output.attentions[i] = probabilities }
            if hiddenStates.contains(i + 1) { output.hiddenStates[i + 1] = x }
        }
        return output
    }

    /// The final LayerNorm applied to every row of `hidden [tokens, hidden]` (DINOv2's `last_hidden_state` from
    /// the last hidden state).
    /// - Throws: `ModelError.missingTensor` when the checkpoint had no final norm.
    public func finalNorm(_ hidden: Tensor) throws -> Tensor {
        guard let postLayerNorm else { throw ModelError.missingTensor(name: "post_layernorm.weight") }
        return try postLayerNorm(hidden)
    }

    /// Patchify (row-major grid, each patch ordered channel, y, x; pixels past the last whole patch ignored),
    /// project (+ bias), prepend [CLS] when the tower has one, add positions.
    private func embed(_ pixels: Tensor) throws -> Tensor {
        let c = configuration
        let p = c.patchSize, side = c.patchesPerSide, size = c.imageSize
        let patches = Tensor(shape: [c.patchCount, c.channelCount * p * p]) { out in
            pixels.withUnsafeBufferPointer { px in
                var o = 0
                for row in 0..<side {
                    for col in 0..<side {
                        for ch in 0..<c.channelCount {
                            for y in 0..<p {
                                let src = px.baseAddress! + ch * size * size + (row * p + y) * size + col * p
                                (out.baseAddress! + o).update(from: src, count: p)
                                o += p
                            }
                        }
                    }
                }
            }
        }
        return try wrapTensorErrors {
            var tokens = try patches.matmul(patchWeight, transposeOther: true, bias: patchBias)
            if let classEmbedding { tokens = try Tensor.concatenateRows([classEmbedding.reshaped([1, c.hiddenSize]), tokens]) }
            try tokens.add(positionEmbedding)
            return tokens
        }
    }
}
