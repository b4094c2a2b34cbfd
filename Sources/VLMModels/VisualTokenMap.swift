/// Where one visual token of the language model's input comes from.
public enum VisualTokenOrigin: Sendable, Hashable {
    /// Patch (`row`, `column`) of view `view`'s patch grid (0-based). View 0 is the only view (LLaVA-1.5) or
    /// the base view (LLaVA-NeXT); views 1... are the grid crops, row by row.
    case patch(view: Int, row: Int, column: Int)
    /// The vision encoder's [CLS] token of `view` (projected under the "full" feature strategy).
    case classToken(view: Int)
    /// The learned newline after kept row `row` (0-based) of LLaVA-NeXT's unpadded crop feature map.
    case newline(row: Int)
}

/// The visual tokens of one image in the order the language model sees them, each with its origin: the one
/// description scorers, selection, drawing and evaluation share for LLaVA-1.5 and LLaVA-NeXT alike.
public struct VisualTokenMap: Sendable, Equatable {
    /// Origin of each visual token, in sequence order.
    public let origins: [VisualTokenOrigin]
    /// Views the image was encoded as.
    public let viewCount: Int
    /// Patches per view side.
    public let patchesPerSide: Int
    /// Encoder tokens per view: [CLS] then the patches row-major.
    public var encoderTokensPerView: Int { 1 + patchesPerSide * patchesPerSide }
    /// How the views were cut (LLaVA-NeXT), nil for a single view.
    public let anyResolution: AnyResolutionLayout?

    /// Visual tokens in the sequence.
    public var count: Int { origins.count }
    /// Indices of the newline tokens, ascending.
    public var newlineIndices: [Int] { origins.indices.filter { if case .newline = origins[$0] { true } else { false } } }
    /// Indices of the tokens that carry image content (patches and [CLS]), ascending.
    public var contentIndices: [Int] { origins.indices.filter { if case .newline = origins[$0] { false } else { true } } }

    /// The tokens of a single view: its patches row-major, after its [CLS] when `includesClassToken`.
    public init(singleViewWithPatchesPerSide side: Int, includesClassToken: Bool) {
        var origins: [VisualTokenOrigin] = includesClassToken ? [.classToken(view: 0)] : []
        for row in 0..<side { for column in 0..<side { origins.append(.patch(view: 0, row: row, column: column)) } }
        self.origins = origins
        viewCount = 1
        patchesPerSide = side
        anyResolution = nil
    }

    /// The single view a LLaVA-1.5 model with `configuration` sees: its patch grid, after [CLS] under the
    /// "full" feature strategy.
    public init(singleViewOf configuration: LlavaConfiguration) {
        self.init(singleViewWithPatchesPerSide: configuration.vision.patchesPerSide,
                  includesClassToken: configuration.visionFeatureSelection == .all)
    }

    /// LLaVA-NeXT's packing (`pack_image_features`): the base view's patches, then each kept row of the crop
    /// feature map with a newline after it.
    public init(anyResolution layout: AnyResolutionLayout) {
        let side = layout.patchesPerSide
        var origins: [VisualTokenOrigin] = []
        origins.reserveCapacity(layout.imageTokenCount)
        for row in 0..<side { for column in 0..<side { origins.append(.patch(view: 0, row: row, column: column)) } }
        for (keptRow, r) in layout.keptRows.enumerated() {
            for c in layout.keptColumns {
                origins.append(.patch(view: 1 + (r / side) * layout.gridColumns + c / side, row: r % side, column: c % side))
            }
            origins.append(.newline(row: keptRow))
        }
        self.origins = origins
        viewCount = layout.viewCount
        patchesPerSide = side
        anyResolution = layout
    }

    /// One token of the vision encoder's output.
    public struct EncoderToken: Sendable, Equatable {
        /// The view it belongs to (0 = base view).
        public var view: Int
        /// Its index among the view's encoder tokens ([CLS] = 0, then the patches row by row).
        public var token: Int
    }

    /// The encoder token behind `origin`, nil for a newline.
    public func encoderToken(_ origin: VisualTokenOrigin) -> EncoderToken? {
        switch origin {
        case let .patch(view, row, column): return EncoderToken(view: view, token: 1 + row * patchesPerSide + column)
        case let .classToken(view): return EncoderToken(view: view, token: 0)
        case .newline: return nil
        }
    }
}
