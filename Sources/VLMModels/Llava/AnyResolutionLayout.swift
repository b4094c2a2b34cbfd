import Foundation

/// How LLaVA-NeXT and LLaVA-OneVision ("anyres") cut one image into views and which of their patch features
/// reach the language model, exactly as transformers' `LlavaNextImageProcessor` / `LlavaOnevisionImageProcessor`
/// and `pack_image_features` compute it.
///
/// The image is fitted (aspect kept) into the best of the grid pinpoints, padded to it and cut into
/// `gridRows x gridColumns` square views of `viewSize` pixels; a base view (the whole image squashed to
/// `viewSize`) comes first. The crops' patches form one feature map of `gridRows · p x gridColumns · p`
/// positions (p = patches per view side), from which the rows or columns that only cover padding are
/// removed (`keptRows`, `keptColumns`). OneVision (`maxGridViews`, anyres_max_N) then downsamples a map of more
/// than 1.1² · N views' patches bilinearly to `outputRows x outputColumns`. A newline token follows each row.
public struct AnyResolutionLayout: Sendable, Equatable {
    /// The original image size.
    public let imageSize: PixelSize
    /// The chosen pinpoint (`best_resolution`).
    public let bestResolution: PixelSize
    /// The side of one view in pixels (the vision tower's `image_size`).
    public let viewSize: Int
    /// Patches per view side (`viewSize / patch_size`).
    public let patchesPerSide: Int
    /// Rows of crops in the grid.
    public let gridRows: Int
    /// Columns of crops in the grid.
    public let gridColumns: Int
    /// The image's size after the aspect-preserving resize into `bestResolution`.
    public let resizedSize: PixelSize
    /// Black rows above the resized image in the padded canvas (the bottom gets the rest).
    public let padTop: Int
    /// Black columns left of the resized image (the right gets the rest).
    public let padLeft: Int
    /// Rows of the crop feature map that survive unpadding.
    public let keptRows: Range<Int>
    /// Columns of the crop feature map that survive unpadding.
    public let keptColumns: Range<Int>
    /// OneVision's anyres_max_N limit (nil: none, as on NeXT).
    public let maxGridViews: Int?
    /// Rows of the crop feature map the language model sees: `keptRows.count`, or fewer when downsampled.
    public let outputRows: Int
    /// Columns of the crop feature map the language model sees: `keptColumns.count`, or fewer when downsampled.
    public let outputColumns: Int

    /// Whether the unpadded map is bilinearly downsampled (OneVision grids above the anyres_max_N limit).
    public var isDownsampled: Bool { outputRows != keptRows.count || outputColumns != keptColumns.count }

    /// The layout of an image of `imageSize` under `pinpoints` (each a multiple of `viewSize` on both sides),
    /// with OneVision's anyres_max_N downsampling when `maxGridViews` is N.
    /// - Throws: `ModelError.invalidInput` for an empty image, `.invalidConfiguration` for bad pinpoints or a
    ///   view smaller than a patch.
    public init(imageSize: PixelSize, pinpoints: [PixelSize], viewSize: Int, patchSize: Int, maxGridViews: Int? = nil) throws {
        try AnyResolutionLayout.validate(pinpoints: pinpoints, viewSize: viewSize, patchSize: patchSize)
        guard imageSize.height >= 1, imageSize.width >= 1 else {
            throw ModelError.invalidInput("image of \(imageSize.width)x\(imageSize.height) pixels: both sides must be at least 1")
        }
        self.imageSize = imageSize
        self.viewSize = viewSize
        patchesPerSide = viewSize / patchSize
        bestResolution = AnyResolutionLayout.bestResolution(for: imageSize, among: pinpoints)
        gridRows = bestResolution.height / viewSize
        gridColumns = bestResolution.width / viewSize
        resizedSize = AnyResolutionLayout.fittedSize(of: imageSize, into: bestResolution)
        padTop = (bestResolution.height - resizedSize.height) / 2
        padLeft = (bestResolution.width - resizedSize.width) / 2
        let unpadded = AnyResolutionLayout.unpaddedRanges(
            rows: gridRows * patchesPerSide, columns: gridColumns * patchesPerSide, imageSize: imageSize)
        keptRows = unpadded.rows
        keptColumns = unpadded.columns
        self.maxGridViews = maxGridViews
        let output = AnyResolutionLayout.downsampledSize(
            rows: keptRows.count, columns: keptColumns.count, patchesPerView: patchesPerSide * patchesPerSide,
            maxGridViews: maxGridViews)
        outputRows = output.rows
        outputColumns = output.columns
    }

