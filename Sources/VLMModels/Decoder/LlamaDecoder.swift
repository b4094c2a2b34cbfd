import TensorCore

// A port of transformers' LlamaModel + lm_head (modeling_llama.py; Qwen2Model is the same with q/k/v biases),
// with a KV cache and explicit positions.

/// The LLaMA/Mistral/Qwen2 decoder: token embeddings, RMSNorm, rotate-half RoPE, grouped-query attention (q/k/v
/// biases for Qwen2), SwiGLU MLP, final norm and `lm_head`. Immutable and `Sendable`; per-sequence state lives in `KVCache` and `DecoderState`.
public struct LlamaDecoder: Sendable {
    struct Layer: Sendable {
        var inputNorm: RMSNorm
        var qkv: Linear  // q, k, v stacked: [(heads + 2 kvHeads) · headDim, hidden]
        var out: Linear
        var postAttentionNorm: RMSNorm
        var gateUp: Linear  // gate, up stacked: [2 · intermediate, hidden]
        var down: Linear
    }

    /// The decoder's configuration.
    public let configuration: LlamaConfiguration
    /// Token embedding matrix `[vocab, hidden]`, held in the load precision; `embed` converts only the rows used.
    public let embeddingTable: PackedMatrix
    let layers: [Layer]
    let norm: RMSNorm
    /// `[vocab, hidden]`; the embedding table itself when `tie_word_embeddings`.
    let lmHead: PackedMatrix
    let rope: RotaryEmbedding

    /// Builds the decoder from `weights` (`language_model.model.*`, `language_model.lm_head.weight`).
    public init(configuration c: LlamaConfiguration, weights: inout some WeightSource) throws {
        configuration = c
        let h = c.hiddenSize, d = c.headDimension
        let p = "language_model.model"
        embeddingTable = try weights.matrix(["\(p).embed_tokens.weight"], rowCounts: [c.vocabularySize], inputs: h)
        layers = try (0..<c.layerCount).map { i in
            let l = "\(p).layers.\(i)"
            let qkv = try weights.linear(
                stacking: ["q_proj", "k_proj", "v_proj"].map { "\(l).self_attn.\($0)" }, inputs: h,
                outputs: [c.headCount * d, c.kvHeadCount * d, c.kvHeadCount * d], bias: c.queryKeyValueBias)
            let gateUp = try weights.linear(stacking: ["\(l).mlp.gate_proj", "\(l).mlp.up_proj"], inputs: h,
                                            outputs: [c.intermediateSize, c.intermediateSize], bias: false)
            return Layer(
                inputNorm: try weights.rmsNorm("\(l).input_layernorm", width: h, eps: c.rmsNormEps),
                qkv: qkv,
                out: try weights.linear("\(l).self_attn.o_proj", inputs: c.headCount * d, outputs: h, bias: false),
                postAttentionNorm: try weights.rmsNorm("\(l).post_attention_layernorm", width: h, eps: c.rmsNormEps),
                gateUp: gateUp,
                down: try weights.linear("\(l).mlp.down_proj", inputs: c.intermediateSize, outputs: h, bias: false))
        }
        norm = try weights.rmsNorm("\(p).norm", width: h, eps: c.rmsNormEps)
        lmHead = c.tieWordEmbeddings ? embeddingTable
            : try weights.matrix(["language_model.lm_head.weight"], rowCounts: [c.vocabularySize], inputs: h)
        rope = try wrapTensorErrors { try RotaryEmbedding(headDimension: d, theta: c.ropeTheta, sections: c.mropeSection) }
    }

    /// Bytes of the matrices one decoding step reads, in their load precision: every layer's linears and `lm_head`.
    public var decodeWeightBytes: Int {
        layers.reduce(lmHead.storageBytes) {
            $0 + $1.qkv.weight.storageBytes + $1.out.weight.storageBytes + $1.gateUp.weight.storageBytes + $1.down.weight.storageBytes
        }
    }

