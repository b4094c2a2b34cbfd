import Foundation
import TensorCore

/// A LLaVA-style model: vision tower → projector → decoder, for LLaVA-1.5 (CLIP, LLaMA; one view per image),
/// LLaVA-NeXT (any-resolution views, a learned newline token after each feature row) and LLaVA-OneVision
/// (SigLIP without [CLS], Qwen2, NeXT's packing with anyres_max_N downsampling). Loaded from a Hugging Face
/// folder (`config.json`, `preprocessor_config.json`, `.safetensors` in F32/F16/BF16, classic or
/// transformers-5 key layout) or built from generated weights. Immutable and `Sendable`: share one instance.
public struct LlavaModel: VisionLanguageModel {
    /// The model's configuration.
    public let configuration: LlavaConfiguration
    /// The vision tower.
    public let vision: VisionTower
    /// The vision-to-language projector.
    public let projector: MultiModalProjector
    /// The language model.
    public let language: LlamaDecoder
    /// The any-resolution learned newline token `[textHidden]` (`image_newline`), nil for LLaVA-1.5.
    public let imageNewline: Tensor?
    /// How raw images become the vision tower's input (from `preprocessor_config.json` when loaded).
    public let imageProcessor: LlavaImageProcessor
    /// Token ids that end greedy generation: `generation_config.json`'s `eos_token_id` when the folder has one,
    /// else `text_config.eos_token_id`.
    public let endOfSequenceIds: Set<Int>

    /// The configuration, as pruning methods read it.
    public var modelDescription: any ModelDescription { configuration }

    /// `image` through `imageProcessor`.
    public func preprocess(_ image: RGBImage) throws -> ImageInput { try imageProcessor.preprocess(image) }

    /// Loads `config.json`, `preprocessor_config.json` and the safetensors weights in `directory`, holding
    /// matrices in `weights` precision (default: as stored). Weights stream from the mapped files into their
    /// final packed form: loading holds about one copy of the model in that precision, never a whole-model
    /// Float32 copy.
    /// - Throws: `ModelError` for unreadable or malformed files, missing, mis-shaped, non-finite or unused tensors.
    public init(directory: URL, weights precision: LoadPrecision = .checkpoint) throws {
        let configuration = try LlavaConfiguration.load(directory: directory)
        let generation = try GenerationConfiguration.load(directory: directory)
        let processor = try LlavaImageProcessor(directory: directory, configuration: configuration)
        var weights = try CheckpointWeights(checkpoint: SafetensorsCheckpoint(directory: directory), precision: precision)
        try self.init(configuration: configuration, weights: &weights,
                      endOfSequenceIds: generation?.endOfSequenceIds, imageProcessor: processor)
        try weights.verifyAllConsumed()
    }