    /// Views the image becomes: the base view and the grid crops.
    public var viewCount: Int { 1 + gridRows * gridColumns }
    /// Newline tokens: one per output feature-map row.
    public var newlineCount: Int { outputRows }
    /// Visual tokens the image puts in the prompt: the base view's patches, then each output row's patches and
    /// its newline (the count the processor expands the placeholder to).
    public var imageTokenCount: Int { patchesPerSide * patchesPerSide + outputRows * (outputColumns + 1) }

    /// OneVision's anyres_max_N size rule: with ratio = √(rows · columns / (N · patchesPerView)), a map with
    /// ratio > 1.1 becomes `(rows // ratio, columns // ratio)` (Python's float floor division, which rounds
    /// `(a − fmod(a, b)) / b` to the nearest integer); otherwise, or without a limit, it is kept.
    static func downsampledSize(rows: Int, columns: Int, patchesPerView: Int, maxGridViews: Int?) -> (rows: Int, columns: Int) {
        guard let n = maxGridViews else { return (rows, columns) }
        let ratio = (Double(rows * columns) / Double(n * patchesPerView)).squareRoot()
        guard ratio > 1.1 else { return (rows, columns) }
        return (Int(pythonFloorDivision(Double(rows), ratio)), Int(pythonFloorDivision(Double(columns), ratio)))
    }

    /// CPython's `a // b` for positive doubles: not `floor(a / b)`, which differs when the quotient rounds up
    /// to an integer (15 // 1.6667 is 8.0 while floor(15 / 1.6667) is 9).
    static func pythonFloorDivision(_ a: Double, _ b: Double) -> Double {
        let mod = fmod(a, b), quotient = (a - mod) / b
        let floored = quotient.rounded(.down)
        return quotient - floored > 0.5 ? floored + 1 : floored
    }

    /// The part of the original image that position (`row`, `column`) of the downsampled crop feature map
    /// covers (OneVision), or nil when it covers only padding.
    public func imageRegion(outputRow row: Int, column: Int) -> ImageRegion? {
        let rowScale = Double(keptRows.count) / Double(outputRows), columnScale = Double(keptColumns.count) / Double(outputColumns)
        let patch = Double(viewSize) / Double(patchesPerSide)
        let y0 = (Double(keptRows.lowerBound) + Double(row) * rowScale) * patch - Double(padTop)
        let x0 = (Double(keptColumns.lowerBound) + Double(column) * columnScale) * patch - Double(padLeft)
        return clippedRegion(x: x0, y: y0, width: columnScale * patch, height: rowScale * patch)
    }

    /// The part of the original image (in its pixels, x to the right, y down, clipped to the image) that patch
    /// (`row`, `column`) of view `view` covers: the whole image squashed for the base view 0, the fitted and
    /// padded canvas mapped back for the crops. nil when the patch covers only padding.
    public func imageRegion(view: Int, row: Int, column: Int) -> ImageRegion? {
        let w = Double(imageSize.width), h = Double(imageSize.height), side = Double(patchesPerSide)
        if view == 0 {
            return ImageRegion(x: Double(column) * w / side...Double(column + 1) * w / side,
                               y: Double(row) * h / side...Double(row + 1) * h / side)
        }
        let patch = Double(viewSize) / side
        let cropRow = (view - 1) / gridColumns, cropColumn = (view - 1) % gridColumns
        let x0 = Double(cropColumn * viewSize - padLeft) + Double(column) * patch
        let y0 = Double(cropRow * viewSize - padTop) + Double(row) * patch
        return clippedRegion(x: x0, y: y0, width: patch, height: patch)
    }

    /// A rectangle of the padded canvas (pixels) mapped back to the original image and clipped to it.
    private func clippedRegion(x x0: Double, y y0: Double, width: Double, height: Double) -> ImageRegion? {
        let w = Double(imageSize.width), h = Double(imageSize.height)
        let sx = w / Double(resizedSize.width), sy = h / Double(resizedSize.height)
        let x = (max(0, x0 * sx), min(w, (x0 + width) * sx)), y = (max(0, y0 * sy), min(h, (y0 + height) * sy))
        guard x.0 < x.1, y.0 < y.1 else { return nil }
        return ImageRegion(x: x.0...x.1, y: y.0...y.1)
    }

    /// A rectangle of the original image, in its pixels (x to the right, y down).
    public struct ImageRegion: Sendable, Equatable {
        /// Horizontal extent.
        public var x: ClosedRange<Double>
        /// Vertical extent.
        public var y: ClosedRange<Double>

        /// A region from its extents.
        public init(x: ClosedRange<Double>, y: ClosedRange<Double>) {
            self.x = x
            self.y = y
        }
    }

    /// The rows and columns of a crop feature map that survive unpadding.
    public struct UnpaddedGrid: Sendable, Equatable {
        /// Kept rows.
        public var rows: Range<Int>
        /// Kept columns.
        public var columns: Range<Int>
    }

