import TensorCore

/// Where one visual token of the language model's input comes from.
public enum VisualTokenOrigin: Sendable, Hashable {
    /// Patch (`row`, `column`) of view `view`'s patch grid (0-based). View 0 is the only view (LLaVA-1.5) or
    /// the base view (LLaVA-NeXT); views 1... are the grid crops, row by row.
    case patch(view: Int, row: Int, column: Int)
    /// The vision encoder's [CLS] token of `view` (projected under the "full" feature strategy).
    case classToken(view: Int)
    /// Position (`row`, `column`) of OneVision's bilinearly downsampled crop feature map: a weighted mix of up to
    /// four crop patches (`FeatureMapResampler`), not one encoder token.
    case resampled(row: Int, column: Int)
    /// The learned newline after row `row` (0-based) of the any-resolution crop feature map.
    case newline(row: Int)
}

/// The visual tokens of one image in the order the language model sees them, each with its origin: the one
/// description scorers, selection, drawing and evaluation share for LLaVA-1.5, NeXT, OneVision and Qwen2.5-VL
/// alike. A view's patch grid is square for the LLaVA family and rectangular for a native-resolution image
/// (Qwen2.5-VL, whose "patches" are the merger's 2x2 units).
public struct VisualTokenMap: Sendable, Equatable {
    /// Origin of each visual token, in sequence order.
    public let origins: [VisualTokenOrigin]
    /// Views the image was encoded as.
    public let viewCount: Int
    /// Patch rows per view.
    public let patchRows: Int
    /// Patch columns per view.
    public let patchColumns: Int
    /// Whether the vision encoder puts a [CLS] token before each view's patches (CLIP, not SigLIP).
    public let encoderHasClassToken: Bool
    /// Encoder tokens per view: [CLS] (when the encoder has one) then the patches row-major.
    public var encoderTokensPerView: Int { classTokenOffset + patchRows * patchColumns }
    /// How the views were cut (LLaVA-NeXT, OneVision), nil for a single view.
    public let anyResolution: AnyResolutionLayout?

    /// Encoder tokens before a view's first patch.
    private var classTokenOffset: Int { encoderHasClassToken ? 1 : 0 }

    /// Visual tokens in the sequence.
    public var count: Int { origins.count }
    /// Indices of the newline tokens, ascending.
    public var newlineIndices: [Int] { origins.indices.filter { if case .newline = origins[$0] { true } else { false } } }
    /// Indices of the tokens that carry image content (patches and [CLS]), ascending.
    public var contentIndices: [Int] { origins.indices.filter { if case .newline = origins[$0] { false } else { true } } }

    /// The tokens of a single view: its patches row-major, after its [CLS] when `includesClassToken` (which
    /// needs an encoder with one).
    public init(singleViewWithPatchesPerSide side: Int, includesClassToken: Bool, encoderHasClassToken: Bool = true) {
        var origins: [VisualTokenOrigin] = includesClassToken && encoderHasClassToken ? [.classToken(view: 0)] : []
        for row in 0..<side { for column in 0..<side { origins.append(.patch(view: 0, row: row, column: column)) } }
        self.origins = origins
        viewCount = 1
        patchRows = side
        patchColumns = side
        self.encoderHasClassToken = encoderHasClassToken
        anyResolution = nil
    }

    /// The tokens of one view without [CLS] whose patch grid is `rows` x `columns`, row-major (Qwen2.5-VL's merged
    /// units).
    public init(singleViewRows rows: Int, columns: Int) {
        origins = (0..<(rows * columns)).map { .patch(view: 0, row: $0 / columns, column: $0 % columns) }
        viewCount = 1
        patchRows = rows
        patchColumns = columns
        encoderHasClassToken = false
        anyResolution = nil
    }