    /// An empty KV cache sized for this decoder.
    public func makeCache() -> KVCache {
        KVCache(checkedLayerCount: configuration.layerCount, rowWidth: configuration.kvHeadCount * configuration.headDimension)
    }

    /// Embedding rows of `tokenIds`, `[n, hidden]`.
    /// - Throws: `ModelError.invalidInput` for an id outside the vocabulary.
    public func embed(_ tokenIds: [Int]) throws -> Tensor {
        if let bad = tokenIds.first(where: { !(0..<configuration.vocabularySize).contains($0) }) {
            throw ModelError.invalidInput("token id \(bad) is outside the vocabulary 0..<\(configuration.vocabularySize)")
        }
        return try wrapTensorErrors { try embeddingTable.gatherRows(tokenIds) }
    }

    /// A prefill state for `embeddings [n, hidden]` at `positions` (the same index on every axis), before layer 0.
    /// - Throws: as `beginPrefill(embeddings:rotaryPositions:)`.
    public func beginPrefill(embeddings: Tensor, positions: [Int]) throws -> DecoderState {
        try beginPrefill(embeddings: embeddings, rotaryPositions: positions.map(RotaryPosition.init))
    }

    /// A prefill state for `embeddings [n, hidden]` at `rotaryPositions`, before layer 0. Only an M-RoPE model
    /// (`mropeSection`) takes positions whose axes differ.
    /// - Throws: `ModelError.invalidInput` for a shape/position mismatch, negative positions, positions beyond
    ///   `max_position_embeddings` or a sliding window, 3-D positions for a 1-D RoPE model, or NaN inputs.
    public func beginPrefill(embeddings: Tensor, rotaryPositions: [RotaryPosition]) throws -> DecoderState {
        guard embeddings.shape.rank == 2, embeddings.shape[1] == configuration.hiddenSize,
              embeddings.shape[0] == rotaryPositions.count, !rotaryPositions.isEmpty else {
            throw ModelError.invalidInput(
                "embeddings \(embeddings.shape) do not match \(rotaryPositions.count) positions of width \(configuration.hiddenSize)")
        }
        if let bad = rotaryPositions.first(where: { $0.minimum < 0 }) { throw ModelError.invalidInput("negative position \(bad)") }
        if configuration.mropeSection == nil, let bad = rotaryPositions.first(where: { !$0.isUniform }) {
            throw ModelError.invalidInput("position \(bad) has distinct axes, but this text model uses 1-D RoPE (no mrope_section)")
        }
        let positions = rotaryPositions.map(\.maximum)
        if let last = positions.max(), last >= configuration.maxPositionEmbeddings {
            throw ModelError.invalidInput(
                "position \(last) is beyond max_position_embeddings \(configuration.maxPositionEmbeddings) of the text model")
        }
        if let window = configuration.slidingWindow, let last = positions.max(), last >= window {
            throw ModelError.invalidInput(
                "position \(last) is beyond the sliding attention window of \(window) positions, which is not implemented; shorten the prompt or generate fewer tokens")
        }
        if let bad = embeddings.firstNonFiniteIndex {
            throw ModelError.invalidInput(
                "input embedding row \(bad / configuration.hiddenSize), column \(bad % configuration.hiddenSize) is NaN or infinite")
        }
        return DecoderState(hidden: embeddings, rotaryPositions: rotaryPositions, sourceRows: Array(positions.indices), nextLayer: 0)
    }

