import VLMModels

/// The saliency source of the mixtures: [CLS] attention where the vision tower has a [CLS] token (CLIP),
/// attention received where it has none (SigLIP). Each model gets the saliency its published methods use.
public struct SaliencyScorer: TokenScorer {
    /// Used on towers with [CLS].
    public var classAttention: ClassAttentionScorer
    /// Used on towers without [CLS].
    public var attentionReceived: AttentionReceivedScorer

    public var name: String { "saliency" }

    /// A source from its two variants (defaults: FasterVLM's feature-layer [CLS] attention, attention received in
    /// the feature layer).
    public init(classAttention: ClassAttentionScorer = .init(), attentionReceived: AttentionReceivedScorer = .init()) {
        self.classAttention = classAttention
        self.attentionReceived = attentionReceived
    }

    /// The variant that runs on `model`.
    public func resolved(for model: any ModelDescription) -> any TokenScorer {
        model.visionHasClassToken ? classAttention : attentionReceived
    }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        try resolved(for: model).requirements(for: model)
    }

    public func scores(_ context: ScoringContext) throws -> [Float] {
        try resolved(for: context.configuration).scores(context)
    }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        try resolved(for: context.configuration).select(context, keep: k)
    }

    /// Whether `context` holds every input the variant for its model reads.
    func isAvailable(in context: ScoringContext) -> Bool {
        guard let r = try? requirements(for: context.configuration) else { return false }
        return r.visionAttentionLayers.allSatisfy { context.visionClassAttention[$0] != nil }
            && r.visionAttentionReceivedLayers.allSatisfy { context.visionAttentionReceived[$0] != nil }
    }
}