    /// The single view a LLaVA-1.5 model with `configuration` sees: its patch grid, after [CLS] under the
    /// "full" feature strategy.
    public init(singleViewOf configuration: LlavaConfiguration) {
        self.init(singleViewWithPatchesPerSide: configuration.vision.patchesPerSide,
                  includesClassToken: configuration.projectsClassToken,
                  encoderHasClassToken: configuration.vision.hasClassToken)
    }

    /// The any-resolution packing (`pack_image_features`): the base view's patches, then each row of the
    /// unpadded crop feature map (downsampled on OneVision when the layout says so) with a newline after it.
    public init(anyResolution layout: AnyResolutionLayout, encoderHasClassToken: Bool = true) {
        let side = layout.patchesPerSide
        var origins: [VisualTokenOrigin] = []
        origins.reserveCapacity(layout.imageTokenCount)
        for row in 0..<side { for column in 0..<side { origins.append(.patch(view: 0, row: row, column: column)) } }
        if layout.isDownsampled {
            for row in 0..<layout.outputRows {
                for column in 0..<layout.outputColumns { origins.append(.resampled(row: row, column: column)) }
                origins.append(.newline(row: row))
            }
        } else {
            for (keptRow, r) in layout.keptRows.enumerated() {
                for c in layout.keptColumns { origins.append(Self.cropPatch(row: r, column: c, of: layout)) }
                origins.append(.newline(row: keptRow))
            }
        }
        self.origins = origins
        viewCount = layout.viewCount
        patchRows = side
        patchColumns = side
        self.encoderHasClassToken = encoderHasClassToken
        anyResolution = layout
    }

    /// The crop patch at (`row`, `column`) of `layout`'s whole crop feature map.
    private static func cropPatch(row r: Int, column c: Int, of layout: AnyResolutionLayout) -> VisualTokenOrigin {
        let side = layout.patchesPerSide
        return .patch(view: 1 + (r / side) * layout.gridColumns + c / side, row: r % side, column: c % side)
    }

    /// One token of the vision encoder's output.
    public struct EncoderToken: Sendable, Equatable {
        /// The view it belongs to (0 = base view).
        public var view: Int
        /// Its index among the view's encoder tokens ([CLS] = 0 when the encoder has one, then the patches row by row).
        public var token: Int
    }

    /// The encoder token behind `origin`, nil for a newline or a resampled position (a mix of several).
    public func encoderToken(_ origin: VisualTokenOrigin) -> EncoderToken? {
        switch origin {
        case let .patch(view, row, column): return EncoderToken(view: view, token: classTokenOffset + row * patchColumns + column)
        case let .classToken(view): return EncoderToken(view: view, token: 0)
        case .newline, .resampled: return nil
        }
    }

    /// The view a content token is scored with for per-view budgets: its encoder token's view, or `viewCount`
    /// (one group for the whole grid) for a resampled position; nil for a newline.
    public func allocationGroup(_ origin: VisualTokenOrigin) -> Int? {
        switch origin {
        case .resampled: return viewCount
        default: return encoderToken(origin)?.view
        }
    }

    /// Whether visual token `index` is a resampled position of OneVision's downsampled grid.
    public func isResampled(_ index: Int) -> Bool { if case .resampled = origins[index] { true } else { false } }

    /// Indices of the resampled tokens (OneVision's downsampled grid), ascending; empty elsewhere.
    public var resampledIndices: [Int] { origins.indices.filter(isResampled) }

    /// The rows of per-encoder-token `values` (`[viewCount · encoderTokensPerView, channels]`: features, scores)
    /// that the visual tokens at `indices` carry, `[indices.count, channels]`: each token's encoder row, a
    /// resampled position the same bilinear mix of crop rows its features are (`resampledGrid`), a newline zeros.
    /// - Throws: `ModelError.invalidInput` when `values` does not hold every view's encoder tokens.
    public func values(_ values: Tensor, at indices: [Int]) throws -> Tensor {
        try self.values(values, of: indices.map { origins[$0] })
    }

