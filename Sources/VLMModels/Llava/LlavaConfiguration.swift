import Foundation
import TensorCore

/// Which encoder tokens LLaVA feeds to the projector (`vision_feature_select_strategy`).
public enum VisionFeatureSelection: String, Codable, Sendable {
    /// Drop the [CLS] token (LLaVA-1.5).
    case patchesOnly = "default"
    /// Keep every token including [CLS].
    case all = "full"
}

/// The LLaVA-style families: a vision tower, a two-linear projector and a decoder, differing in how an image
/// becomes visual tokens (`model_type` in `config.json`).
public enum LlavaFamily: String, Sendable, Equatable, CaseIterable {
    /// LLaVA-1.5 (`llava`): one view per image.
    case llava
    /// LLaVA-NeXT (`llava_next`): any-resolution views and a learned newline token after each feature row.
    case llavaNext = "llava_next"
    /// LLaVA-OneVision (`llava_onevision`): NeXT's packing with a SigLIP tower, a Qwen2 decoder and grids larger
    /// than `anyres_max_N` crops' worth of tokens downsampled bilinearly.
    case llavaOneVision = "llava_onevision"
}

/// A LLaVA-style checkpoint's `config.json`: vision tower, projector and language model, for LLaVA-1.5
/// (`model_type` "llava"), LLaVA-NeXT ("llava_next") and LLaVA-OneVision ("llava_onevision"). Absent keys take
/// `transformers.LlavaConfig`'s / `LlavaNextConfig`'s / `LlavaOnevisionConfig`'s defaults.
public struct LlavaConfiguration: Codable, Sendable, Equatable {
    /// The vision tower (CLIP or SigLIP).
    public var vision: VisionTowerConfiguration
    /// The language model (LLaMA, Mistral or Qwen2).
    public var text: LlamaConfiguration
    /// Token id of the image placeholder (`image_token_index`).
    public var imageTokenId: Int
    /// Projector activation between its two linears (`projector_hidden_act`).
    public var projectorActivation: Activation
    /// Which hidden state of the vision tower feeds the projector, Python-style (`vision_feature_layer`, −2;
    /// −1 for OneVision).
    public var visionFeatureLayer: Int
    /// Which tokens of that hidden state are projected (`vision_feature_select_strategy`).
    public var visionFeatureSelection: VisionFeatureSelection
    /// Whether the projector linears have biases (`multimodal_projector_bias`).
    public var projectorBias: Bool
    /// Any-resolution candidate canvas sizes (`image_grid_pinpoints`, each (height, width) in pixels, a multiple
    /// of the view size); nil for LLaVA-1.5, whose images are one view.
    public var imageGridPinpoints: [PixelSize]?
    /// OneVision's `anyres_max_N` (`vision_aspect_ratio`): a crop feature map of more than 1.1² · N views'
    /// patches is downsampled to about N views' worth; nil for no limit (NeXT).
    public var maxGridViews: Int?

    /// transformers' `LlavaNextConfig` default pinpoints for 336-pixel views.
    public static let defaultPinpoints336 = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
        .map { PixelSize(height: $0[0], width: $0[1]) }

    /// transformers' `LlavaOnevisionConfig` default pinpoints for 384-pixel views: every (384a, 384b), a, b in 1...6.
    public static let defaultPinpoints384 = (1...6).flatMap { a in (1...6).map { b in PixelSize(height: 384 * a, width: 384 * b) } }

    /// A configuration with every part given (the family follows from the pinpoints and `maxGridViews`).
    public init(vision: VisionTowerConfiguration, text: LlamaConfiguration, imageTokenId: Int,
                projectorActivation: Activation = .gelu, visionFeatureLayer: Int = -2,
                visionFeatureSelection: VisionFeatureSelection = .patchesOnly, projectorBias: Bool = true,
                imageGridPinpoints: [PixelSize]? = nil, maxGridViews: Int? = nil) {
        self.maxGridViews = maxGridViews
        self.vision = vision
        self.text = text
        self.imageTokenId = imageTokenId
        self.projectorActivation = projectorActivation
        self.visionFeatureLayer = visionFeatureLayer
        self.visionFeatureSelection = visionFeatureSelection
        self.projectorBias = projectorBias
        self.imageGridPinpoints = imageGridPinpoints
    }

    /// Which LLaVA-style family (`model_type`): OneVision when grids are limited (`maxGridViews`), NeXT when
    /// images are cut into any-resolution views, else LLaVA-1.5.
    public var family: LlavaFamily { maxGridViews != nil ? .llavaOneVision : imageGridPinpoints != nil ? .llavaNext : .llava }

