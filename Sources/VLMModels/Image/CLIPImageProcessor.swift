import Foundation
import TensorCore

/// CLIP image preprocessing as transformers' `CLIPImageProcessor` does it: resize so the shortest edge is
/// `shortestEdge` (bicubic, antialiased like PIL), center-crop to `cropHeight x cropWidth`, scale by 1/255,
/// normalise per channel with `mean` and `std`. Output is planar `[3, cropHeight, cropWidth]`.
public struct CLIPImageProcessor: Sendable, Equatable {
    /// Target length of the shorter side after resizing.
    public var shortestEdge: Int
    /// Crop height.
    public var cropHeight: Int
    /// Crop width.
    public var cropWidth: Int
    /// Multiplier from 8-bit values to [0, 1] (1/255), applied in double precision as transformers does.
    public var rescaleFactor: Double
    /// Per-channel mean (RGB).
    public var mean: [Float]
    /// Per-channel standard deviation (RGB).
    public var std: [Float]

    /// CLIP's defaults at `size` pixels (336 for LLaVA-1.5).
    public init(size: Int = 336) {
        shortestEdge = size
        cropHeight = size
        cropWidth = size
        rescaleFactor = 1 / 255
        mean = [0.481_454_66, 0.457_827_5, 0.408_210_73]
        std = [0.268_629_54, 0.261_302_58, 0.275_777_11]
    }

    /// Reads `preprocessor_config.json` in `directory` when present (falling back to CLIP defaults at
    /// `defaultSize` for absent keys or an absent file). Sizes must lie in 1 ... `ConfigurationBounds.imageSide`.
    /// - Throws: `ModelError.invalidConfiguration` naming the file and key for a malformed file, a repeated
    ///   key, a key of the wrong type, a size out of bounds, or a step switched off (`do_resize`,
    ///   `do_center_crop`, `do_rescale`, `do_normalize` false are not implemented);
    ///   `.fileUnreadable` for one that is not a readable regular file.
    public init(directory: URL, defaultSize: Int) throws {
        let url = directory.appendingPathComponent("preprocessor_config.json")
        guard RegularFile.isPresent(url) else {
            self.init(size: defaultSize)
            return
        }
        try self.init(preprocessorConfig: try RegularFile.read(url, limit: RegularFile.configurationByteLimit), path: url.path, defaultSize: defaultSize)
    }

    /// Parses `preprocessor_config.json` bytes (`path` names the file in errors), with the rules of
    /// `init(directory:defaultSize:)`.
    public init(preprocessorConfig data: Data, path: String, defaultSize: Int) throws {
        try self.init(preprocessorConfig: try JSONValue.parseStrict(data, path: path), path: path, defaultSize: defaultSize)
    }

    /// The CLIP keys of an already parsed `preprocessor_config.json`, with the rules of
    /// `init(directory:defaultSize:)`.
    init(preprocessorConfig json: JSONValue, path: String, defaultSize: Int) throws {
        self.init(size: defaultSize)
        func fail(_ key: String, _ reason: String) -> ModelError { .invalidConfiguration(path: path, reason: "\(key): \(reason)") }
        guard json.members != nil else { throw ModelError.invalidConfiguration(path: path, reason: "not a JSON object") }
        func side(_ value: JSONValue, _ key: String) throws -> Int {
            guard let n = value.integer else { throw fail(key, "expected an integer number of pixels") }
            guard (1...ConfigurationBounds.imageSide).contains(n) else {
                throw fail(key, "\(n) is outside 1 ... \(ConfigurationBounds.imageSide)")
            }
            return n
        }
        if let size = json["size"] {
            if size.members != nil {
                guard let edge = size["shortest_edge"] else { throw fail("size", "only {\"shortest_edge\": N} resizing is implemented") }
                shortestEdge = try side(edge, "size.shortest_edge")
            } else {
                shortestEdge = try side(size, "size")
            }
        }
        if let crop = json["crop_size"] {
            if crop.members != nil {
                guard let h = crop["height"], let w = crop["width"] else { throw fail("crop_size", "needs height and width") }
                cropHeight = try side(h, "crop_size.height")
                cropWidth = try side(w, "crop_size.width")
            } else {
                cropHeight = try side(crop, "crop_size")
                cropWidth = cropHeight
            }
        }
        if let r = json["rescale_factor"] {
            guard case .number(let v, _) = r, v > 0, v.isFinite else { throw fail("rescale_factor", "expected a positive number") }
            rescaleFactor = v
        }
        func triple(_ key: String) throws -> [Float]? {
            guard let value = json[key] else { return nil }
            let numbers = value.array?.compactMap { v -> Float? in if case .number(let d, _) = v { Float(d) } else { nil } } ?? []
            guard value.array?.count == 3, numbers.count == 3, numbers.allSatisfy({ $0.isFinite }) else {
                throw fail(key, "expected 3 finite numbers")
            }
            return numbers
        }
        if let m = try triple("image_mean") { mean = m }
        if let s = try triple("image_std") { std = s }
        guard std.allSatisfy({ $0 > 0 }) else { throw fail("image_std", "every value must be positive") }
        for key in ["do_resize", "do_center_crop", "do_rescale", "do_normalize"] {
            guard let value = json[key] else { continue }
            guard let on = value.bool else { throw fail(key, "expected true or false") }
            if !on { throw fail(key, "false is not implemented (the step always runs)") }
        }
    }

