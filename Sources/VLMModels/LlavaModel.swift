import Foundation
import TensorCore

/// A LLaVA-1.5-style model: CLIP vision tower → projector → LLaMA decoder, loaded from a Hugging Face
/// folder (`config.json` + `.safetensors`, F32/F16/BF16, classic or transformers-5 key layout) or built
/// from generated weights. Immutable and `Sendable`: share one instance across tasks.
public struct LlavaModel: Sendable {
    /// The model's configuration.
    public let configuration: LlavaConfiguration
    /// The vision tower.
    public let vision: CLIPVisionEncoder
    /// The vision-to-language projector.
    public let projector: MultiModalProjector
    /// The language model.
    public let language: LlamaDecoder
    /// Token ids that end greedy generation: `generation_config.json`'s `eos_token_id` when the folder has one,
    /// else `text_config.eos_token_id`.
    public let endOfSequenceIds: Set<Int>

    /// Loads `config.json` and the safetensors weights in `directory`, holding matrices in `weights` precision
    /// (default: as stored). Weights stream from the mapped files into their final packed form: loading holds
    /// about one copy of the model in that precision, never a whole-model Float32 copy.
    /// - Throws: `ModelError` for unreadable or malformed files, missing, mis-shaped, non-finite or unused tensors.
    public init(directory: URL, weights precision: LoadPrecision = .checkpoint) throws {
        let configuration = try LlavaConfiguration.load(directory: directory)
        let generation = try GenerationConfiguration.load(directory: directory)
        var weights = try CheckpointWeights(checkpoint: SafetensorsCheckpoint(directory: directory), precision: precision)
        try self.init(configuration: configuration, weights: &weights,
                      endOfSequenceIds: generation?.endOfSequenceIds)
        try weights.verifyAllConsumed()
    }

    /// Builds the model from any weight source (checkpoint or generated); `endOfSequenceIds` overrides the
    /// text configuration's `eos_token_id` as the ids that end generation.
    public init(
        configuration: LlavaConfiguration, weights: inout some WeightSource, endOfSequenceIds: [Int]? = nil
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.endOfSequenceIds = Set(endOfSequenceIds ?? configuration.text.eosTokenIds)
        vision = try CLIPVisionEncoder(configuration: configuration.vision, weights: &weights,
                                       prefix: "vision_tower.vision_model")
        projector = try MultiModalProjector(configuration: configuration, weights: &weights)
        language = try LlamaDecoder(configuration: configuration.text, weights: &weights)
    }

    /// A model with deterministic pseudo-random weights (benchmarks and tests), matrices held in `precision`.
    public static func generated(
        configuration: LlavaConfiguration, seed: UInt64 = 1, precision: WeightPrecision = .f32
    ) throws -> LlavaModel {
        var weights = GeneratedWeights(seed: seed, precision: precision)
        return try LlavaModel(configuration: configuration, weights: &weights)
    }

    /// The layout of a prompt with one image placeholder.
    /// - Throws: `ModelError.invalidInput` for a missing/duplicate placeholder or ids outside the vocabulary.
    public func layout(tokenIds: [Int]) throws -> PromptLayout {
        if let bad = tokenIds.first(where: { !(0..<configuration.text.vocabularySize).contains($0) }) {
            throw ModelError.invalidInput("token id \(bad) is outside the vocabulary 0..<\(configuration.text.vocabularySize)")
        }
        return try PromptLayout(tokenIds: tokenIds, imageTokenId: configuration.imageTokenIndex,
                                imageTokenCount: configuration.visualTokenCount)
    }

    /// Runs the vision tower and selects the projector's input features.
    /// - Parameter attentions: extra attention rows to record per vision layer (e.g. `.rows([0])` for [CLS]).
    /// - Returns: `features [visualTokens, visionHidden]` (CLS dropped under `.patchesOnly`) and the raw output.
    public func encodeImage(
        pixels: Tensor, attentions: [Int: AttentionProbabilityRequest] = [:]
    ) throws -> (features: Tensor, vision: CLIPVisionOutput) {
        let layer = configuration.resolvedVisionFeatureLayer
        let output = try vision.encode(pixels: pixels, hiddenStates: [layer], attentions: attentions)
        let hidden = output.hiddenStates[layer]!
        let features = configuration.visionFeatureSelection == .patchesOnly
            ? try wrapTensorErrors { try hidden.rows(1..<hidden.shape[0]) } : hidden
        return (features, output)
    }

