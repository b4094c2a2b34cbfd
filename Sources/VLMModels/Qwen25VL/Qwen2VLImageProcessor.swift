import Foundation
import TensorCore

/// transformers' `Qwen2VLImageProcessor` (PIL backend) for still images: `smart_resize` to multiples of 28 px within
/// `minPixels ... maxPixels`, Pillow's bicubic resize, CLIP normalisation, and the patch rows in 2x2-merge-block
/// order, each patch repeated over the temporal axis (`ImageInput(patches:grid:)`).
public struct Qwen2VLImageProcessor: Sendable, Equatable {
    /// Fewest pixels after resizing (`min_pixels`, or `size.shortest_edge` as transformers 5 writes it).
    public var minPixels: Int
    /// Most pixels after resizing (`max_pixels`, or `size.longest_edge`).
    public var maxPixels: Int
    /// Patch side, temporal copies and merge size, from the model.
    public let patchSize: Int, temporalPatchSize: Int, mergeSize: Int
    /// Rescaling and normalisation (CLIP's mean and std unless the file says otherwise).
    public var normalization: CLIPImageProcessor

    /// The resize factor: a merged token's pixel side (28).
    public var factor: Int { patchSize * mergeSize }

    /// The defaults for `vision` (the hub's limits: 56² to 28² · 16384 pixels).
    public init(vision: Qwen25VisionConfiguration) {
        minPixels = 3136
        maxPixels = 12_845_056
        patchSize = vision.patchSize
        temporalPatchSize = vision.temporalPatchSize
        mergeSize = vision.spatialMergeSize
        normalization = CLIPImageProcessor(size: vision.patchSize)
    }

    /// Reads `preprocessor_config.json` in `directory` (the defaults when absent).
    /// - Throws: `ModelError.invalidConfiguration` for a malformed file, limits that are not positive integers
    ///   or with `min_pixels` above `max_pixels`, or patch, temporal or merge sizes that differ from the model's.
    public init(directory: URL, vision: Qwen25VisionConfiguration) throws {
        self.init(vision: vision)
        let url = directory.appendingPathComponent("preprocessor_config.json")
        guard RegularFile.isPresent(url) else { return }
        let path = url.path, json = try JSONValue.readStrict(url)
        func fail(_ reason: String) -> ModelError { .invalidConfiguration(path: path, reason: reason) }
        normalization = try CLIPImageProcessor(preprocessorConfig: json, path: path, defaultSize: vision.patchSize)
        func count(_ keys: [(String, String?)]) throws -> Int? {
            for (key, inner) in keys {
                guard let value = inner.map({ json[key]?[$0] }) ?? json[key], !value.isNull else { continue }
                guard let n = value.integer, n > 0 else { throw fail("\(key)\(inner.map { "." + $0 } ?? ""): expected a positive integer") }
                return n
            }
            return nil
        }
        minPixels = try count([("min_pixels", nil), ("size", "shortest_edge")]) ?? minPixels
        maxPixels = try count([("max_pixels", nil), ("size", "longest_edge")]) ?? maxPixels
        guard minPixels <= maxPixels else { throw fail("min_pixels \(minPixels) is above max_pixels \(maxPixels)") }
        for (key, expected) in [("patch_size", patchSize), ("temporal_patch_size", temporalPatchSize), ("merge_size", mergeSize)] {
            guard let value = json[key], !value.isNull else { continue }
            guard value.integer == expected else { throw fail("\(key) \(value.integer.map(String.init) ?? "?") differs from the model's \(expected)") }
        }
    }

    /// transformers' `smart_resize` of a `height x width` image, in doubles as Python computes it: each side
    /// rounded to a multiple of `factor` (half to even), then scaled down (floor) when the area exceeds
    /// `maxPixels` or up (ceil) when it is below `minPixels`.
    /// - Throws: `ModelError.invalidInput` for an aspect ratio above 200, limits that do not allow one merged
    ///   token, or a result above `maxPixels` or longer than `ConfigurationBounds.imageSide` a side.
    public func resizedSize(height: Int, width: Int) throws -> PixelSize {
        guard height > 0, width > 0 else { throw ModelError.invalidInput("image size \(width)x\(height) is empty") }
        guard minPixels <= maxPixels, maxPixels >= factor * factor else {
            throw ModelError.invalidInput("pixel limits \(minPixels) ... \(maxPixels) leave no room for one \(factor)x\(factor) token")
        }
        let H = Double(height), W = Double(width), f = Double(factor)
        guard max(H, W) / min(H, W) <= 200 else {
            throw ModelError.invalidInput("absolute aspect ratio must be smaller than 200, got \(max(H, W) / min(H, W))")
        }
        var h = (H / f).rounded(.toNearestOrEven) * f, w = (W / f).rounded(.toNearestOrEven) * f
        if h * w > Double(maxPixels) {
            let beta = (H * W / Double(maxPixels)).squareRoot()
            h = max(f, (H / beta / f).rounded(.down) * f)
            w = max(f, (W / beta / f).rounded(.down) * f)
        } else if h * w < Double(minPixels) {
            let beta = (Double(minPixels) / (H * W)).squareRoot()
            h = (H * beta / f).rounded(.up) * f
            w = (W * beta / f).rounded(.up) * f
        }
        guard h >= f, w >= f, h <= Double(ConfigurationBounds.imageSide), w <= Double(ConfigurationBounds.imageSide),
              h * w <= Double(maxPixels) else {
            throw ModelError.invalidInput(
                "a \(width)x\(height) image resizes to \(Int(w))x\(Int(h)), outside 1 token ... max_pixels \(maxPixels) (and \(ConfigurationBounds.imageSide) px a side)")
        }
        return PixelSize(height: Int(h), width: Int(w))
    }

    /// `image` resized, normalised and cut into patch rows `[gh · gw, channels · temporal · patch²]`, rows in
    /// 2x2-merge-block order (unit by unit, raster over the merged grid; inside a unit row-major), columns
    /// (channel, temporal copy, y, x).
    /// - Throws: as `resizedSize(height:width:)`.
    public func preprocess(_ image: RGBImage) throws -> ImageInput {
        let size = try resizedSize(height: image.height, width: image.width)
        let resized = size.height == image.height && size.width == image.width ? image
            : try RGBImage(width: size.width, height: size.height,
                           pixels: BicubicResampler.resize(image, width: size.width, height: size.height))
        let planes = normalization.normalize(resized)  // [3, h, w]
        let p = patchSize, t = temporalPatchSize, m = mergeSize, h = size.height, w = size.width
        let grid = PatchGrid(rows: h / p, columns: w / p)
        let rowWidth = 3 * t * p * p
        let patches = Tensor(shape: [grid.patchCount, rowWidth]) { out in
            planes.withUnsafeBufferPointer { px in
                var row = 0
                for unitRow in 0..<(grid.rows / m) {
                    for unitColumn in 0..<(grid.columns / m) {
                        for dy in 0..<m {
                            for dx in 0..<m {
                                let top = (unitRow * m + dy) * p, left = (unitColumn * m + dx) * p
                                var o = row * rowWidth
                                for c in 0..<3 {
                                    for _ in 0..<t {
                                        for y in 0..<p {
                                            (out.baseAddress! + o).update(from: px.baseAddress! + c * h * w + (top + y) * w + left, count: p)
                                            o += p
                                        }
                                    }
                                }
                                row += 1
                            }
                        }
                    }
                }
            }
        }
        return try ImageInput(patches: patches, grid: grid)
    }
}
