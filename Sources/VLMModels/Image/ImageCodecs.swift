import Foundation
#if canImport(_ImageCodecShims)
import _ImageCodecShims
#endif

/// PNG and JPEG decoding through the system's libpng and libjpeg-turbo (the `ImageCodecs` package trait),
/// matching Pillow's `Image.open(f).convert("RGB")` (PNG exactly; JPEG with libjpeg's islow DCT and fancy
/// upsampling, as Pillow uses them) with EXIF orientation applied as `ImageOps.exif_transpose` does.
public enum ImageCodecs {
    /// Largest image accepted, in pixels (a 16384 x 16384 image), checked before any pixel is decoded.
    public static let maximumPixels = 16384 * 16384

    /// Whether this build decodes PNG and JPEG.
    public static var isAvailable: Bool {
        #if canImport(_ImageCodecShims)
        true
        #else
        false
        #endif
    }

    /// Decodes PNG bytes.
    /// - Throws: `ModelError.invalidInput` for a malformed or oversized image, or without the trait.
    public static func decodePNG(_ data: Data) throws -> RGBImage {
        #if canImport(_ImageCodecShims)
        return try decode(data, vtp_decode_png)
        #else
        throw unavailable("PNG")
        #endif
    }

    /// Decodes JPEG bytes (baseline or progressive; grey or YCbCr) and applies the EXIF orientation.
    /// - Throws: `ModelError.invalidInput` for a malformed, oversized or CMYK image, or without the trait.
    public static func decodeJPEG(_ data: Data) throws -> RGBImage {
        #if canImport(_ImageCodecShims)
        return try decode(data, vtp_decode_jpeg)
        #else
        throw unavailable("JPEG")
        #endif
    }

    private static func unavailable(_ format: String) -> ModelError {
        .invalidInput("\(format) images need the ImageCodecs trait (install libpng-dev and libjpeg-dev, build with --traits ImageCodecs); PPM/PGM work in every build")
    }

    #if canImport(_ImageCodecShims)
    private static func decode(
        _ data: Data, _ decoder: (UnsafePointer<UInt8>?, Int, Int, UnsafeMutablePointer<vtp_decoded_image>?) -> Int32
    ) throws -> RGBImage {
        var image = vtp_decoded_image()
        let status = data.withUnsafeBytes { raw in
            decoder(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, maximumPixels, &image)
        }
        defer { vtp_image_free(&image) }
        guard status == 0, let pixels = image.pixels else {
            let message = withUnsafeBytes(of: image.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw ModelError.invalidInput(message.isEmpty ? "image: cannot decode" : message)
        }
        // Turned upright straight from the decoder's buffer: one Swift copy of the pixels, never two.
        return try orient(UnsafeBufferPointer(start: pixels, count: Int(image.width) * Int(image.height) * 3),
                          width: Int(image.width), height: Int(image.height), exif: Int(image.orientation))
    }
    #endif

    /// `image` turned upright for EXIF orientation `exif` (1 ... 8), as Pillow's `ImageOps.exif_transpose`.
    public static func orient(_ image: RGBImage, exif: Int) throws -> RGBImage {
        guard (2...8).contains(exif) else { return image }
        return try image.pixels.withUnsafeBufferPointer { try orient($0, width: image.width, height: image.height, exif: exif) }
    }

    /// `pixels` (`height · width · 3` bytes) as an upright image for EXIF orientation `exif`, copied once.
    static func orient(_ pixels: UnsafeBufferPointer<UInt8>, width w: Int, height h: Int, exif: Int) throws -> RGBImage {
        guard (2...8).contains(exif) else { return try RGBImage(width: w, height: h, pixels: Array(pixels)) }
        let swaps = exif >= 5
        let (ow, oh) = swaps ? (h, w) : (w, h)
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for oy in 0..<oh {
            for ox in 0..<ow {
                let (ix, iy): (Int, Int)
                switch exif {
                case 2: (ix, iy) = (w - 1 - ox, oy)            // mirror horizontally
                case 3: (ix, iy) = (w - 1 - ox, h - 1 - oy)    // rotate 180
                case 4: (ix, iy) = (ox, h - 1 - oy)            // mirror vertically
                case 5: (ix, iy) = (oy, ox)                    // transpose
                case 6: (ix, iy) = (oy, h - 1 - ox)            // rotate 90 clockwise
                case 7: (ix, iy) = (w - 1 - oy, h - 1 - ox)    // transverse
                default: (ix, iy) = (w - 1 - oy, ox)           // 8: rotate 90 counter-clockwise
                }
                let s = (iy * w + ix) * 3, d = (oy * ow + ox) * 3
                out[d] = pixels[s]; out[d + 1] = pixels[s + 1]; out[d + 2] = pixels[s + 2]
            }
        }
        return try RGBImage(width: ow, height: oh, pixels: out)
    }
}