    /// Runs layers `state.nextLayer ..< endLayer`, appending each layer's keys and values to `cache`.
    /// - Throws: `ModelError.invalidInput` naming the layer whose output holds a NaN or infinite value.
    /// - Parameter attentions: per layer, which probability rows to return (`[heads, rows, keys]`).
    /// - Returns: the requested attention probabilities by layer.
    @discardableResult
    public func advance(
        _ state: inout DecoderState, to endLayer: Int, cache: inout KVCache,
        attentions: [Int: AttentionProbabilityRequest] = [:]
    ) throws -> [Int: Tensor] {
        guard (state.nextLayer...configuration.layerCount).contains(endLayer) else {
            throw ModelError.invalidInput("cannot advance from layer \(state.nextLayer) to \(endLayer) of \(configuration.layerCount)")
        }
        var recorded: [Int: Tensor] = [:]
        for i in state.nextLayer..<endLayer {
            if let p = try run(layer: i, hidden: &state.hidden, positions: state.rotaryPositions, cache: &cache,
                               probabilities: attentions[i] ?? .none) {
                recorded[i] = p
            }
            // A value that overflows inside the network is reported where it appears, not as garbage logits.
            if let bad = state.hidden.firstNonFiniteIndex {
                throw ModelError.invalidInput(
                    "decoder layer \(i) produced a NaN or infinite value (sequence row \(bad / configuration.hiddenSize), hidden unit \(bad % configuration.hiddenSize))")
            }
            state.nextLayer = i + 1
        }
        return recorded
    }

    /// Final RMSNorm of `hidden [n, hidden]`.
    public func finalNorm(_ hidden: Tensor) throws -> Tensor { try norm(hidden) }

    /// Next-token logits `[rows.count, vocab]` for the given rows of a residual stream (final norm + lm_head).
    public func logits(_ hidden: Tensor, rows: [Int]) throws -> Tensor {
        let selected = try wrapTensorErrors { try hidden.gatherRows(rows) }
        return try wrapTensorErrors { try norm(selected).matmul(lmHead) }
    }

    /// One decoding step: feeds `token` at `position` through every layer (attending to each layer's cache,
    /// which grows by one) and returns its next-token logits.
    /// - Throws: `ModelError.invalidInput` for an unknown token or a cache from another model.
    public func decode(token: Int, position: Int, cache: inout KVCache) throws -> [Float] {
        guard cache.layers.count == configuration.layerCount else {
            throw ModelError.invalidInput("KV cache has \(cache.layers.count) layers, the decoder \(configuration.layerCount)")
        }
        var state = try beginPrefill(embeddings: try embed([token]), positions: [position])
        try advance(&state, to: configuration.layerCount, cache: &cache)
        return try logits(state.hidden, rows: [0]).scalars
    }

    /// One decoder layer in place on `hidden [n, width]`.
    private func run(
        layer index: Int, hidden x: inout Tensor, positions: [RotaryPosition], cache: inout KVCache,
        probabilities: AttentionProbabilityRequest
    ) throws -> Tensor? {
        let c = configuration, layer = layers[index]
        let qWidth = c.headCount * c.headDimension, kvWidth = c.kvHeadCount * c.headDimension
        let qkv = try layer.qkv(try layer.inputNorm(x))
        let n = positions.count
        let result = try wrapTensorErrors {
            let q = try rope.rotated(qkv.columns(0..<qWidth), heads: c.headCount, positions: positions)
            let k = try rope.rotated(qkv.columns(qWidth..<(qWidth + kvWidth)), heads: c.kvHeadCount, positions: positions)
            let v = try qkv.columns((qWidth + kvWidth)..<(qWidth + 2 * kvWidth))
            try cache.append(layer: index, keys: k, values: v, positions: positions.map(\.temporal))
            let entry = cache.layers[index]
            return try Attention.scaledDotProduct(
                query: q, key: entry.keys, value: entry.values, heads: c.headCount, kvHeads: c.kvHeadCount,
                keyCount: entry.count, causal: true, queryOffset: entry.count - n, probabilities: probabilities)
        }
        try wrapTensorErrors { try x.add(try layer.out(result.output)) }
        let gateUp = try layer.gateUp(try layer.postAttentionNorm(x))
        let m = c.intermediateSize
        let activated = try wrapTensorErrors {
            try gateUp.columns(0..<m).applying(c.activation).multiplying(try gateUp.columns(m..<(2 * m)))
        }
        try wrapTensorErrors { try x.add(try layer.down(activated)) }
        return result.probabilities
    }
}
