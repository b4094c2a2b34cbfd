/// What pruning methods may know of a vision-language model's shape, whatever its family: enough to choose
/// layers, refuse a method the model cannot serve (e.g. [CLS] attention without a [CLS] token) when a pipeline
/// is built, and tell text from special tokens.
public protocol ModelDescription: Sendable {
    /// The checkpoint's `model_type` (e.g. "llava", "llava_next", "llava_onevision").
    var modelType: String { get }
    /// The vision tower's kind, for messages (e.g. "clip_vision_model", "siglip_vision_model").
    var visionTowerName: String { get }
    /// Layers of the vision tower.
    var visionLayerCount: Int { get }
    /// Width of the vision tower's features (the projector's input).
    var visionHiddenSize: Int { get }
    /// Whether each view's encoder tokens start with a [CLS] token.
    var visionHasClassToken: Bool { get }
    /// The 0-based vision layer whose output feeds the projector, nil when it reads the embeddings.
    var visionFeatureEncoderLayer: Int? { get }
    /// Layers of the language model.
    var textLayerCount: Int { get }
    /// The visual tokens of every image when they are fixed (one view), nil when they depend on the image.
    var fixedVisualTokens: VisualTokenMap? { get }
    /// The pixel shape `[channels, side, side]` of the one view every image becomes, nil when the model cuts
    /// images into views of its own (any resolution).
    var singleViewPixelShape: [Int]? { get }
    /// Size of the language model's vocabulary.
    var vocabularySize: Int { get }
    /// The image placeholder token id.
    var imageTokenId: Int { get }
    /// Token ids that never count as text (padding, BOS, EOS, the image placeholder).
    var specialTokenIds: Set<Int> { get }
}
