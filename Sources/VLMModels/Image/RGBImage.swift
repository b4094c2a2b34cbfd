/// An 8-bit RGB image, row-major, 3 interleaved bytes per pixel.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `height · width · 3` bytes: R, G, B for each pixel, rows top to bottom.
    public let pixels: [UInt8]

    /// An image from interleaved RGB bytes.
    /// - Throws: `ModelError.invalidInput` when the size is not positive or the byte count does not match.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw ModelError.invalidInput("an RGB image needs a positive width and height, got \(width)x\(height)")
        }
        let (area, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, area <= pixels.count / 3, pixels.count == area * 3 else {
            throw ModelError.invalidInput("an RGB image of \(width)x\(height) needs 3 bytes per pixel, got \(pixels.count) bytes")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
