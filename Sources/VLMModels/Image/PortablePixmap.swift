import Foundation

/// Reader for binary Netpbm images: PPM (`P6`, RGB) and PGM (`P5`, grey, expanded to RGB), 8 or 16 bits
/// per sample (16-bit samples are scaled to 8 bits).
public enum PortablePixmap {
    /// Largest accepted side, so a corrupt header cannot request an absurd allocation.
    public static let maximumSide = 32768

    /// Reads the file at `url`.
    /// - Throws: `ModelError.fileUnreadable`, or `.invalidInput` for a malformed image.
    public static func read(_ url: URL) throws -> RGBImage {
        try decode(try RegularFile.read(url))
    }

    /// Decodes PPM/PGM bytes.
    /// - Throws: `ModelError.invalidInput` naming what is wrong.
    public static func decode(_ data: Data) throws -> RGBImage {
        let bytes = [UInt8](data)
        var index = 0
        func fail(_ reason: String) -> ModelError { .invalidInput("PPM/PGM image: \(reason)") }
        func skipSpaceAndComments() {
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "#") {
                    while index < bytes.count, bytes[index] != 0x0A { index += 1 }
                } else if [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C].contains(bytes[index]) {
                    index += 1
                } else { return }
            }
        }
        func number(_ what: String) throws -> Int {
            skipSpaceAndComments()
            var value = 0, digits = 0
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                value = value * 10 + Int(bytes[index] - 0x30)
                digits += 1
                index += 1
                guard value <= 1 << 20 else { throw fail("\(what) is too large") }
            }
            guard digits > 0 else { throw fail("expected \(what)") }
            return value
        }
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "6") || bytes[1] == UInt8(ascii: "5") else {
            throw fail("not a binary PPM (P6) or PGM (P5) file")
        }
        let channels = bytes[1] == UInt8(ascii: "6") ? 3 : 1
        index = 2
        let width = try number("width"), height = try number("height"), maxValue = try number("maximum value")
        guard (1...maximumSide).contains(width), (1...maximumSide).contains(height) else {
            throw fail("size \(width)x\(height) is outside 1...\(maximumSide)")
        }
        guard (1...65535).contains(maxValue) else { throw fail("maximum value \(maxValue) is outside 1...65535") }
        guard index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) else {
            throw fail("missing whitespace after the header")
        }
        index += 1
        let sampleBytes = maxValue > 255 ? 2 : 1
        let samples = width * height * channels
        guard bytes.count - index >= samples * sampleBytes else {
            throw fail("pixel data holds \(bytes.count - index) bytes, \(samples * sampleBytes) expected")
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for p in 0..<(width * height) {
            for c in 0..<3 {
                let s = p * channels + (channels == 3 ? c : 0)
                let raw = sampleBytes == 1 ? Int(bytes[index + s])
                    : Int(bytes[index + 2 * s]) << 8 | Int(bytes[index + 2 * s + 1])
                rgb[p * 3 + c] = UInt8((min(raw, maxValue) * 255 + maxValue / 2) / maxValue)
            }
        }
        return try RGBImage(width: width, height: height, pixels: rgb)
    }

    /// Encodes an image as binary PPM (P6, 8 bits).
    public static func encode(_ image: RGBImage) -> Data {
        var out = Data("P6\n\(image.width) \(image.height)\n255\n".utf8)
        out.append(contentsOf: image.pixels)
        return out
    }
}
