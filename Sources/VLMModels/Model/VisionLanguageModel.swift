import TensorCore

/// A vision-language model as the pruning library drives it, whatever its family: images become visual tokens
/// (encoded per view, then projected into the language model's width), a prompt with one image placeholder
/// lays them out, and a decoder (`LlamaDecoder`: LLaMA, Mistral, Qwen2, with M-RoPE for Qwen2.5-VL) reads the
/// result. A family is a type that conforms (`LlavaModel` for LLaVA-1.5, NeXT and OneVision, `Qwen25VLModel`) and a
/// line in `ModelRegistry`.
public protocol VisionLanguageModel: Sendable {
    /// What pruning methods may know of the model's shape.
    var modelDescription: any ModelDescription { get }
    /// The language model.
    var language: LlamaDecoder { get }
    /// Token ids that end greedy generation.
    var endOfSequenceIds: Set<Int> { get }

    /// `image` as the model's vision tower takes it (its own preprocessing).
    /// - Throws: `ModelError.invalidInput` when the image cannot be processed.
    func preprocess(_ image: RGBImage) throws -> ImageInput
    /// Runs the vision tower on every view, as deep as the features and `request` need.
    /// - Throws: `ModelError.invalidInput` when the input does not suit the model (or it has no [CLS] for a
    ///   [CLS] attention request).
    func encodeImage(_ image: ImageInput, requesting request: VisionRequest) throws -> EncodedImage
    /// The layout of a prompt with one image placeholder that expands into `imageTokenCount` visual tokens.
    /// - Throws: `ModelError.invalidInput` for a missing/duplicate placeholder or ids outside the vocabulary.
    func layout(tokenIds: [Int], imageTokenCount: Int) throws -> PromptLayout
    /// Language-model rows `[indices.count, textHidden]` for the visual tokens at `indices` (all when nil).
    /// - Throws: `ModelError.invalidInput` for an empty list or indices outside the image's tokens.
    func visualEmbeddings(_ encoded: EncodedImage, keeping indices: [Int]?) throws -> Tensor
    /// The projector on vision feature rows `[rows, visionHidden]` (e.g. merged tokens): `[rows, textHidden]`.
    /// - Throws: `ModelError.invalidInput` for a wrong width.
    func projectFeatures(_ features: Tensor) throws -> Tensor
    /// The rotary position of every row of `layout`'s expanded sequence, unpruned, for an image whose visual
    /// tokens are `tokens` (`layout.expandedLength` entries): 0, 1, 2, … for 1-D RoPE; for M-RoPE the 3-D
    /// positions transformers' `get_rope_index` gives.
    func rotaryPositions(layout: PromptLayout, tokens: VisualTokenMap) -> [RotaryPosition]
    /// FLOPs of the vision tower on `image`, `layers` layers deep (2 per multiply-add).
    func visionFlops(image: ImageInput, layers: Int) -> Double
    /// FLOPs of the projector over `rows` encoder rows (2 per multiply-add).
    func projectorFlops(rows: Int) -> Double
}

extension VisionLanguageModel {
    /// 1-D RoPE: row i at position i.
    public func rotaryPositions(layout: PromptLayout, tokens: VisualTokenMap) -> [RotaryPosition] {
        (0..<layout.expandedLength).map(RotaryPosition.init)
    }

    /// `encodeImage` of the features alone.
    public func encodeImage(_ image: ImageInput) throws -> EncodedImage {
        try encodeImage(image, requesting: VisionRequest())
    }

    /// Language-model input for `layout` with the placeholder replaced by `visual [k, textHidden]` for any k >= 1
    /// (every visual token, or those kept by pruning): the text before the placeholder, the visual rows, the text
    /// after it, `[tokenIds.count − 1 + k, textHidden]`.
    /// - Throws: `ModelError.invalidInput` when `visual` is not `[k >= 1, textHidden]` or an id is outside the vocabulary.
    public func embeddings(layout: PromptLayout, splicing visual: Tensor) throws -> Tensor {
        let width = language.configuration.hiddenSize
        guard visual.shape.rank == 2, visual.shape[0] >= 1, visual.shape[1] == width else {
            throw ModelError.invalidInput("visual tokens \(visual.shape), expected [k >= 1, \(width)]")
        }
        let text = try language.embed(layout.tokenIds)
        return try wrapTensorErrors {
            let before = try text.rows(0..<layout.imageStart)
            let after = try text.rows((layout.imageStart + 1)..<layout.tokenIds.count)
            return try Tensor.concatenateRows([before, visual, after].filter { $0.shape[0] > 0 })
        }
    }