    /// Whether images are cut into any-resolution views (LLaVA-NeXT, OneVision).
    public var isAnyResolution: Bool { imageGridPinpoints != nil }

    /// The vision tower's hidden state that feeds the projector, as an index into its `layerCount + 1` hidden
    /// states: 0 is the embeddings after `pre_layrnorm`, i the output of encoder layer i − 1. A negative
    /// `visionFeatureLayer` counts from the end. −1 when that sum overflows (which `validate` refuses).
    public var visionFeatureHiddenState: Int {
        visionFeatureLayer < 0 ? CheckedSize.sum(vision.layerCount, 1, visionFeatureLayer) ?? -1 : visionFeatureLayer
    }

    /// The 0-based encoder layer whose output feeds the projector (`visionFeatureHiddenState − 1`), or nil when
    /// the projector reads the embeddings. Attention layers (e.g. for [CLS] attention) are numbered this way.
    public var visionFeatureEncoderLayer: Int? {
        visionFeatureHiddenState >= 1 ? visionFeatureHiddenState - 1 : nil
    }

    /// Visual tokens per view after feature selection (per image for LLaVA-1.5; an any-resolution image's count
    /// depends on its size, see `AnyResolutionLayout.imageTokenCount`).
    public var visualTokenCount: Int {
        visionFeatureSelection == .patchesOnly ? vision.patchCount : vision.tokenCount
    }

    /// Whether the projected tokens include the vision tower's [CLS] token (the "full" strategy on CLIP).
    public var projectsClassToken: Bool { visionFeatureSelection == .all && vision.hasClassToken }

