import Foundation
import TensorCore
import TestSupport
@testable import VLMModels
import XCTest

/// PPM/PGM decoding and CLIP preprocessing (bicubic resize checked byte for byte against Pillow's output).
final class ImageInputTests: XCTestCase {
    /// A 7x5 RGB image and Pillow 11's `Image.resize(..., BICUBIC)` of it (values recorded from Pillow).
    static let source: [UInt8] = [168, 229, 184, 171, 238, 171, 20, 206, 245, 153, 204, 5, 37, 53, 213, 206, 192, 173, 6, 120, 63, 96, 236, 131, 118, 4, 87, 161, 124, 71, 42, 73, 237, 16, 194, 250, 10, 103, 206, 13, 143, 2, 38, 71, 133, 118, 36, 98, 196, 35, 57, 146, 50, 179, 145, 104, 206, 53, 141, 33, 181, 39, 151, 11, 180, 138, 66, 0, 165, 98, 123, 12, 144, 184, 24, 38, 129, 1, 202, 255, 85, 54, 228, 48, 127, 169, 1, 167, 109, 247, 16, 192, 78, 220, 8, 60, 189, 181, 64, 72, 8, 185, 88, 111, 191]
    static let pillowDown4x3: [UInt8] = [145, 193, 152, 100, 156, 144, 67, 130, 197, 56, 137, 110, 68, 74, 118, 151, 55, 87, 92, 128, 157, 97, 133, 84, 93, 125, 131, 105, 119, 78, 152, 128, 47, 98, 144, 137]
    static let pillowUp9x6: [UInt8] = [171, 228, 187, 184, 243, 173, 97, 232, 220, 31, 209, 208, 157, 209, 0, 49, 66, 172, 146, 128, 208, 159, 182, 135, 0, 116, 60, 115, 255, 144, 126, 109, 116, 134, 84, 100, 117, 146, 124, 59, 104, 190, 16, 160, 239, 35, 143, 243, 37, 124, 142, 0, 146, 2, 56, 135, 131, 95, 48, 101, 162, 27, 60, 185, 58, 84, 99, 43, 225, 104, 129, 250, 45, 136, 161, 45, 96, 89, 129, 66, 100, 13, 108, 143, 63, 42, 134, 129, 27, 78, 167, 72, 42, 149, 110, 112, 110, 100, 124, 111, 166, 67, 129, 180, 55, 142, 108, 117, 32, 193, 107, 70, 65, 174, 78, 63, 122, 89, 154, 12, 161, 154, 21, 74, 140, 0, 136, 179, 65, 150, 215, 106, 47, 216, 70, 129, 171, 0, 169, 125, 180, 94, 155, 195, 39, 163, 65, 223, 2, 61, 212, 160, 57, 119, 81, 136, 65, 21, 200, 91, 112, 196]

    func testBicubicResizeMatchesPillow() throws {
        let image = try RGBImage(width: 7, height: 5, pixels: Self.source)
        let down = BicubicResampler.resize(image, width: 4, height: 3)
        XCTAssertEqual(down, Self.pillowDown4x3, "Pillow's fixed-point result, byte for byte")
        let up = BicubicResampler.resize(image, width: 9, height: 6)
        XCTAssertEqual(up, Self.pillowUp9x6)
    }

    func testPreprocessResizesShortEdgeCropsAndNormalises() throws {
        // 7x5 → shortest edge 3: 4x3 (int(3 * 7 / 5) = 4), center crop 3x3 from column 0.
        var processor = CLIPImageProcessor(size: 3)
        processor.cropWidth = 3
        let out = try processor.preprocess(try RGBImage(width: 7, height: 5, pixels: Self.source))
        XCTAssertEqual(out.shape, [3, 3, 3])
        for c in 0..<3 {
            for y in 0..<3 {
                for x in 0..<3 {
                    let byte = Double(Self.pillowDown4x3[(y * 4 + x) * 3 + c])
                    // CLIP's published statistics, written out rather than read back from the processor.
                    let mean = [0.48145466, 0.4578275, 0.40821073][c], std = [0.26862954, 0.26130258, 0.27577711][c]
                    let expected = (byte / 255 - mean) / std
                    XCTAssertEqual(Double(out[c, y, x]), expected, accuracy: 1e-5)
                }
            }
        }
        var tooLarge = CLIPImageProcessor(size: 3)
        tooLarge.cropWidth = 5
        assertThrows(try tooLarge.preprocess(try RGBImage(width: 7, height: 5, pixels: Self.source)), ModelError.self, "resized image 4x3 is smaller than the crop 5x3")
    }

    func testPreprocessorConfigOverridesDefaults() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vtp-pre-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertEqual(try CLIPImageProcessor(directory: folder, defaultSize: 56), CLIPImageProcessor(size: 56))
        let json = #"{"crop_size":{"height":224,"width":224},"size":{"shortest_edge":256},"image_mean":[0.5,0.5,0.5],"image_std":[0.5,0.5,0.5]}"#
        try Data(json.utf8).write(to: folder.appendingPathComponent("preprocessor_config.json"))
        let p = try CLIPImageProcessor(directory: folder, defaultSize: 336)
        XCTAssertEqual([p.shortestEdge, p.cropHeight, p.cropWidth], [256, 224, 224])
        XCTAssertEqual(p.mean, [0.5, 0.5, 0.5])
        try Data(#"{"image_std":[0,1,1]}"#.utf8).write(to: folder.appendingPathComponent("preprocessor_config.json"))
        assertThrows(try CLIPImageProcessor(directory: folder, defaultSize: 336), ModelError.self, "image_std: every value must be positive")
    }

    func testPortablePixmapDecodeAndErrors() throws {
        let image = try RGBImage(width: 7, height: 5, pixels: Self.source)
        XCTAssertEqual(try PortablePixmap.decode(PortablePixmap.encode(image)), image)
        // Comments, a PGM (grey expanded to RGB) and 16-bit samples scaled to 8 bits.
        let pgm = Data("P5 # grey\n2 1\n255\n".utf8) + Data([10, 200])
        XCTAssertEqual(try PortablePixmap.decode(pgm).pixels, [10, 10, 10, 200, 200, 200])
        let wide = Data("P6\n1 1\n65535\n".utf8) + Data([0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00])
        XCTAssertEqual(try PortablePixmap.decode(wide).pixels, [255, 128, 0])
        for bad in [Data("P3\n1 1\n255\n1 2 3".utf8), Data("P6\n0 1\n255\n".utf8), Data("P6\n2 2\n255\n".utf8) + Data([1, 2, 3]),
                    Data("P6\n99999999 1\n255\n".utf8), Data("P6\n1 1\n0\n".utf8), Data("P6 x".utf8), Data()] {
            XCTAssertThrowsError(try PortablePixmap.decode(bad)) {
                guard case .invalidInput = $0 as? ModelError else { return XCTFail("\($0)") }
            }
        }
    }
}
