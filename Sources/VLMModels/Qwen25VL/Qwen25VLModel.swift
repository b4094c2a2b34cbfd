import Foundation
import TensorCore

/// Qwen2.5-VL (`Qwen/Qwen2.5-VL-{3B,7B}-Instruct`): native-resolution images through `Qwen2VLImageProcessor`, the
/// window-attention vision tower and PatchMerger (`Qwen25VisionTower`), and a Qwen2 decoder with M-RoPE. The
/// prompt holds one `<|image_pad|>` (between `<|vision_start|>` and `<|vision_end|>`) that expands to one token
/// per merged 2x2 patch block; those tokens take 3-D positions (`rotaryPositions`).
public struct Qwen25VLModel: VisionLanguageModel {
    /// The parsed `config.json`.
    public let configuration: Qwen25VLConfiguration
    /// The vision tower and merger.
    public let vision: Qwen25VisionTower
    /// The language model.
    public let language: LlamaDecoder
    /// How raw images become patch rows (from `preprocessor_config.json` when loaded).
    public let imageProcessor: Qwen2VLImageProcessor
    /// Token ids that end greedy generation (`generation_config.json`, else the text configuration's).
    public let endOfSequenceIds: Set<Int>

    public var modelDescription: any ModelDescription { configuration }

    /// Loads `config.json`, `preprocessor_config.json` and the safetensors weights in `directory` (the hub's key
    /// layout or transformers 5's), matrices in `weights` precision, streamed as `LlavaModel` does.
    /// - Throws: `ModelError` for unreadable or malformed files, missing, mis-shaped, non-finite or unused tensors.
    public init(directory: URL, weights precision: LoadPrecision = .checkpoint) throws {
        let configuration = try Qwen25VLConfiguration.load(directory: directory)
        let generation = try GenerationConfiguration.load(directory: directory)
        var weights = try CheckpointWeights(checkpoint: SafetensorsCheckpoint(directory: directory), precision: precision, naming: .qwen25VL)
        try self.init(configuration: configuration, weights: &weights, endOfSequenceIds: generation?.endOfSequenceIds,
                      imageProcessor: try Qwen2VLImageProcessor(directory: directory, vision: configuration.vision))
        try weights.verifyAllConsumed()
    }

    /// Builds the model from any weight source (checkpoint or generated).
    /// - Throws: `ModelError` for missing or mis-shaped tensors.
    public init(configuration: Qwen25VLConfiguration, weights: inout some WeightSource, endOfSequenceIds: [Int]? = nil,
                imageProcessor: Qwen2VLImageProcessor? = nil) throws {
        self.configuration = configuration
        vision = try Qwen25VisionTower(configuration: configuration.vision, weights: &weights)
        language = try LlamaDecoder(configuration: configuration.text, weights: &weights)
        self.imageProcessor = imageProcessor ?? Qwen2VLImageProcessor(vision: configuration.vision)
        self.endOfSequenceIds = try configuration.text.endOfSequenceSet(endOfSequenceIds)
    }

    /// A model with deterministic pseudo-random weights (benchmarks and tests), matrices held in `precision`.
    public static func generated(configuration: Qwen25VLConfiguration, seed: UInt64 = 1, precision: WeightPrecision = .f32) throws -> Qwen25VLModel {
        var weights = GeneratedWeights(seed: seed, precision: precision)
        return try Qwen25VLModel(configuration: configuration, weights: &weights)
    }

    /// `image` through `imageProcessor`: smart_resize, bicubic, patch rows.
    /// - Throws: `ModelError.invalidInput` for an image the limits cannot fit.
    public func preprocess(_ image: RGBImage) throws -> ImageInput { try imageProcessor.preprocess(image) }

    /// The merged tokens of `image`: one view, a `gh/2 x gw/2` grid, row-major.
    /// - Throws: `ModelError.invalidInput` for an image that is not a native-resolution grid the merger divides.
    public func tokenMap(for image: ImageInput) throws -> VisualTokenMap {
        let m = configuration.vision.spatialMergeSize
        guard let grid = image.patchGrid, grid.rows % m == 0, grid.columns % m == 0, grid.patchCount > 0 else {
            throw ModelError.invalidInput("Qwen2.5-VL takes a native-resolution patch grid whose sides are multiples of \(m) (Qwen2VLImageProcessor)")
        }
        return VisualTokenMap(singleViewRows: grid.rows / m, columns: grid.columns / m)
    }

