import TensorCore

/// A preprocessed image as the vision tower takes it: one or more normalised square views.
public struct ImageInput: Sendable {
    /// Normalised views, each `[3, imageSize, imageSize]`: the only view (LLaVA-1.5), or the base view followed
    /// by the grid crops row by row (LLaVA-NeXT).
    public let views: [Tensor]
    /// How the views were cut from the original image (LLaVA-NeXT), nil for a single view.
    public let anyResolution: AnyResolutionLayout?

    /// A single-view image (LLaVA-1.5): normalised pixels `[3, imageSize, imageSize]`.
    public init(pixels: Tensor) {
        views = [pixels]
        anyResolution = nil
    }

    /// An any-resolution image: `layout.viewCount` views in the order `layout` describes.
    /// - Throws: `ModelError.invalidInput` when the view count differs from the layout's.
    public init(views: [Tensor], anyResolution layout: AnyResolutionLayout) throws {
        guard views.count == layout.viewCount else {
            throw ModelError.invalidInput("\(views.count) views for an any-resolution layout of \(layout.viewCount)")
        }
        self.views = views
        anyResolution = layout
    }
}
