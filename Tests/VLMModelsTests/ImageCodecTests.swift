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
        assertInvalid(Data("GIF89a".utf8), "not a PPM/PGM, PNG or JPEG")
    }

    func testWithoutTheTraitPNGIsAClearError() throws {
        guard !ImageCodecs.isAvailable else { throw XCTSkip("this build has the ImageCodecs trait") }
        XCTAssertThrowsError(try ImageFile.read(folder.appendingPathComponent("rgb8.png"))) {
            guard case .invalidInput(let reason) = $0 as? ModelError, reason.contains("--traits ImageCodecs") else { return XCTFail("\($0)") }
        }
    }
}
