/// An image size in pixels, height first as transformers' `image_sizes` and `image_grid_pinpoints` give it.
public struct PixelSize: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Rows of pixels.
    public var height: Int
    /// Columns of pixels.
    public var width: Int

    /// A size of `height` rows by `width` columns.
    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    /// Pixel count.
    public var area: Int { height * width }

    public var description: String { "\(width)x\(height)" }
}
