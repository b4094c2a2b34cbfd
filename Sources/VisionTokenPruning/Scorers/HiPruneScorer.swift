import TensorCore
import VLMModels

/// HiPrune (`Danielement321/HiPrune`): hierarchical attention in the vision tower, no [CLS] needed. "Global
/// attention" (attention received, averaged over heads and queries) of a middle "object" layer picks anchors;
/// each anchor brings its four grid neighbours (±1 column, ±1 row) as buffers; the rest of the share goes to the
/// tokens with the highest global attention of the feature layer (registers).
///
/// Of a share T: n = round-half-even(T·α/5) anchors (α = 0.1), their buffers (the official code clamps the
/// flat index into the view, so ±1 wraps across rows), and T − |anchors ∪ buffers| registers. Each view is a
/// grid of its own (OneVision's downsampled grid too); a neighbour that unpadding removed is not taken. The
/// object layer is 8 (HiPrune's default layer 9, 1-based) or the feature layer on shallower towers.
public struct HiPruneScorer: TokenScorer {
    /// Anchors' share of the budget, times 5 (HiPrune's α).
    public let alpha: Double
    /// The 0-based object layer, nil for min(8, feature layer).
    public let objectLayer: Int?
    /// How a multi-view image's budget is shared (default `.perView`, as the official NeXT code).
    public let allocation: ViewAllocation
    public var name: String { "hiprune" }

    /// HiPrune with its defaults unless overridden.
    public init(alpha: Double = 0.1, objectLayer: Int? = nil, allocation: ViewAllocation = .perView) {
        self.alpha = alpha
        self.objectLayer = objectLayer
        self.allocation = allocation
    }

    /// The object and deep (feature) layers on `model`, 0-based.
    /// - Throws: `PruningError.invalidConfiguration` for layers outside the tower.
    func layers(for model: any ModelDescription) throws -> (object: Int, deep: Int) {
        let deep = try AttentionReceivedScorer().encoderLayer(for: model)
        let object = objectLayer ?? min(8, deep)
        guard (0..<model.visionLayerCount).contains(object) else {
            throw PruningError.invalidConfiguration("HiPrune's object layer \(object) is outside 0..<\(model.visionLayerCount)")
        }
        return (object, deep)
    }

    public func stage(for model: any ModelDescription) throws -> ScoringStage { .beforeLanguageModel }

    public func requirements(for model: any ModelDescription) throws -> ScoringRequirements {
        guard alpha >= 0, alpha <= 5 else { throw PruningError.invalidConfiguration("HiPrune's alpha \(alpha) is outside [0, 5]") }
        let (object, deep) = try layers(for: model)
        var r = ScoringRequirements()
        r.visionAttentionReceivedLayers = [object, deep]
        return r
    }

    /// The feature layer's global attention (the registers' score; for display).
    public func scores(_ context: ScoringContext) throws -> [Float] {
        try AttentionReceivedScorer(layer: .explicit(try layers(for: context.configuration).deep)).scores(context)
    }

    public func select(_ context: ScoringContext, keep k: Int) throws -> [Int] {
        let (object, deep) = try layers(for: context.configuration)
        let anchorScores = try AttentionReceivedScorer(layer: .explicit(object)).checkedScores(context)
        let registerScores = try AttentionReceivedScorer(layer: .explicit(deep)).checkedScores(context)
        let tokens = context.tokens
        var kept = tokens.newlineIndices
        for group in try TokenSelection.groups(keeping: k, tokens: tokens, allocation: allocation) where group.quota > 0 {
            // Each token's place in its view's grid; members found by (view, flat index).
            let places = group.indices.map { gridPlace(tokens.origins[$0], tokens) }
            let byPlace = Dictionary(places.indices.map { (GridKey(view: places[$0].view, flat: places[$0].flat), $0) },
                                     uniquingKeysWith: { a, _ in a })
            let anchorCount = Int((Double(group.quota) * alpha / 5).rounded(.toNearestOrEven))
            let anchors = try TopK.indices(of: group.indices.map { anchorScores[$0] }, k: min(anchorCount, group.indices.count))
            var chosen: [Int] = []
            for a in anchors {
                let p = places[a]
                for flat in [p.flat, p.flat - 1, p.flat + 1, p.flat - p.width, p.flat + p.width] {
                    let key = GridKey(view: p.view, flat: min(max(flat, 0), p.size - 1))
                    if let member = byPlace[key], !chosen.contains(member) { chosen.append(member) }
                }
            }
            chosen = Array(chosen.prefix(group.quota))
            let taken = Set(chosen)
            let rest = group.indices.indices.filter { !taken.contains($0) }
            let registers = try TopK.indices(of: rest.map { registerScores[group.indices[$0]] }, k: group.quota - chosen.count)
            kept += (chosen + registers.map { rest[$0] }).map { group.indices[$0] }
        }
        return kept.sorted()
    }

    /// A position in one view's grid.
    private struct GridKey: Hashable {
        var view: Int
        var flat: Int
    }

    /// A content token's view (the downsampled grid counts as one), flat index in that view's grid, the grid's
    /// width and its number of positions.
    private func gridPlace(_ origin: VisualTokenOrigin, _ tokens: VisualTokenMap) -> (view: Int, flat: Int, width: Int, size: Int) {
        let columns = tokens.patchColumns, size = tokens.patchRows * columns, view = tokens.allocationGroup(origin) ?? -1
        switch origin {
        case let .patch(_, row, column): return (view, row * columns + column, columns, size)
        case let .resampled(row, column):
            let layout = tokens.anyResolution!
            return (view, row * layout.outputColumns + column, layout.outputColumns, layout.outputRows * layout.outputColumns)
        case .classToken, .newline: return (view, -1, columns, size)
        }
    }
}