    /// transformers' `select_best_resolution`: the pinpoint that keeps the most of the image's pixels after an
    /// aspect-preserving downscale (upscaling earns nothing), ties to the least wasted area, then to the earlier
    /// pinpoint. Uses the same double arithmetic (products truncated) as the Python code.
    public static func bestResolution(for image: PixelSize, among pinpoints: [PixelSize]) -> PixelSize {
        var best = pinpoints[0], bestEffective = -1, bestWasted = Int.max
        for candidate in pinpoints {
            let scale = min(Double(candidate.width) / Double(image.width), Double(candidate.height) / Double(image.height))
            let downscaled = Int(Double(image.width) * scale) * Int(Double(image.height) * scale)
            let effective = min(downscaled, image.area)
            let wasted = candidate.area - effective
            if effective > bestEffective || (effective == bestEffective && wasted < bestWasted) {
                best = candidate
                bestEffective = effective
                bestWasted = wasted
            }
        }
        return best
    }

    /// The aspect-preserving size of `image` inside `target` (transformers' `_get_resize_output_size` for
    /// anyres): the tighter side fills the target, the other is `ceil(side · scale)` capped at the target.
    public static func fittedSize(of image: PixelSize, into target: PixelSize) -> PixelSize {
        let scaleWidth = Double(target.width) / Double(image.width)
        let scaleHeight = Double(target.height) / Double(image.height)
        if scaleWidth < scaleHeight {
            return PixelSize(height: min(Int((Double(image.height) * scaleWidth).rounded(.up)), target.height),
                             width: target.width)
        }
        return PixelSize(height: target.height,
                         width: min(Int((Double(image.width) * scaleHeight).rounded(.up)), target.width))
    }

    /// transformers' `unpad_image` on a feature map of `rows x columns`: the rows (image wider than the map)
    /// or columns (otherwise) that cover only padding are cut, the same count `p` from both ends, with the
    /// unpadded length `int(round(side · scale, 7))` = floor of the exact quotient unless it lies within
    /// 5e-8 below an integer.
    public static func unpaddedRanges(rows: Int, columns: Int, imageSize: PixelSize) -> UnpaddedGrid {
        let h = imageSize.height, w = imageSize.width
        if w * rows > columns * h {
            let kept = roundedQuotient(h * columns, w), p = (rows - kept) / 2
            return UnpaddedGrid(rows: p..<(rows - p), columns: 0..<columns)
        }
        let kept = roundedQuotient(w * rows, h), p = (columns - kept) / 2
        return UnpaddedGrid(rows: 0..<rows, columns: p..<(columns - p))
    }

    /// `int(round(n / d, 7))` for positive integers, in exact arithmetic.
    static func roundedQuotient(_ n: Int, _ d: Int) -> Int {
        let q = n / d, remainder = n % d
        // round(x, 7) reaches the next integer when the fraction is >= 1 − 5e-8.
        return (d - remainder) * 20_000_000 <= d ? q + 1 : q
    }

    /// Checks that every pinpoint is a positive multiple of `viewSize` on both sides, makes at most 64 crops
    /// and fits `ConfigurationBounds.imageSide`, that there are 1 ... 64 pinpoints, and that a view holds at
    /// least one patch (SigLIP views need not be whole multiples of the patch).
    /// - Throws: `ModelError.invalidConfiguration` naming the first bad value.
    public static func validate(pinpoints: [PixelSize], viewSize: Int, patchSize: Int, path: String = "image_grid_pinpoints") throws {
        guard viewSize >= 1, patchSize >= 1, viewSize >= patchSize else {
            throw ModelError.invalidConfiguration(path: path, reason: "view size \(viewSize) is smaller than the patch size \(patchSize)")
        }
        guard !pinpoints.isEmpty else { throw ModelError.invalidConfiguration(path: path, reason: "image_grid_pinpoints is empty") }
        guard pinpoints.count <= 64 else {
            throw ModelError.invalidConfiguration(path: path, reason: "image_grid_pinpoints lists \(pinpoints.count) sizes, more than 64")
        }
        for p in pinpoints where p.height > ConfigurationBounds.imageSide || p.width > ConfigurationBounds.imageSide
            || CheckedSize.product(p.height / viewSize, p.width / viewSize).map({ $0 > 64 }) ?? true {
            throw ModelError.invalidConfiguration(
                path: path, reason: "pinpoint [\(p.height), \(p.width)] makes more than 64 crops or exceeds \(ConfigurationBounds.imageSide) pixels")
        }
        for p in pinpoints where p.height < viewSize || p.width < viewSize || p.height % viewSize != 0 || p.width % viewSize != 0 {
            throw ModelError.invalidConfiguration(
                path: path, reason: "pinpoint [\(p.height), \(p.width)] is not a positive multiple of the view size \(viewSize) on both sides")
        }
    }
}
