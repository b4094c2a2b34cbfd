import Foundation

/// Reads an image file into RGB by its content (not its name): binary PPM/PGM always; PNG and JPEG with the
/// `ImageCodecs` package trait (libpng and libjpeg-turbo).
public enum ImageFile {
    /// The file's kind, from its first bytes.
    public enum Kind: Sendable, Equatable {
        case portablePixmap, png, jpeg, unknown
    }

    /// The kind of `data`.
    public static func kind(of data: Data) -> Kind {
        let head = [UInt8](data.prefix(8))
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.count >= 2, head[0] == UInt8(ascii: "P"), head[1] == UInt8(ascii: "5") || head[1] == UInt8(ascii: "6") { return .portablePixmap }
        return .unknown
    }

    /// Reads the image at `url`.
    /// - Throws: `ModelError.fileUnreadable`, or `.invalidInput` for a malformed image, an unknown format, or a
    ///   PNG/JPEG in a build without the `ImageCodecs` trait.
    public static func read(_ url: URL) throws -> RGBImage {
        try decode(try RegularFile.read(url))
    }

    /// Decodes image bytes of any supported kind.
    /// - Throws: `ModelError.invalidInput` as `read` does.
    public static func decode(_ data: Data) throws -> RGBImage {
        switch kind(of: data) {
        case .portablePixmap: return try PortablePixmap.decode(data)
        case .png: return try ImageCodecs.decodePNG(data)
        case .jpeg: return try ImageCodecs.decodeJPEG(data)
        case .unknown: throw ModelError.invalidInput("image: not a PPM/PGM, PNG or JPEG file")
        }
    }
}