    /// Resizes, crops and normalises `image` into `[3, cropHeight, cropWidth]`.
    /// - Throws: `ModelError.invalidInput` when the resized image is smaller than the crop.
    public func preprocess(_ image: RGBImage) throws -> Tensor {
        normalize(try resizedAndCropped(image))
    }

    /// The 8-bit image the model sees: shortest edge resized to `shortestEdge` (bicubic), center-cropped.
    /// - Throws: `ModelError.invalidInput` when the resized image is smaller than the crop or its long side
    ///   would exceed `ConfigurationBounds.imageSide`.
    public func resizedAndCropped(_ image: RGBImage) throws -> RGBImage {
        guard shortestEdge > 0, cropWidth > 0, cropHeight > 0 else {
            throw ModelError.invalidInput("resize and crop sizes must be positive, got \(shortestEdge), \(cropWidth)x\(cropHeight)")
        }
        let short = min(image.width, image.height), long = max(image.width, image.height)
        let resizedLong = Int(Double(shortestEdge) * Double(long) / Double(short))
        // An extreme aspect ratio would otherwise ask for a huge intermediate image.
        guard resizedLong <= ConfigurationBounds.imageSide else {
            throw ModelError.invalidInput(
                "a \(image.width)x\(image.height) image resized to a \(shortestEdge)-pixel shortest edge would be \(resizedLong) pixels long, more than \(ConfigurationBounds.imageSide)")
        }
        let (width, height) = image.width <= image.height ? (shortestEdge, resizedLong) : (resizedLong, shortestEdge)
        guard width >= cropWidth, height >= cropHeight else {
            throw ModelError.invalidInput("resized image \(width)x\(height) is smaller than the crop \(cropWidth)x\(cropHeight)")
        }
        let resized = BicubicResampler.resize(image, width: width, height: height)
        let top = (height - cropHeight) / 2, left = (width - cropWidth) / 2
        var cropped = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
        for y in 0..<cropHeight {
            let src = ((top + y) * width + left) * 3
            cropped.replaceSubrange((y * cropWidth * 3)..<((y + 1) * cropWidth * 3), with: resized[src..<(src + cropWidth * 3)])
        }
        return try RGBImage(width: cropWidth, height: cropHeight, pixels: cropped)
    }

    /// Planar `[3, height, width]` of (x − mean) / std per channel, x = Float(value · rescaleFactor) computed in
    /// double as numpy does, the rest in Float (transformers' float32 pixel values, bit for bit).
    /// - Precondition: `mean` and `std` hold 3 values (as `init(directory:defaultSize:)` guarantees).
    public func normalize(_ image: RGBImage) -> Tensor {
        let w = image.width, h = image.height
        return Tensor(shape: [3, h, w]) { out in
            for c in 0..<3 {
                let mean = self.mean[c], std = self.std[c]
                for i in 0..<(w * h) { out[c * w * h + i] = (Float(Double(image.pixels[i * 3 + c]) * rescaleFactor) - mean) / std }
            }
        }
    }
}