    /// Builds the model from any weight source (checkpoint or generated); `endOfSequenceIds` overrides the
    /// text configuration's `eos_token_id` as the ids that end generation, `imageProcessor` the default
    /// preprocessing for `configuration`.
    public init(
        configuration: LlavaConfiguration, weights: inout some WeightSource, endOfSequenceIds: [Int]? = nil,
        imageProcessor: LlavaImageProcessor? = nil
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.endOfSequenceIds = try configuration.text.endOfSequenceSet(endOfSequenceIds)
        self.imageProcessor = try imageProcessor ?? LlavaImageProcessor(configuration: configuration)
        imageNewline = configuration.isAnyResolution
            ? try weights.tensor("image_newline", shape: [configuration.text.hiddenSize]) : nil
        vision = try VisionTower(configuration: configuration.vision, weights: &weights, prefix: "vision_tower.vision_model")
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

    /// The layout of a prompt with one image placeholder that expands into `imageTokenCount` visual tokens.
    /// - Throws: `ModelError.invalidInput` for a missing/duplicate placeholder or ids outside the vocabulary.
    public func layout(tokenIds: [Int], imageTokenCount: Int) throws -> PromptLayout {
        if let bad = tokenIds.first(where: { !(0..<configuration.text.vocabularySize).contains($0) }) {
            throw ModelError.invalidInput("token id \(bad) is outside the vocabulary 0..<\(configuration.text.vocabularySize)")
        }
        return try PromptLayout(tokenIds: tokenIds, imageTokenId: configuration.imageTokenId,
                                imageTokenCount: imageTokenCount)
    }

    /// Runs the vision tower on every view, as deep as the feature layer and `request` need, and maps the
    /// visual tokens the image becomes. Attention received is computed as column sums while the layer runs (no
    /// attention map is stored).
    /// - Throws: `ModelError.invalidInput` when the input does not suit the model (a single view given to an
    ///   any-resolution model, any-resolution views to LLaVA-1.5, wrong pixel shapes, NaN pixels), or [CLS]
    ///   attention is asked of a tower without [CLS].
    public func encodeImage(_ image: ImageInput, requesting request: VisionRequest) throws -> EncodedImage {
        let c = configuration
        let classAttentionLayers = request.classAttentionLayers, attentionReceivedLayers = request.attentionReceivedLayers
        guard c.vision.hasClassToken || classAttentionLayers.isEmpty else {
            throw ModelError.invalidInput("the \(c.vision.family.rawValue) vision tower has no [CLS] token, so it has no [CLS] attention")
        }
        let tokens = try tokenMap(for: image)
        let layer = c.visionFeatureHiddenState
        var requests: [Int: AttentionProbabilityRequest] = [:]
        for l in classAttentionLayers { requests[l] = attentionReceivedLayers.contains(l) ? .all : .rows([0]) }
        for l in attentionReceivedLayers where requests[l] == nil { requests[l] = .columnSums }
        let perView = c.vision.tokenCount, heads = c.vision.headCount
        var hidden: [Tensor] = [], classRows: [Int: [Tensor]] = [:], received: [Int: [Tensor]] = [:], keys: [Int: [Tensor]] = [:]
        for view in image.views {
            let output = try vision.encode(pixels: view, hiddenStates: [layer], attentions: requests,
                                           headMeanKeys: request.headMeanKeyLayers)
            hidden.append(output.hiddenStates[layer]!)
            for (l, k) in output.headMeanKeys { keys[l, default: []].append(k) }
            try wrapTensorErrors {
                for (l, probabilities) in output.attentions {
                    let isMap = requests[l] == .all
                    if classAttentionLayers.contains(l) {
                        classRows[l, default: []].append(isMap ? try AttentionMap.queryRows([0], of: probabilities) : probabilities)
                    }
                    if attentionReceivedLayers.contains(l) {
                        let sums = isMap ? try Tensor(shape: [perView], scalars: AttentionMap.columnSums(probabilities)) : probabilities
                        received[l, default: []].append(sums.scaled(by: 1 / Float(perView)))
                    }
                }
            }
        }
        return try wrapTensorErrors {
            let stacked = try classRows.mapValues { rows in
                try Tensor.concatenateRows(rows.map { try $0.reshaped([heads, perView]) }).reshaped([rows.count, heads, perView])
            }
            let receivedPerView = try received.mapValues { rows in
                try Tensor.concatenateRows(rows.map { try $0.reshaped([1, perView]) })
            }
            return EncodedImage(features: try Tensor.concatenateRows(hidden), tokens: tokens, classAttention: stacked,
                                attentionReceived: receivedPerView, headMeanKeys: try keys.mapValues(Tensor.concatenateRows))
        }
    }

    /// The visual tokens `image` becomes on this model.
    /// - Throws: `ModelError.invalidInput` when the image was cut for another model.
    public func tokenMap(for image: ImageInput) throws -> VisualTokenMap {
        let c = configuration
        switch (image.anyResolution, c.imageGridPinpoints) {
        case (nil, nil):
            guard image.views.count == 1 else { throw ModelError.invalidInput("LLaVA-1.5 takes one view, got \(image.views.count)") }
            return VisualTokenMap(singleViewOf: c)
        case let (layout?, pinpoints?):
            guard layout.viewSize == c.vision.imageSize, layout.patchesPerSide == c.vision.patchesPerSide,
                  layout == (try AnyResolutionLayout(imageSize: layout.imageSize, pinpoints: pinpoints,
                                                     viewSize: c.vision.imageSize, patchSize: c.vision.patchSize,
                                                     maxGridViews: c.maxGridViews)) else {
                throw ModelError.invalidInput("the image was cut for other grid pinpoints, view size or grid limit than this model's")
            }
            return VisualTokenMap(anyResolution: layout, encoderHasClassToken: c.vision.hasClassToken)
        case (nil, _?):
            throw ModelError.invalidInput("\(c.family.rawValue) needs an any-resolution image (LlavaNextImageProcessor), not a single view")
        case (_?, nil):
            throw ModelError.invalidInput("LLaVA-1.5 takes a single view, not an any-resolution image")
        }
    }

    /// Language-model rows `[indices.count, textHidden]` for the visual tokens at `indices` (ascending; all when
    /// nil): content tokens projected, newline tokens the learned `image_newline`, and OneVision's resampled
    /// positions the bilinear downsampling of the projected crop map (the packing's order: project, then resize).
    /// - Throws: `ModelError.invalidInput` for an empty list or indices outside the image's tokens.
    public func visualEmbeddings(_ encoded: EncodedImage, keeping indices: [Int]? = nil) throws -> Tensor {
        let tokens = encoded.tokens
        let chosen = indices ?? Array(0..<tokens.count)
        guard !chosen.isEmpty, chosen.allSatisfy({ (0..<tokens.count).contains($0) }) else {
            throw ModelError.invalidInput("visual token indices must be a non-empty list within 0..<\(tokens.count)")
        }
        let rows = encoded.featureRows(of: chosen)
        // A resampled position mixes projected crop tokens, so then every encoder row is projected, once.
        let all = chosen.contains(where: tokens.isResampled) ? try projector(encoded.features) : nil
        let projected = rows.isEmpty ? nil : try wrapTensorErrors {
            try all.map { try $0.gatherRows(rows) } ?? projector(try encoded.features.gatherRows(rows))
        }
        guard rows.count < chosen.count else { return projected! }
        let width = configuration.text.hiddenSize
        let newline = imageNewline.map { $0.scalars } ?? [Float](repeating: 0, count: width)
        let grid = try all.map { try tokens.resampledGrid($0) }
        return Tensor(shape: [chosen.count, width]) { out in
            var next = 0
            for (i, index) in chosen.enumerated() {
                let destination = out.baseAddress! + i * width
                switch tokens.origins[index] {
                case .newline:
                    newline.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: width) }
                case let .resampled(row, column):
                    let source = (row * tokens.anyResolution!.outputColumns + column) * width
                    grid!.withUnsafeBufferPointer { destination.update(from: $0.baseAddress! + source, count: width) }
                case .patch, .classToken:
                    projected!.withUnsafeBufferPointer { destination.update(from: $0.baseAddress! + next * width, count: width) }
                    next += 1
                }
            }
        }
    }

    /// The multi-modal projector on vision feature rows `[rows, visionHidden]`: `[rows, textHidden]`.
    /// - Throws: `ModelError.invalidInput` when the rows are not `visionHidden` wide.
    public func projectFeatures(_ features: Tensor) throws -> Tensor {
        guard features.shape.rank == 2, features.shape[1] == configuration.vision.hiddenSize else {
            throw ModelError.invalidInput("vision features \(features.shape), expected [rows, \(configuration.vision.hiddenSize)]")
        }
        return try wrapTensorErrors { try projector(features) }
    }

    /// FLOPs of `layers` vision layers over `image`'s views (`VisionTowerConfiguration.flops`).
    public func visionFlops(image: ImageInput, layers: Int) -> Double { Double(image.views.count) * configuration.vision.flops(layers: layers) }

    /// FLOPs of the projector's two linears over `rows` encoder rows: 2·rows·(dᵥ·dₜ + dₜ²).
    public func projectorFlops(rows: Int) -> Double {
        let dv = Double(configuration.vision.hiddenSize), dt = Double(configuration.text.hiddenSize)
        return 2 * Double(rows) * (dv * dt + dt * dt)
    }
}
