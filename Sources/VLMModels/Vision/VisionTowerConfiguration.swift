import TensorCore

/// The vision transformers the library runs: the two LLaVA-style models use, and DINOv2 on its own. They share
/// one implementation (`VisionTower`) and differ only in these points.
public enum VisionTowerFamily: String, Sendable, Equatable, Codable {
    /// CLIP ViT (`clip_vision_model`): a learned [CLS] token before the patches, `pre_layrnorm` after the
    /// embeddings, a patch convolution without bias, quick_gelu MLPs.
    case clip = "clip_vision_model"
    /// SigLIP ViT (`siglip_vision_model`): no [CLS] token, no pre-norm, a patch convolution with bias,
    /// tanh-approximated GELU MLPs; the attention-pooling head is not used by VLMs and never loaded.
    case siglip = "siglip_vision_model"
    /// DINOv2 ViT (`dinov2`): a [CLS] token, no pre-norm, a patch convolution with bias, exact-GELU MLPs,
    /// LayerScale on both residual branches, a position table learned at `nativeImageSize` and bicubically
    /// resized to the input grid, and a final LayerNorm over every token.
    case dinov2

    /// Whether the tower prepends a [CLS] token to the patches.
    public var hasClassToken: Bool { self != .siglip }
    /// Whether a LayerNorm runs on the embeddings before the first layer (CLIP's `pre_layrnorm`).
    public var hasPreLayerNorm: Bool { self == .clip }
    /// Whether the patch convolution has a bias.
    public var hasPatchBias: Bool { self != .clip }
    /// Whether each residual branch is scaled per channel by a learned vector (DINOv2's LayerScale).
    public var hasLayerScale: Bool { self == .dinov2 }
}

/// The vision tower of a LLaVA-style checkpoint (`vision_config` in `config.json`): a CLIP or a SigLIP ViT.
/// Absent keys take `transformers.CLIPVisionConfig`'s or `SiglipVisionConfig`'s defaults.
public struct VisionTowerConfiguration: Codable, Sendable, Equatable {
    /// CLIP or SigLIP (`model_type`).
    public var family: VisionTowerFamily
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
    /// Input side length in pixels (`image_size`). SigLIP's need not be a multiple of the patch size: the
    /// stride-`patchSize` convolution ignores the last `imageSize % patchSize` rows and columns (384 = 27·14 + 6).
    public var imageSize: Int
    /// Patch side length in pixels (`patch_size`).
    public var patchSize: Int
    /// MLP activation (`hidden_act`).
    public var activation: Activation
    /// LayerNorm epsilon (`layer_norm_eps`).
    public var layerNormEps: Float
    /// The side the stored position table was learned at (DINOv2's `image_size`, 518), when the tower resizes
    /// that table to the `imageSize` it encodes; nil when the table is used as stored (CLIP, SigLIP).
    public var nativeImageSize: Int?

    /// Patches per image side (`image_size // patch_size`).
    public var patchesPerSide: Int { imageSize / patchSize }
    /// Patch tokens per image (without [CLS]).
    public var patchCount: Int { patchesPerSide * patchesPerSide }
    /// Whether the tower has a [CLS] token (CLIP).
    public var hasClassToken: Bool { family.hasClassToken }
    /// Tokens per image: the patches, after [CLS] when the tower has one.
    public var tokenCount: Int { patchCount + (hasClassToken ? 1 : 0) }
    /// Width of one attention head.
    public var headDimension: Int { hiddenSize / headCount }

    /// A configuration with every field given (CLIP by default).
    public init(family: VisionTowerFamily = .clip, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
                channelCount: Int = 3, imageSize: Int, patchSize: Int, activation: Activation? = nil,
                layerNormEps: Float? = nil) {
        self.family = family
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.channelCount = channelCount
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.activation = activation ?? (family == .clip ? .quickGelu : family == .siglip ? .geluTanh : .gelu)
        self.layerNormEps = layerNormEps ?? (family == .clip ? 1e-5 : 1e-6)
    }

    /// CLIP ViT-L/14 at 336 px, LLaVA-1.5's vision tower (transformers' LLaVA default when `vision_config` is absent).
    public static let clipViTLarge336 = VisionTowerConfiguration(
        hiddenSize: 1024, intermediateSize: 4096, layerCount: 24, headCount: 16, imageSize: 336, patchSize: 14)

    /// SigLIP-so400m/14 at 384 px with its last layer removed (26 layers), LLaVA-OneVision's vision tower.
    public static let siglipSo400m384 = VisionTowerConfiguration(
        family: .siglip, hiddenSize: 1152, intermediateSize: 4304, layerCount: 26, headCount: 16, imageSize: 384,
        patchSize: 14)

