/// A LLaVA-style configuration is what pruning methods read of LLaVA-1.5, NeXT and OneVision models.
extension LlavaConfiguration: ModelDescription {
    public var modelType: String { family.rawValue }
    public var visionTowerName: String { vision.family.rawValue }
    public var visionLayerCount: Int { vision.layerCount }
    public var visionHiddenSize: Int { vision.hiddenSize }
    public var visionHasClassToken: Bool { vision.hasClassToken }
    public var textLayerCount: Int { text.layerCount }
    public var fixedVisualTokens: VisualTokenMap? { isAnyResolution ? nil : VisualTokenMap(singleViewOf: self) }
    public var vocabularySize: Int { text.vocabularySize }
    public var singleViewPixelShape: [Int]? { isAnyResolution ? nil : [vision.channelCount, vision.imageSize, vision.imageSize] }
    public var specialTokenIds: Set<Int> { Set([text.padTokenId, text.bosTokenId, imageTokenId].compactMap { $0 } + text.eosTokenIds) }
}
