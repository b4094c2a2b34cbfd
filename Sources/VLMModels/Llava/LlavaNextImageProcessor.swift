import Foundation
import TensorCore

/// transformers' `LlavaNextImageProcessor` and `LlavaOnevisionImageProcessor` (PIL backend), bit for bit: the
/// image is resized into its best grid pinpoint (aspect kept, Pillow bicubic), padded with black to it, cut into
/// square crops, preceded by the whole image squashed to one view, and each view goes through the CLIP steps
/// and normalisation (OneVision checkpoints give SigLIP's mean and std of 0.5).
public struct LlavaNextImageProcessor: Sendable, Equatable {
    /// The per-view CLIP steps (resize, centre crop; no-ops on square views of the crop size) and normalisation.
    public var clip: CLIPImageProcessor
    /// Candidate canvas sizes (`image_grid_pinpoints`), each a multiple of `viewSize`.
    public var pinpoints: [PixelSize]
    /// The side of one view in pixels (the vision tower's `image_size`).
    public var viewSize: Int
    /// The vision tower's patch size.
    public var patchSize: Int
    /// OneVision's anyres_max_N limit on the crop feature map (nil for NeXT).
    public var maxGridViews: Int?

    /// A processor with CLIP defaults at `viewSize`.
    /// - Throws: `ModelError.invalidConfiguration` for pinpoints that are not multiples of `viewSize`.
    public init(pinpoints: [PixelSize], viewSize: Int, patchSize: Int, maxGridViews: Int? = nil) throws {
        try AnyResolutionLayout.validate(pinpoints: pinpoints, viewSize: viewSize, patchSize: patchSize)
        clip = CLIPImageProcessor(size: viewSize)
        self.pinpoints = pinpoints
        self.viewSize = viewSize
        self.patchSize = patchSize
        self.maxGridViews = maxGridViews
    }

    /// Reads `preprocessor_config.json` in `directory` (CLIP keys as `CLIPImageProcessor`; OneVision's
    /// `size {"height": S, "width": S}` must name the view size), checking that its `image_grid_pinpoints`
    /// equal the model's and that it resamples bicubically.
    /// - Throws: `ModelError.invalidConfiguration` for a malformed file or one that disagrees with the model.
    public init(directory: URL, pinpoints: [PixelSize], viewSize: Int, patchSize: Int, maxGridViews: Int? = nil) throws {
        try self.init(pinpoints: pinpoints, viewSize: viewSize, patchSize: patchSize, maxGridViews: maxGridViews)
        let url = directory.appendingPathComponent("preprocessor_config.json")
        guard RegularFile.isPresent(url) else { return }
        // Read and parsed once: the CLIP keys and the anyres keys come from the same document.
        var json = try JSONValue.readStrict(url)
        if let size = json["size"], let height = size["height"], let width = size["width"] {
            // Views are already `viewSize` squares: resizing one to exactly height x width is the identity.
            guard height.integer == viewSize, width.integer == viewSize, size.members?.count == 2 else {
                throw ModelError.invalidConfiguration(
                    path: url.path, reason: "size must be {\"height\": \(viewSize), \"width\": \(viewSize)}, the vision tower's image_size")
            }
            json = .object(json.members!.filter { $0.key != Array("size".utf8) })
        }
        clip = try CLIPImageProcessor(preprocessorConfig: json, path: url.path, defaultSize: viewSize)
        if let resample = json["resample"], resample.integer != 3 {
            throw ModelError.invalidConfiguration(path: url.path, reason: "resample is not 3 (BICUBIC), the only filter implemented")
        }
        if let pad = json["do_pad"], pad.bool != true {
            throw ModelError.invalidConfiguration(path: url.path, reason: "do_pad must be true: anyres views are cut from the padded canvas")
        }
        if let listed = json["image_grid_pinpoints"] {
            let pairs = listed.array?.map { $0.array?.compactMap(\.integer) ?? [] } ?? []
            guard pairs.allSatisfy({ $0.count == 2 }), pairs.map({ PixelSize(height: $0[0], width: $0[1]) }) == pinpoints else {
                throw ModelError.invalidConfiguration(path: url.path, reason: "image_grid_pinpoints differ from config.json's")
            }
        }
    }

    /// The layout an image of `size` gets.
    /// - Throws: `ModelError.invalidInput` for an empty image.
    public func layout(for size: PixelSize) throws -> AnyResolutionLayout {
        try AnyResolutionLayout(imageSize: size, pinpoints: pinpoints, viewSize: viewSize, patchSize: patchSize,
                                maxGridViews: maxGridViews)
    }

    /// The base view and the grid crops of `image`, normalised.
    /// - Throws: `ModelError.invalidInput` when a view cannot be processed.
    public func preprocess(_ image: RGBImage) throws -> ImageInput {
        let layout = try layout(for: PixelSize(height: image.height, width: image.width))
        let base = try RGBImage(width: viewSize, height: viewSize,
                                pixels: BicubicResampler.resize(image, width: viewSize, height: viewSize))
        let canvas = try paddedCanvas(image, layout: layout)
        var views = [base]
        for row in 0..<layout.gridRows {
            for column in 0..<layout.gridColumns {
                views.append(try crop(canvas, top: row * viewSize, left: column * viewSize))
            }
        }
        return try ImageInput(views: try views.map { clip.normalize(try clip.resizedAndCropped($0)) }, anyResolution: layout)
    }

    /// The image resized into `layout.resizedSize` and centred on a black canvas of `layout.bestResolution`.
    public func paddedCanvas(_ image: RGBImage, layout: AnyResolutionLayout) throws -> RGBImage {
        let resized = BicubicResampler.resize(image, width: layout.resizedSize.width, height: layout.resizedSize.height)
        let canvasWidth = layout.bestResolution.width, rowBytes = layout.resizedSize.width * 3
        var canvas = [UInt8](repeating: 0, count: layout.bestResolution.area * 3)
        for y in 0..<layout.resizedSize.height {
            let destination = ((y + layout.padTop) * canvasWidth + layout.padLeft) * 3
            canvas.replaceSubrange(destination..<(destination + rowBytes), with: resized[(y * rowBytes)..<((y + 1) * rowBytes)])
        }
        return try RGBImage(width: canvasWidth, height: layout.bestResolution.height, pixels: canvas)
    }

    private func crop(_ canvas: RGBImage, top: Int, left: Int) throws -> RGBImage {
        var out = [UInt8]()
        out.reserveCapacity(viewSize * viewSize * 3)
        for y in top..<(top + viewSize) {
            let start = (y * canvas.width + left) * 3
            out.append(contentsOf: canvas.pixels[start..<(start + viewSize * 3)])
        }
        return try RGBImage(width: viewSize, height: viewSize, pixels: out)
    }
}