    /// Runs the vision tower; attention received is recorded per merge unit (averaged over the image's
    /// patches as queries and over the heads, summed over the unit's 4 patches), keys per merge unit (before
    /// the rotary embedding, averaged over the heads and the unit's patches).
    /// - Throws: `ModelError.invalidInput` for an input that does not suit the model, or a request for [CLS]
    ///   attention, which this tower has none of.
    public func encodeImage(_ image: ImageInput, requesting request: VisionRequest) throws -> EncodedImage {
        guard request.classAttentionLayers.isEmpty else {
            throw ModelError.invalidInput("the Qwen2.5-VL vision tower has no [CLS] token, so it has no [CLS] attention")
        }
        let tokens = try tokenMap(for: image)
        let output = try vision.encode(image, attentionReceived: request.attentionReceivedLayers, headMeanKeys: request.headMeanKeyLayers)
        let patches = Float(image.patchGrid!.patchCount)
        let received = try output.unitAttentionReceived.mapValues { sums in
            try Tensor(shape: [1, sums.count], scalars: sums.map { $0 / patches })
        }
        return EncodedImage(features: output.unitFeatures, tokens: tokens, classAttention: [:], attentionReceived: received,
                            headMeanKeys: output.unitHeadMeanKeys)
    }

    /// The layout of a prompt with one `<|image_pad|>` that expands into `imageTokenCount` merged tokens.
    /// - Throws: `ModelError.invalidInput` for a missing/duplicate placeholder or ids outside the vocabulary.
    public func layout(tokenIds: [Int], imageTokenCount: Int) throws -> PromptLayout {
        if let bad = tokenIds.first(where: { !(0..<configuration.text.vocabularySize).contains($0) }) {
            throw ModelError.invalidInput("token id \(bad) is outside the vocabulary 0..<\(configuration.text.vocabularySize)")
        }
        return try PromptLayout(tokenIds: tokenIds, imageTokenId: configuration.imageTokenId, imageTokenCount: imageTokenCount)
    }

    /// `get_rope_index` for one image: text before the image at 0, 1, …; the image's token at merged row R,
    /// column C at (t, h, w) = (s, s + R, s + C) for the image start s; the text after it from s + max(rows, columns).
    public func rotaryPositions(layout: PromptLayout, tokens: VisualTokenMap) -> [RotaryPosition] {
        let s = layout.imageStart, resume = s + max(tokens.patchRows, tokens.patchColumns)
        var positions = (0..<s).map(RotaryPosition.init)
        for origin in tokens.origins {
            guard case let .patch(_, row, column) = origin else { continue }
            positions.append(RotaryPosition(temporal: s, height: s + row, width: s + column))
        }
        positions += (0..<layout.textAfterImage.count).map { RotaryPosition(resume + $0) }
        return positions
    }

    /// The merged tokens at `indices` (all when nil), `[k, textHidden]`: the merger on their units.
    public func visualEmbeddings(_ encoded: EncodedImage, keeping indices: [Int]?) throws -> Tensor {
        let chosen = indices ?? Array(0..<encoded.tokens.count)
        guard !chosen.isEmpty, chosen.allSatisfy({ (0..<encoded.tokens.count).contains($0) }) else {
            throw ModelError.invalidInput("visual token indices must be a non-empty list within 0..<\(encoded.tokens.count)")
        }
        return try vision.merge(try wrapTensorErrors { try encoded.features.gatherRows(chosen) })
    }

    /// The merger on merge-unit features `[rows, 4 · visionHidden]`.
    public func projectFeatures(_ features: Tensor) throws -> Tensor { try vision.merge(features) }

    /// FLOPs of the tower's blocks on `image` (every block runs; `layers` is ignored).
    public func visionFlops(image: ImageInput, layers: Int) -> Double {
        image.patchGrid.map { vision.flops(grid: $0) } ?? 0
    }

    /// FLOPs of the merger's two linears over `rows` merged tokens.
    public func projectorFlops(rows: Int) -> Double {
        let u = Double(configuration.vision.mergeUnit * configuration.vision.hiddenSize), d = Double(configuration.text.hiddenSize)
        return 2 * Double(rows) * (u * u + u * d)
    }
}