    /// Language-model input embeddings for `layout`: text embeddings with `visual [k, textHidden]` written over
    /// the image span (k = `layout.imageTokenCount`).
    public func inputEmbeddings(layout: PromptLayout, visual: Tensor) throws -> Tensor {
        guard visual.shape == [layout.imageTokenCount, configuration.text.hiddenSize] else {
            throw ModelError.invalidInput("visual tokens \(visual.shape), expected [\(layout.imageTokenCount), \(configuration.text.hiddenSize)]")
        }
        return try embeddings(layout: layout, splicing: visual)
    }

    /// Language-model input for `layout` with the placeholder replaced by `visual [k, textHidden]` for any
    /// k >= 1 (every visual token, or those kept by pruning): the text before the placeholder, the visual rows,
    /// the text after it, `[tokenIds.count − 1 + k, textHidden]`.
    /// - Throws: `ModelError.invalidInput` when `visual` is not `[k >= 1, textHidden]` or an id is outside the vocabulary.
    public func embeddings(layout: PromptLayout, splicing visual: Tensor) throws -> Tensor {
        guard visual.shape.rank == 2, visual.shape[0] >= 1, visual.shape[1] == configuration.text.hiddenSize else {
            throw ModelError.invalidInput("visual tokens \(visual.shape), expected [k >= 1, \(configuration.text.hiddenSize)]")
        }
        let text = try language.embed(layout.tokenIds)
        return try wrapTensorErrors {
            let before = try text.rows(0..<layout.imageStart)
            let after = try text.rows((layout.imageStart + 1)..<layout.tokenIds.count)
            return try Tensor.concatenateRows([before, visual, after].filter { $0.shape[0] > 0 })
        }
    }

    /// The unpruned model's prefill of one image and prompt, ready for `language.advance`: the prompt layout and
    /// the decoder state before layer 0, every expanded row at its position 0, 1, 2, ….
    public func beginPrefill(pixels: Tensor, tokenIds: [Int]) throws -> (layout: PromptLayout, state: DecoderState) {
        let layout = try layout(tokenIds: tokenIds)
        let visual = try projector(try encodeImage(pixels: pixels).features)
        let state = try language.beginPrefill(embeddings: try inputEmbeddings(layout: layout, visual: visual),
                                              positions: Array(0..<layout.expandedLength))
        return (layout, state)
    }

    /// Next-token logits of the unpruned model after `tokenIds` (one placeholder) with image `pixels`.
    public func nextTokenLogits(pixels: Tensor, tokenIds: [Int]) throws -> [Float] {
        try generate(pixels: pixels, tokenIds: tokenIds, maxNewTokens: 0).firstLogits
    }

    /// Greedy continuation of the unpruned model: up to `maxNewTokens` tokens (argmax), ending after the first
    /// end-of-sequence token unless `stopAtEndOfSequence` is false (then exactly `maxNewTokens`), and the
    /// logits that chose the first one.
    public func generate(
        pixels: Tensor, tokenIds: [Int], maxNewTokens: Int, stopAtEndOfSequence: Bool = true
    ) throws -> (tokens: [Int], firstLogits: [Float]) {
        var (layout, state) = try beginPrefill(pixels: pixels, tokenIds: tokenIds)
        var cache = language.makeCache()
        try language.advance(&state, to: configuration.text.layerCount, cache: &cache)
        let first = try language.logits(state.hidden, rows: [state.hidden.shape[0] - 1]).scalars
        let tokens = try language.continuation(from: first, nextPosition: layout.expandedLength,
                                               choosing: .greedy(maxCount: maxNewTokens, stopAt: stopAtEndOfSequence ? endOfSequenceIds : []),
                                               cache: &cache).tokens
        return (tokens, first)
    }
}