    enum CodingKeys: String, CodingKey {
        case family = "model_type"
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads", channelCount = "num_channels", imageSize = "image_size"
        case patchSize = "patch_size", activation = "hidden_act", layerNormEps = "layer_norm_eps"
        case mlpRatio = "mlp_ratio", swiGLU = "use_swiglu_ffn", queryKeyValueBias = "qkv_bias"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .family) ?? VisionTowerFamily.clip.rawValue
        guard let family = VisionTowerFamily(rawValue: type) else {
            throw DecodingError.dataCorruptedError(
                forKey: .family, in: c, debugDescription: "vision model_type '\(type)' is not 'clip_vision_model', 'siglip_vision_model' or 'dinov2'")
        }
        self.family = family
        let siglip = family == .siglip, dinov2 = family == .dinov2
        hiddenSize = try c.decodeIntegerIfPresent(forKey: .hiddenSize) ?? 768
        if dinov2 {
            // Dinov2Config has no intermediate_size: the MLP is mlp_ratio (default 4) times the width.
            let ratio = try c.decodeIntegerIfPresent(forKey: .mlpRatio) ?? 4
            guard (1...64).contains(ratio) else {
                throw DecodingError.dataCorruptedError(forKey: .mlpRatio, in: c, debugDescription: "mlp_ratio \(ratio) is outside 1 ... 64")
            }
            intermediateSize = hiddenSize.multipliedReportingOverflow(by: ratio).overflow ? Int.max : hiddenSize * ratio
            for (key, refused) in [(CodingKeys.swiGLU, true), (.queryKeyValueBias, false)] where try c.decodeIfPresent(Bool.self, forKey: key) == refused {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(key.rawValue) = \(refused) is not supported")
            }
        } else {
            intermediateSize = try c.decodeIntegerIfPresent(forKey: .intermediateSize) ?? 3072
        }
        layerCount = try c.decodeIntegerIfPresent(forKey: .layerCount) ?? 12
        headCount = try c.decodeIntegerIfPresent(forKey: .headCount) ?? 12
        channelCount = try c.decodeIntegerIfPresent(forKey: .channelCount) ?? 3
        imageSize = try c.decodeIntegerIfPresent(forKey: .imageSize) ?? (dinov2 ? 518 : 224)
        nativeImageSize = dinov2 ? imageSize : nil
        patchSize = try c.decodeIntegerIfPresent(forKey: .patchSize) ?? (siglip ? 16 : dinov2 ? 14 : 32)
        let act = try c.decodeIfPresent(String.self, forKey: .activation) ?? (siglip ? "gelu_pytorch_tanh" : dinov2 ? "gelu" : "quick_gelu")
        do { activation = try Activation(huggingFaceName: act) } catch {
            throw DecodingError.dataCorruptedError(forKey: .activation, in: c, debugDescription: "unsupported hidden_act '\(act)'")
        }
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? (siglip ? 1e-6 : 1e-5)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(family, forKey: .family)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(channelCount, forKey: .channelCount)
        try c.encode(nativeImageSize ?? imageSize, forKey: .imageSize)
        try c.encode(patchSize, forKey: .patchSize)
        try c.encode(activation.rawValue, forKey: .activation)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        if family == .dinov2 { try c.encode(intermediateSize / max(hiddenSize, 1), forKey: .mlpRatio) }
    }

    /// FLOPs of the patch embedding and `layers` encoder layers over one view's n tokens ([CLS] included where
    /// there is one), 2 per multiply-add: 2·P·(channels·p²)·d for P patches of side p, then
    /// 8·n·d² + 4·n²·d + 4·n·d·m per layer.
    public func flops(layers: Int) -> Double {
        let n = Double(tokenCount), d = Double(hiddenSize), m = Double(intermediateSize)
        let patchInput = Double(channelCount * patchSize * patchSize)
        return 2 * Double(patchCount) * patchInput * d + Double(layers) * (8 * n * d * d + 4 * n * n * d + 4 * n * d * m)
    }

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
            if family != .siglip && imageSize % patchSize != 0 {
                p.append("image_size \(imageSize) is not a multiple of patch_size \(patchSize)")
            }
            if let native = nativeImageSize, !(patchSize...B.imageSide).contains(native) || native % patchSize != 0 {
                p.append("the position table's image_size \(native) is not a multiple of patch_size \(patchSize) within \(B.imageSide)")
            }
            if patchSize > imageSize { p.append("patch_size \(patchSize) is larger than image_size \(imageSize)") }
        }
        if !(layerNormEps > 0) { p.append("vision layer_norm_eps must be positive") }
        return p
    }
}
