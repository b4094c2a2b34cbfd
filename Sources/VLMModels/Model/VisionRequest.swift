/// What `VisionLanguageModel.encodeImage` records besides the feature layer, so the tower computes only what the
/// pruning method reads. Layers are 0-based vision encoder layers.
public struct VisionRequest: Sendable, Equatable {
    /// Layers whose [CLS] query row of the attention probabilities to record per view.
    public var classAttentionLayers: Set<Int>
    /// Layers whose attention received per token (column means over the view's queries) to record per view.
    public var attentionReceivedLayers: Set<Int>
    /// Layers whose keys, averaged over the heads, to record per view.
    public var headMeanKeyLayers: Set<Int>

    /// A request; every set defaults to empty (the features only).
    public init(classAttentionLayers: Set<Int> = [], attentionReceivedLayers: Set<Int> = [], headMeanKeyLayers: Set<Int> = []) {
        self.classAttentionLayers = classAttentionLayers
        self.attentionReceivedLayers = attentionReceivedLayers
        self.headMeanKeyLayers = headMeanKeyLayers
    }

    /// The deepest layer any request reads, -1 when none does.
    public var deepestLayer: Int {
        classAttentionLayers.union(attentionReceivedLayers).union(headMeanKeyLayers).max() ?? -1
    }
}
