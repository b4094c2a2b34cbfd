import TensorCore

/// A vision-language model as the pruning library drives it, whatever its family: images become visual tokens
/// (encoded per view, then projected into the language model's width), a prompt with one image placeholder
/// lays them out, and a decoder (`LlamaDecoder`: LLaMA, Mistral, Qwen2) reads the result. A family is a type
/// that conforms (`LlavaModel` for LLaVA-1.5, NeXT and OneVision) and a line in `ModelRegistry`.
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
    /// Language-model input for `layout` with the placeholder replaced by `visual [k, textHidden]`, k >= 1.
    /// - Throws: `ModelError.invalidInput` when `visual` does not fit.
    func embeddings(layout: PromptLayout, splicing visual: Tensor) throws -> Tensor
    /// FLOPs of the vision tower over `views` views, `layers` layers deep (2 per multiply-add).
    func visionFlops(views: Int, layers: Int) -> Double
    /// FLOPs of the projector over `rows` encoder rows (2 per multiply-add).
    func projectorFlops(rows: Int) -> Double
}

extension VisionLanguageModel {
    /// `encodeImage` of the features alone.
    public func encodeImage(_ image: ImageInput) throws -> EncodedImage {
        try encodeImage(image, requesting: VisionRequest())
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
    /// at its position 0, 1, 2, …. The one prefill path of generation, calibration and evaluation.
    public func beginPrefill(image: ImageInput, tokenIds: [Int]) throws -> Prefill {
        let encoded = try encodeImage(image)
        let layout = try layout(tokenIds: tokenIds, imageTokenCount: encoded.tokens.count)
        let state = try language.beginPrefill(embeddings: try inputEmbeddings(layout: layout, visual: try visualEmbeddings(encoded)),
                                              positions: Array(0..<layout.expandedLength))
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
        let tokens = try language.continuation(from: first, nextPosition: prefill.layout.expandedLength,
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
