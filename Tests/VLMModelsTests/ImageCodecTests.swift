import Foundation
import TestSupport
import VLMModels
import XCTest

/// PNG and JPEG decoding (the ImageCodecs trait) against the RGB bytes Pillow 11.3 decodes from the images in
/// ImageFixtures (made by make_images.py there: every PNG colour type and bit depth, Adam7, tRNS; baseline,
/// progressive, grey JPEGs and all eight EXIF orientations).
final class ImageCodecTests: XCTestCase {
    private let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("ImageFixtures")

    private func requireCodecs() throws {
        guard ImageCodecs.isAvailable else {
            throw XCTSkip("PNG/JPEG decoding is built with --traits ImageCodecs (libpng-dev, libjpeg-dev); this build has PPM only")
        }
    }

    func testEveryImageMatchesPillow() throws {
        try requireCodecs()
        let expected = try JSONValue.parse(Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let entries = try XCTUnwrap(expected.members)
        XCTAssertEqual(entries.count, 32)
        for member in entries {
            let key = member.key, size = member.value
            let name = String(decoding: key, as: UTF8.self)
            let image = try ImageFile.read(folder.appendingPathComponent(name))
            let reference = try Data(contentsOf: folder.appendingPathComponent(name.replacingOccurrences(of: ".png", with: ".rgb")
                .replacingOccurrences(of: ".jpg", with: ".rgb")))
            XCTAssertEqual([image.width, image.height], [size["width"]?.integer ?? -1, size["height"]?.integer ?? -1], name)
            XCTAssertEqual(image.pixels.count, reference.count, name)
            // PNG must be exact; JPEG within libjpeg's usual ±2 (identical here: Pillow uses the same islow DCT).
            let worst = zip(image.pixels, reference).map { abs(Int($0) - Int($1)) }.max() ?? 99
            XCTAssertLessThanOrEqual(worst, name.hasSuffix(".png") ? 0 : 2, name)
        }
    }

    func testBadImagesAreTypedErrors() throws {
        try requireCodecs()
        func assertInvalid(_ data: Data, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try ImageFile.decode(data), line: line) {
                guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains(fragment) else {
                    return XCTFail("\($0)", line: line)
                }
            }
        }
        let png = try Data(contentsOf: folder.appendingPathComponent("rgb8.png"))
        assertInvalid(png.prefix(png.count / 2), "PNG")
        assertInvalid(png.prefix(20), "PNG")
        var corrupt = png
        corrupt[png.count - 20] ^= 0xFF
        assertInvalid(corrupt, "PNG")
        // A JPEG whose frame header declares 65000 x 65000 pixels is refused before decoding.
        var jpeg = [UInt8](try Data(contentsOf: folder.appendingPathComponent("baseline420.jpg")))
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0xFD, 0xE8, 0xFD, 0xE8])
        assertInvalid(Data(jpeg), "more than")
        assertInvalid(Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 2]), "JPEG")
        // Truncated scan data: libjpeg would pad the rest with grey; refused as Pillow refuses it.
        let whole = try Data(contentsOf: folder.appendingPathComponent("baseline420.jpg"))
        for keep in [whole.count * 3 / 5, whole.count - 10] { assertInvalid(whole.prefix(keep), "Premature end of JPEG file") }
        // A progressive JPEG whose last scan repeats 1,200 times stops at 1,000 scans.
        let progressive = [UInt8](try Data(contentsOf: folder.appendingPathComponent("progressive.jpg")))
        let lastScan = try XCTUnwrap((0..<(progressive.count - 1)).last { progressive[$0] == 0xFF && progressive[$0 + 1] == 0xDA })
        let scan = progressive[lastScan..<(progressive.count - 2)]
        let manyScans = Array(progressive[..<lastScan]) + Array(repeating: Array(scan), count: 1200).flatMap { $0 } + [0xFF, 0xD9]
        assertInvalid(Data(manyScans), "more than 1000 scans")
        assertInvalid(Data("GIF89a".utf8), "not a PPM/PGM, PNG or JPEG")
    }

    func testWithoutTheTraitPNGIsAClearError() throws {
        guard !ImageCodecs.isAvailable else { throw XCTSkip("this build has the ImageCodecs trait") }
        XCTAssertThrowsError(try ImageFile.read(folder.appendingPathComponent("rgb8.png"))) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("--traits ImageCodecs") else { return XCTFail("\($0)") }
        }
    }

    /// EXIF orientation where Pillow finds it: after an XMP APP1 in a JPEG, and in a PNG's eXIf chunk.
    func testOrientationAfterXMPAndInPNGeXIf() throws {
        try requireCodecs()
        // exif6.jpg with an XMP APP1 segment inserted before its EXIF one decodes exactly as exif6.jpg.
        var jpeg = [UInt8](try Data(contentsOf: folder.appendingPathComponent("exif6.jpg")))
        let xmp = Array("http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x='adobe:ns:meta/'/>".utf8)
        jpeg.insert(contentsOf: [0xFF, 0xE1, UInt8((xmp.count + 2) >> 8), UInt8((xmp.count + 2) & 0xFF)] + xmp, at: 2)
        let upright = try ImageFile.read(folder.appendingPathComponent("exif6.jpg"))
        let withXMP = try ImageFile.decode(Data(jpeg))
        XCTAssertEqual([withXMP.width, withXMP.height], [upright.width, upright.height])
        XCTAssertEqual(withXMP.pixels, upright.pixels)
        // rgb8.png with an eXIf chunk saying "rotate 180" (orientation 3) decodes to the pixels in reverse order.
        var png = [UInt8](try Data(contentsOf: folder.appendingPathComponent("rgb8.png")))
        let tiff: [UInt8] = Array("MM\0*".utf8) + [0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0]
        let body = Array("eXIf".utf8) + tiff
        png.insert(contentsOf: [0, 0, 0, UInt8(tiff.count)] + body + bigEndian(crc32(body)), at: 33)  // after IHDR
        let plain = try ImageFile.read(folder.appendingPathComponent("rgb8.png"))
        let rotated = try ImageFile.decode(Data(png))
        XCTAssertEqual([rotated.width, rotated.height], [plain.width, plain.height])
        let reversed = stride(from: plain.pixels.count - 3, through: 0, by: -3).flatMap { plain.pixels[$0..<($0 + 3)] }
        XCTAssertEqual(rotated.pixels, reversed)
    }

    private func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    /// PNG's CRC-32 (ISO 3309), bit by bit.
    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }
}
