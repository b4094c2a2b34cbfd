import TensorCore

/// A preprocessed image as the vision tower takes it: one or more normalised square views, or one
/// native-resolution grid of patches (Qwen2.5-VL).
public struct ImageInput: Sendable {
    /// Normalised views, each `[3, imageSize, imageSize]`: the only view (LLaVA-1.5), or the base view followed
    /// by the grid crops row by row (LLaVA-NeXT); for a native-resolution image the one patch matrix
    /// (`patchGrid`).
    public let views: [Tensor]
    /// How the views were cut from the original image (LLaVA-NeXT), nil for a single view.
    public let anyResolution: AnyResolutionLayout?
    /// The patch grid of a native-resolution image, nil for square views.
    public let patchGrid: PatchGrid?

    /// A single-view image (LLaVA-1.5): normalised pixels `[3, imageSize, imageSize]`.
    public init(pixels: Tensor) {
        views = [pixels]
        anyResolution = nil
        patchGrid = nil
    }

    /// A native-resolution image (Qwen2.5-VL): `patches [grid.patchCount, values per patch]` in the order the
    /// vision tower reads them, on `grid`.
    /// - Throws: `ModelError.invalidInput` when the rows are not one per patch.
    public init(patches: Tensor, grid: PatchGrid) throws {
        guard patches.shape.rank == 2, patches.shape[0] == grid.patchCount else {
            throw ModelError.invalidInput("patch rows \(patches.shape) do not hold the \(grid.patchCount) patches of a \(grid.rows) x \(grid.columns) grid")
        }
        views = [patches]
        anyResolution = nil
        patchGrid = grid
    }

    /// An any-resolution image: `layout.viewCount` views in the order `layout` describes.
    /// - Throws: `ModelError.invalidInput` when the view count differs from the layout's.
    public init(views: [Tensor], anyResolution layout: AnyResolutionLayout) throws {
        guard views.count == layout.viewCount else {
            throw ModelError.invalidInput("\(views.count) views for an any-resolution layout of \(layout.viewCount)")
        }
        self.views = views
        anyResolution = layout
        patchGrid = nil
    }
}

/// The patch grid of a native-resolution image (`image_grid_thw` of a still image: one temporal step).
public struct PatchGrid: Sendable, Equatable {
    /// Patch rows (gh: resized height / patch size).
    public var rows: Int
    /// Patch columns (gw: resized width / patch size).
    public var columns: Int

    /// A grid of `rows` x `columns` patches.
    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    /// Patches in the grid.
    public var patchCount: Int { rows * columns }
}
