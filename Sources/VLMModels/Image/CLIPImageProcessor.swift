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
    /// `defaultSize` for absent keys or an absent file).
    /// - Throws: `ModelError.invalidConfiguration` for a file that is present but malformed,
    ///   `.fileUnreadable` for one that is not a readable regular file.
    public init(directory: URL, defaultSize: Int) throws {
        self.init(size: defaultSize)
        let url = directory.appendingPathComponent("preprocessor_config.json")
        guard RegularFile.isPresent(url) else { return }
        let data = try RegularFile.read(url)
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError.invalidConfiguration(path: url.path, reason: "not a JSON object")
        }
        func side(_ value: Any?, _ key: String) -> Int? {
            if let n = value as? Int { return n }
            if let d = value as? [String: Any] { return d[key] as? Int }
            return nil
        }
        if let s = side(json["size"], "shortest_edge") { shortestEdge = s }
        if let h = side(json["crop_size"], "height") { cropHeight = h }
        if let w = side(json["crop_size"], "width") { cropWidth = w }
        if let r = json["rescale_factor"] as? Double { rescaleFactor = r }
        if let m = json["image_mean"] as? [Double] { mean = m.map(Float.init) }
        if let s = json["image_std"] as? [Double] { std = s.map(Float.init) }
        guard shortestEdge > 0, cropHeight > 0, cropWidth > 0, mean.count == 3, std.count == 3,
              std.allSatisfy({ $0 > 0 }) else {
            throw ModelError.invalidConfiguration(path: url.path, reason: "sizes must be positive and mean/std hold 3 values (std > 0)")
        }
    }

    /// Resizes, crops and normalises `image` into `[3, cropHeight, cropWidth]`.
    /// - Throws: `ModelError.invalidInput` when the resized image is smaller than the crop.
    public func preprocess(_ image: RGBImage) throws -> Tensor {
        normalize(try resizedAndCropped(image))
    }

    /// The 8-bit image the model sees: shortest edge resized to `shortestEdge` (bicubic), center-cropped.
    /// - Throws: `ModelError.invalidInput` when the resized image is smaller than the crop.
    public func resizedAndCropped(_ image: RGBImage) throws -> RGBImage {
        guard shortestEdge > 0, cropWidth > 0, cropHeight > 0 else {
            throw ModelError.invalidInput("resize and crop sizes must be positive, got \(shortestEdge), \(cropWidth)x\(cropHeight)")
        }
        let short = min(image.width, image.height), long = max(image.width, image.height)
        let resizedLong = Int(Double(shortestEdge) * Double(long) / Double(short))
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