    enum CodingKeys: String, CodingKey {
        case vision = "vision_config", text = "text_config", imageTokenId = "image_token_index"
        case legacyImageTokenIndex = "image_token_id"
        case projectorActivation = "projector_hidden_act", visionFeatureLayer = "vision_feature_layer"
        case visionFeatureSelection = "vision_feature_select_strategy", projectorBias = "multimodal_projector_bias"
        case modelType = "model_type", imageGridPinpoints = "image_grid_pinpoints"
        case visionAspectRatio = "vision_aspect_ratio"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "llava"
        guard let family = LlavaFamily(rawValue: type) else {
            throw DecodingError.dataCorruptedError(
                forKey: .modelType, in: c,
                debugDescription: "model_type '\(type)' is not one of \(LlavaFamily.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))")
        }
        let oneVision = family == .llavaOneVision
        vision = try c.decodeIfPresent(VisionTowerConfiguration.self, forKey: .vision)
            ?? (oneVision ? .siglipSo400m384 : .clipViTLarge336)
        guard let text = try c.decodeIfPresent(LlamaConfiguration.self, forKey: .text)
            ?? (oneVision ? nil : LlamaConfiguration(vocabularySize: 32000, hiddenSize: 4096, intermediateSize: 11008, layerCount: 32, headCount: 32))
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .text, in: c, debugDescription: "llava_onevision needs a text_config (its Qwen2 language model)")
        }
        self.text = text
        imageTokenId = try c.decodeIntegerIfPresent(forKey: .imageTokenId)
            ?? c.decodeIntegerIfPresent(forKey: .legacyImageTokenIndex) ?? (oneVision ? 151_646 : 32000)
        let act = try c.decodeIfPresent(String.self, forKey: .projectorActivation) ?? "gelu"
        do { projectorActivation = try Activation(huggingFaceName: act) } catch {
            throw DecodingError.dataCorruptedError(
                forKey: .projectorActivation, in: c, debugDescription: "unsupported projector_hidden_act '\(act)'")
        }
        if (try? c.decodeIfPresent([Int].self, forKey: .visionFeatureLayer)) != nil {
            throw DecodingError.dataCorruptedError(
                forKey: .visionFeatureLayer, in: c, debugDescription: "a list of vision feature layers is not supported")
        }
        visionFeatureLayer = try c.decodeIntegerIfPresent(forKey: .visionFeatureLayer) ?? (oneVision ? -1 : -2)
        visionFeatureSelection = try c.decodeIfPresent(VisionFeatureSelection.self, forKey: .visionFeatureSelection)
            ?? (oneVision ? .all : .patchesOnly)
        projectorBias = try c.decodeIfPresent(Bool.self, forKey: .projectorBias) ?? true
        if family == .llava {
            imageGridPinpoints = nil
        } else {
            let pairs = try c.decodeIfPresent([[Int]].self, forKey: .imageGridPinpoints)
            if let pairs, !pairs.allSatisfy({ $0.count == 2 }) {
                throw DecodingError.dataCorruptedError(
                    forKey: .imageGridPinpoints, in: c, debugDescription: "every pinpoint must be [height, width]")
            }
            imageGridPinpoints = pairs?.map { PixelSize(height: $0[0], width: $0[1]) }
                ?? (oneVision ? Self.defaultPinpoints384 : Self.defaultPinpoints336)
        }
        maxGridViews = nil
        if oneVision {
            let aspect = try c.decodeIfPresent(String.self, forKey: .visionAspectRatio) ?? "anyres_max_9"
            guard aspect.hasPrefix("anyres_max_"), let n = Int(aspect.dropFirst("anyres_max_".count)), (1...64).contains(n) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .visionAspectRatio, in: c, debugDescription: "'\(aspect)' is not anyres_max_N with N in 1...64")
            }
            maxGridViews = n
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(family.rawValue, forKey: .modelType)
        try c.encodeIfPresent(imageGridPinpoints?.map { [$0.height, $0.width] }, forKey: .imageGridPinpoints)
        try c.encodeIfPresent(maxGridViews.map { "anyres_max_\($0)" }, forKey: .visionAspectRatio)
        try c.encode(vision, forKey: .vision)
        try c.encode(text, forKey: .text)
        try c.encode(imageTokenId, forKey: .imageTokenId)
        try c.encode(projectorActivation.rawValue, forKey: .projectorActivation)
        try c.encode(visionFeatureLayer, forKey: .visionFeatureLayer)
        try c.encode(visionFeatureSelection, forKey: .visionFeatureSelection)
        try c.encode(projectorBias, forKey: .projectorBias)
    }

    /// Decodes `config.json` bytes; `path` names the file in errors.
    /// - Throws: `ModelError.invalidConfiguration` for bad JSON, a repeated key, unsupported values or
    ///   inconsistent sizes.
    public static func decode(_ data: Data, path: String = "config.json") throws -> LlavaConfiguration {
        _ = try JSONValue.parseStrict(data, path: path)
        let config: LlavaConfiguration
        do {
            config = try JSONDecoder().decode(LlavaConfiguration.self, from: data)
        } catch {
            throw ModelError.invalidConfiguration(path: path, reason: readableDecodingReason(error))
        }
        try config.validate(path: path)
        return config
    }

    /// Reads and decodes `config.json` in `directory`.
    /// - Throws: `ModelError.fileUnreadable` or `.invalidConfiguration`.
    public static func load(directory: URL) throws -> LlavaConfiguration {
        let url = directory.appendingPathComponent("config.json")
        return try decode(try RegularFile.read(url, limit: RegularFile.configurationByteLimit), path: url.path)
    }

    /// JSON for this configuration in Hugging Face's key names.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Checks that every size fits together.
    /// - Throws: `ModelError.invalidConfiguration` listing every problem.
    public func validate(path: String = "config.json") throws {
        var p = vision.problems() + text.problems()
        if !(0...vision.layerCount).contains(visionFeatureHiddenState) {
            let count = CheckedSize.sum(vision.layerCount, 1).map(String.init) ?? "\(vision.layerCount) + 1"
            p.append("vision_feature_layer \(visionFeatureLayer) is outside the \(count) hidden states")
        }
        if vision.family == .dinov2 {
            p.append("vision model_type 'dinov2' is not 'clip_vision_model' or 'siglip_vision_model' (DINOv2 runs on its own: StandaloneVisionTower)")
        }
        if imageTokenId < 0 { p.append("image_token_index must be >= 0") }
        if let pinpoints = imageGridPinpoints {
            do {
                try AnyResolutionLayout.validate(pinpoints: pinpoints, viewSize: vision.imageSize, patchSize: vision.patchSize)
            } catch ModelError.invalidConfiguration(_, let reason) {
                p.append(reason)
            }
            if projectsClassToken {
                p.append("any-resolution models pack patch grids: vision_feature_select_strategy must be 'default', not 'full', on a tower with [CLS]")
            }
        }
        if !vision.hasClassToken && visionFeatureSelection == .patchesOnly {
            p.append("vision_feature_select_strategy 'default' drops a [CLS] token, but the \(vision.family.rawValue) tower has none: use 'full'")
        }
        if maxGridViews != nil && imageGridPinpoints == nil { p.append("vision_aspect_ratio anyres_max_N needs image_grid_pinpoints") }
        guard p.isEmpty else { throw ModelError.invalidConfiguration(path: path, reason: p.joined(separator: "; ")) }
    }
}
