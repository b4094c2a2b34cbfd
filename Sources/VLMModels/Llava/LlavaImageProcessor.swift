import Foundation

/// The image preprocessing a LLaVA-style model expects: one CLIP view (LLaVA-1.5) or any-resolution views
/// (LLaVA-NeXT, OneVision).
public enum LlavaImageProcessor: Sendable, Equatable {
    /// transformers' `CLIPImageProcessor`: shortest edge resize, centre crop, normalisation.
    case singleView(CLIPImageProcessor)
    /// transformers' `LlavaNextImageProcessor` (and `LlavaOnevisionImageProcessor`, with its grid limit).
    case anyResolution(LlavaNextImageProcessor)

    /// The defaults for a model with `configuration` (CLIP statistics, the vision tower's image size).
    /// - Throws: `ModelError.invalidConfiguration` for unusable pinpoints.
    public init(configuration c: LlavaConfiguration) throws {
        if let pinpoints = c.imageGridPinpoints {
            self = .anyResolution(try LlavaNextImageProcessor(pinpoints: pinpoints, viewSize: c.vision.imageSize,
                                                              patchSize: c.vision.patchSize, maxGridViews: c.maxGridViews))
        } else {
            self = .singleView(CLIPImageProcessor(size: c.vision.imageSize))
        }
    }

    /// The processor `preprocessor_config.json` in `directory` describes (defaults where absent).
    /// - Throws: `ModelError.invalidConfiguration` for a malformed file or one that disagrees with the model.
    public init(directory: URL, configuration c: LlavaConfiguration) throws {
        if let pinpoints = c.imageGridPinpoints {
            self = .anyResolution(try LlavaNextImageProcessor(directory: directory, pinpoints: pinpoints,
                                                              viewSize: c.vision.imageSize, patchSize: c.vision.patchSize,
                                                              maxGridViews: c.maxGridViews))
        } else {
            self = .singleView(try CLIPImageProcessor(directory: directory, defaultSize: c.vision.imageSize))
        }
    }

    /// `image` as the model's vision tower takes it.
    /// - Throws: `ModelError.invalidInput` when the image cannot be processed.
    public func preprocess(_ image: RGBImage) throws -> ImageInput {
        switch self {
        case .singleView(let clip): return ImageInput(pixels: try clip.preprocess(image))
        case .anyResolution(let next): return try next.preprocess(image)
        }
    }
}