    /// Language-model rows for every visual token.
    public func visualEmbeddings(_ encoded: EncodedImage) throws -> Tensor { try visualEmbeddings(encoded, keeping: nil) }

    /// Language-model input embeddings for `layout`: text embeddings with `visual [k, textHidden]` written over
    /// the image span (k = `layout.imageTokenCount`).
    /// - Throws: `ModelError.invalidInput` when `visual` is not `[imageTokenCount, textHidden]`.
    public func inputEmbeddings(layout: PromptLayout, visual: Tensor) throws -> Tensor {
        guard visual.shape == [layout.imageTokenCount, language.configuration.hiddenSize] else {
            throw ModelError.invalidInput("visual tokens \(visual.shape), expected [\(layout.imageTokenCount), \(language.configuration.hiddenSize)]")
        }
        return try embeddings(layout: layout, splicing: visual)
    }

    /// The unpruned model's prefill of one image and prompt, ready for `language.advance`: every expanded row
    /// at its rotary position (`rotaryPositions`). The one prefill path of generation, calibration and evaluation.
    public func beginPrefill(image: ImageInput, tokenIds: [Int]) throws -> Prefill {
        let encoded = try encodeImage(image)
        let layout = try layout(tokenIds: tokenIds, imageTokenCount: encoded.tokens.count)
        let state = try language.beginPrefill(embeddings: try inputEmbeddings(layout: layout, visual: try visualEmbeddings(encoded)),
                                              rotaryPositions: rotaryPositions(layout: layout, tokens: encoded.tokens))
        return Prefill(layout: layout, state: state)
    }

    /// Next-token logits of the unpruned model after `tokenIds` (one placeholder) with `image`.
    public func nextTokenLogits(image: ImageInput, tokenIds: [Int]) throws -> [Float] {
        try generate(image: image, tokenIds: tokenIds, maxNewTokens: 0).firstLogits
    }

    /// Greedy continuation of the unpruned model: up to `maxNewTokens` tokens (argmax), ending after the first
    /// end-of-sequence token unless `stopAtEndOfSequence` is false (then exactly `maxNewTokens`), and the
    /// logits that chose the first one.
    public func generate(
        image: ImageInput, tokenIds: [Int], maxNewTokens: Int, stopAtEndOfSequence: Bool = true
    ) throws -> Generation {
        let prefill = try beginPrefill(image: image, tokenIds: tokenIds)
        var state = prefill.state
        var cache = language.makeCache()
        try language.advance(&state, to: language.configuration.layerCount, cache: &cache)
        let first = try language.logits(state.hidden, rows: [state.hidden.shape[0] - 1]).scalars
        let tokens = try language.continuation(from: first, nextPosition: prefill.state.nextPosition,
                                               choosing: .greedy(maxCount: maxNewTokens, stopAt: stopAtEndOfSequence ? endOfSequenceIds : []),
                                               cache: &cache).tokens
        return Generation(tokens: tokens, firstLogits: first)
    }
}

/// What `VisionLanguageModel.beginPrefill(image:tokenIds:)` returns.
public struct Prefill: Sendable {
    /// The prompt with its placeholder expanded to the image's visual tokens.
    public var layout: PromptLayout
    /// The decoder state before layer 0: every expanded row at its position 0, 1, 2, ….
    public var state: DecoderState
}

/// What `VisionLanguageModel.generate` returns.
public struct Generation: Sendable {
    /// The generated tokens.
    public var tokens: [Int]
    /// The next-token logits after the prompt (`[vocab]`), which chose the first token.
    public var firstLogits: [Float]
}
