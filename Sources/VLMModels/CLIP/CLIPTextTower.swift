import Foundation
import TensorCore

// A port of transformers' CLIPTextModelWithProjection (modeling_clip.py), and the image-side head of CLIPModel.

/// A CLIP text tower with its projection and tokenizer, and, for a `CLIPModel` checkpoint, the image side's
/// `post_layernorm` and `visual_projection`: the two embeddings CLIP compares (CDPruner's relevance of each
/// image patch to the question). Token and position embeddings, causal pre-norm layers (`EncoderLayer`),
/// `final_layer_norm`, the end-of-text token's state through `text_projection`. Immutable and `Sendable`.
public struct CLIPTextTower: Sendable {
    /// The tower's configuration.
    public let configuration: CLIPTextConfiguration
    /// The checkpoint's CLIP BPE tokenizer (`tokenizer.json`).
    public let tokenizer: Tokenizer
    let tokenEmbedding: Tensor  // [vocab, hidden]
    let positionEmbedding: Tensor  // [positions, hidden]
    let layers: [EncoderLayer]
    let finalNorm: LayerNorm
    let textProjection: Linear
    let visionPostLayerNorm: LayerNorm?
    let visualProjection: Linear?

    /// Loads `config.json`, `tokenizer.json` and the safetensors weights in `directory` (a `CLIPModel` such as
    /// openai/clip-vit-large-patch14-336, or a `CLIPTextModelWithProjection`). A `CLIPModel`'s vision encoder and
    /// `logit_scale` are not read.
    /// - Throws: `ModelError` for unreadable or malformed files and missing or mis-shaped tensors,
    ///   `TokenizerError` for a tokenizer the library cannot apply.
    public init(directory: URL, weights precision: LoadPrecision = .checkpoint) throws {
        let configuration = try CLIPTextConfiguration.load(directory: directory)
        var weights = try CheckpointWeights(checkpoint: SafetensorsCheckpoint(directory: directory), precision: precision)
        try self.init(configuration: configuration, tokenizer: try Tokenizer(directory: directory), weights: &weights)
    }

    /// Builds the tower from any weight source under the `CLIPModel` names (`text_model.*`, `text_projection`,
    /// `vision_model.post_layernorm`, `visual_projection` when `configuration.visionHiddenSize` is set).
    /// - Throws: `ModelError` for missing or mis-shaped tensors.
    public init(configuration c: CLIPTextConfiguration, tokenizer: Tokenizer, weights: inout some WeightSource) throws {
        configuration = c
        self.tokenizer = tokenizer
        let h = c.hiddenSize
        tokenEmbedding = try weights.tensor("text_model.embeddings.token_embedding.weight", shape: [c.vocabularySize, h])
        positionEmbedding = try weights.tensor("text_model.embeddings.position_embedding.weight", shape: [c.maxPositions, h])
        layers = try (0..<c.layerCount).map { i in
            try EncoderLayer(weights: &weights, prefix: "text_model.encoder.layers.\(i)", hidden: h, intermediate: c.intermediateSize,
                             eps: c.layerNormEps)
        }
        finalNorm = try weights.layerNorm("text_model.final_layer_norm", width: h, eps: c.layerNormEps)
        textProjection = try weights.linear("text_projection", inputs: h, outputs: c.projectionDim, bias: false)
        if let v = c.visionHiddenSize {
            visionPostLayerNorm = try weights.layerNorm("vision_model.post_layernorm", width: v, eps: c.layerNormEps)
            visualProjection = try weights.linear("visual_projection", inputs: v, outputs: c.projectionDim, bias: false)
        } else {
            visionPostLayerNorm = nil
            visualProjection = nil
        }
    }

    /// `text` as the tower reads it: start token, tokens, end token, truncated to `maxPositions` with the end
    /// token kept last (the tokenizer's `truncation=True`; CDPruner's official code splits a longer question
    /// into 77-token segments instead, whose first segments have no end token to pool).
    /// - Throws: `TokenizerError` for a character the vocabulary cannot represent.
    public func tokenIds(_ text: String) throws -> [Int] {
        let ids = try tokenizer.encode(text)
        guard ids.count > configuration.maxPositions else { return ids }
        return Array(ids.prefix(configuration.maxPositions - 1)) + [ids.last!]
    }

    /// The final-layer-normed hidden states of `ids`, `[ids.count, hidden]`.
    /// - Throws: `ModelError.invalidInput` for no ids, more than `maxPositions` or an id outside the vocabulary.
    public func hiddenStates(ids: [Int]) throws -> Tensor {
        let c = configuration
        guard (1...c.maxPositions).contains(ids.count) else {
            throw ModelError.invalidInput("\(ids.count) text tokens; the CLIP text tower reads 1...\(c.maxPositions)")
        }
        if let bad = ids.first(where: { !(0..<c.vocabularySize).contains($0) }) {
            throw ModelError.invalidInput("token id \(bad) is outside the CLIP vocabulary 0..<\(c.vocabularySize)")
        }
        return try wrapTensorErrors {
            var x = try tokenEmbedding.gatherRows(ids)
            try x.add(try positionEmbedding.rows(0..<ids.count))
            for layer in layers { _ = try layer(&x, heads: c.headCount, activation: c.activation, causal: true) }
            return try finalNorm(x)
        }
    }

    /// CLIP's text embedding of `ids` (`text_embeds`, `[projectionDim]`): the state at the end-of-text token
    /// (the largest id under the legacy `eos_token_id` 2, else the first `eos_token_id`; the last token when
    /// there is none) through `text_projection`.
    /// - Throws: as `hiddenStates(ids:)`.
    public func textEmbedding(ids: [Int]) throws -> [Float] {
        let hidden = try hiddenStates(ids: ids)
        let eos = configuration.endOfTextId
        let row = eos == 2 ? ids.indices.max { ids[$0] < ids[$1] || (ids[$0] == ids[$1] && $0 > $1) }!
            : ids.firstIndex(of: eos) ?? ids.count - 1
        return try wrapTensorErrors { try textProjection(try hidden.rows(row..<(row + 1))).scalars }
    }

    /// CLIP's text embedding of `text` (`tokenIds`, then `textEmbedding(ids:)`).
    /// - Throws: as `tokenIds` and `hiddenStates(ids:)`.
    public func textEmbedding(_ text: String) throws -> [Float] { try textEmbedding(ids: try tokenIds(text)) }

    /// CLIP's image-side embedding of vision features `[rows, visionHidden]`: `visual_projection(post_layernorm(x))`,
    /// `[rows, projectionDim]` (CDPruner applies it to the feature layer's patches).
    /// - Throws: `ModelError.invalidInput` when the checkpoint has no image head or the width differs.
    public func imageEmbeddings(_ features: Tensor) throws -> Tensor {
        guard let visionPostLayerNorm, let visualProjection, let width = configuration.visionHiddenSize else {
            throw ModelError.invalidInput("this CLIP checkpoint has no visual_projection (a CLIPTextModelWithProjection); CDPruner's relevance needs a CLIPModel folder")
        }
        guard features.shape.rank == 2, features.shape[1] == width else {
            throw ModelError.invalidInput("vision features \(features.shape) are not \(width) wide, the CLIP vision width")
        }
        return try wrapTensorErrors { try visualProjection(try visionPostLayerNorm(features)) }
    }
}