    /// The rows of per-encoder-token `values` behind each of `sources` (a patch, a view's [CLS] whether or not
    /// it is a visual token, a resampled position), `[sources.count, channels]`; a newline gives zeros.
    /// - Throws: `ModelError.invalidInput` when `values` does not hold every view's encoder tokens or a source is
    ///   outside this map (a view, row or column out of range, [CLS] of an encoder without one).
    public func values(_ values: Tensor, of sources: [VisualTokenOrigin]) throws -> Tensor {
        guard values.shape.rank == 2, values.shape[0] == viewCount * encoderTokensPerView else {
            throw ModelError.invalidInput("values \(values.shape) do not hold \(viewCount) views of \(encoderTokensPerView) encoder tokens")
        }
        if let bad = sources.first(where: { !contains($0) }) { throw ModelError.invalidInput("\(bad) is not a token of this image") }
        let width = values.shape[1], columns = anyResolution?.outputColumns ?? 0
        let grid = sources.contains(where: { if case .resampled = $0 { true } else { false } }) ? try resampledGrid(values).scalars : []
        return Tensor(shape: [sources.count, width]) { out in
            values.withUnsafeBufferPointer { v in
                grid.withUnsafeBufferPointer { g in
                    for (k, origin) in sources.enumerated() {
                        let from: UnsafePointer<Float>
                        switch origin {
                        case .newline: continue
                        case let .resampled(row, column): from = g.baseAddress! + (row * columns + column) * width
                        case .patch, .classToken:
                            let source = encoderToken(origin)!
                            from = v.baseAddress! + (source.view * encoderTokensPerView + source.token) * width
                        }
                        (out.baseAddress! + k * width).update(from: from, count: width)
                    }
                }
            }
        }
    }

    /// Whether `origin` names a token of this image's encoder output or downsampled grid.
    public func contains(_ origin: VisualTokenOrigin) -> Bool {
        switch origin {
        case let .patch(view, row, column):
            return (0..<viewCount).contains(view) && (0..<patchRows).contains(row) && (0..<patchColumns).contains(column)
        case let .classToken(view): return encoderHasClassToken && (0..<viewCount).contains(view)
        case let .resampled(row, column):
            guard let layout = anyResolution, layout.isDownsampled else { return false }
            return (0..<layout.outputRows).contains(row) && (0..<layout.outputColumns).contains(column)
        case .newline: return true
        }
    }

    /// Per-encoder-token values `[viewCount · encoderTokensPerView, channels]` carried onto the downsampled crop
    /// map as the packing computes it: the unpadded crop map assembled from the grid views, then
    /// `FeatureMapResampler` to `outputRows x outputColumns`. Row r · outputColumns + c is `.resampled(r, c)`.
    /// - Throws: `ModelError.invalidInput` when the map is not downsampled or `values` has the wrong row count.
    public func resampledGrid(_ values: Tensor) throws -> Tensor {
        guard let layout = anyResolution, layout.isDownsampled else {
            throw ModelError.invalidInput("this image's crop feature map is not downsampled")
        }
        guard values.shape.rank == 2, values.shape[0] == viewCount * encoderTokensPerView else {
            throw ModelError.invalidInput("values \(values.shape) do not hold \(viewCount) views of \(encoderTokensPerView) encoder tokens")
        }
        var rows: [Int] = []
        rows.reserveCapacity(layout.keptRows.count * layout.keptColumns.count)
        for r in layout.keptRows {
            for c in layout.keptColumns {
                let source = encoderToken(Self.cropPatch(row: r, column: c, of: layout))!
                rows.append(source.view * encoderTokensPerView + source.token)
            }
        }
        let unpadded = try wrapTensorErrors { try values.gatherRows(rows) }
        return try FeatureMapResampler.resize(unpadded, rows: layout.keptRows.count, columns: layout.keptColumns.count,
                                              outputRows: layout.outputRows, outputColumns: layout.outputColumns)
    }
}
