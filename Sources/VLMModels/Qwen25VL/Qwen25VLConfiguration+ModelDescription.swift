/// What pruning methods read of a Qwen2.5-VL model. Its visual tokens are the merger's outputs, one per 2x2
/// patches; per-token vision values (attention received, features) are per merge unit, one view, no [CLS].
extension Qwen25VLConfiguration: ModelDescription {
    public var modelType: String { "qwen2_5_vl" }
    public var visionTowerName: String { "qwen2_5_vl vision transformer" }
    public var visionLayerCount: Int { vision.depth }
    /// A merge unit's features: its 4 patches' last-block states side by side (the merger's input).
    public var visionHiddenSize: Int { vision.mergeUnit * vision.hiddenSize }
    public var visionHasClassToken: Bool { false }
    /// The last block, whose output the merger reads.
    public var visionFeatureEncoderLayer: Int? { vision.depth - 1 }
    public var textLayerCount: Int { text.layerCount }
    public var fixedVisualTokens: VisualTokenMap? { nil }
    public var singleViewPixelShape: [Int]? { nil }
    public var vocabularySize: Int { text.vocabularySize }
    public var specialTokenIds: Set<Int> {
        Set([text.padTokenId, text.bosTokenId, imageTokenId, visionStartTokenId, visionEndTokenId].compactMap { $0 } + text.eosTokenIds)
    }
}
