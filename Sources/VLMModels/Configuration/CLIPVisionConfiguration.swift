import TensorCore

/// The CLIP vision tower of a LLaVA checkpoint (`vision_config` in `config.json`).
/// Absent keys take `transformers.CLIPVisionConfig`'s defaults.
public struct CLIPVisionConfiguration: Codable, Sendable, Equatable {
    /// Width of the residual stream (`hidden_size`).
    public var hiddenSize: Int
    /// Width of the MLP (`intermediate_size`).
    public var intermediateSize: Int
    /// Number of encoder layers (`num_hidden_layers`).
    public var layerCount: Int
    /// Attention heads per layer (`num_attention_heads`).
    public var headCount: Int
    /// Input channels (`num_channels`, 3 for RGB).
    public var channelCount: Int
    /// Input side length in pixels (`image_size`).
    public var imageSize: Int
    /// Patch side length in pixels (`patch_size`).
    public var patchSize: Int
    /// MLP activation (`hidden_act`).
    public var activation: Activation
    /// LayerNorm epsilon (`layer_norm_eps`).
    public var layerNormEps: Float

    /// Patches per image side.
    public var patchesPerSide: Int { imageSize / patchSize }
    /// Patch tokens per image (without [CLS]).
    public var patchCount: Int { patchesPerSide * patchesPerSide }
    /// Tokens per image including [CLS].
    public var tokenCount: Int { patchCount + 1 }
    /// Width of one attention head.
    public var headDimension: Int { hiddenSize / headCount }

    /// A configuration with every field given.
    public init(hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, channelCount: Int = 3,
                imageSize: Int, patchSize: Int, activation: Activation = .quickGelu, layerNormEps: Float = 1e-5) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.channelCount = channelCount
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.activation = activation
        self.layerNormEps = layerNormEps
    }

    /// CLIP ViT-L/14 at 336 px, LLaVA-1.5's vision tower (transformers' LLaVA default when `vision_config` is absent).
    public static let clipViTLarge336 = CLIPVisionConfiguration(
        hiddenSize: 1024, intermediateSize: 4096, layerCount: 24, headCount: 16, imageSize: 336, patchSize: 14)

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads", channelCount = "num_channels", imageSize = "image_size"
        case patchSize = "patch_size", activation = "hidden_act", layerNormEps = "layer_norm_eps"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decodeIntegerIfPresent(forKey: .hiddenSize) ?? 768
        intermediateSize = try c.decodeIntegerIfPresent(forKey: .intermediateSize) ?? 3072
        layerCount = try c.decodeIntegerIfPresent(forKey: .layerCount) ?? 12
        headCount = try c.decodeIntegerIfPresent(forKey: .headCount) ?? 12
        channelCount = try c.decodeIntegerIfPresent(forKey: .channelCount) ?? 3
        imageSize = try c.decodeIntegerIfPresent(forKey: .imageSize) ?? 224
        patchSize = try c.decodeIntegerIfPresent(forKey: .patchSize) ?? 32
        let act = try c.decodeIfPresent(String.self, forKey: .activation) ?? "quick_gelu"
        do { activation = try Activation(huggingFaceName: act) } catch {
            throw DecodingError.dataCorruptedError(forKey: .activation, in: c, debugDescription: "unsupported hidden_act '\(act)'")
        }
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-5
    }

    /// Checks the sizes fit together.
    /// Every inconsistency found, as readable sentences (empty when the configuration is usable).
    func problems() -> [String] {
        var p: [String] = []
        for (name, v) in [("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                          ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
                          ("num_channels", channelCount), ("image_size", imageSize), ("patch_size", patchSize)] where v <= 0 {
            p.append("vision_config.\(name) must be positive, got \(v)")
        }
        typealias B = ConfigurationBounds
        p += B.problems("vision_config", [
            ("hidden_size", hiddenSize, B.width), ("intermediate_size", intermediateSize, B.width),
            ("num_hidden_layers", layerCount, B.layers), ("num_attention_heads", headCount, B.heads),
            ("num_channels", channelCount, B.channels), ("image_size", imageSize, B.imageSide),
            ("patch_size", patchSize, B.imageSide),
        ])
        if p.isEmpty {
            if hiddenSize % headCount != 0 { p.append("vision hidden_size \(hiddenSize) is not divisible by \(headCount) heads") }
            if imageSize % patchSize != 0 { p.append("image_size \(imageSize) is not a multiple of patch_size \(patchSize)") }
        }
        if !(layerNormEps > 0) { p.append("vision layer_norm_eps must be positive") }
        return p
    }
}
